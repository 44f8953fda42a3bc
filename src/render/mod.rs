//! Stage 3, render.
pub mod html;
