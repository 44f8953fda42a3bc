//! Markdown → XHTML, as pairs (pulldown-cmark's `specs/` are the model): each test renders Markdown
//! through the whole renderer and states the exact XHTML, and what the renderer recorded of it.

use super::RenderedChapter;
use super::tests::render_chapter;

/// The chapter's XHTML between its `<section>` tags, and the chapter.
fn xhtml(markdown: &str) -> (String, RenderedChapter) {
    let rendered = render_chapter("", markdown);
    let open = rendered.body.find(">\n").expect("a section") + 2;
    let close = rendered.body.find("</section>\n").expect("a section");
    (rendered.body[open..close].to_string(), rendered)
}

fn ids(rendered: &RenderedChapter) -> Vec<&str> {
    rendered.ids.iter().collect()
}

#[test]
fn headings_get_mdbook_ids_or_their_own() {
    let (out, chapter) = xhtml("# Intro\n\n## Intro\n\n## A `b` *c*!\n\n### Own {#own .x .x lang=fr data-k=v}\n");
    assert_eq!(
        out,
        "<h1 id=\"intro\">Intro</h1>\n<h2 id=\"intro-1\">Intro</h2>\n<h2 id=\"a-b-c\">A <code>b</code> <em>c</em>!</h2>\n\
         <h3 id=\"own\" class=\"x\" lang=\"fr\" data-k=\"v\">Own</h3>\n"
    );
    assert_eq!(ids(&chapter), ["a-b-c", "intro", "intro-1", "own"]);
    let headings: Vec<_> = chapter.headings.iter().map(|h| (h.level, h.text.as_str(), h.id.as_str())).collect();
    assert_eq!(headings, [(1, "Intro", "intro"), (2, "Intro", "intro-1"), (2, "A b c!", "a-b-c"), (3, "Own", "own")]);
    assert!(
        chapter.body.starts_with("<section epub:type=\"chapter\" role=\"doc-chapter\" aria-labelledby=\"intro\">\n")
    );
}

#[test]
fn links_resolve_and_keep_their_title() {
    let (out, chapter) =
        xhtml("# Top\n\n[here](#top) [there](sub/other.md#Part \"Other\") [web](https://example.com/?a=1&b=2)\n");
    assert_eq!(
        out,
        "<h1 id=\"top\">Top</h1>\n<p><a href=\"#top\">here</a> <a href=\"c002-two.xhtml#Part\" title=\"Other\">there</a> \
         <a href=\"https://example.com/?a=1&amp;b=2\">web</a></p>\n"
    );
    let cross: Vec<_> = chapter.cross_links.iter().map(|l| (l.entry, l.fragment.as_str())).collect();
    assert_eq!(cross, [(1, "Part")]);
}

#[test]
fn images_are_written_and_counted_as_written() {
    let (out, chapter) = xhtml("![A \"cat\"](cat.png \"Title\") ![](dog.png)\n\n[![**Inner**](in.png)](#x)\n");
    assert_eq!(
        out,
        "<p><img src=\"../images/src-cat-b5b9e6af.png\" alt=\"A “cat”\" title=\"Title\"/> \
         <img src=\"../images/src-dog-963c8455.png\" alt=\"\"/></p>\n\
         <p><a href=\"c001-one.xhtml\"><img src=\"../images/src-in-854f6138.png\" alt=\"Inner\"/></a></p>\n"
    );
    assert_eq!(chapter.images.len(), 3);
    assert_eq!(chapter.undescribed_images, 1);
}

#[test]
fn plain_raw_tags_are_written_directly_and_the_rest_sanitized() {
    let (out, chapter) = xhtml("Press <kbd>Ctrl</kbd>, <span class=\"k\">then</span> go.\n");
    assert_eq!(out, "<p>Press <kbd>Ctrl</kbd>, <span class=\"k\">then</span> go.</p>\n");
    assert!(!chapter.has_svg && ids(&chapter).is_empty());

    let (out, chapter) = xhtml(
        "# Title\n\n<div id=\"box\" onclick=\"x()\"><script>alert(1)</script>kept <img src=\"a.png\"></div>\n\n\
         <p id=\"title\">not the heading's</p>\n",
    );
    assert_eq!(
        out,
        "<h1 id=\"title\">Title</h1>\n<div id=\"box\">kept <img src=\"../images/src-a-6dcf99bc.png\"/></div>\n\
         <p>not the heading&#39;s</p>\n"
    );
    assert_eq!(ids(&chapter), ["box", "title"]);
    assert_eq!(chapter.undescribed_images, 1);
    let messages: Vec<_> = chapter.diagnostics.iter().map(|d| d.message.as_str()).collect();
    assert!(messages.contains(&"<script> removed: e-books carry no scripts"), "{messages:?}");
}

#[test]
fn tables_have_header_cells_and_alignment() {
    let (out, _) = xhtml("| a | b | c |\n|:--|:-:|--:|\n| 1 | 2 | 3 |\n");
    assert_eq!(
        out,
        "<table>\n<thead>\n<tr><th scope=\"col\" style=\"text-align: left\">a</th>\
         <th scope=\"col\" style=\"text-align: center\">b</th><th scope=\"col\" style=\"text-align: right\">c</th>\
         </tr>\n</thead>\n<tbody>\n<tr><td style=\"text-align: left\">1</td>\
         <td style=\"text-align: center\">2</td><td style=\"text-align: right\">3</td></tr>\n</tbody>\n</table>\n"
    );
}

#[test]
fn code_keeps_its_quotes_and_no_id_in_it_counts() {
    let (out, chapter) = xhtml("`<a id=\"x\">`\n\n```\n<p id=\"y\" alt=\"z\">\n```\n");
    assert_eq!(
        out,
        "<p><code>&lt;a id=&quot;x&quot;&gt;</code></p>\n<pre><code>&lt;p id=\"y\" alt=\"z\"&gt;\n</code></pre>\n"
    );
    assert!(ids(&chapter).is_empty());
}

#[test]
fn rust_examples_hide_their_setup_lines() {
    let (out, _) = xhtml("```rust,ignore\n# fn main() {\nlet x = 1;\n## not hidden\n# }\n```\n");
    assert!(out.starts_with("<pre><code class=\"language-rust\">"), "{out}");
    assert!(!out.contains("main") && out.contains("# not hidden"), "{out}");
}

#[test]
fn notes_ids_are_recorded_where_written() {
    let rendered = render_chapter("", "A[^n] b[^n].\n\n[^n]: Note <b id=\"in-note\">x</b>.\n\n[^unused]: ## Gone\n");
    assert_eq!(ids(&rendered), ["in-note", "note.1", "noteref.1", "noteref.1.2"]);
    assert!(rendered.body.contains("<b id=\"in-note\">x</b>"), "{}", rendered.body);
}
