//! HarfBuzz's subsetter (`hb-subset`) through its C API: the same code browsers and font tools use, so a
//! subset keeps everything a reader needs for the kept characters: cmap, metrics, names, OS/2, post,
//! hinting, GSUB/GPOS/GDEF (kerning, ligatures, marks), kern, and variation tables.

use std::os::raw::c_uint;
use std::ptr::NonNull;

use harfbuzz_sys as hb;

/// `hb_subset_input_t`, opaque.
#[repr(C)]
struct SubsetInput {
    _private: [u8; 0],
}

// From hb-subset.h (HarfBuzz 8.4, the version harfbuzz-sys bundles): `hb_subset_sets_t` and `hb_subset_flags_t`.
const SETS_UNICODE: c_uint = 1;
const SETS_NAME_ID: c_uint = 4;
const SETS_NAME_LANG_ID: c_uint = 5;
const SETS_LAYOUT_FEATURE_TAG: c_uint = 6;
const FLAGS_NAME_LEGACY: c_uint = 0x8;

unsafe extern "C" {
    fn hb_subset_input_create_or_fail() -> *mut SubsetInput;
    fn hb_subset_input_destroy(input: *mut SubsetInput);
    fn hb_subset_input_set(input: *mut SubsetInput, set_type: c_uint) -> *mut hb::hb_set_t;
    fn hb_subset_input_set_flags(input: *mut SubsetInput, flags: c_uint);
    fn hb_subset_or_fail(source: *mut hb::hb_face_t, input: *const SubsetInput) -> *mut hb::hb_face_t;
}

/// Why a font could not be subset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// HarfBuzz finds no glyphs in it.
    NotAFont,
    /// HarfBuzz gave up on it.
    Failed,
}

/// Owns one reference to a HarfBuzz object and drops it with `destroy`.
struct Owned<T>(NonNull<T>, unsafe extern "C" fn(*mut T));

impl<T> Owned<T> {
    fn new(ptr: *mut T, destroy: unsafe extern "C" fn(*mut T)) -> Result<Self, Failure> {
        NonNull::new(ptr).map(|p| Self(p, destroy)).ok_or(Failure::Failed)
    }

    fn ptr(&self) -> *mut T {
        self.0.as_ptr()
    }
}

impl<T> Drop for Owned<T> {
    fn drop(&mut self) {
        // SAFETY: the pointer holds one reference, given up exactly once, here.
        unsafe { (self.1)(self.0.as_ptr()) }
    }
}

/// The OpenType tag of four ASCII letters, as HarfBuzz holds it.
fn tag(name: [u8; 4]) -> u32 {
    u32::from_be_bytes(name)
}

/// Cuts an sfnt font (TrueType or OpenType/CFF, static or variable) down to `characters`, keeping HarfBuzz's
/// default layout features plus `features`, every name record and the hinting.
pub fn subset(font: &[u8], characters: impl Iterator<Item = char>, features: &[[u8; 4]]) -> Result<Vec<u8>, Failure> {
    let length = c_uint::try_from(font.len()).map_err(|_| Failure::Failed)?;
    // SAFETY: the blob borrows `font` read-only and every object made from it is dropped before this
    // function returns; the output is copied out before its face is dropped.
    unsafe {
        let blob = Owned::new(
            hb::hb_blob_create(font.as_ptr().cast(), length, hb::HB_MEMORY_MODE_READONLY, std::ptr::null_mut(), None),
            hb::hb_blob_destroy,
        )?;
        let face = Owned::new(hb::hb_face_create(blob.ptr(), 0), hb::hb_face_destroy)?;
        if hb::hb_face_get_glyph_count(face.ptr()) == 0 {
            return Err(Failure::NotAFont);
        }
        let input = Owned::new(hb_subset_input_create_or_fail(), hb_subset_input_destroy)?;
        let unicodes = hb_subset_input_set(input.ptr(), SETS_UNICODE);
        for c in characters {
            hb::hb_set_add(unicodes, u32::from(c));
        }
        // Every name record, in every language: the copyright and licence names must travel with the font.
        hb::hb_set_add_range(hb_subset_input_set(input.ptr(), SETS_NAME_ID), 0, 0x7fff);
        hb::hb_set_add_range(hb_subset_input_set(input.ptr(), SETS_NAME_LANG_ID), 0, 0xffff);
        hb_subset_input_set_flags(input.ptr(), FLAGS_NAME_LEGACY);
        let kept_features = hb_subset_input_set(input.ptr(), SETS_LAYOUT_FEATURE_TAG);
        for &feature in features {
            hb::hb_set_add(kept_features, tag(feature));
        }
        let subset = Owned::new(hb_subset_or_fail(face.ptr(), input.ptr()), hb::hb_face_destroy)?;
        let output = Owned::new(hb::hb_face_reference_blob(subset.ptr()), hb::hb_blob_destroy)?;
        let mut length: c_uint = 0;
        let data = hb::hb_blob_get_data(output.ptr(), &mut length);
        if data.is_null() || length == 0 {
            return Err(Failure::Failed);
        }
        Ok(std::slice::from_raw_parts(data.cast::<u8>(), length as usize).to_vec())
    }
}
