//! Issue #20, classes 1–3: hostile SVG, CSS and raw HTML, generated from the pieces attacks are made
//! of and then mutated at random, through folio's sanitisers. The checks are the fuzz target's
//! (`fuzz/invariants.rs`, shared with `#[path]`): no panic, well-formed output, nothing active, no
//! URL that leaves the document or the book.

#[path = "../fuzz/invariants.rs"]
mod invariants;

use proptest::prelude::*;

/// Values an attacker puts in URL, CSS and plain attributes.
const VALUES: &[&str] = &[
    "javascript:alert(1)",
    " JaVa\tScRiPt:alert(1)",
    "&#x6a;avascript:x",
    "#a",
    "file:///etc/passwd",
    "/etc/passwd",
    "../../x.png",
    "pic.png",
    "ab.png",
    "http://x/y.png",
    "//x/y.png",
    "data:image/png;base64,iVBORw0KGgo=",
    "data:image/jpeg;base64,iVBORw0KGgo=",
    "data:image/svg+xml,%3Csvg onload=alert(1)%3E",
    "url(http://x)",
    "u\\72l(http://x)",
    "u\\72 l(x)",
    "\\75 rl(x)",
    "url(#g) red",
    "url( 'javascript:x' )",
    "fill:url(#g);stroke:u\\72l(file:///x)",
    "expression(alert(1))",
    "translate(1,2)",
    "red",
    "&amp;&lt;",
    "\u{0}\u{1b}",
    "a\"b'c",
];

const SVG_ELEMENTS: &[&str] = &[
    "svg",
    "g",
    "script",
    "SCRIPT",
    "a",
    "set",
    "animate",
    "animateTransform",
    "handler",
    "listener",
    "image",
    "feImage",
    "use",
    "style",
    "foreignObject",
    "circle",
    "text",
    "metadata",
    "i:namedview",
    "iframe",
    "p",
];

const SVG_ATTRIBUTES: &[&str] = &[
    "onload",
    "ONCLICK",
    "href",
    "xlink:href",
    "style",
    "fill",
    "filter",
    "transform",
    "xml:base",
    "begin",
    "attributeName",
    "to",
    "values",
    "requiredExtensions",
    "i:label",
    "id",
];

const CSS_PIECES: &[&str] = &[
    "@import \"x.css\";",
    "@import url(http://x/y.css) screen;",
    "@IMPORT 'a';",
    "p{background:url(keep.png)}",
    "p{background:u\\72l(http://x/y.png)}",
    "q{b:url(\"move.png\") no-repeat}",
    "@media screen{a{b:url(javascript:x)}}",
    "@font-face{src:url(gone.woff) format('woff'), url(keep.png)}",
    "a{b:image-set(\"evil.png\" 1x, url(move.png) 2x)}",
    "p{w:expression(alert(1))}",
    "a{b:url(#f)}",
    "/* url(http://x) */",
    "a{b:url(bad url)}",
    "a{b:\\75 rl(http://x)}",
    "a{b:src(\"http://x\")}",
    "@namespace url(http://x);",
    "a{b:url(\"keep.png\" x)}",
    "a{b:url()}",
    "}",
    "{",
    "(",
    "[",
    "\"",
    "'",
    "\\",
    ";",
    "url(",
    "u\\",
    "\n",
];

fn pick(list: &'static [&'static str]) -> impl Strategy<Value = &'static str> {
    prop::sample::select(list)
}

fn attributes() -> impl Strategy<Value = String> {
    prop::collection::vec((pick(SVG_ATTRIBUTES), pick(VALUES)), 0..4).prop_map(|attrs| {
        attrs
            .into_iter()
            .map(|(name, value)| format!(" {name}=\"{}\"", value.replace('"', "&quot;").replace('<', "&lt;")))
            .collect()
    })
}

fn css() -> impl Strategy<Value = String> {
    prop::collection::vec(pick(CSS_PIECES), 0..12).prop_map(|pieces| pieces.concat())
}

/// Markup built from SVG pieces, nested a few levels.
fn markup() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        pick(VALUES).prop_map(|v| v.replace('<', "&lt;")),
        css().prop_map(|c| format!("<style>{}</style>", c.replace('<', "&lt;").replace('&', "&amp;"))),
        (pick(SVG_ELEMENTS), attributes()).prop_map(|(name, attrs)| format!("<{name}{attrs}/>")),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        (pick(SVG_ELEMENTS), attributes(), prop::collection::vec(inner, 0..4))
            .prop_map(|(name, attrs, children)| format!("<{name}{attrs}>{}</{name}>", children.concat()))
    })
}

const PROLOGUES: &[&str] = &[
    "",
    "<?xml version=\"1.0\"?>\n",
    "<!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" \"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd\">",
    "<!DOCTYPE svg [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;\">]>",
    "<!DOCTYPE svg [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>",
    "<!DOCTYPE svg SYSTEM \"file:///etc/passwd\">",
    "<?xml-stylesheet href=\"http://x/y.css\"?>",
];

fn svg() -> impl Strategy<Value = String> {
    (pick(PROLOGUES), attributes(), prop::collection::vec(markup(), 0..4), any::<bool>()).prop_map(
        |(prologue, attrs, children, namespaced)| {
            let xmlns = if namespaced {
                " xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" xmlns:i=\"urn:i\""
            } else {
                " xmlns:xlink=\"http://www.w3.org/1999/xlink\" xmlns:i=\"urn:i\""
            };
            format!("{prologue}<svg{xmlns}{attrs}>{}</svg>", children.concat())
        },
    )
}

/// `text` with bytes deleted, inserted and replaced at random places.
fn mutated(text: impl Strategy<Value = String>) -> impl Strategy<Value = Vec<u8>> {
    (text, prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, any::<u8>()), 0..6)).prop_map(
        |(text, edits)| {
            let mut bytes = text.into_bytes();
            for (at, kind, byte) in edits {
                let at = at.index(bytes.len() + 1);
                match kind {
                    0 if at < bytes.len() => {
                        bytes.remove(at);
                    }
                    1 => bytes.insert(at, byte),
                    _ if at < bytes.len() => bytes[at] = b"<>\"'&;:()\\/#{}"[usize::from(byte) % 14],
                    _ => {}
                }
            }
            bytes
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 384, ..ProptestConfig::default() })]

    #[test]
    fn hostile_svg_files_come_out_inert(svg in svg()) {
        invariants::check_svg(svg.as_bytes());
    }

    #[test]
    fn mutated_svg_files_come_out_inert(svg in mutated(svg())) {
        invariants::check_svg(&svg);
    }

    #[test]
    fn hostile_css_comes_out_inert(css in mutated(css())) {
        invariants::check_css(&String::from_utf8_lossy(&css));
    }

    #[test]
    fn hostile_inline_svg_comes_out_inert(
        before in pick(&["", "<p style=\"background:u\\72l(http://x)\">", "<math href=\"javascript:x\">"]),
        svg in mutated(svg()),
    ) {
        invariants::check_inline_html(&format!("{before}{}", String::from_utf8_lossy(&svg)));
    }
}

/// The cases of the issue, each as the fuzz target would see them.
#[test]
fn the_issues_cases_come_out_inert() {
    for svg in [
        "<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>",
        "<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"><a href=\"javascript:alert(1)\"><text>x</text></a></svg>",
        "<!DOCTYPE svg [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><svg xmlns=\"http://www.w3.org/2000/svg\"><text>&x;</text></svg>",
        "<svg xmlns=\"http://www.w3.org/2000/svg\"><image href=\"file:///etc/passwd\"/><image href=\"../../../x.png\"/></svg>",
    ] {
        invariants::check_svg(svg.as_bytes());
    }
    invariants::check_inline_html(
        "<svg><script>alert(1)</script><a href=\"#x\"><set attributeName=\"href\" to=\"javascript:alert(1)\"/>\
         <animate attributeName=\"href\" values=\"javascript:alert(1)\"/>x</a><handler>alert(1)</handler></svg>\
         <p style=\"background:u\\72l(http://x)\">y</p>",
    );
    invariants::check_css(
        "@import \"a.css\";p{background:url(file:///etc/passwd)}q{b:url(http://x)}r{b:url(missing.png)}",
    );
}
