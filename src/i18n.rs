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
}

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
        },
    ),
];

/// The strings for a BCP 47 tag, matched on its primary language subtag.
pub fn strings(language: &str) -> &'static Strings {
    let primary = language.split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
    TABLE.iter().find(|(tag, _)| *tag == primary).map_or(&TABLE[0].1, |(_, s)| s)
}

#[cfg(test)]
mod tests {
    #[test]
    fn falls_back_to_english() {
        assert_eq!(super::strings("de-AT").contents, "Inhalt");
        assert_eq!(super::strings("sw").contents, "Contents");
    }
}
