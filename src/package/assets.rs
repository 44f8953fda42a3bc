//! Files for the package: images, stylesheets, fonts, the cover. Their type comes from their bytes,
//! never from their name; images are then made ready for stores by [`super::images`].

use std::path::Path;

use crate::diagnostic::{Diagnostic, Location};
use crate::files::{ReadError, ReadRoot, Stamp};
use crate::media::sniff_image;

/// The file-name extensions that fit a media type.
fn extensions(media_type: &str) -> &'static [&'static str] {
    match media_type {
        "image/png" => &["png"],
        "image/jpeg" => &["jpg", "jpeg", "jpe"],
        "image/gif" => &["gif"],
        "image/webp" => &["webp"],
        "image/svg+xml" => &["svg"],
        _ => &[],
    }
}

/// Reads a file for the package, turning failures into a diagnostic at `location`.
pub fn read(root: &ReadRoot, path: &Path, what: &str, location: &Location) -> Result<Vec<u8>, Diagnostic> {
    root.read(path).map_err(|e| read_error(root, path, what, &e, location))
}

fn read_error(root: &ReadRoot, path: &Path, what: &str, e: &ReadError, location: &Location) -> Diagnostic {
    let d = location.error(format!("cannot read {what} '{}': {e}", root.display_path(path).display()));
    match e.hint() {
        Some(hint) => d.with_hint(hint),
        None => d,
    }
}

/// Why an image cannot go into the package.
#[derive(Debug)]
pub enum ImageError {
    /// The file cannot be read.
    Read(ReadError),
    /// Its bytes are not an image type EPUB readers must support.
    NotAnImage,
    /// Its bytes are of this media type, which its file extension does not fit.
    WrongExtension(&'static str),
}

impl ImageError {
    /// The error at `location`, the place that asked for the image at `path`.
    pub fn diagnostic(&self, root: &ReadRoot, path: &Path, location: &Location) -> Diagnostic {
        let shown = root.display_path(path);
        match self {
            Self::Read(e) => read_error(root, path, "image", e, location),
            Self::NotAnImage => {
                location.error(format!("'{}' is not a PNG, JPEG, GIF, WebP or SVG image", shown.display()))
            }
            Self::WrongExtension(media_type) => {
                let kind = media_type.trim_start_matches("image/").trim_end_matches("+xml").to_ascii_uppercase();
                location
                    .error(format!("image '{}' is a {kind} file, not what its name says", shown.display()))
                    .with_hint(format!("rename it to end in .{}", extensions(media_type)[0]))
            }
        }
    }
}

/// Reads and checks an image: a known type whose file extension agrees with its bytes. Gives its media
/// type, bytes and stamp; it says nothing of where the image is used, so it can run before that is settled.
pub fn read_image(root: &ReadRoot, path: &Path) -> Result<(&'static str, Vec<u8>, Option<Stamp>), ImageError> {
    let (data, stamp) = root.read_asset_stamped(path).map_err(ImageError::Read)?;
    let media_type = sniff_image(&data).ok_or(ImageError::NotAnImage)?;
    let extension = path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    if !extensions(media_type).contains(&extension.as_str()) {
        return Err(ImageError::WrongExtension(media_type));
    }
    Ok((media_type, data, stamp))
}
