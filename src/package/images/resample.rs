//! Lanczos3 resampling of 8-bit pixels, separable (across, then down), in integer arithmetic.
//!
//! folio's own, rather than a resizing crate: the one we tried added 3.6 MB of machine code, one
//! variant for every pixel format and processor extension, for an operation folio does rarely and then
//! caches. Weights are computed once per output row and column in floating point and rounded to 14-bit
//! integers that add up to exactly one, so a flat area keeps its exact value and every machine produces
//! the same bytes.

use std::f64::consts::PI;

const BITS: u32 = 14;
const ONE: i32 = 1 << BITS;
/// Added before shifting right, to round to the nearest value.
const HALF: i32 = ONE / 2;

/// For each output position, the first input position it reads and the weights from there on.
struct Taps(Vec<(usize, Vec<i32>)>);

impl Taps {
    fn new(input: usize, output: usize) -> Self {
        let scale = input as f64 / output as f64;
        // Shrinking widens the filter so that every input pixel contributes.
        let stretch = scale.max(1.0);
        let support = 3.0 * stretch;
        Self(
            (0..output)
                .map(|out| {
                    let center = (out as f64 + 0.5) * scale;
                    let first = (center - support).floor().max(0.0) as usize;
                    let end = ((center + support).ceil() as usize).min(input);
                    let raw: Vec<f64> = (first..end).map(|i| lanczos3((i as f64 + 0.5 - center) / stretch)).collect();
                    let sum: f64 = raw.iter().sum();
                    let mut weights: Vec<i32> = raw.iter().map(|w| (w / sum * f64::from(ONE)).round() as i32).collect();
                    // Rounding leaves the sum a little off one: the largest weight takes up the difference.
                    let error = ONE - weights.iter().sum::<i32>();
                    if let Some(largest) = weights.iter_mut().max() {
                        *largest += error;
                    }
                    (first, weights)
                })
                .collect(),
        )
    }
}

fn lanczos3(x: f64) -> f64 {
    if x == 0.0 {
        1.0
    } else if x.abs() < 3.0 {
        let px = PI * x;
        3.0 * px.sin() * (px / 3.0).sin() / (px * px)
    } else {
        0.0
    }
}

fn to_u8(sum: i32) -> u8 {
    (sum >> BITS).clamp(0, 255) as u8
}

/// Resamples `pixels` (`size`, `channels` interleaved; with 2 or 4 channels the last is alpha) to `to`.
/// Colours are weighted by their alpha while filtering, so that invisible pixels lend the edges no colour.
pub(super) fn resize(pixels: &[u8], size: (u32, u32), channels: usize, to: (u32, u32)) -> Vec<u8> {
    let (width, height) = (size.0 as usize, size.1 as usize);
    let (out_width, out_height) = (to.0 as usize, to.1 as usize);
    let has_alpha = channels.is_multiple_of(2);
    let premultiplied;
    let source = if has_alpha {
        premultiplied = premultiply(pixels, channels);
        &premultiplied
    } else {
        pixels
    };

    let across = Taps::new(width, out_width);
    let mut narrow = vec![0u8; out_width * height * channels];
    let rows = source.chunks_exact(width * channels).zip(narrow.chunks_exact_mut(out_width * channels));
    match channels {
        1 => rows.for_each(|(row, out)| resize_row::<1>(row, out, &across)),
        2 => rows.for_each(|(row, out)| resize_row::<2>(row, out, &across)),
        3 => rows.for_each(|(row, out)| resize_row::<3>(row, out, &across)),
        _ => rows.for_each(|(row, out)| resize_row::<4>(row, out, &across)),
    }

    let down = Taps::new(height, out_height);
    let row_len = out_width * channels;
    let mut out = vec![0u8; row_len * out_height];
    let mut sums = vec![0i32; row_len];
    for ((first, weights), out_row) in down.0.iter().zip(out.chunks_exact_mut(row_len)) {
        sums.fill(HALF);
        for (k, w) in weights.iter().enumerate() {
            let row = &narrow[(first + k) * row_len..][..row_len];
            for (sum, &value) in sums.iter_mut().zip(row) {
                *sum += w * i32::from(value);
            }
        }
        for (value, &sum) in out_row.iter_mut().zip(&sums) {
            *value = to_u8(sum);
        }
    }
    if has_alpha {
        unpremultiply(&mut out, channels);
    }
    out
}

/// One row across; the channel count is a constant so that the inner loop compiles to straight code.
fn resize_row<const C: usize>(row: &[u8], out: &mut [u8], taps: &Taps) {
    for ((first, weights), pixel) in taps.0.iter().zip(out.chunks_exact_mut(C)) {
        let mut sums = [HALF; C];
        for (w, source) in weights.iter().zip(row[first * C..].chunks_exact(C)) {
            for (sum, &value) in sums.iter_mut().zip(source) {
                *sum += w * i32::from(value);
            }
        }
        for (value, sum) in pixel.iter_mut().zip(sums) {
            *value = to_u8(sum);
        }
    }
}

fn premultiply(pixels: &[u8], channels: usize) -> Vec<u8> {
    let mut out = pixels.to_vec();
    for pixel in out.chunks_exact_mut(channels) {
        let (colour, alpha) = pixel.split_at_mut(channels - 1);
        for c in colour {
            *c = ((u32::from(*c) * u32::from(alpha[0]) + 127) / 255) as u8;
        }
    }
    out
}

fn unpremultiply(pixels: &mut [u8], channels: usize) {
    for pixel in pixels.chunks_exact_mut(channels) {
        let (colour, alpha) = pixel.split_at_mut(channels - 1);
        let alpha = u32::from(alpha[0]);
        for c in colour {
            *c = (u32::from(*c) * 255 + alpha / 2).checked_div(alpha).map_or(0, |v| v.min(255) as u8);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_add_up_to_one_everywhere() {
        for (input, output) in [(300, 173), (4000, 1632), (7, 3), (10, 10)] {
            for (first, weights) in Taps::new(input, output).0 {
                assert_eq!(weights.iter().sum::<i32>(), ONE);
                assert!(first + weights.len() <= input);
            }
        }
    }

    #[test]
    fn flat_areas_keep_their_value_and_stripes_average() {
        let flat = vec![37u8; 9 * 6 * 3];
        assert_eq!(resize(&flat, (9, 6), 3, (4, 3)), vec![37u8; 4 * 3 * 3]);
        // Fine black and white columns shrink to an even grey.
        let stripes: Vec<u8> = (0..64 * 4).map(|i| if i % 2 == 0 { 0 } else { 255 }).collect();
        for value in resize(&stripes, (64, 4), 1, (8, 2)) {
            assert!((120..=135).contains(&value), "{value}");
        }
    }

    #[test]
    fn transparent_pixels_lend_no_colour() {
        // Left half transparent green, right half opaque red: the edge stays red, not brown.
        let pixels: Vec<u8> =
            (0..8 * 2).flat_map(|i| if i % 8 < 4 { [0, 255, 0, 0] } else { [255, 0, 0, 255] }).collect();
        let out = resize(&pixels, (8, 2), 4, (4, 1));
        for pixel in out.chunks(4).filter(|p| p[3] > 0) {
            assert!(pixel[0] >= 250 && pixel[1] <= 5, "{pixel:?}");
        }
    }
}
