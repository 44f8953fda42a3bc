//! The stages of [`crate::build`] that are not modules of their own: chapter jobs, assets, fonts and the
//! pages folio generates. `lib.rs` calls them in order.

pub(crate) mod assets;
pub(crate) mod chapters;
pub(crate) mod fonts;
pub(crate) mod generated;
