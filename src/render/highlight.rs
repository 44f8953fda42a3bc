//! Syntax highlighting for fenced code blocks, part of render: a block's text and its fence
//! language → XHTML with `<span class="…">` around keywords, strings, comments and the like, in the
//! small fixed set of classes of [`Class`], which `styles/folio.css` colours.
//!
//! A lexer of our own, one forward pass over the bytes, no regular expressions: each language is
//! data ([`Language`]: keyword lists, comment and string syntax, a few switches), and one generic
//! routine reads them all; HTML and XML have their own small routine. It recognises tokens, not
//! grammar, which is what a printed listing needs. Measured on the 200-chapter benchmark book
//! (330 KB of code), syntect took 0.5–1.8 s and tree-sitter 0.28 s; this takes a few
//! milliseconds (README, design notes).
//!
//! Only tokens that get a colour are wrapped (punctuation, operators and plain names are not), and
//! neighbouring tokens of one class separated by white space share one span: every span costs
//! bytes to compress and to validate on each build.

use pulldown_cmark_escape::escape_html_body_text;

use crate::text::without_forbidden;

/// What a highlighted token is. Each has a short CSS class, written on a `<span>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// `kw`: keywords, shell built-ins, CSS at-rules.
    Keyword,
    /// `str`: string and character literals.
    String,
    /// `com`: comments.
    Comment,
    /// `num`: numbers, TOML and YAML dates.
    Number,
    /// `lit`: named constants: `true`, `null`, `None`, `ALL_CAPS` names, shell variables, HTML entities.
    Literal,
    /// `ty`: built-in type names, and capitalised names where that means a type.
    Type,
    /// `fn`: a name called with `(`, Rust macros.
    Function,
    /// `attr`: keys (JSON, TOML, YAML), CSS properties, HTML and XML attribute names.
    Attribute,
    /// `tag`: HTML and XML element names, TOML table headers.
    Tag,
    /// `meta`: preprocessor lines, Rust attributes, decorators and annotations, shell prompts, doctypes.
    Meta,
}

impl Class {
    /// The CSS class name.
    pub fn css(self) -> &'static str {
        match self {
            Class::Keyword => "kw",
            Class::String => "str",
            Class::Comment => "com",
            Class::Number => "num",
            Class::Literal => "lit",
            Class::Type => "ty",
            Class::Function => "fn",
            Class::Attribute => "attr",
            Class::Tag => "tag",
            Class::Meta => "meta",
        }
    }
}

/// Which names followed by a separator are keys, coloured as [`Class::Attribute`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keys {
    None,
    /// JSON: a string followed by `:`.
    Json,
    /// YAML: a name or string followed by `:` and a space or the end of the line.
    Yaml,
    /// TOML: a name or string followed by `=` (not `==`).
    Toml,
    /// CSS: a name followed by `:` inside braces.
    Css,
}

/// How one language is read. Word lists are sorted (lower case where `case_insensitive`).
#[derive(Debug)]
pub struct Language {
    /// Fence names, lower case.
    names: &'static [&'static str],
    keywords: &'static [&'static str],
    types: &'static [&'static str],
    literals: &'static [&'static str],
    line_comments: &'static [&'static str],
    block_comment: Option<(&'static str, &'static str)>,
    /// Rust's block comments nest.
    nested_comments: bool,
    /// `#` starts a comment only at the start of a word (shell, YAML).
    comments_at_word_start: bool,
    /// String quotes in which a backslash escapes the next character.
    escaped_quotes: &'static [u8],
    /// String quotes without escapes (shell `'…'`, Go `` `…` ``, SQL).
    raw_quotes: &'static [u8],
    /// Quotes whose strings may run over several lines; others end at the line's end.
    multiline_quotes: &'static [u8],
    /// `"""…"""` and `'''…'''` (Python, TOML, Java text blocks).
    triple_quotes: bool,
    /// Names that, right before a quote, belong to the string (`r"…"`, `b'…'`, `f"…"`), lower case.
    string_prefixes: &'static [&'static str],
    /// Rust: `r#"…"#` raw strings, `'c'` characters beside `'a` lifetimes, `name!` macros, `#[…]` attributes.
    rust: bool,
    /// Bytes that may stand in a name besides letters, digits, `_` and non-ASCII.
    word_bytes: &'static [u8],
    case_insensitive: bool,
    /// `Name` is a type and `NAME` a constant.
    capitalized_types: bool,
    /// `NAME` is a constant.
    upper_case_constants: bool,
    keys: Keys,
    /// Class of `@name` (decorators, annotations, CSS at-rules), when the language has them.
    at_words: Option<Class>,
    /// Shell: `$name`, `${…}`, `$1`; and a `$ ` prompt at the start of a line.
    shell: bool,
    /// C and C++: `#directive` at the start of a line.
    preprocessor: bool,
    /// TOML: `[table]` at the start of a line.
    table_headers: bool,
    /// TOML and YAML: `1979-05-27T07:32:00Z` is one number.
    dates: bool,
    /// HTML and XML, read by their own routine.
    markup: bool,
}

/// What every language starts from: nothing recognised.
const CODE: Language = Language {
    names: &[],
    keywords: &[],
    types: &[],
    literals: &[],
    line_comments: &[],
    block_comment: None,
    nested_comments: false,
    comments_at_word_start: false,
    escaped_quotes: &[],
    raw_quotes: &[],
    multiline_quotes: &[],
    triple_quotes: false,
    string_prefixes: &[],
    rust: false,
    word_bytes: &[],
    case_insensitive: false,
    capitalized_types: false,
    upper_case_constants: false,
    keys: Keys::None,
    at_words: None,
    shell: false,
    preprocessor: false,
    table_headers: false,
    dates: false,
    markup: false,
};

/// `//` and `/* */` comments, shared by the C family and its relatives.
const C_COMMENTS: Language = Language { line_comments: &["//"], block_comment: Some(("/*", "*/")), ..CODE };

#[rustfmt::skip]
const C_KEYWORDS: &[&str] = &[
    "_Alignas", "_Alignof", "_Atomic", "_Generic", "_Noreturn", "_Static_assert", "_Thread_local", "auto", "break",
    "case", "const", "continue", "default", "do", "else", "enum", "extern", "for", "goto", "if", "inline",
    "register", "restrict", "return", "sizeof", "static", "struct", "switch", "typedef", "union", "volatile", "while",
];
#[rustfmt::skip]
const C_TYPES: &[&str] = &[
    "_Bool", "bool", "char", "double", "float", "int", "int16_t", "int32_t", "int64_t", "int8_t", "intptr_t", "long",
    "ptrdiff_t", "short", "signed", "size_t", "ssize_t", "uint16_t", "uint32_t", "uint64_t", "uint8_t", "uintptr_t",
    "unsigned", "void", "wchar_t",
];

#[rustfmt::skip]
const JS_KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "case", "catch", "class", "const", "continue", "debugger", "default", "delete",
    "do", "else", "export", "extends", "finally", "for", "from", "function", "if", "import", "in", "instanceof",
    "let", "new", "of", "return", "static", "super", "switch", "this", "throw", "try", "typeof", "var", "void",
    "while", "with", "yield",
];
#[rustfmt::skip]
const JS_LITERALS: &[&str] = &["Infinity", "NaN", "false", "null", "true", "undefined"];

const JAVASCRIPT: Language = Language {
    names: &["javascript", "js", "jsx", "mjs", "cjs"],
    keywords: JS_KEYWORDS,
    literals: JS_LITERALS,
    escaped_quotes: b"\"'`",
    multiline_quotes: b"`",
    word_bytes: b"$",
    capitalized_types: true,
    upper_case_constants: true,
    at_words: Some(Class::Meta),
    ..C_COMMENTS
};

/// Every language folio highlights. (Not formatted by rustfmt, which would set one word a line.)
#[rustfmt::skip]
static LANGUAGES: &[Language] = &[
    Language {
        names: &["rust", "rs"],
        keywords: &[
            "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "fn",
            "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self",
            "static", "struct", "super", "trait", "type", "union", "unsafe", "use", "where", "while", "yield",
        ],
        types: &[
            "bool", "char", "f32", "f64", "i128", "i16", "i32", "i64", "i8", "isize", "str", "u128", "u16", "u32",
            "u64", "u8", "usize",
        ],
        literals: &["false", "true"],
        nested_comments: true,
        escaped_quotes: b"\"",
        multiline_quotes: b"\"",
        string_prefixes: &["b", "br", "c", "cr", "r"],
        rust: true,
        capitalized_types: true,
        upper_case_constants: true,
        ..C_COMMENTS
    },
    Language {
        names: &["python", "py", "python3", "py3"],
        keywords: &[
            "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif", "else",
            "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal", "not",
            "or", "pass", "raise", "return", "try", "while", "with", "yield",
        ],
        types: &["bool", "bytes", "dict", "float", "int", "list", "object", "set", "str", "tuple"],
        literals: &["False", "None", "True"],
        line_comments: &["#"],
        escaped_quotes: b"\"'",
        triple_quotes: true,
        string_prefixes: &["b", "br", "f", "fr", "r", "rb", "rf", "u"],
        capitalized_types: true,
        upper_case_constants: true,
        at_words: Some(Class::Meta),
        ..CODE
    },
    Language {
        names: &["c", "h"],
        keywords: C_KEYWORDS,
        types: C_TYPES,
        literals: &["NULL", "false", "true"],
        escaped_quotes: b"\"'",
        string_prefixes: &["l", "u", "u8"],
        upper_case_constants: true,
        preprocessor: true,
        ..C_COMMENTS
    },
    Language {
        names: &["cpp", "c++", "cc", "cxx", "hpp", "hh", "hxx"],
        keywords: &[
            "alignas", "alignof", "auto", "break", "case", "catch", "class", "co_await", "co_return", "co_yield",
            "concept", "const", "const_cast", "consteval", "constexpr", "constinit", "continue", "decltype",
            "default", "delete", "do", "dynamic_cast", "else", "enum", "explicit", "export", "extern", "final", "for",
            "friend", "goto", "if", "inline", "mutable", "namespace", "new", "noexcept", "operator", "override",
            "private", "protected", "public", "register", "reinterpret_cast", "requires", "return", "sizeof",
            "static", "static_assert", "static_cast", "struct", "switch", "template", "this", "thread_local", "throw",
            "try", "typedef", "typeid", "typename", "union", "using", "virtual", "volatile", "while",
        ],
        types: C_TYPES,
        literals: &["NULL", "false", "nullptr", "true"],
        escaped_quotes: b"\"'",
        string_prefixes: &["l", "u", "u8"],
        capitalized_types: true,
        upper_case_constants: true,
        preprocessor: true,
        ..C_COMMENTS
    },
    JAVASCRIPT,
    Language {
        names: &["typescript", "ts", "tsx", "mts", "cts"],
        keywords: &[
            "abstract", "as", "async", "await", "break", "case", "catch", "class", "const", "continue", "debugger",
            "declare", "default", "delete", "do", "else", "enum", "export", "extends", "finally", "for", "from",
            "function", "if", "implements", "import", "in", "infer", "instanceof", "interface", "is", "keyof", "let",
            "namespace", "new", "of", "private", "protected", "public", "readonly", "return", "satisfies", "static",
            "super", "switch", "this", "throw", "try", "type", "typeof", "var", "void", "while", "with", "yield",
        ],
        types: &["any", "bigint", "boolean", "never", "number", "object", "string", "symbol", "unknown"],
        ..JAVASCRIPT
    },
    Language {
        names: &["json", "jsonc", "json5"],
        literals: &["false", "null", "true"],
        escaped_quotes: b"\"'",
        keys: Keys::Json,
        ..C_COMMENTS
    },
    Language {
        names: &["toml"],
        literals: &["false", "inf", "nan", "true"],
        line_comments: &["#"],
        escaped_quotes: b"\"",
        raw_quotes: b"'",
        triple_quotes: true,
        word_bytes: b"-",
        keys: Keys::Toml,
        table_headers: true,
        dates: true,
        ..CODE
    },
    Language {
        names: &["yaml", "yml"],
        literals: &["false", "no", "null", "off", "on", "true", "yes"],
        line_comments: &["#"],
        comments_at_word_start: true,
        escaped_quotes: b"\"",
        raw_quotes: b"'",
        word_bytes: b"-.",
        case_insensitive: true,
        keys: Keys::Yaml,
        dates: true,
        ..CODE
    },
    Language {
        names: &["sh", "bash", "shell", "console", "zsh", "shell-session", "shellsession"],
        keywords: &[
            "alias", "break", "case", "cd", "continue", "declare", "do", "done", "echo", "elif", "else", "esac",
            "eval", "exec", "exit", "export", "fi", "for", "function", "if", "in", "local", "printf", "read",
            "readonly", "return", "select", "set", "shift", "source", "then", "trap", "unset", "until", "while",
        ],
        literals: &["false", "true"],
        line_comments: &["#"],
        comments_at_word_start: true,
        escaped_quotes: b"\"",
        raw_quotes: b"'",
        multiline_quotes: b"\"'",
        word_bytes: b"-./",
        shell: true,
        ..CODE
    },
    Language { names: &["html", "htm", "xhtml", "xml", "svg", "xsl", "xslt", "mathml"], markup: true, ..CODE },
    Language {
        names: &["css"],
        keywords: &["important"],
        literals: &["auto", "bold", "inherit", "initial", "none", "normal", "transparent", "unset"],
        block_comment: Some(("/*", "*/")),
        escaped_quotes: b"\"'",
        word_bytes: b"-",
        keys: Keys::Css,
        at_words: Some(Class::Keyword),
        ..CODE
    },
    Language {
        names: &["sql", "mysql", "postgresql", "psql", "sqlite", "plsql"],
        keywords: &[
            "add", "all", "alter", "and", "as", "asc", "begin", "between", "by", "case", "check", "column", "commit",
            "constraint", "create", "cross", "default", "delete", "desc", "distinct", "drop", "else", "end",
            "exists", "foreign", "from", "full", "group", "having", "if", "in", "index", "inner", "insert",
            "intersect", "into", "is", "join", "key", "left", "like", "limit", "not", "offset", "on", "or", "order",
            "outer", "primary", "references", "returning", "right", "rollback", "select", "set", "table", "then",
            "transaction", "union", "unique", "update", "using", "values", "view", "when", "where", "with",
        ],
        types: &[
            "bigint", "blob", "boolean", "char", "date", "decimal", "double", "float", "int", "integer", "numeric",
            "real", "serial", "smallint", "text", "timestamp", "varchar",
        ],
        literals: &["false", "null", "true"],
        line_comments: &["--"],
        raw_quotes: b"'\"`",
        case_insensitive: true,
        ..C_COMMENTS
    },
    Language {
        names: &["go", "golang"],
        keywords: &[
            "break", "case", "chan", "const", "continue", "default", "defer", "else", "fallthrough", "for", "func",
            "go", "goto", "if", "import", "interface", "map", "package", "range", "return", "select", "struct",
            "switch", "type", "var",
        ],
        types: &[
            "any", "bool", "byte", "complex128", "complex64", "error", "float32", "float64", "int", "int16", "int32",
            "int64", "int8", "rune", "string", "uint", "uint16", "uint32", "uint64", "uint8", "uintptr",
        ],
        literals: &["false", "iota", "nil", "true"],
        escaped_quotes: b"\"'",
        raw_quotes: b"`",
        multiline_quotes: b"`",
        ..C_COMMENTS
    },
    Language {
        names: &["java"],
        keywords: &[
            "abstract", "assert", "break", "case", "catch", "class", "const", "continue", "default", "do", "else",
            "enum", "extends", "final", "finally", "for", "goto", "if", "implements", "import", "instanceof",
            "interface", "native", "new", "package", "permits", "private", "protected", "public",
            "record", "return", "sealed", "static", "strictfp", "super", "switch", "synchronized", "this", "throw",
            "throws", "transient", "try", "var", "volatile", "while", "yield",
        ],
        types: &["boolean", "byte", "char", "double", "float", "int", "long", "short", "void"],
        literals: &["false", "null", "true"],
        escaped_quotes: b"\"'",
        triple_quotes: true,
        capitalized_types: true,
        upper_case_constants: true,
        at_words: Some(Class::Meta),
        ..C_COMMENTS
    },
];

/// The language a fence names (`rust`, `Python`, `sh`…), when folio can highlight it.
pub fn language(fence: &str) -> Option<&'static Language> {
    let fence = fence.to_ascii_lowercase();
    LANGUAGES.iter().find(|l| l.names.contains(&fence.as_str()))
}

/// Writes `code` as escaped XHTML text with its tokens wrapped in `<span class="…">`.
pub fn highlight(out: &mut String, language: &Language, code: &str) {
    // Characters XML forbids go first, once, so the pieces need only escaping.
    let code = &without_forbidden(code);
    let mut spans = Spans { src: code, out, written: 0, open: None };
    if language.markup {
        markup(&mut spans);
    } else {
        Lexer { lang: language, src: code.as_bytes(), spans: &mut spans, depth: 0 }.run();
    }
    spans.finish();
}

/// Collects tokens and writes them, joining neighbours of one class across white space.
struct Spans<'a> {
    src: &'a str,
    out: &'a mut String,
    /// How much of `src` is written.
    written: usize,
    /// The token not yet written: class, start, end.
    open: Option<(Class, usize, usize)>,
}

impl Spans<'_> {
    /// Tokens arrive in order and never overlap; an empty one is ignored.
    fn token(&mut self, class: Class, start: usize, end: usize) {
        if start >= end {
            return;
        }
        if let Some((open_class, open_start, open_end)) = self.open {
            if open_class == class && self.src.as_bytes()[open_end..start].iter().all(u8::is_ascii_whitespace) {
                self.open = Some((class, open_start, end));
                return;
            }
            self.flush();
        }
        self.open = Some((class, start, end));
    }

    fn flush(&mut self) {
        if let Some((class, start, end)) = self.open.take() {
            escape(self.out, &self.src[self.written..start]);
            self.out.push_str("<span class=\"");
            self.out.push_str(class.css());
            self.out.push_str("\">");
            escape(self.out, &self.src[start..end]);
            self.out.push_str("</span>");
            self.written = end;
        }
    }

    fn finish(mut self) {
        self.flush();
        escape(self.out, &self.src[self.written..]);
    }
}

/// Escapes element content (the text is free of characters XML forbids).
fn escape(out: &mut String, text: &str) {
    // Writing to a String cannot fail.
    let _ = escape_html_body_text(&mut *out, text);
}

fn is_word_byte(lang: &Language, b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80 || lang.word_bytes.contains(&b)
}

/// Binary search in a sorted word list, comparing in lower case when asked.
fn listed(list: &[&str], word: &[u8], case_insensitive: bool) -> bool {
    list.binary_search_by(|entry| {
        if case_insensitive {
            entry.bytes().cmp(word.iter().map(u8::to_ascii_lowercase))
        } else {
            entry.as_bytes().cmp(word)
        }
    })
    .is_ok()
}

/// End of the line that holds `from` (the index of its `\n`, or the end).
fn line_end(src: &[u8], from: usize) -> usize {
    src[from..].iter().position(|&b| b == b'\n').map_or(src.len(), |p| from + p)
}

/// Index just past the first `needle` at or after `from`, or the end.
fn past(src: &[u8], from: usize, needle: &[u8]) -> usize {
    src.get(from..)
        .and_then(|rest| rest.windows(needle.len()).position(|w| w == needle))
        .map_or(src.len(), |p| from + p + needle.len())
}

struct Lexer<'a, 'b> {
    lang: &'a Language,
    src: &'a [u8],
    spans: &'a mut Spans<'b>,
    /// Brace depth, for CSS properties.
    depth: usize,
}

impl Lexer<'_, '_> {
    fn at(&self, i: usize) -> u8 {
        self.src.get(i).copied().unwrap_or(0)
    }

    fn starts_with(&self, i: usize, s: &str) -> bool {
        self.src[i..].starts_with(s.as_bytes())
    }

    fn run(&mut self) {
        let mut i = 0;
        let mut line_start = true;
        while i < self.src.len() {
            let b = self.src[i];
            if b == b'\n' {
                line_start = true;
                i += 1;
                continue;
            }
            if b == b' ' || b == b'\t' || b == b'\r' {
                i += 1;
                continue;
            }
            let first_on_line = std::mem::replace(&mut line_start, false);
            i = self.token(i, first_on_line);
        }
    }

    fn emit(&mut self, class: Class, start: usize, end: usize) -> usize {
        self.spans.token(class, start, end);
        end
    }

    /// Reads the token at `i` (not white space) and returns where it ends.
    fn token(&mut self, i: usize, first_on_line: bool) -> usize {
        let lang = self.lang;
        let b = self.src[i];
        if first_on_line && let Some(end) = self.line_start_token(i) {
            return end;
        }
        if is_word_byte(lang, b) && !b.is_ascii_digit() {
            return self.word(i);
        }
        if b.is_ascii_digit() || (b == b'.' && self.at(i + 1).is_ascii_digit()) {
            return self.number(i);
        }
        if let Some(end) = self.comment(i) {
            return self.emit(Class::Comment, i, end);
        }
        if lang.escaped_quotes.contains(&b) || lang.raw_quotes.contains(&b) {
            let end = self.string(i);
            let class = if self.is_key(end, true) { Class::Attribute } else { Class::String };
            return self.emit(class, i, end);
        }
        match b {
            b'@' if lang.at_words.is_some() && is_word_byte(lang, self.at(i + 1)) => {
                let end = self.word_end(i + 1);
                self.emit(lang.at_words.unwrap_or(Class::Meta), i, end)
            }
            b'$' if lang.shell => self.variable(i),
            b'#' if lang.rust && (self.at(i + 1) == b'[' || self.starts_with(i + 1, "![")) => self.rust_attribute(i),
            b'\'' if lang.rust => self.rust_quote(i),
            b'{' => {
                self.depth += 1;
                i + 1
            }
            b'}' => {
                self.depth = self.depth.saturating_sub(1);
                i + 1
            }
            _ => i + 1,
        }
    }

    /// Prompts, preprocessor directives and table headers, which only start a line.
    fn line_start_token(&mut self, i: usize) -> Option<usize> {
        let lang = self.lang;
        let b = self.src[i];
        if lang.shell && b == b'$' && matches!(self.at(i + 1), b' ' | b'\t') && (i == 0 || self.src[i - 1] == b'\n') {
            return Some(self.emit(Class::Meta, i, i + 1));
        }
        if lang.preprocessor && b == b'#' {
            let mut j = i + 1;
            while matches!(self.at(j), b' ' | b'\t') {
                j += 1;
            }
            let end = self.word_end(j);
            self.emit(Class::Meta, i, end);
            let directive = &self.src[j..end];
            let mut k = end;
            while matches!(self.at(k), b' ' | b'\t') {
                k += 1;
            }
            if (directive == b"include" || directive == b"import") && self.at(k) == b'<' {
                let close = self.src[k..line_end(self.src, k)].iter().position(|&c| c == b'>');
                return Some(close.map_or(end, |p| self.emit(Class::String, k, k + p + 1)));
            }
            return Some(end);
        }
        if lang.table_headers && b == b'[' {
            let end = line_end(self.src, i);
            let close = self.src[i..end].iter().rposition(|&c| c == b']').map_or(end, |p| i + p + 1);
            return Some(self.emit(Class::Tag, i, close));
        }
        None
    }

    fn word_end(&self, mut j: usize) -> usize {
        while j < self.src.len() && is_word_byte(self.lang, self.src[j]) {
            j += 1;
        }
        j
    }

    fn word(&mut self, i: usize) -> usize {
        let lang = self.lang;
        let end = self.word_end(i);
        let word = &self.src[i..end];
        let next = self.at(end);
        if (lang.escaped_quotes.contains(&next) || lang.raw_quotes.contains(&next) || (lang.rust && next == b'#'))
            && listed(lang.string_prefixes, word, true)
            && let Some(string_end) = self.prefixed_string(end)
        {
            return self.emit(Class::String, i, string_end);
        }
        if self.is_key(end, false) {
            return self.emit(Class::Attribute, i, end);
        }
        let ci = lang.case_insensitive;
        let capitalized = word[0].is_ascii_uppercase();
        let has_lower = capitalized && word.iter().any(u8::is_ascii_lowercase);
        let class = if listed(lang.keywords, word, ci) {
            Some(Class::Keyword)
        } else if listed(lang.literals, word, ci) {
            Some(Class::Literal)
        } else if listed(lang.types, word, ci) {
            Some(Class::Type)
        } else if lang.rust && next == b'!' && self.at(end + 1) != b'=' {
            return self.emit(Class::Function, i, end + 1);
        } else if capitalized && lang.capitalized_types && (has_lower || word.len() == 1) {
            // `Name` is a type, even called (`Some(…)`, `Point(…)`), and `T` alone a type parameter.
            Some(Class::Type)
        } else if next == b'(' {
            Some(Class::Function)
        } else if capitalized && !has_lower && lang.upper_case_constants && word.len() > 1 {
            Some(Class::Literal)
        } else {
            None
        };
        match class {
            Some(class) => self.emit(class, i, end),
            None => end,
        }
    }

    /// True when the name (or string) that ends at `end` is a key.
    fn is_key(&self, end: usize, string: bool) -> bool {
        if self.lang.keys == Keys::None {
            return false;
        }
        let mut j = end;
        while matches!(self.at(j), b' ' | b'\t') {
            j += 1;
        }
        let (separator, after) = (self.at(j), self.at(j + 1));
        match self.lang.keys {
            Keys::None => false,
            Keys::Json => string && separator == b':',
            Keys::Yaml => separator == b':' && matches!(after, b' ' | b'\t' | b'\r' | b'\n' | 0),
            Keys::Toml => separator == b'=' && after != b'=',
            // `a:hover {` is a selector, even nested in `@media { … }`: a property's line has no `{`
            // before its `;`. The look-ahead is short, so long lines cost no more than short ones.
            Keys::Css => {
                let ahead = self.src[j..].iter().take(200).find(|&&b| matches!(b, b'{' | b';' | b'}' | b'\n'));
                !string && separator == b':' && self.depth > 0 && ahead != Some(&b'{')
            }
        }
    }

    fn number(&mut self, i: usize) -> usize {
        let src = self.src;
        let radix = src[i] == b'0' && matches!(self.at(i + 1), b'x' | b'X' | b'b' | b'B' | b'o' | b'O');
        let mut j = i + 1;
        while j < src.len() {
            let b = src[j];
            let digit_follows = self.at(j + 1).is_ascii_digit();
            let continues = b.is_ascii_alphanumeric()
                || b == b'_'
                || (b == b'.' && digit_follows && !radix)
                || (matches!(b, b'+' | b'-') && !radix && matches!(src[j - 1], b'e' | b'E') && digit_follows)
                || (self.lang.dates && matches!(b, b'-' | b':' | b'+' | b'.') && digit_follows);
            if !continues {
                break;
            }
            j += 1;
        }
        self.emit(Class::Number, i, j)
    }

    /// The end of the comment that starts at `i`, if one does.
    fn comment(&self, i: usize) -> Option<usize> {
        let lang = self.lang;
        for marker in lang.line_comments {
            let at_word_start = i == 0 || self.src[i - 1].is_ascii_whitespace();
            if self.starts_with(i, marker) && (at_word_start || !lang.comments_at_word_start) {
                return Some(line_end(self.src, i));
            }
        }
        let (open, close) = lang.block_comment?;
        if !self.starts_with(i, open) {
            return None;
        }
        if !lang.nested_comments {
            return Some(past(self.src, i + open.len(), close.as_bytes()));
        }
        let mut depth = 0usize;
        let mut j = i;
        while j < self.src.len() {
            if self.starts_with(j, open) {
                depth += 1;
                j += open.len();
            } else if self.starts_with(j, close) {
                depth -= 1;
                j += close.len();
                if depth == 0 {
                    return Some(j);
                }
            } else {
                j += 1;
            }
        }
        Some(j)
    }

    /// The end of the string whose quote is at `quote`.
    fn string(&self, quote: usize) -> usize {
        let lang = self.lang;
        let q = self.src[quote];
        let escapes = lang.escaped_quotes.contains(&q);
        let triple = lang.triple_quotes && self.at(quote + 1) == q && self.at(quote + 2) == q;
        let (open_len, multiline) = if triple { (3, true) } else { (1, lang.multiline_quotes.contains(&q)) };
        let mut j = quote + open_len;
        while j < self.src.len() {
            let b = self.src[j];
            if b == b'\\' && escapes {
                // Never step into the middle of a character: the escaped byte is skipped only if ASCII.
                j += if self.at(j + 1).is_ascii() { 2 } else { 1 };
            } else if b == q && !escapes && !triple && self.at(j + 1) == q {
                // A doubled quote stands for one (SQL, YAML), or the shell joins two strings.
                j += 2;
            } else if b == q && (!triple || (self.at(j + 1) == q && self.at(j + 2) == q)) {
                return j + open_len;
            } else if b == b'\n' && !multiline {
                return j;
            } else {
                j += 1;
            }
        }
        self.src.len()
    }

    /// The end of a string with a prefix (`r"…"`, `f'…'`, Rust's `r#"…"#`) whose prefix ends at `quote`.
    fn prefixed_string(&self, quote: usize) -> Option<usize> {
        let raw_rust = self.lang.rust && self.src[quote - 1] == b'r';
        if !raw_rust {
            return Some(self.string(quote));
        }
        let hashes = self.src[quote..].iter().take_while(|&&b| b == b'#').count();
        if self.at(quote + hashes) != b'"' {
            return None;
        }
        let mut close = vec![b'"'];
        close.resize(hashes + 1, b'#');
        Some(past(self.src, quote + hashes + 1, &close))
    }

    /// Shell variables: `$name`, `${…}`, `$1`, `$?`.
    fn variable(&mut self, i: usize) -> usize {
        let next = self.at(i + 1);
        let end = if next == b'{' {
            let end = line_end(self.src, i);
            self.src[i..end].iter().position(|&b| b == b'}').map_or(end, |p| i + p + 1)
        } else if next.is_ascii_alphabetic() || next == b'_' {
            let mut j = i + 1;
            while self.at(j).is_ascii_alphanumeric() || self.at(j) == b'_' {
                j += 1;
            }
            j
        } else if next.is_ascii_digit() || matches!(next, b'?' | b'#' | b'@' | b'*' | b'$' | b'!' | b'-') {
            i + 2
        } else {
            return i + 1;
        };
        self.emit(Class::Literal, i, end)
    }

    /// `#[…]` and `#![…]`, to the matching bracket or the end of the line.
    fn rust_attribute(&mut self, i: usize) -> usize {
        let end = line_end(self.src, i);
        let mut depth = 0usize;
        for j in i..end {
            match self.src[j] {
                b'[' => depth += 1,
                b']' if depth == 1 => return self.emit(Class::Meta, i, j + 1),
                b']' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        self.emit(Class::Meta, i, end)
    }

    /// Rust's `'`: a character literal (`'a'`, `'\n'`, `'\u{1F600}'`) or a lifetime (`'a`), left plain.
    fn rust_quote(&mut self, i: usize) -> usize {
        let src = self.src;
        if self.at(i + 1) == b'\\' {
            // The escaped character itself may be a quote: `'\''`.
            let limit = (i + 12).min(line_end(src, i));
            return match src.get(i + 3..limit).and_then(|rest| rest.iter().position(|&b| b == b'\'')) {
                Some(p) => self.emit(Class::String, i, i + 3 + p + 1),
                None => i + 1,
            };
        }
        // One character, however many bytes, then the closing quote.
        let width = match self.at(i + 1) {
            0..=0x7f => 1,
            0xc0..=0xdf => 2,
            0xe0..=0xef => 3,
            _ => 4,
        };
        if i + 1 < src.len() && self.at(i + 1 + width) == b'\'' && self.at(i + 1) != b'\'' {
            return self.emit(Class::String, i, i + width + 2);
        }
        self.word_end(i + 1).max(i + 1)
    }
}

/// HTML and XML: tags, attributes, comments, doctypes, entities; text stays plain.
fn markup(spans: &mut Spans<'_>) {
    let src = spans.src.as_bytes();
    let name_byte = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':' | b'.') || b >= 0x80;
    let mut i = 0;
    while i < src.len() {
        let rest = &src[i..];
        if rest.starts_with(b"<!--") {
            let end = past(src, i + 4, b"-->");
            spans.token(Class::Comment, i, end);
            i = end;
        } else if rest.starts_with(b"<![CDATA[") {
            let end = past(src, i + 9, b"]]>");
            spans.token(Class::String, i, end);
            i = end;
        } else if rest.starts_with(b"<!") || rest.starts_with(b"<?") {
            let end = past(src, i + 2, b">");
            spans.token(Class::Meta, i, end);
            i = end;
        } else if rest[0] == b'<' && rest.get(1).is_some_and(|&b| b == b'/' || b.is_ascii_alphabetic()) {
            let name_start = i + 1 + usize::from(rest[1] == b'/');
            let mut j = name_start;
            while j < src.len() && name_byte(src[j]) {
                j += 1;
            }
            spans.token(Class::Tag, name_start, j);
            // Attributes, up to the end of the tag.
            while j < src.len() && src[j] != b'>' && src[j] != b'<' {
                let b = src[j];
                if b == b'"' || b == b'\'' {
                    let end = src[j + 1..].iter().position(|&c| c == b).map_or(src.len(), |p| j + 1 + p + 1);
                    spans.token(Class::String, j, end);
                    j = end;
                } else if name_byte(b) {
                    let start = j;
                    while j < src.len() && name_byte(src[j]) {
                        j += 1;
                    }
                    let value = src[..start].iter().rev().find(|c| !c.is_ascii_whitespace()) == Some(&b'=');
                    spans.token(if value { Class::String } else { Class::Attribute }, start, j);
                } else {
                    j += 1;
                }
            }
            i = j;
        } else if rest[0] == b'&' {
            let len = rest.iter().skip(1).take(32).position(|&b| !(b.is_ascii_alphanumeric() || b == b'#'));
            match len {
                Some(n) if n > 0 && rest[n + 1] == b';' => {
                    spans.token(Class::Literal, i, i + n + 2);
                    i += n + 2;
                }
                _ => i += 1,
            }
        } else {
            // Text up to the next tag or entity; both start with ASCII, so this stays on a character boundary.
            i += 1 + rest[1..].iter().position(|&b| b == b'<' || b == b'&').unwrap_or(rest.len() - 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn html(fence: &str, code: &str) -> String {
        let mut out = String::new();
        highlight(&mut out, language(fence).expect("known language"), code);
        out
    }

    #[test]
    fn word_lists_are_sorted_for_binary_search() {
        for lang in LANGUAGES {
            for list in [lang.keywords, lang.types, lang.literals, lang.string_prefixes] {
                let key = |w: &&str| if lang.case_insensitive { w.to_ascii_lowercase() } else { w.to_string() };
                assert!(list.windows(2).all(|w| key(&w[0]) < key(&w[1])), "{:?} not sorted: {list:?}", lang.names);
                assert!(!lang.case_insensitive || list.iter().all(|w| *w == w.to_ascii_lowercase()));
            }
        }
    }

    #[test]
    fn fence_names_are_unique_and_case_insensitive() {
        let mut names: Vec<&str> = LANGUAGES.iter().flat_map(|l| l.names.iter().copied()).collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count);
        assert!(language("Rust").is_some() && language("JSON").is_some());
        assert!(language("text").is_none() && language("").is_none());
    }

    #[test]
    fn rust() {
        assert_eq!(
            html("rust", "pub fn main() -> u32 { let s = \"a\\\"<b\"; 42 } // done"),
            "<span class=\"kw\">pub fn</span> <span class=\"fn\">main</span>() -&gt; <span class=\"ty\">u32</span> \
             { <span class=\"kw\">let</span> s = <span class=\"str\">\"a\\\"&lt;b\"</span>; \
             <span class=\"num\">42</span> } <span class=\"com\">// done</span>"
        );
        assert_eq!(
            html("rust", "#[derive(Debug)]\nstruct S<'a> { c: char }"),
            "<span class=\"meta\">#[derive(Debug)]</span>\n<span class=\"kw\">struct</span> \
             <span class=\"ty\">S</span>&lt;'a&gt; { c: <span class=\"ty\">char</span> }"
        );
        assert_eq!(
            html("rust", "println!(\"{}\", 'x', '\\n', MAX, r#\"raw \"quoted\"\"#, None)"),
            "<span class=\"fn\">println!</span>(<span class=\"str\">\"{}\"</span>, <span class=\"str\">'x'</span>, \
             <span class=\"str\">'\\n'</span>, \
             <span class=\"lit\">MAX</span>, <span class=\"str\">r#\"raw \"quoted\"\"#</span>, \
             <span class=\"ty\">None</span>)"
        );
        assert_eq!(
            html("rust", "/* a /* nested */ comment */ x != y"),
            "<span class=\"com\">/* a /* nested */ comment */</span> x != y"
        );
    }

    #[test]
    fn python() {
        assert_eq!(
            html("python", "@cache\ndef f(x: int) -> None:\n    return f\"{x}\" # note\n"),
            "<span class=\"meta\">@cache</span>\n<span class=\"kw\">def</span> <span class=\"fn\">f</span>(x: \
             <span class=\"ty\">int</span>) -&gt; <span class=\"lit\">None</span>:\n    \
             <span class=\"kw\">return</span> <span class=\"str\">f\"{x}\"</span> <span class=\"com\"># note</span>\n"
        );
        assert_eq!(
            html("py", "s = '''one\n'two'\n''' + 0x1F"),
            "s = <span class=\"str\">'''one\n'two'\n'''</span> + <span class=\"num\">0x1F</span>"
        );
    }

    #[test]
    fn c_and_cpp() {
        assert_eq!(
            html("c", "#include <stdio.h>\nint main(void) { return NULL; }"),
            "<span class=\"meta\">#include</span> <span class=\"str\">&lt;stdio.h&gt;</span>\n\
             <span class=\"ty\">int</span> <span class=\"fn\">main</span>(<span class=\"ty\">void</span>) \
             { <span class=\"kw\">return</span> <span class=\"lit\">NULL</span>; }"
        );
        assert_eq!(
            html("c++", "std::vector<Item> v; // x\nauto p = nullptr;"),
            "std::vector&lt;<span class=\"ty\">Item</span>&gt; v; <span class=\"com\">// x</span>\n\
             <span class=\"kw\">auto</span> p = <span class=\"lit\">nullptr</span>;"
        );
    }

    #[test]
    fn javascript_and_typescript() {
        assert_eq!(
            html("js", "const $el = `a ${b}\nc`; if (x) { run(1.5e-3); }"),
            "<span class=\"kw\">const</span> $el = <span class=\"str\">`a ${b}\nc`</span>; \
             <span class=\"kw\">if</span> (x) { <span class=\"fn\">run</span>(<span class=\"num\">1.5e-3</span>); }"
        );
        assert_eq!(
            html("ts", "interface A { n: number }"),
            "<span class=\"kw\">interface</span> <span class=\"ty\">A</span> { n: <span class=\"ty\">number</span> }"
        );
    }

    #[test]
    fn data_formats() {
        assert_eq!(
            html("json", "{\"a\": [1, true, \"x\"]}"),
            "{<span class=\"attr\">\"a\"</span>: [<span class=\"num\">1</span>, <span class=\"lit\">true</span>, \
             <span class=\"str\">\"x\"</span>]}"
        );
        assert_eq!(
            html("toml", "[package]\nname = \"folio\" # c\ndefault-features = false\nd = 1979-05-27T07:32:00Z"),
            "<span class=\"tag\">[package]</span>\n<span class=\"attr\">name</span> = \
             <span class=\"str\">\"folio\"</span> <span class=\"com\"># c</span>\n\
             <span class=\"attr\">default-features</span> = <span class=\"lit\">false</span>\n\
             <span class=\"attr\">d</span> = <span class=\"num\">1979-05-27T07:32:00Z</span>"
        );
        assert_eq!(
            html("yaml", "on: push\nurl: http://x#y # c\n- 'it''s': Yes"),
            "<span class=\"attr\">on</span>: push\n<span class=\"attr\">url</span>: http://x#y \
             <span class=\"com\"># c</span>\n- <span class=\"attr\">'it''s'</span>: <span class=\"lit\">Yes</span>"
        );
    }

    #[test]
    fn shell() {
        assert_eq!(
            html("console", "$ export A=1 # set\n$ echo \"$A\" ${B} $1 foo#bar\noutput line"),
            "<span class=\"meta\">$</span> <span class=\"kw\">export</span> A=<span class=\"num\">1</span> \
             <span class=\"com\"># set</span>\n<span class=\"meta\">$</span> <span class=\"kw\">echo</span> \
             <span class=\"str\">\"$A\"</span> <span class=\"lit\">${B} $1</span> foo#bar\noutput line"
        );
        assert_eq!(html("sh", "cat don't"), "cat don<span class=\"str\">'t</span>");
    }

    #[test]
    fn markup_languages() {
        assert_eq!(
            html("html", "<!DOCTYPE html>\n<p class=\"x\" hidden>a &amp; b<!-- c --></p>"),
            "<span class=\"meta\">&lt;!DOCTYPE html&gt;</span>\n&lt;<span class=\"tag\">p</span> \
             <span class=\"attr\">class</span>=<span class=\"str\">\"x\"</span> <span class=\"attr\">hidden</span>&gt;\
             a <span class=\"lit\">&amp;amp;</span> b<span class=\"com\">&lt;!-- c --&gt;</span>&lt;/\
             <span class=\"tag\">p</span>&gt;"
        );
        assert_eq!(
            html("xml", "<?xml version=\"1.0\"?><a:b x=y/>"),
            "<span class=\"meta\">&lt;?xml version=\"1.0\"?&gt;</span>&lt;<span class=\"tag\">a:b</span> \
             <span class=\"attr\">x</span>=<span class=\"str\">y</span>/&gt;"
        );
    }

    #[test]
    fn css_sql_go_java() {
        assert_eq!(
            html("css", "@media print { a:hover { color: #fff !important; margin: 0 1.5em } }"),
            "<span class=\"kw\">@media</span> print { a:hover { <span class=\"attr\">color</span>: #fff \
             !<span class=\"kw\">important</span>; <span class=\"attr\">margin</span>: <span class=\"num\">0 1.5em</span> \
             } }"
        );
        assert_eq!(
            html("sql", "SELECT name FROM t WHERE id = 'it''s' -- c\n"),
            "<span class=\"kw\">SELECT</span> name <span class=\"kw\">FROM</span> t <span class=\"kw\">WHERE</span> \
             id = <span class=\"str\">'it''s'</span> <span class=\"com\">-- c</span>\n"
        );
        assert_eq!(
            html("go", "func main() { s := `raw\\` ; var e error = nil }"),
            "<span class=\"kw\">func</span> <span class=\"fn\">main</span>() { s := <span class=\"str\">`raw\\`</span> \
             ; <span class=\"kw\">var</span> e <span class=\"ty\">error</span> = <span class=\"lit\">nil</span> }"
        );
        assert_eq!(
            html("java", "@Override public String toString() { return \"\"\"\n  x\"\"\"; }"),
            "<span class=\"meta\">@Override</span> <span class=\"kw\">public</span> <span class=\"ty\">String</span> \
             <span class=\"fn\">toString</span>() { <span class=\"kw\">return</span> \
             <span class=\"str\">\"\"\"\n  x\"\"\"</span>; }"
        );
    }

    const ALL_CLASSES: [Class; 10] = [
        Class::Keyword,
        Class::String,
        Class::Comment,
        Class::Number,
        Class::Literal,
        Class::Type,
        Class::Function,
        Class::Attribute,
        Class::Tag,
        Class::Meta,
    ];

    /// WCAG 2 relative luminance of `#rrggbb`.
    fn luminance(hex: &str) -> f64 {
        let channel = |i: usize| {
            let c = f64::from(u8::from_str_radix(&hex[i..i + 2], 16).expect("hex colour")) / 255.0;
            if c <= 0.04045 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
        };
        0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5)
    }

    fn contrast(a: &str, b: &str) -> f64 {
        let (la, lb) = (luminance(a), luminance(b));
        (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
    }

    /// The colour the stylesheet section gives each class, from rules like `code .num, code .lit { color: #… }`.
    fn palette(css: &str) -> Vec<(Class, String)> {
        let mut colours = Vec::new();
        for rule in css.split('}') {
            let Some((selectors, body)) = rule.rsplit_once('{') else { continue };
            let Some(at) = body.find("color: #") else { continue };
            let colour = body[at + 7..at + 14].to_string();
            for class in ALL_CLASSES {
                if selectors.split(',').any(|s| s.trim().ends_with(&format!("code .{}", class.css()))) {
                    colours.push((class, colour.clone()));
                }
            }
        }
        colours
    }

    /// Every class has a colour that passes WCAG AA (4.5:1) where it is meant to be read: the light
    /// colours on white and on black (readers that darken the page but keep the book's colours), the
    /// dark-mode colours on the usual night backgrounds.
    #[test]
    fn stylesheet_colours_pass_contrast_in_light_and_dark_modes() {
        let css = crate::DEFAULT_STYLESHEET;
        let start = css.find("---- Code: syntax highlighting").expect("section in folio.css");
        let dark = start + css[start..].find("@media (prefers-color-scheme: dark)").expect("dark mode rules");
        let end = dark + css[dark..].find("\n}\n").expect("end of the media block");
        for (section, backgrounds) in [
            (&css[start..dark], ["#ffffff", "#000000"].as_slice()),
            (&css[dark..end], &["#000000", "#121212", "#1e1e1e"]),
        ] {
            let colours = palette(section);
            for class in ALL_CLASSES {
                let (_, colour) = colours.iter().find(|(c, _)| *c == class).expect("every class has a colour");
                for background in backgrounds {
                    let ratio = contrast(colour, background);
                    assert!(ratio >= 4.5, "{} {colour} on {background}: {ratio:.2}", class.css());
                }
            }
        }
    }

    /// Checks that `out` is well-formed, holds only flat spans of known classes, and that its text is `code`.
    fn assert_faithful(code: &str, out: &str) {
        let wrapped = format!("<code>{out}</code>");
        let mut reader = quick_xml::Reader::from_str(&wrapped);
        let mut depth = 0;
        loop {
            match reader.read_event().unwrap_or_else(|e| panic!("{e} in {wrapped:?}")) {
                quick_xml::events::Event::Start(e) if e.name().as_ref() == "span" => {
                    depth += 1;
                    assert_eq!(depth, 1, "nested span in {wrapped:?}");
                    let class = e.try_get_attribute("class").ok().flatten().expect("class");
                    assert!(ALL_CLASSES.iter().any(|c| c.css() == class.value.as_ref()));
                }
                quick_xml::events::Event::End(e) if e.name().as_ref() == "span" => depth -= 1,
                quick_xml::events::Event::Eof => break,
                _ => {}
            }
        }
        let mut text = out.to_string();
        for class in ALL_CLASSES {
            text = text.replace(&format!("<span class=\"{}\">", class.css()), "");
        }
        let text = text.replace("</span>", "").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&");
        let expected: String = code.chars().filter(|c| !crate::text::is_forbidden_in_xml(*c)).collect();
        assert_eq!(text, expected);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// Whatever the input, in any language: no panic, well-formed XHTML, the text unchanged.
        #[test]
        fn any_input_highlights_faithfully(
            language in proptest::sample::select(LANGUAGES.iter().map(|l| l.names[0]).collect::<Vec<_>>()),
            code in "[a-zA-Z0-9_ \n\t\r\"'`\\#/*<>&;:=!?@$%{}()\\[\\]+.,|~^-]{0,120}|\\PC{0,40}|[\u{0}\u{1}é中🎉\u{fffe}a#\"'/<&$-]{0,30}",
        ) {
            let mut out = String::new();
            highlight(&mut out, super::language(language).expect("listed"), &code);
            assert_faithful(&code, &out);
        }
    }

    /// Inputs that would make a careless lexer rescan: each must take one pass. An earlier, quadratic `#!`
    /// rule took 13 s at 50,000 bytes. Time is compared between two sizes of the same inputs, not against
    /// a clock, so a loaded machine slows both alike: four times the input must take well under the
    /// sixteen times a quadratic rule would.
    #[test]
    fn adversarial_inputs_take_linear_time() {
        let run = |n: usize| {
            let started = std::time::Instant::now();
            for (fence, unit) in [
                ("css", "a{b:"),
                ("css", "a:"),
                ("rust", "#!"),
                ("rust", "#["),
                ("rust", "'a"),
                ("rust", "r#"),
                ("sh", "${"),
                ("c", "#include <"),
                ("toml", "[a"),
                ("yaml", "a:"),
                ("json", "\"a\" "),
                ("html", "<a b=c "),
                ("html", "&a"),
                ("python", "'''"),
                ("sql", "''"),
            ] {
                let code = unit.repeat(n / unit.len());
                assert_faithful(&code, &html(fence, &code));
            }
            started.elapsed()
        };
        // The faster of two runs of each size: a pause of the machine's makes one run slow, not both.
        let small = run(25_000).min(run(25_000));
        let large = run(100_000).min(run(100_000));
        assert!(large < small * 10, "4x the input took {large:?} against {small:?}");
    }

    #[test]
    fn unterminated_tokens_run_to_the_end_without_panicking() {
        for (fence, code) in [
            ("rust", "/* open"),
            ("rust", "r#\"open"),
            ("rust", "'"),
            ("rust", "'\\"),
            ("rust", "#["),
            ("rust", "'é"),
            ("python", "'''open"),
            ("c", "#"),
            ("c", "#include <"),
            ("sh", "${"),
            ("sh", "$"),
            ("html", "<a b=\"open"),
            ("html", "<!-- open"),
            ("html", "&"),
            ("toml", "[open"),
            ("json", "\"\\"),
            ("json", "\"é\\é"),
        ] {
            assert_faithful(code, &html(fence, code));
        }
    }
}
