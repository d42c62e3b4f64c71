//! The charts of a run: PNG files drawn from its [`RunData`] and written beside its CSVs.
//!
//! Each chart is a module with the same three functions: `skip` (why the run has no data
//! for it, if it has none), `size` and `draw` (onto an RGB buffer). Every time chart
//! shades and labels the fault windows and the warm-up ([`frame`]). Charts are drawn
//! with the bundled font into memory and written whole ([`crate::plot`]), so the same
//! run folder always gives byte-identical files.

mod breakers;
mod frame;
mod goodput;
mod instances;
mod latency;
mod retries;
mod rollout;
mod throughput;

use crate::plot::{self, PlotError};
use crate::rundata::RunData;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// One chart of a run.
pub struct Chart {
    /// The file name in the run folder.
    pub file: &'static str,
    /// What it shows, for the page's headings and image descriptions.
    pub title: &'static str,
    /// A chart of a feature the run may not use (rollouts): when it has no data, the page
    /// leaves it out without a note, so runs without the feature keep their page.
    pub optional: bool,
    skip: fn(&RunData) -> Option<&'static str>,
    size: fn(&RunData) -> (u32, u32),
    draw: fn(&RunData, &frame::Area) -> frame::Drawn,
}

/// Every chart, in the page's order.
pub static CHARTS: [Chart; 7] = [
    Chart {
        file: "latency.png",
        title: "Latency by route (p50, p95, p99)",
        optional: false,
        skip: latency::skip,
        size: latency::size,
        draw: latency::draw,
    },
    Chart {
        file: "throughput.png",
        title: "Throughput and failures by outcome",
        optional: false,
        skip: throughput::skip,
        size: throughput::size,
        draw: throughput::draw,
    },
    Chart {
        file: "breakers.png",
        title: "Circuit breakers and outlier ejections",
        optional: false,
        skip: breakers::skip,
        size: breakers::size,
        draw: breakers::draw,
    },
    Chart {
        file: "instances.png",
        title: "Utilisation and queue length per instance",
        optional: false,
        skip: instances::skip,
        size: instances::size,
        draw: instances::draw,
    },
    Chart {
        file: "retries.png",
        title: "Retry amplification per policy point",
        optional: false,
        skip: retries::skip,
        size: retries::size,
        draw: retries::draw,
    },
    Chart {
        file: "goodput.png",
        title: "Goodput against work done",
        optional: false,
        skip: goodput::skip,
        size: goodput::size,
        draw: goodput::draw,
    },
    Chart {
        file: "rollout.png",
        title: "Rollout weights and analysis",
        optional: true,
        skip: rollout::skip,
        size: rollout::size,
        draw: rollout::draw,
    },
];

/// The width of every chart, and the height of all but a latency chart with more than
/// six routes (which grows by a row of panels per three routes).
pub const WIDTH: u32 = frame::WIDTH;
pub const HEIGHT: u32 = frame::HEIGHT;

/// An RGB image: `width` x `height` pixels, three bytes each, row by row.
pub struct Image {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<u8>,
}

impl Chart {
    /// Why the run has no data for this chart, if it has none.
    pub fn skip_reason(&self, data: &RunData) -> Option<&'static str> {
        (self.skip)(data)
    }

    /// Draws the chart in memory (`None` when the run has no data for it).
    ///
    /// # Errors
    /// If the bundled font cannot be loaded or drawing fails.
    pub fn draw(&self, data: &RunData) -> Result<Option<Image>, PlotError> {
        if self.skip_reason(data).is_some() {
            return Ok(None);
        }
        plot::register_font()?;
        let (width, height) = (self.size)(data);
        let mut rgb = vec![255u8; width as usize * height as usize * 3];
        {
            let root = BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area();
            let fail = |e: frame::DrawError| PlotError::Draw { path: self.file.to_string(), message: e.0 };
            (self.draw)(data, &root).map_err(fail)?;
            root.present().map_err(|e| fail(e.into()))?;
        }
        Ok(Some(Image { width, height, rgb }))
    }
}

/// A chart after [`render`]: its file, and whether it was written.
pub struct Rendered {
    pub chart: &'static Chart,
    pub path: PathBuf,
    pub file: ChartFile,
}

/// Whether a chart was written, or left out because the run has no data for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartFile {
    Written { width: u32, height: u32 },
    Skipped { reason: &'static str },
}

/// Draws every chart of the run and writes it into `dir`; a chart the run has no data
/// for is left out, and a file of that name from an earlier run is removed, so the
/// folder holds exactly the charts of this run.
///
/// # Errors
/// If a chart cannot be drawn, written or removed.
pub fn render(data: &RunData, dir: &Path) -> Result<Vec<Rendered>, PlotError> {
    use rayon::prelude::*;
    // Each chart is a function of `data` alone, written to its own file: they are drawn
    // side by side, then kept in `CHARTS` order, with the first error in that order.
    let rendered: Vec<Result<Rendered, PlotError>> =
        CHARTS.par_iter().map(|chart| render_one(chart, data, dir)).collect();
    rendered.into_iter().collect()
}

fn render_one(chart: &'static Chart, data: &RunData, dir: &Path) -> Result<Rendered, PlotError> {
    let path = dir.join(chart.file);
    let file = match chart.draw(data)? {
        Some(img) => {
            plot::write_png(&path, &img.rgb, img.width, img.height)?;
            ChartFile::Written { width: img.width, height: img.height }
        }
        None => {
            remove_stale(&path)?;
            ChartFile::Skipped { reason: chart.skip_reason(data).unwrap_or("no data") }
        }
    };
    Ok(Rendered { chart, path, file })
}

/// Removes every chart file from `dir` (for a run written without charts).
///
/// # Errors
/// If a file exists and cannot be removed.
pub fn remove_all(dir: &Path) -> Result<(), PlotError> {
    CHARTS.iter().try_for_each(|c| remove_stale(&dir.join(c.file)))
}

fn remove_stale(path: &Path) -> Result<(), PlotError> {
    crate::output::remove_stale(path).map_err(|source| PlotError::Io { path: path.display().to_string(), source })
}
