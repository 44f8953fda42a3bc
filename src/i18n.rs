//! Text folio generates (Contents, Notes, Sources, …) in the book's language; English is the fallback.

/// The generated strings for one language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Strings {
    /// Heading of the table of contents.
    pub contents: &'static str,
    /// Label of a chapter's notes.
    pub notes: &'static str,
    /// Heading of the bibliography.
    pub sources: &'static str,
    /// The cover page's title.
    pub cover: &'static str,
    /// The title page's title.
    pub title_page: &'static str,
    /// Name of the landmarks list.
    pub landmarks: &'static str,
    /// Label of the landmark that starts the reading.
    pub start: &'static str,
    /// Label of a backlink to the n-th reference ("Back to reference 2").
    pub back_to_reference: &'static str,
    /// Label before the list of places a source is cited.
    pub cited_in: &'static str,
    /// How citations are written.
    pub citation: Citation,
}

/// The words, dates and marks of citations in one language (Chicago's notes and bibliography, with
/// each language's own conventions for dates, quotation marks and title marks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Citation {
    /// Month names, January first.
    pub months: [&'static str; 12],
    /// A full date: `{d}` the day, `{M}` the month's name, `{m}` its number, `{y}` the year.
    pub full_date: &'static str,
    /// A month and year, with the same placeholders.
    pub month_year: &'static str,
    /// How the first of the month is written, where it is not the plain number ("1er" in French).
    pub first_day: Option<&'static str>,
    /// The date a web page was read: `{date}` is the date.
    pub accessed: &'static str,
    /// The word before the last of several names ("and"); `None` joins every name with `list`.
    pub and: Option<&'static str>,
    /// Whether the last name also takes `list` before `and` (the serial comma).
    pub serial_comma: bool,
    /// Between names.
    pub list: &'static str,
    /// After the first author's family name when there are three or more (" et al.").
    pub et_al: &'static str,
    /// Quotation marks around an article's title.
    pub quotes: (&'static str, &'static str),
    /// Marks for quotations inside a quoted title.
    pub inner_quotes: (&'static str, &'static str),
    /// Whether a comma or period after a quoted title goes inside the marks (American usage, Chicago 6.9).
    pub punctuation_inside_quotes: bool,
    /// Marks around a book's or report's title, where the language uses them instead of italics.
    pub title_marks: Option<(&'static str, &'static str)>,
}

/// English: Chicago as written, dates day first ("7 November 2017").
const EN_CITATION: Citation = Citation {
    months: [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    full_date: "{d} {M} {y}",
    month_year: "{M} {y}",
    first_day: None,
    accessed: "Accessed {date}",
    and: Some("and"),
    serial_comma: true,
    list: ", ",
    et_al: " et al.",
    quotes: ("\u{201c}", "\u{201d}"),
    inner_quotes: ("\u{2018}", "\u{2019}"),
    punctuation_inside_quotes: true,
    title_marks: None,
};

/// US English writes the month first ("November 7, 2017").
pub const EN_US_CITATION: Citation = Citation { full_date: "{M} {d}, {y}", ..EN_CITATION };

/// Quotation marks « » with the narrow no-break spaces French sets inside them.
const GUILLEMETS_SPACED: (&str, &str) = ("\u{ab}\u{202f}", "\u{202f}\u{bb}");
const GUILLEMETS: (&str, &str) = ("\u{ab}", "\u{bb}");
const DOUBLE_QUOTES: (&str, &str) = ("\u{201c}", "\u{201d}");
const SINGLE_QUOTES: (&str, &str) = ("\u{2018}", "\u{2019}");

/// What the Romance and Germanic languages share: "and" without a serial comma, punctuation outside
/// the quotation marks, titles in italics.
const EUROPEAN: Citation = Citation { serial_comma: false, punctuation_inside_quotes: false, ..EN_CITATION };

/// Chinese, Japanese and Korean: dates year first with their counters, names in a list, titles of
/// books in their own marks rather than italics.
const EAST_ASIAN: Citation = Citation {
    full_date: "{y}年{m}月{d}日",
    month_year: "{y}年{m}月",
    and: None,
    serial_comma: false,
    list: "、",
    punctuation_inside_quotes: false,
    ..EN_CITATION
};

const EN: Strings = Strings {
    contents: "Contents",
    notes: "Notes",
    sources: "Sources",
    cover: "Cover",
    title_page: "Title Page",
    landmarks: "Landmarks",
    start: "Start of Content",
    back_to_reference: "Back to reference",
    cited_in: "Cited in",
    citation: EN_CITATION,
};

const TABLE: &[(&str, Strings)] = &[
    ("en", EN),
    (
        "de",
        Strings {
            contents: "Inhalt",
            notes: "Anmerkungen",
            sources: "Quellen",
            cover: "Umschlag",
            title_page: "Titelseite",
            landmarks: "Orientierungspunkte",
            start: "Textbeginn",
            back_to_reference: "Zurück zum Verweis",
            cited_in: "Zitiert in",
            citation: Citation {
                months: [
                    "Januar",
                    "Februar",
                    "März",
                    "April",
                    "Mai",
                    "Juni",
                    "Juli",
                    "August",
                    "September",
                    "Oktober",
                    "November",
                    "Dezember",
                ],
                full_date: "{d}. {M} {y}",
                accessed: "Abgerufen am {date}",
                and: Some("und"),
                et_al: " u.\u{a0}a.",
                quotes: ("\u{201e}", "\u{201c}"),
                inner_quotes: ("\u{201a}", "\u{2018}"),
                ..EUROPEAN
            },
        },
    ),
    (
        "fr",
        Strings {
            contents: "Table des matières",
            notes: "Notes",
            sources: "Sources",
            cover: "Couverture",
            title_page: "Page de titre",
            landmarks: "Repères",
            start: "Début du texte",
            back_to_reference: "Retour à l’appel",
            cited_in: "Cité dans",
            citation: Citation {
                months: [
                    "janvier",
                    "février",
                    "mars",
                    "avril",
                    "mai",
                    "juin",
                    "juillet",
                    "août",
                    "septembre",
                    "octobre",
                    "novembre",
                    "décembre",
                ],
                first_day: Some("1er"),
                accessed: "Consulté le {date}",
                and: Some("et"),
                quotes: GUILLEMETS_SPACED,
                inner_quotes: DOUBLE_QUOTES,
                ..EUROPEAN
            },
        },
    ),
    (
        "es",
        Strings {
            contents: "Índice",
            notes: "Notas",
            sources: "Fuentes",
            cover: "Cubierta",
            title_page: "Portada",
            landmarks: "Puntos de referencia",
            start: "Inicio del texto",
            back_to_reference: "Volver a la referencia",
            cited_in: "Citado en",
            citation: Citation {
                months: [
                    "enero",
                    "febrero",
                    "marzo",
                    "abril",
                    "mayo",
                    "junio",
                    "julio",
                    "agosto",
                    "septiembre",
                    "octubre",
                    "noviembre",
                    "diciembre",
                ],
                full_date: "{d} de {M} de {y}",
                month_year: "{M} de {y}",
                accessed: "Consultado el {date}",
                and: Some("y"),
                quotes: GUILLEMETS,
                inner_quotes: DOUBLE_QUOTES,
                ..EUROPEAN
            },
        },
    ),
    (
        "it",
        Strings {
            contents: "Indice",
            notes: "Note",
            sources: "Fonti",
            cover: "Copertina",
            title_page: "Frontespizio",
            landmarks: "Punti di riferimento",
            start: "Inizio del testo",
            back_to_reference: "Torna al richiamo",
            cited_in: "Citato in",
            citation: Citation {
                months: [
                    "gennaio",
                    "febbraio",
                    "marzo",
                    "aprile",
                    "maggio",
                    "giugno",
                    "luglio",
                    "agosto",
                    "settembre",
                    "ottobre",
                    "novembre",
                    "dicembre",
                ],
                first_day: Some("1º"),
                accessed: "Consultato il {date}",
                and: Some("e"),
                quotes: GUILLEMETS,
                inner_quotes: DOUBLE_QUOTES,
                ..EUROPEAN
            },
        },
    ),
    (
        "pt",
        Strings {
            contents: "Sumário",
            notes: "Notas",
            sources: "Fontes",
            cover: "Capa",
            title_page: "Folha de rosto",
            landmarks: "Pontos de referência",
            start: "Início do texto",
            back_to_reference: "Voltar à referência",
            cited_in: "Citado em",
            citation: Citation {
                months: [
                    "janeiro",
                    "fevereiro",
                    "março",
                    "abril",
                    "maio",
                    "junho",
                    "julho",
                    "agosto",
                    "setembro",
                    "outubro",
                    "novembro",
                    "dezembro",
                ],
                full_date: "{d} de {M} de {y}",
                month_year: "{M} de {y}",
                accessed: "Acesso em {date}",
                and: Some("e"),
                quotes: DOUBLE_QUOTES,
                inner_quotes: SINGLE_QUOTES,
                ..EUROPEAN
            },
        },
    ),
    (
        "nl",
        Strings {
            contents: "Inhoud",
            notes: "Noten",
            sources: "Bronnen",
            cover: "Omslag",
            title_page: "Titelpagina",
            landmarks: "Oriëntatiepunten",
            start: "Begin van de tekst",
            back_to_reference: "Terug naar verwijzing",
            cited_in: "Geciteerd in",
            citation: Citation {
                months: [
                    "januari",
                    "februari",
                    "maart",
                    "april",
                    "mei",
                    "juni",
                    "juli",
                    "augustus",
                    "september",
                    "oktober",
                    "november",
                    "december",
                ],
                accessed: "Geraadpleegd op {date}",
                and: Some("en"),
                et_al: " e.a.",
                quotes: DOUBLE_QUOTES,
                inner_quotes: SINGLE_QUOTES,
                ..EUROPEAN
            },
        },
    ),
    (
        "ko",
        Strings {
            contents: "목차",
            notes: "주석",
            sources: "출처",
            cover: "표지",
            title_page: "속표지",
            landmarks: "랜드마크",
            start: "본문 시작",
            back_to_reference: "본문으로 돌아가기",
            cited_in: "인용 위치",
            citation: Citation {
                full_date: "{y}년 {m}월 {d}일",
                month_year: "{y}년 {m}월",
                accessed: "{date} 접속",
                list: ", ",
                et_al: " 외",
                title_marks: Some(("\u{300e}", "\u{300f}")),
                ..EAST_ASIAN
            },
        },
    ),
    (
        "ja",
        Strings {
            contents: "目次",
            notes: "注",
            sources: "出典",
            cover: "表紙",
            title_page: "扉",
            landmarks: "ランドマーク",
            start: "本文開始",
            back_to_reference: "本文に戻る",
            cited_in: "引用箇所",
            citation: Citation {
                accessed: "{date}閲覧",
                et_al: "ほか",
                quotes: ("\u{300c}", "\u{300d}"),
                inner_quotes: ("\u{300e}", "\u{300f}"),
                title_marks: Some(("\u{300e}", "\u{300f}")),
                ..EAST_ASIAN
            },
        },
    ),
    (
        "zh",
        Strings {
            contents: "目录",
            notes: "注释",
            sources: "参考来源",
            cover: "封面",
            title_page: "扉页",
            landmarks: "地标",
            start: "正文开始",
            back_to_reference: "返回正文",
            cited_in: "引用于",
            citation: Citation {
                accessed: "{date}访问",
                et_al: "等",
                title_marks: Some(("\u{300a}", "\u{300b}")),
                ..EAST_ASIAN
            },
        },
    ),
];

/// The strings for a BCP 47 tag, matched on its primary language subtag.
pub fn strings(language: &str) -> &'static Strings {
    let primary = language.split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
    TABLE.iter().find(|(tag, _)| *tag == primary).map_or(&TABLE[0].1, |(_, s)| s)
}

/// How citations are written in a book in `language` (a BCP 47 tag). English dates are day first,
/// except in US English and in plain `en`, which most books that do not say more are written in.
pub fn citation(language: &str) -> &'static Citation {
    let lower = language.to_ascii_lowercase();
    if lower == "en" || lower.starts_with("en-us") { &EN_US_CITATION } else { &strings(language).citation }
}

#[cfg(test)]
mod tests {
    #[test]
    fn falls_back_to_english() {
        assert_eq!(super::strings("de-AT").contents, "Inhalt");
        assert_eq!(super::strings("sw").contents, "Contents");
    }
}
