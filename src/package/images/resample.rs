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
    /// Lanczos3 weights from `input` positions to `output`.
    fn lanczos3(input: usize, output: usize) -> Self {
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

    /// Each output position the plain average of `factor` input positions (the last of what is left):
    /// no weight reaches past its square, so edges stay as sharp as the factor allows and an area of
    /// one pattern repeats exactly wherever the pattern does in the input.
    fn binned(input: usize, factor: usize) -> Self {
        Self(
            (0..input.div_ceil(factor))
                .map(|out| {
                    let first = out * factor;
                    let count = factor.min(input - first);
                    let mut weights = vec![ONE / count as i32; count];
                    weights[0] += ONE - weights.iter().sum::<i32>();
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

/// `pixels` of `size` through a Lanczos3 [`RowScaler`] to `to`, at once.
#[cfg(test)]
fn resize(pixels: &[u8], size: (u32, u32), channels: usize, to: (u32, u32)) -> Vec<u8> {
    let mut scaler = RowScaler::new(size, channels, to);
    for row in pixels.chunks_exact(size.0 as usize * channels) {
        scaler.push(row);
    }
    scaler.finish()
}

/// Resamples pixels (`channels` interleaved; with 2 or 4 channels the last is alpha) fed one row at a
/// time, top to bottom: each row is resampled across as it comes, and each output row is made as soon as
/// the rows under its filter have come, so only those few rows are held besides the output, never the
/// whole input. Colours are weighted by their alpha while filtering, so that invisible pixels lend the
/// edges no colour.
pub(super) struct RowScaler {
    channels: usize,
    across: Taps,
    down: Taps,
    /// Input rows resampled across, from input row `first_held` on.
    held: std::collections::VecDeque<Vec<u8>>,
    first_held: usize,
    /// Input rows pushed so far.
    pushed: usize,
    /// Output rows made so far.
    made: usize,
    /// A row let go of, for the next push to reuse.
    spare: Option<Vec<u8>>,
    /// The output rows made so far, one after another.
    out: Vec<u8>,
    sums: Vec<i32>,
    /// The row being pushed weighted by its alpha, when it has one.
    premultiplied: Vec<u8>,
}

impl RowScaler {
    /// Scales `size` to `to` with a Lanczos3 filter.
    pub(super) fn new(size: (u32, u32), channels: usize, to: (u32, u32)) -> Self {
        let across = Taps::lanczos3(size.0 as usize, to.0 as usize);
        Self::with_taps(channels, across, Taps::lanczos3(size.1 as usize, to.1 as usize))
    }

    /// Shrinks `size` by a whole `factor`, each output pixel the average of a `factor` × `factor` square
    /// (at the right and bottom edges, of what is left of it): the output is `size` divided by `factor`,
    /// rounded up.
    pub(super) fn binned(size: (u32, u32), channels: usize, factor: u32) -> Self {
        let across = Taps::binned(size.0 as usize, factor as usize);
        Self::with_taps(channels, across, Taps::binned(size.1 as usize, factor as usize))
    }

    fn with_taps(channels: usize, across: Taps, down: Taps) -> Self {
        let row_len = across.0.len() * channels;
        let out_rows = down.0.len();
        Self {
            channels,
            across,
            down,
            held: std::collections::VecDeque::new(),
            first_held: 0,
            pushed: 0,
            made: 0,
            spare: None,
            out: Vec::with_capacity(row_len * out_rows),
            sums: vec![0; row_len],
            premultiplied: Vec::new(),
        }
    }

    /// Takes the next input row (its width times `channels` bytes).
    pub(super) fn push(&mut self, row: &[u8]) {
        let channels = self.channels;
        let row = if channels.is_multiple_of(2) {
            self.premultiplied.clear();
            self.premultiplied.extend_from_slice(row);
            premultiply(&mut self.premultiplied, channels);
            &self.premultiplied
        } else {
            row
        };
        let mut narrow = self.spare.take().unwrap_or_else(|| vec![0; self.sums.len()]);
        match channels {
            1 => resize_row::<1>(row, &mut narrow, &self.across),
            2 => resize_row::<2>(row, &mut narrow, &self.across),
            3 => resize_row::<3>(row, &mut narrow, &self.across),
            _ => resize_row::<4>(row, &mut narrow, &self.across),
        }
        self.held.push_back(narrow);
        self.pushed += 1;
        self.make_rows();
    }

    /// Makes every output row whose input rows have all come, then lets go of the rows no later one reads.
    fn make_rows(&mut self) {
        while let Some((first, weights)) = self.down.0.get(self.made) {
            if first + weights.len() > self.pushed {
                break;
            }
            self.sums.fill(HALF);
            for (k, w) in weights.iter().enumerate() {
                for (sum, &value) in self.sums.iter_mut().zip(&self.held[first + k - self.first_held]) {
                    *sum += w * i32::from(value);
                }
            }
            let start = self.out.len();
            self.out.extend(self.sums.iter().map(|&sum| to_u8(sum)));
            if self.channels.is_multiple_of(2) {
                unpremultiply(&mut self.out[start..], self.channels);
            }
            self.made += 1;
        }
        let needed = self.down.0.get(self.made).map_or(self.pushed, |(first, _)| *first);
        while self.first_held < needed {
            self.spare = self.held.pop_front();
            self.first_held += 1;
        }
    }

    /// The width and height of the output.
    pub(super) fn size(&self) -> (u32, u32) {
        let count = |taps: &Taps| u32::try_from(taps.0.len()).expect("at most an input's width or height");
        (count(&self.across), count(&self.down))
    }

    /// The output pixels, once every input row has been pushed.
    pub(super) fn finish(self) -> Vec<u8> {
        self.out
    }
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

fn premultiply(pixels: &mut [u8], channels: usize) {
    for pixel in pixels.chunks_exact_mut(channels) {
        let (colour, alpha) = pixel.split_at_mut(channels - 1);
        for c in colour {
            *c = ((u32::from(*c) * u32::from(alpha[0]) + 127) / 255) as u8;
        }
    }
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
            for (first, weights) in Taps::lanczos3(input, output).0 {
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
    fn binning_averages_squares_and_what_is_left_at_the_edges() {
        // 5 × 3 grey pixels halved: 3 × 2, the last column and row averaging what is left of a square.
        let pixels = [0, 10, 20, 30, 40, 100, 110, 120, 130, 140, 200, 210, 220, 230, 240];
        let mut scaler = RowScaler::binned((5, 3), 1, 2);
        for row in pixels.chunks(5) {
            scaler.push(row);
        }
        assert_eq!(scaler.size(), (3, 2));
        assert_eq!(scaler.finish(), vec![55, 75, 90, 205, 225, 240]);
    }

    #[test]
    fn rows_are_scaled_as_they_come_and_let_go() {
        // A tall image scaled to a third: the scaler holds only the rows under one output row's filter,
        // and makes each output row once they have come.
        let mut scaler = RowScaler::new((30, 600), 3, (10, 200));
        let filter = scaler.down.0.iter().map(|(_, weights)| weights.len()).max().unwrap();
        let mut most_held = 0;
        for y in 0..600 {
            scaler.push(&[(y % 251) as u8; 30 * 3]);
            most_held = most_held.max(scaler.held.len());
            if y == 299 {
                assert!((95..100).contains(&scaler.made), "{} rows made from half the input", scaler.made);
            }
        }
        assert!(most_held <= filter, "held {most_held} rows for a filter {filter} rows tall");
        assert_eq!(scaler.finish().len(), 10 * 200 * 3);
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
