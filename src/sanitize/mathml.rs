//! MathML elements that only lay out mathematics (MathML Core and the MathML 3 presentation elements
//! readers show). Left out: `<annotation-xml>` (it may hold HTML or SVG under rules of its own),
//! `<mglyph>` (it loads an image), `<maction>` (it scripts), and anything unknown, which goes with
//! its content: HTML's parser puts `<svg>` or `<script>` written inside `<math>` in the MathML
//! namespace, where no other rule would see them.

/// Sorted.
const ELEMENTS: &[&str] = &[
    "annotation",
    "maligngroup",
    "malignmark",
    "math",
    "menclose",
    "merror",
    "mfenced",
    "mfrac",
    "mi",
    "mlabeledtr",
    "mmultiscripts",
    "mn",
    "mo",
    "mover",
    "mpadded",
    "mphantom",
    "mprescripts",
    "mroot",
    "mrow",
    "ms",
    "mspace",
    "msqrt",
    "mstyle",
    "msub",
    "msubsup",
    "msup",
    "mtable",
    "mtd",
    "mtext",
    "mtr",
    "munder",
    "munderover",
    "none",
    "semantics",
];

/// True for a MathML element that may stay.
pub fn element_allowed(name: &str) -> bool {
    ELEMENTS.binary_search(&name).is_ok()
}

/// MathML Core lets every element set `displaystyle` and `scriptlevel`; MathML 3, whose schema EPUB
/// checks, lets only `<mstyle>` set both, and `<math>` and `<mtable>` `displaystyle`. Elsewhere they move
/// to an `<mstyle>` around the element, which sets the same for it (on `<math>`, they are dropped).
pub fn style_moves_to_mstyle(element: &str, attribute: &str) -> bool {
    match attribute {
        "displaystyle" => !matches!(element, "math" | "mstyle" | "mtable"),
        "scriptlevel" => element != "mstyle",
        _ => false,
    }
}

/// Whether a moved style attribute's value is one MathML 3 accepts.
pub fn style_value_ok(attribute: &str, value: &str) -> bool {
    let value = value.trim();
    match attribute {
        "displaystyle" => matches!(value, "true" | "false"),
        _ => {
            let digits = value.strip_prefix(['+', '-']).unwrap_or(value);
            !digits.is_empty() && digits.len() <= 3 && digits.bytes().all(|b| b.is_ascii_digit())
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_list_is_sorted_for_binary_search() {
        assert!(super::ELEMENTS.windows(2).all(|w| w[0] < w[1]));
    }
}
