//! Stage 4, notes and links across the book: what needs every chapter rendered first —
//! anchors in other chapters, and the Sources page built from every citation.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;

use crate::cite::Sources;
use crate::diagnostic::Diagnostic;
use crate::i18n::Strings;
use crate::outline::{Outline, Target};
use crate::render::RenderedChapter;
use crate::text::{escape, escaped, xml_id};

/// Links into other chapters whose fragment names no id there: a warning for each, and the set of
/// (chapter entry, fragment) they name, so the chapters holding them can point them at the top of the
/// chapter instead, as a browser does with mdBook's pages.
pub fn check_cross_links(
    outline: &Outline,
    chapters: &[&RenderedChapter],
) -> (Vec<Diagnostic>, HashSet<(usize, String)>) {
    let mut rendered: Vec<Option<&RenderedChapter>> = vec![None; outline.entries.len()];
    for chapter in chapters {
        rendered[chapter.entry] = Some(chapter);
    }
    let mut diags = Vec::new();
    let mut dangling = HashSet::new();
    for link in chapters.iter().flat_map(|c| &c.cross_links) {
        let entry = &outline.entries[link.entry];
        // A chapter that failed to load was reported already.
        let Some(target) = rendered[link.entry] else { continue };
        if !target.ids.contains(&link.fragment) {
            let name = match &entry.target {
                Target::Chapter(path) => path.display().to_string(),
                Target::Part => entry.title.clone(),
            };
            let message = format!("no heading or anchor '#{}' in '{name}'; the link points to its top", link.written);
            diags.push(link.location.warning(message));
            dangling.insert((link.entry, link.fragment.clone()));
        }
    }
    (diags, dangling)
}

/// The body of the Sources page, and warnings for sources never cited.
pub fn bibliography(
    sources: &Sources,
    chapters: &[&RenderedChapter],
    outline: &Outline,
    files: &[String],
    strings: &Strings,
) -> (String, Vec<Diagnostic>) {
    // key → chapter entry → note reference ids, in reading order.
    let mut uses: BTreeMap<&str, BTreeMap<usize, Vec<&str>>> = BTreeMap::new();
    for chapter in chapters {
        for (key, ref_id) in &chapter.citations {
            let refs = uses.entry(key.as_str()).or_default().entry(chapter.entry).or_default();
            if !refs.contains(&ref_id.as_str()) {
                refs.push(ref_id);
            }
        }
    }
    let mut diags = Vec::new();
    let mut cited: Vec<_> = sources
        .entries
        .iter()
        .filter(|s| {
            let used = uses.contains_key(s.key.as_str());
            if !used {
                diags.push(sources.file.warning(s.key_range.clone(), format!("source '{}' is never cited", s.key)));
            }
            used
        })
        .collect();
    cited.sort_by_cached_key(|s| s.sort_key());

    let mut out = String::from(
        "<section class=\"bibliography\" epub:type=\"bibliography\" role=\"doc-bibliography\" aria-labelledby=\"sources-title\">\n<h1 id=\"sources-title\">",
    );
    escape(&mut out, strings.sources);
    out.push_str("</h1>\n<ul class=\"bibliography-list\">\n");
    for source in cited {
        let _ = write!(out, "<li class=\"bibliography-entry\" id=\"src-{}\">", escaped(&xml_id(&source.key)));
        out.push_str(&source.bibliography());
        out.push_str(" <span class=\"cited-in\">");
        escape(&mut out, strings.cited_in);
        out.push(':');
        let by_chapter = &uses[source.key.as_str()];
        for (i, (entry, refs)) in by_chapter.iter().enumerate() {
            out.push_str(if i == 0 { " " } else { "; " });
            escape(&mut out, &outline.entries[*entry].title);
            for (j, ref_id) in refs.iter().enumerate() {
                let number = ref_id.trim_start_matches("noteref.").split('.').next().unwrap_or("");
                out.push_str(if j == 0 { " " } else { ", " });
                let _ = write!(out, "<a class=\"cited-at\" href=\"{}#{ref_id}\">{number}</a>", files[*entry]);
            }
        }
        out.push_str("</span></li>\n");
    }
    out.push_str("</ul>\n</section>\n");
    (out, diags)
}
