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

#[cfg(test)]
mod tests {
    #[test]
    fn the_list_is_sorted_for_binary_search() {
        assert!(super::ELEMENTS.windows(2).all(|w| w[0] < w[1]));
    }
}
