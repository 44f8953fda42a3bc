//! Citations: the sources file (`[epub] sources`, e.g. `sources.toml`) and the reference style.
//!
//! The style follows the Chicago Manual of Style's notes-and-bibliography system, the usual
//! choice for non-fiction: a full note at a source's first citation in a chapter, a short note
//! (author, short title, locator) after that, and a bibliography sorted by author.

use std::collections::HashMap;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use crate::diagnostic::{Diagnostic, SourceText};
use crate::i18n::Citation;
use crate::text::{did_you_mean, escape, escape_href, is_web_url};

/// What kind of work a source is; it decides how the reference is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A newspaper or news-site report.
    News,
    /// A magazine or journal article.
    Article,
    /// A report by an organisation or government.
    Report,
    /// A treaty or other legal instrument.
    Treaty,
    /// A book.
    Book,
    /// An interview.
    Interview,
    /// A public statement, press release or speech.
    Statement,
    /// Any other web page.
    Web,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    source: Vec<Spanned<RawSource>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    key: Spanned<String>,
    kind: Kind,
    #[serde(default)]
    author: Vec<String>,
    organization: Option<String>,
    title: String,
    #[serde(rename = "translated-title")]
    translated_title: Option<String>,
    language: Option<Spanned<String>>,
    publication: Option<String>,
    publisher: Option<String>,
    number: Option<String>,
    date: Option<Spanned<String>>,
    url: Option<Spanned<String>>,
    accessed: Option<Spanned<String>>,
}

/// The fields a source may have.
const FIELDS: &[&str] = &[
    "key",
    "kind",
    "author",
    "organization",
    "title",
    "translated-title",
    "language",
    "publication",
    "publisher",
    "number",
    "date",
    "url",
    "accessed",
];

/// Words a short title should not end on.
const SMALL_WORDS: &[&str] =
    &["a", "an", "and", "as", "at", "by", "for", "from", "in", "of", "on", "or", "the", "to", "with"];

/// A date with the precision it was given: year, year-month or full date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartialDate {
    year: u16,
    month: Option<u8>,
    day: Option<u8>,
}

impl PartialDate {
    fn parse(s: &str) -> Option<Self> {
        let mut parts = s.trim().split('-');
        let year = parts.next().filter(|y| y.len() == 4)?.parse().ok()?;
        let month: Option<u8> = parts
            .next()
            .map(|m| m.parse().ok().filter(|m| (1..=12).contains(m)))
            .map_or(Some(None), |m| m.map(Some))?;
        let day: Option<u8> = parts
            .next()
            .map(|d| d.parse().ok().filter(|d| (1..=31).contains(d)))
            .map_or(Some(None), |d| d.map(Some))?;
        if parts.next().is_some() || (day.is_some() && month.is_none()) {
            return None;
        }
        if let (Some(m), Some(d)) = (month, day) {
            time::Date::from_calendar_date(i32::from(year), time::Month::try_from(m).ok()?, d).ok()?;
        }
        Some(Self { year, month, day })
    }

    /// The date as the book's language writes it: "7 November 2017", "November 2017" or "2017".
    fn display(self, style: &Citation) -> String {
        let month = |m: u8| usize::from(m) - 1;
        let day = |d: u8| match (d, style.first_day) {
            (1, Some(first)) => first.to_string(),
            (d, _) => d.to_string(),
        };
        let pattern = match (self.month, self.day) {
            (Some(_), Some(_)) => style.full_date,
            (Some(_), None) => style.month_year,
            _ => return self.year.to_string(),
        };
        let m = self.month.unwrap_or(1);
        pattern
            .replace("{d}", &self.day.map(day).unwrap_or_default())
            .replace("{M}", style.months[month(m)])
            .replace("{m}", &m.to_string())
            .replace("{y}", &self.year.to_string())
    }
}

/// One entry of the sources file.
#[derive(Debug, Clone)]
pub struct Source {
    /// The citation key.
    pub key: String,
    kind: Kind,
    authors: Vec<String>,
    organization: Option<String>,
    title: String,
    /// The title in the book's language, for a title in another.
    translated_title: Option<String>,
    /// The title's language, when it differs from the book's.
    language: Option<String>,
    publication: Option<String>,
    publisher: Option<String>,
    number: Option<String>,
    date: Option<PartialDate>,
    url: Option<String>,
    accessed: Option<PartialDate>,
    /// Where the key is written, for "never cited" warnings.
    pub key_range: Range<usize>,
    /// How the book's language writes citations.
    style: &'static Citation,
}

/// The loaded sources file.
#[derive(Debug)]
pub struct Sources {
    /// The file, for diagnostics.
    pub file: SourceText,
    /// Entries in file order.
    pub entries: Vec<Source>,
    by_key: HashMap<String, usize>,
}

/// One source inside a citation, with its optional locator (`p. 12`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CiteItem {
    /// The key after `@`.
    pub key: String,
    /// Text after the key's comma.
    pub locator: Option<String>,
}

/// Parses the label of `[@a; @b, p. 3]` (without brackets).
pub fn parse_citation(label: &str) -> Result<Vec<CiteItem>, String> {
    label
        .split(';')
        .map(|part| {
            let part = part.trim();
            let Some(rest) = part.strip_prefix('@') else {
                return Err(format!("malformed citation: '{part}' does not start with '@'"));
            };
            let (key, locator) = match rest.split_once(',') {
                Some((k, l)) => (k.trim(), Some(l.trim())),
                None => (rest.trim(), None),
            };
            if key.is_empty() || !key.chars().all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ':' | '.' | '/')) {
                return Err(format!("malformed citation: '@{key}' is not a valid key"));
            }
            if locator.is_some_and(str::is_empty) {
                return Err(format!("malformed citation: empty locator after '@{key},'"));
            }
            Ok(CiteItem { key: key.to_string(), locator: locator.map(str::to_string) })
        })
        .collect()
}

/// Reads the sources file; `None` if it has errors. References are written in the book's `language`.
pub fn load(file: SourceText, language: &str) -> (Option<Sources>, Vec<Diagnostic>) {
    let style = crate::i18n::citation(language);
    let mut diags = Vec::new();
    let raw: RawFile = match toml::from_str(&file.text) {
        Ok(raw) => raw,
        Err(e) => {
            let mut message = format!("invalid sources file: {}", e.message().trim_end().trim_end_matches('.'));
            let mut hint = None;
            // serde lists every field; name the likely one instead.
            if let Some(field) =
                message.split("unknown field `").nth(1).and_then(|rest| rest.split('`').next()).map(str::to_string)
            {
                message = format!("unknown field `{field}` in a source");
                hint = did_you_mean(&field, FIELDS.iter().copied()).map(|f| format!("did you mean `{f}`?"));
            }
            let mut d = match e.span() {
                Some(span) => file.error(span, message),
                None => Diagnostic::error(&file.path, message),
            };
            d.hint = hint;
            return (None, vec![d]);
        }
    };
    let mut entries = Vec::new();
    let mut by_key: HashMap<String, usize> = HashMap::new();
    for entry in raw.source {
        let entry = entry.into_inner();
        let key_range = entry.key.span();
        let key = entry.key.into_inner();
        if parse_citation(&format!("@{key}")).is_err() {
            diags.push(file.error(
                key_range.clone(),
                format!("'{key}' is not a valid citation key (use letters, digits and - _ : . /)"),
            ));
        }
        if let Some(&first) = by_key.get(&key) {
            let line = file.position(entries.get::<usize>(first).map_or(0, |s: &Source| s.key_range.start)).line;
            diags.push(
                file.error(key_range.clone(), format!("duplicate source key '{key}' (first defined at line {line})")),
            );
            continue;
        }
        let mut date_field = |value: Option<Spanned<String>>, name: &str| {
            value.and_then(|d| {
                let parsed = PartialDate::parse(d.get_ref());
                if parsed.is_none() {
                    diags.push(file.error(
                        d.span(),
                        format!("invalid {name} '{}': write YYYY, YYYY-MM or YYYY-MM-DD", d.get_ref()),
                    ));
                }
                parsed
            })
        };
        let date = date_field(entry.date, "date");
        let accessed = date_field(entry.accessed, "accessed date");
        let url = entry.url.and_then(|u| {
            if is_web_url(u.get_ref()) {
                Some(u.into_inner().trim().to_string())
            } else {
                diags.push(
                    file.error(u.span(), format!("'{}' is not a URL (expected http:// or https://)", u.get_ref())),
                );
                None
            }
        });
        let language = entry.language.and_then(|l| {
            if oxilangtag::LanguageTag::parse(l.get_ref().as_str()).is_ok() {
                Some(l.into_inner())
            } else {
                diags.push(file.error(l.span(), format!("'{}' is not a BCP 47 language tag", l.get_ref())));
                None
            }
        });
        by_key.insert(key.clone(), entries.len());
        entries.push(Source {
            key,
            kind: entry.kind,
            authors: entry.author,
            organization: entry.organization,
            title: entry.title,
            translated_title: entry.translated_title,
            language,
            publication: entry.publication,
            publisher: entry.publisher,
            number: entry.number,
            date,
            url,
            accessed,
            key_range,
            style,
        });
    }
    if diags.iter().any(Diagnostic::is_error) {
        return (None, diags);
    }
    (Some(Sources { file, entries, by_key }), diags)
}

impl Sources {
    /// Looks a key up.
    pub fn get(&self, key: &str) -> Option<&Source> {
        self.by_key.get(key).map(|&i| &self.entries[i])
    }

    /// The closest key to a misspelt one.
    pub fn suggest(&self, key: &str) -> Option<&str> {
        did_you_mean(key, self.entries.iter().map(|s| s.key.as_str()))
    }
}

/// "Given Family" for notes; names written without a comma stay as written.
fn natural_name(name: &str) -> String {
    match name.split_once(',') {
        Some((family, given)) => format!("{} {}", given.trim(), family.trim()),
        None => name.trim().to_string(),
    }
}

fn family_name(name: &str) -> &str {
    name.split_once(',').map_or(name, |(family, _)| family).trim()
}

/// "A and B", "A, B, and C" ("A, B und C", "A、B、C"), as the language joins names.
fn join_names(names: &[String], style: &Citation) -> String {
    match (names, style.and) {
        ([], _) => String::new(),
        ([one], _) => one.clone(),
        (names, None) => names.join(style.list),
        ([a, b], Some(and)) => format!("{a} {and} {b}"),
        ([first @ .., last], Some(and)) => {
            let serial = if style.serial_comma { style.list.trim_end() } else { "" };
            format!("{}{serial} {and} {last}", first.join(style.list))
        }
    }
}

/// Straight and typographic double quotation marks in `text` become the given marks.
fn with_quotes(text: &str, (open, close): (&str, &str)) -> String {
    crate::text::smart_quotes(text, false).replace('\u{201c}', open).replace('\u{201d}', close)
}

/// An article's title (XHTML) in the language's quotation marks, with the punctuation that follows it
/// inside them where the language puts it there (Chicago 6.9).
fn quoted(style: &Citation, title: &str, punctuation: &str) -> String {
    let (open, close) = style.quotes;
    match style.punctuation_inside_quotes {
        true => format!("{open}{title}{punctuation}{close}"),
        false => format!("{open}{title}{close}{punctuation}"),
    }
}

/// A book's or a publication's title (XHTML): in italics, or in the marks the language uses instead.
fn work_title(style: &Citation, title: &str) -> String {
    match style.title_marks {
        Some((open, close)) => format!("{open}{title}{close}"),
        None => format!("<em>{title}</em>"),
    }
}

/// A title that is set in italics (books, reports, treaties) rather than in quotation marks.
fn italic_title(kind: Kind) -> bool {
    matches!(kind, Kind::Book | Kind::Report | Kind::Treaty)
}

/// Builds comma-separated references as XHTML.
struct Parts(Vec<String>);

impl Parts {
    fn text(&mut self, s: &str) {
        self.0.push(crate::text::escaped(s));
    }
}

fn url_link(url: &str) -> String {
    let mut out = String::from("<a href=\"");
    escape_href(&mut out, url);
    out.push_str("\">");
    escape(&mut out, url);
    out.push_str("</a>");
    out
}

impl Source {
    fn author_for_note(&self) -> Option<String> {
        if self.authors.is_empty() {
            return self.organization.clone();
        }
        Some(join_names(&self.authors.iter().map(|a| natural_name(a)).collect::<Vec<_>>(), self.style))
    }

    /// The title as XHTML: quoted or in italics, marked with its language, followed by its translation
    /// in brackets. A quoted title takes `separator` inside its quotation marks where the language puts
    /// it there, unless a translation follows; then it comes after the brackets.
    fn title_xhtml(&self, separator: &str) -> String {
        let style = self.style;
        let is_quoted = !italic_title(self.kind);
        let title = self.in_language(&self.title_text());
        let translation = self
            .translated_title
            .as_ref()
            .map(|t| format!(" [{}]", crate::text::escaped(&with_quotes(t, style.quotes))));
        match (is_quoted, translation) {
            (false, translation) => format!("{}{}", work_title(style, &title), translation.unwrap_or_default()),
            (true, None) => quoted(style, &title, separator),
            (true, Some(translation)) => format!("{}{translation}{separator}", quoted(style, &title, "")),
        }
    }

    /// The title's text with its quotation marks; inside a quoted title they are the inner ones (Chicago 13.30).
    fn title_text(&self) -> String {
        let marks = if italic_title(self.kind) { self.style.quotes } else { self.style.inner_quotes };
        with_quotes(&self.title, marks)
    }

    /// Escaped text, marked with the title's language when it has one, so screen readers switch voice.
    fn in_language(&self, text: &str) -> String {
        let text = crate::text::escaped(text);
        match &self.language {
            Some(lang) => format!("<span lang=\"{0}\" xml:lang=\"{0}\">{text}</span>", crate::text::escaped(lang)),
            None => text,
        }
    }

    /// The container (publication, publisher, number, date) parts shared by notes and bibliography.
    fn details(&self, parts: &mut Parts) {
        // A newspaper that is also the author ("BBC News, “…,” BBC News") is named once.
        if let Some(p) = self.publication.as_ref().filter(|p| self.organization.as_ref() != Some(*p)) {
            parts.0.push(work_title(self.style, &crate::text::escaped(p)));
        }
        if let Some(n) = &self.number {
            parts.text(n);
        }
        if let Some(p) = &self.publisher {
            // Avoid repeating the author as publisher ("UNHCR, Report, UNHCR").
            if self.organization.as_deref() != Some(p.as_str()) {
                parts.text(p);
            }
        }
        if let Some(d) = self.date {
            parts.text(&d.display(self.style));
        }
    }

    /// The full note for a first citation, as XHTML without the final period.
    pub fn note(&self, locator: Option<&str>) -> String {
        let mut parts = Parts(Vec::new());
        if let Some(author) = self.author_for_note() {
            parts.text(&author);
        }
        let mut rest = Parts(Vec::new());
        self.details(&mut rest);
        if let Some(l) = locator {
            rest.text(l);
        }
        if let Some(url) = &self.url {
            rest.0.push(url_link(url));
        }
        let quoted = !italic_title(self.kind);
        // A quoted title carries the comma before the details; with none, no comma dangles.
        let title = self.title_xhtml(if quoted && !rest.0.is_empty() { "," } else { "" });
        let mut out = parts.0.join(", ");
        if !out.is_empty() {
            out.push_str(", ");
        }
        out.push_str(&title);
        if !rest.0.is_empty() {
            out.push_str(if quoted { " " } else { ", " });
            out.push_str(&rest.0.join(", "));
        }
        out
    }

    /// The short note for a later citation in the same chapter.
    pub fn short_note(&self, locator: Option<&str>) -> String {
        let style = self.style;
        // Chicago's short title: the main title's first words, at most four, without trailing punctuation.
        let short: String = {
            let title = self.title_text();
            // The main title ends at a colon or a spaced dash, where a subtitle begins.
            let end = [":", " \u{2013} ", " \u{2014} "].iter().filter_map(|sep| title.find(sep)).min();
            let main = title[..end.unwrap_or(title.len())].trim().to_string();
            // Dashes and other lone punctuation are not words.
            let mut words: Vec<&str> =
                main.split_whitespace().filter(|w| w.chars().any(char::is_alphanumeric)).take(4).collect();
            // A short title does not end on a little word ("Convention Relating to the").
            while words.len() > 1 && words.last().is_some_and(|w| SMALL_WORDS.contains(&w.to_lowercase().as_str())) {
                words.pop();
            }
            words.join(" ").trim_end_matches([',', ';', '.', '-', '\u{2013}', '\u{2014}']).to_string()
        };
        let separator = if locator.is_some() { "," } else { "" };
        let short_title = match italic_title(self.kind) {
            true => format!("{}{separator}", work_title(style, &self.in_language(&short))),
            false => quoted(style, &self.in_language(&short), separator),
        };
        let who = match self.authors.as_slice() {
            [] => self.organization.clone(),
            [one] => Some(family_name(one).to_string()),
            [a, b] => Some(join_names(&[family_name(a).to_string(), family_name(b).to_string()], style)),
            [a, ..] => Some(format!("{}{}", family_name(a), style.et_al)),
        };
        let mut out = who.map(|w| format!("{}, ", crate::text::escaped(&w))).unwrap_or_default();
        out.push_str(&short_title);
        if let Some(l) = locator {
            out.push(' ');
            escape(&mut out, l);
        }
        out
    }

    /// The bibliography entry: "Family, Given. “Title.” Publication, Date. URL."
    pub fn bibliography(&self) -> String {
        let mut sentences = Vec::new();
        let who = match self.authors.split_first() {
            Some((first, rest)) => {
                let mut names = vec![first.trim().to_string()];
                names.extend(rest.iter().map(|a| natural_name(a)));
                Some(join_names(&names, self.style))
            }
            None => self.organization.clone(),
        };
        if let Some(w) = who {
            sentences.push(crate::text::escaped(w.trim_end_matches('.')));
        }
        sentences.push(self.title_xhtml("."));
        let mut details = Parts(Vec::new());
        self.details(&mut details);
        if !details.0.is_empty() {
            sentences.push(details.0.join(", "));
        }
        if let Some(a) = self.accessed {
            sentences.push(crate::text::escaped(&self.style.accessed.replace("{date}", &a.display(self.style))));
        }
        if let Some(url) = &self.url {
            sentences.push(url_link(url));
        }
        let mut out = String::new();
        for s in sentences {
            out.push_str(&s);
            // A quoted title may already end with its period inside the quotes, a translated one after it.
            if !s.ends_with(&format!(".{}", self.style.quotes.1)) && !s.ends_with('.') {
                out.push('.');
            }
            out.push(' ');
        }
        out.trim_end().to_string()
    }

    /// Sort key for the bibliography: first author's family name (or organisation, or title), no leading "The".
    pub fn sort_key(&self) -> String {
        let lead = self
            .authors
            .first()
            .map(|a| family_name(a).to_string())
            .or_else(|| self.organization.clone())
            .unwrap_or_else(|| self.title.clone());
        let lead = lead.strip_prefix("The ").unwrap_or(&lead);
        format!("{}\u{0}{}", deunicode::deunicode(lead).to_lowercase(), self.title.to_lowercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources(text: &str) -> (Option<Sources>, Vec<String>) {
        let (s, d) = load(SourceText::new("sources.toml", text.to_string()), "en");
        (s, d.iter().map(ToString::to_string).collect())
    }

    const NEWS: &str = "[[source]]\nkey = \"smith\"\nkind = \"news\"\nauthor = [\"Smith, Jane\", \"Choe Sang-Hun\"]\ntitle = \"A Report: Details\"\npublication = \"The Paper\"\ndate = \"2017-11-07\"\nurl = \"https://example.org/a\"\n";

    #[test]
    fn titles_in_another_language_are_marked_and_translated() {
        let toml = "[[source]]\nkey = \"k\"\nkind = \"news\"\ntitle = \"인권위 보고서\"\ntranslated-title = \"Commission report\"\nlanguage = \"ko\"\npublication = \"Kukinews\"\ndate = \"2017-07-27\"\n";
        let (s, d) = sources(toml);
        assert!(d.is_empty(), "{d:?}");
        let s = s.unwrap();
        let k = s.get("k").unwrap();
        let korean = "<span lang=\"ko\" xml:lang=\"ko\">인권위 보고서</span>";
        assert_eq!(
            k.note(None),
            format!("\u{201c}{korean}\u{201d} [Commission report], <em>Kukinews</em>, July 27, 2017")
        );
        assert_eq!(k.short_note(None), format!("\u{201c}{korean}\u{201d}"));
        assert_eq!(
            k.bibliography(),
            format!("\u{201c}{korean}\u{201d} [Commission report]. <em>Kukinews</em>, July 27, 2017.")
        );
        let (_, d) = sources(&toml.replace("\"ko\"", "\"not a tag\""));
        assert_eq!(d.len(), 1);
        assert!(d[0].to_string().contains("'not a tag' is not a BCP 47 language tag"), "{}", d[0]);
    }

    #[test]
    fn short_titles_skip_lone_dashes() {
        let (s, _) = sources(
            "[[source]]\nkey = \"u\"\nkind = \"statement\"\ntitle = \"Urgent Action Victory! – Forcibly Returned Woman\"\n",
        );
        assert_eq!(s.unwrap().get("u").unwrap().short_note(None), "\u{201c}Urgent Action Victory!\u{201d}");
    }

    #[test]
    fn chicago_notes_and_bibliography() {
        let (s, d) = sources(NEWS);
        assert!(d.is_empty(), "{d:?}");
        let s = s.unwrap();
        let src = s.get("smith").unwrap();
        assert_eq!(
            src.note(Some("para. 4")),
            "Jane Smith and Choe Sang-Hun, \u{201c}A Report: Details,\u{201d} <em>The Paper</em>, November 7, 2017, para. 4, <a href=\"https://example.org/a\">https://example.org/a</a>"
        );
        assert_eq!(src.short_note(Some("para. 4")), "Smith and Choe Sang-Hun, \u{201c}A Report,\u{201d} para. 4");
        assert_eq!(
            src.bibliography(),
            "Smith, Jane and Choe Sang-Hun. \u{201c}A Report: Details.\u{201d} <em>The Paper</em>, November 7, 2017. <a href=\"https://example.org/a\">https://example.org/a</a>."
        );
        let (quoted, _) = load(
            SourceText::new(
                "sources.toml",
                NEWS.replace("A Report: Details", "China's \\\"hard\\\" line on escapees, again").to_string(),
            ),
            "en-GB",
        );
        let quoted = quoted.unwrap();
        let quoted = quoted.get("smith").unwrap();
        assert!(quoted.note(None).contains("\u{201c}China\u{2019}s \u{2018}hard\u{2019} line on escapees, again,\u{201d} <em>The Paper</em>, 7 November 2017"), "{}", quoted.note(None));
        assert_eq!(
            quoted.short_note(None),
            "Smith and Choe Sang-Hun, \u{201c}China\u{2019}s \u{2018}hard\u{2019} line\u{201d}"
        );
    }

    /// A news report by three authors, read on a given day, and a book, in a book of `language`.
    fn in_language(language: &str) -> Sources {
        let toml = "[[source]]\nkey = \"n\"\nkind = \"news\"\nauthor = [\"Kim, Ji-woo\", \"Lee, Min\", \"Park, Su\"]\ntitle = \"The \\\"hard\\\" line: again\"\npublication = \"Daily\"\ndate = \"2017-11-01\"\naccessed = \"2026-03-07\"\n[[source]]\nkey = \"b\"\nkind = \"book\"\nauthor = [\"Ro, Ha\", \"Oh, Bo\"]\ntitle = \"Border\"\ndate = \"2001-05\"\n";
        let (sources, diags) = load(SourceText::new("sources.toml", toml.to_string()), language);
        assert!(diags.is_empty(), "{diags:?}");
        sources.unwrap()
    }

    #[test]
    fn citations_are_written_in_the_book_s_language() {
        let cases = [
            (
                "de",
                "Ji-woo Kim, Min Lee und Su Park, \u{201e}The \u{201a}hard\u{2018} line: again\u{201c}, <em>Daily</em>, 1. November 2017, S. 3",
                "Kim u.\u{a0}a., \u{201e}The \u{201a}hard\u{2018} line\u{201c}, S. 3",
                "Abgerufen am 7. März 2026",
                "Ha Ro und Bo Oh, <em>Border</em>, Mai 2001",
            ),
            (
                "fr",
                "Ji-woo Kim, Min Lee et Su Park, \u{ab}\u{202f}The \u{201c}hard\u{201d} line: again\u{202f}\u{bb}, <em>Daily</em>, 1er novembre 2017, S. 3",
                "Kim et al., \u{ab}\u{202f}The \u{201c}hard\u{201d} line\u{202f}\u{bb}, S. 3",
                "Consulté le 7 mars 2026",
                "Ha Ro et Bo Oh, <em>Border</em>, mai 2001",
            ),
            (
                "es",
                "Ji-woo Kim, Min Lee y Su Park, \u{ab}The \u{201c}hard\u{201d} line: again\u{bb}, <em>Daily</em>, 1 de noviembre de 2017, S. 3",
                "Kim et al., \u{ab}The \u{201c}hard\u{201d} line\u{bb}, S. 3",
                "Consultado el 7 de marzo de 2026",
                "Ha Ro y Bo Oh, <em>Border</em>, mayo de 2001",
            ),
            (
                "ko",
                "Ji-woo Kim, Min Lee, Su Park, \u{201c}The \u{2018}hard\u{2019} line: again\u{201d}, \u{300e}Daily\u{300f}, 2017년 11월 1일, S. 3",
                "Kim 외, \u{201c}The \u{2018}hard\u{2019} line\u{201d}, S. 3",
                "2026년 3월 7일 접속",
                "Ha Ro, Bo Oh, \u{300e}Border\u{300f}, 2001년 5월",
            ),
            (
                "ja",
                "Ji-woo Kim、Min Lee、Su Park, \u{300c}The \u{300e}hard\u{300f} line: again\u{300d}, \u{300e}Daily\u{300f}, 2017年11月1日, S. 3",
                "Kimほか, \u{300c}The \u{300e}hard\u{300f} line\u{300d}, S. 3",
                "2026年3月7日閲覧",
                "Ha Ro、Bo Oh, \u{300e}Border\u{300f}, 2001年5月",
            ),
            (
                "zh-Hans",
                "Ji-woo Kim、Min Lee、Su Park, \u{201c}The \u{2018}hard\u{2019} line: again\u{201d}, \u{300a}Daily\u{300b}, 2017年11月1日, S. 3",
                "Kim等, \u{201c}The \u{2018}hard\u{2019} line\u{201d}, S. 3",
                "2026年3月7日访问",
                "Ha Ro、Bo Oh, \u{300a}Border\u{300b}, 2001年5月",
            ),
        ];
        for (language, note, short, accessed, book) in cases {
            let sources = in_language(language);
            let news = sources.get("n").unwrap();
            assert_eq!(news.note(Some("S. 3")), note, "{language}");
            assert_eq!(news.short_note(Some("S. 3")), short, "{language}");
            assert!(news.bibliography().contains(accessed), "{language}: {}", news.bibliography());
            assert_eq!(sources.get("b").unwrap().note(None), book, "{language}");
        }
        // English keeps Chicago's American punctuation; dates are day first but in US English.
        let us = in_language("en-US");
        assert!(us.get("n").unwrap().note(None).contains(" line: again,\u{201d} <em>Daily</em>, November 1, 2017"));
        assert!(in_language("en-GB").get("n").unwrap().bibliography().contains("Accessed 7 March 2026"));
    }

    #[test]
    fn treaty_in_italics() {
        let (s, _) = sources(
            "[[source]]\nkey = \"crc\"\nkind = \"treaty\"\norganization = \"United Nations\"\ntitle = \"Convention Relating to the Status of Refugees\"\ndate = \"1951-07-28\"\nnumber = \"189 U.N.T.S. 137\"\n",
        );
        let s = s.unwrap();
        assert_eq!(
            s.get("crc").unwrap().short_note(Some("art. 33")),
            "United Nations, <em>Convention Relating</em>, art. 33"
        );
        assert_eq!(
            s.get("crc").unwrap().note(Some("art. 33")),
            "United Nations, <em>Convention Relating to the Status of Refugees</em>, 189 U.N.T.S. 137, July 28, 1951, art. 33"
        );
    }

    #[test]
    fn bad_entries_are_located() {
        let text = format!(
            "{NEWS}[[source]]\nkey = \"smith\"\nkind = \"web\"\ntitle = \"x\"\nurl = \"not a url\"\ndate = \"2017-13\"\n"
        );
        let (s, d) = sources(&text);
        assert!(s.is_none());
        assert_eq!(d, ["sources.toml:10:7: error: duplicate source key 'smith' (first defined at line 2)"]);
        let (_, d) = sources(
            "[[source]]\nkey = \"a\"\nkind = \"web\"\ntitle = \"x\"\nurl = \"not a url\"\ndate = \"2017-13\"\n",
        );
        assert_eq!(
            d,
            [
                "sources.toml:6:8: error: invalid date '2017-13': write YYYY, YYYY-MM or YYYY-MM-DD",
                "sources.toml:5:7: error: 'not a url' is not a URL (expected http:// or https://)",
            ]
        );
        let (_, d) = sources("[[source]]\nkey = \"a\"\nkind = \"web\"\ntitle = \"x\"\nauthr = []\n");
        assert_eq!(d.len(), 1);
        assert_eq!(d[0], "sources.toml:5:1: error: unknown field `authr` in a source\nhint: did you mean `author`?");
    }

    #[test]
    fn citation_syntax() {
        assert_eq!(
            parse_citation("@a; @b, p. 12").unwrap(),
            [CiteItem { key: "a".into(), locator: None }, CiteItem { key: "b".into(), locator: Some("p. 12".into()) }]
        );
        assert!(parse_citation("@a; b").unwrap_err().contains("does not start with '@'"));
        assert!(parse_citation("@").is_err());
        assert!(parse_citation("@a,").is_err());
    }
}
