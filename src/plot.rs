//! The plotting foundation every chart shares: the bundled font, registered once, and
//! a PNG writer that is whole or nothing.
//!
//! plotters is built without its system-font feature: text is drawn with DejaVu Sans
//! (`assets/fonts/`, Bitstream Vera licence), compiled into the binary and registered
//! with plotters' `ab_glyph` backend under the family name [`FONT`]. Charts never look
//! for a font on the machine, so they render the same everywhere.

use plotters::style::FontStyle;
use std::path::Path;
use std::sync::OnceLock;

/// Tableau 10: distinct, colour-blind-aware series colours, shared by every chart.
pub const PALETTE: [plotters::style::RGBColor; 10] = {
    use plotters::style::RGBColor as C;
    [
        C(31, 119, 180),
        C(255, 127, 14),
        C(44, 160, 44),
        C(214, 39, 40),
        C(148, 103, 189),
        C(140, 86, 75),
        C(227, 119, 194),
        C(127, 127, 127),
        C(188, 189, 34),
        C(23, 190, 207),
    ]
};

/// The font family every chart uses.
pub const FONT: &str = "sans-serif";

static DEJAVU_SANS: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");

/// Why a chart could not be drawn or written.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("the bundled font could not be loaded")]
    Font,
    #[error("cannot draw {path}: {message}")]
    Draw { path: String, message: String },
    #[error("cannot write {path}: {source}")]
    Io { path: String, source: std::io::Error },
}

/// Registers the bundled font (once per process; later calls are free).
pub fn register_font() -> Result<(), PlotError> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE.get_or_init(|| {
        [FontStyle::Normal, FontStyle::Bold]
            .into_iter()
            .all(|style| plotters::style::register_font(FONT, style, DEJAVU_SANS).is_ok())
    });
    if ok { Ok(()) } else { Err(PlotError::Font) }
}

/// Encodes an RGB buffer of `width` x `height` as PNG and writes it whole or not at
/// all (a temporary name, then a rename).
pub fn write_png(path: &Path, rgb: &[u8], width: u32, height: u32) -> Result<(), PlotError> {
    let io = |source| PlotError::Io { path: path.display().to_string(), source };
    let mut bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut bytes, width, height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let draw = |e: png::EncodingError| PlotError::Draw { path: path.display().to_string(), message: e.to_string() };
        let mut w = enc.write_header().map_err(draw)?;
        w.write_image_data(rgb).map_err(draw)?;
    }
    crate::output::write_atomic(path, &bytes).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use plotters::prelude::*;

    #[test]
    fn text_renders_with_the_bundled_font() {
        register_font().unwrap();
        let (w, h) = (200u32, 60u32);
        let mut buf = vec![0u8; (w * h * 3) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
            root.fill(&WHITE).unwrap();
            root.draw_text("meshsim p99", &(FONT, 24).into_font().color(&BLACK), (5, 15)).unwrap();
            root.present().unwrap();
        }
        let dark = buf.chunks(3).filter(|p| p[0] < 128).count();
        assert!(dark > 100, "text drew {dark} dark pixels");
        assert!(dark < (w * h) as usize / 2);
    }
}
