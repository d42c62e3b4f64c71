//! What every chart shares: the palette, the header with title and legend, time panels
//! with fault windows shaded and labelled, and "no data" notes.
//!
//! All drawing is in integer pixels on a fixed-size RGB buffer with the bundled font, so
//! the same data always gives the same pixels.

use crate::plot::FONT;
use crate::plot::PALETTE;
use crate::rundata::RunData;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

pub(super) type Area<'b> = DrawingArea<BitMapBackend<'b>, Shift>;
pub(super) type TimeChart<'a, 'b, Y> =
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, <Y as AsRangedCoord>::CoordDescType>>;

/// A drawing error, as text (plotters' errors are generic over the backend).
#[derive(Debug)]
pub(super) struct DrawError(pub(super) String);

impl<E: std::error::Error> From<E> for DrawError {
    fn from(e: E) -> Self {
        DrawError(e.to_string())
    }
}

pub(super) type Drawn = Result<(), DrawError>;

/// The size of every chart but a tall latency grid.
pub(super) const WIDTH: u32 = 1200;
pub(super) const HEIGHT: u32 = 600;

pub(super) const TEXT: RGBColor = RGBColor(33, 33, 33);
pub(super) const MUTED: RGBColor = RGBColor(110, 110, 110);
pub(super) const GRID: RGBColor = RGBColor(228, 228, 228);
pub(super) const FAULT: RGBColor = RGBColor(214, 39, 40);
pub(super) const WARMUP: RGBColor = RGBColor(150, 150, 150);

/// The colour of the `i`-th series; past ten, the palette repeats darker.
pub(super) fn series_color(i: usize) -> RGBColor {
    let c = PALETTE[i % PALETTE.len()];
    let darken = |v: u8| (u32::from(v) * 2 / (2 + (i / PALETTE.len()) as u32).min(3)) as u8;
    if i < PALETTE.len() { c } else { RGBColor(darken(c.0), darken(c.1), darken(c.2)) }
}

pub(super) fn text(size: u32) -> TextStyle<'static> {
    (FONT, size).into_font().color(&TEXT)
}

/// A legend entry's mark.
#[derive(Clone, Copy)]
pub(super) enum Swatch {
    Line(RGBColor),
    Dashed(RGBColor),
    Fill(RGBColor),
    /// A translucent band, as fault windows and the warm-up are drawn.
    Band(RGBColor),
    /// An outlined window, as heat maps mark them.
    Outline(RGBColor),
}

pub(super) struct Legend(pub(super) Vec<(Swatch, String)>);

impl Legend {
    pub(super) fn new() -> Legend {
        Legend(Vec::new())
    }

    pub(super) fn add(&mut self, swatch: Swatch, label: impl Into<String>) {
        self.0.push((swatch, label.into()));
    }

    /// The fault-window and warm-up entries, when the run has them.
    pub(super) fn add_time_marks(&mut self, tl: &Timeline) {
        self.add_marks(tl, Swatch::Band);
    }

    /// As [`Legend::add_time_marks`], for windows outlined over a heat map.
    pub(super) fn add_outlined_marks(&mut self, tl: &Timeline) {
        self.add_marks(tl, Swatch::Outline);
    }

    fn add_marks(&mut self, tl: &Timeline, swatch: fn(RGBColor) -> Swatch) {
        if tl.bands.iter().any(|b| !b.warmup) {
            self.add(swatch(FAULT), "fault window");
        }
        if tl.bands.iter().any(|b| b.warmup) {
            self.add(swatch(WARMUP), "warm-up (not in the totals)");
        }
    }
}

const HEADER_TITLE: u32 = 34;
const LEGEND_ROW: u32 = 20;

/// Fills the chart white, draws the title, the run it belongs to and the legend (in
/// rows, wrapped), and returns the area below.
pub(super) fn header<'b>(root: &Area<'b>, title: &str, data: &RunData, legend: &Legend) -> Result<Area<'b>, DrawError> {
    root.fill(&WHITE)?;
    let (width, _) = root.dim_in_pixel();
    root.draw_text(title, &FontDesc::new(FontFamily::Name(FONT), 20.0, FontStyle::Bold).color(&TEXT), (14, 9))?;
    let s = &data.summary;
    let simulated =
        if s.simulated_s >= 1.0 { format!("{:.1}", s.simulated_s) } else { format!("{:.3}", s.simulated_s) };
    let run = format!("{}, seed {}, {simulated} s simulated", s.scenario, s.seed);
    root.draw_text(&run, &text(13).color(&MUTED).pos(Pos::new(HPos::Right, VPos::Top)), (width as i32 - 14, 13))?;
    // Lay the legend out in rows.
    let style = text(13);
    let mut rows: Vec<Vec<(i32, usize)>> = vec![Vec::new()];
    let mut x = 14i32;
    for (i, (_, label)) in legend.0.iter().enumerate() {
        let (w, _) = root.estimate_text_size(label, &style)?;
        let needed = 28 + w as i32 + 18;
        if x + needed > width as i32 - 14 && x > 14 {
            rows.push(Vec::new());
            x = 14;
        }
        rows.last_mut().expect("one row").push((x, i));
        x += needed;
    }
    let rows: Vec<_> = rows.into_iter().filter(|r| !r.is_empty()).collect();
    for (r, row) in rows.iter().enumerate() {
        let y = (HEADER_TITLE + r as u32 * LEGEND_ROW) as i32 + 9;
        for &(x, i) in row {
            let (swatch, label) = &legend.0[i];
            draw_swatch(root, *swatch, x, y)?;
            root.draw_text(label, &style.pos(Pos::new(HPos::Left, VPos::Center)), (x + 28, y))?;
        }
    }
    let used = HEADER_TITLE + rows.len() as u32 * LEGEND_ROW + 4;
    Ok(root.split_vertically(used).1)
}

fn draw_swatch(area: &Area, swatch: Swatch, x: i32, y: i32) -> Drawn {
    match swatch {
        Swatch::Line(c) => area.draw(&PathElement::new(vec![(x, y), (x + 22, y)], c.stroke_width(3)))?,
        Swatch::Dashed(c) => {
            for k in 0..3 {
                area.draw(&PathElement::new(vec![(x + k * 8, y), (x + k * 8 + 5, y)], c.stroke_width(2)))?;
            }
        }
        Swatch::Fill(c) => area.draw(&Rectangle::new([(x, y - 6), (x + 22, y + 6)], c.filled()))?,
        Swatch::Band(c) => {
            area.draw(&Rectangle::new([(x, y - 7), (x + 22, y + 7)], c.mix(0.16).filled()))?;
            area.draw(&Rectangle::new([(x, y - 7), (x + 22, y + 7)], c.mix(0.6).stroke_width(1)))?;
        }
        Swatch::Outline(c) => {
            for xe in [x + 1, x + 21] {
                area.draw(&PathElement::new(vec![(xe, y - 7), (xe, y + 7)], c.stroke_width(2)))?;
            }
        }
    }
    Ok(())
}

/// A shaded window on the time axis: a fault occurrence or the warm-up.
pub(super) struct Band {
    pub(super) start_s: f64,
    pub(super) end_s: f64,
    pub(super) label: String,
    pub(super) warmup: bool,
    /// The fault (its index in the scenario): a repeating fault is labelled once.
    pub(super) fault: Option<u64>,
}

/// The time axis every time chart shares: the run's extent and its marked windows.
pub(super) struct Timeline {
    pub(super) end_s: f64,
    pub(super) bands: Vec<Band>,
}

impl Timeline {
    pub(super) fn of(data: &RunData) -> Timeline {
        let end_s = data.series.end_s().max(data.summary.simulated_s).max(1e-3);
        let mut bands = Vec::new();
        if data.summary.warmup_s > 0.0 {
            bands.push(Band {
                start_s: 0.0,
                end_s: data.summary.warmup_s.min(end_s),
                label: "warm-up".into(),
                warmup: true,
                fault: None,
            });
        }
        for f in &data.summary.resilience.faults {
            bands.push(Band {
                start_s: f.start_s.min(end_s),
                end_s: f.end_s.unwrap_or(end_s).min(end_s),
                label: format!("{} {}", f.kind, f.target),
                warmup: false,
                fault: Some(f.fault),
            });
        }
        Timeline { end_s, bands }
    }
}

/// How a time panel is laid out: the width of the label area left of the plot, the
/// margin right of it, and whether it shows the time axis title.
#[derive(Clone, Copy)]
pub(super) struct PanelLayout {
    pub(super) left: u32,
    pub(super) right: u32,
    pub(super) time_title: bool,
    /// How many labelled ticks (and grid lines) the y axis gets, about.
    pub(super) y_labels: usize,
}

pub(super) const PANEL: PanelLayout = PanelLayout { left: 78, right: 24, time_title: true, y_labels: 6 };

/// A time panel: simulated seconds on x, `y` on y, with grid, axis titles and the
/// timeline's windows shaded (translucent bands). [`label_windows`] labels them once
/// the data is drawn.
pub(super) fn time_panel<'a, 'b, Y>(
    area: &'a Area<'b>,
    tl: &Timeline,
    y: Y,
    y_desc: &str,
    y_fmt: &dyn Fn(&Y::Value) -> String,
    layout: PanelLayout,
) -> Result<TimeChart<'a, 'b, Y>, DrawError>
where
    Y: AsRangedCoord,
    Y::CoordDescType: ValueFormatter<Y::Value>,
    Y::Value: std::fmt::Debug + Clone + 'static,
{
    let mut chart = ChartBuilder::on(area)
        .margin_top(8)
        .margin_right(layout.right)
        .margin_left(6)
        .x_label_area_size(if layout.time_title { 40 } else { 24 })
        .y_label_area_size(layout.left)
        .build_cartesian_2d(0.0..tl.end_s, y)?;
    let x_fmt = |x: &f64| format_tick(*x);
    let mut mesh = chart.configure_mesh();
    mesh.bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .axis_style(MUTED)
        .label_style(text(12))
        .axis_desc_style(text(13))
        .x_labels(12)
        .y_labels(layout.y_labels)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(y_fmt)
        .y_desc(y_desc);
    if layout.time_title {
        mesh.x_desc("simulated time (s)");
    }
    mesh.draw()?;
    shade(&chart.plotting_area().strip_coord_spec(), tl, true)?;
    Ok(chart)
}

/// A number as a tick label: with as few decimals as it needs (up to six).
pub(super) fn format_tick(x: f64) -> String {
    let decimals = (0..6).find(|&d| {
        let scaled = x * 10f64.powi(d);
        (scaled - scaled.round()).abs() < 1e-6 * scaled.abs().max(1.0)
    });
    crate::output::fixed(x, decimals.unwrap_or(6) as usize)
}

/// Shades (or, for heat maps, outlines) the timeline's windows on a plot area in pixel
/// coordinates.
pub(super) fn shade(plot: &Area, tl: &Timeline, fill: bool) -> Drawn {
    let (w, h) = plot.dim_in_pixel();
    for b in &tl.bands {
        let color = if b.warmup { WARMUP } else { FAULT };
        let (x0, x1) = (px(tl, w, b.start_s), px(tl, w, b.end_s).max(px(tl, w, b.start_s) + 1));
        if fill {
            plot.draw(&Rectangle::new([(x0, 0), (x1, h as i32)], color.mix(0.12).filled()))?;
        }
        let edge = if fill { color.mix(0.55).stroke_width(1) } else { color.stroke_width(2) };
        for x in [x0, x1] {
            plot.draw(&PathElement::new(vec![(x, 0), (x, h as i32)], edge))?;
        }
    }
    Ok(())
}

fn px(tl: &Timeline, width: u32, x: f64) -> i32 {
    ((x / tl.end_s).clamp(0.0, 1.0) * f64::from(width)).round() as i32
}

/// Labels the timeline's windows (kind and target of each fault, and the warm-up) at
/// the top of a time panel, over the data, in up to three lanes; a label that finds no
/// room is left out (its band stays), and a repeating fault is labelled once.
pub(super) fn label_windows<YC: Ranged>(
    chart: &ChartContext<'_, BitMapBackend<'_>, Cartesian2d<RangedCoordf64, YC>>,
    tl: &Timeline,
) -> Drawn {
    let plot = chart.plotting_area().strip_coord_spec();
    let (w, _) = plot.dim_in_pixel();
    let style = text(12);
    let mut lanes: Vec<i32> = Vec::new(); // the right end of the last label in each lane
    let mut labelled: Vec<u64> = Vec::new();
    for b in &tl.bands {
        if b.fault.is_some_and(|f| labelled.contains(&f)) {
            continue;
        }
        let color = if b.warmup { MUTED } else { FAULT };
        let (tw, th) = plot.estimate_text_size(&b.label, &style)?;
        let x = (px(tl, w, b.start_s) + 3).min(w as i32 - tw as i32 - 3).max(0);
        let lane = match lanes.iter().position(|&end| end + 6 <= x) {
            Some(l) => l,
            None if lanes.len() < 3 => {
                lanes.push(i32::MIN);
                lanes.len() - 1
            }
            None => continue,
        };
        lanes[lane] = x + tw as i32;
        labelled.extend(b.fault);
        let y = 3 + lane as i32 * (th as i32 + 4);
        plot.draw(&Rectangle::new([(x - 2, y - 1), (x + tw as i32 + 2, y + th as i32 + 1)], WHITE.mix(0.8).filled()))?;
        plot.draw_text(&b.label, &style.color(&color), (x, y))?;
    }
    Ok(())
}

/// Writes a grey note in the middle of an area (a panel without data).
pub(super) fn note(area: &Area, message: &str) -> Drawn {
    let (w, h) = area.dim_in_pixel();
    let style = text(15).color(&MUTED).pos(Pos::new(HPos::Center, VPos::Center));
    area.draw_text(message, &style, (w as i32 / 2, h as i32 / 2))?;
    Ok(())
}

/// A line broken where the data has gaps: one path per run of consecutive points.
pub(super) fn draw_gapped<YC>(
    chart: &mut ChartContext<'_, BitMapBackend<'_>, Cartesian2d<RangedCoordf64, YC>>,
    points: &[Option<(f64, YC::ValueType)>],
    style: ShapeStyle,
) -> Drawn
where
    YC: Ranged,
    YC::ValueType: Clone + 'static,
{
    for run in points.split(Option::is_none) {
        let path: Vec<(f64, YC::ValueType)> = run.iter().flatten().cloned().collect();
        match path.len() {
            0 => {}
            1 => {
                chart.draw_series(std::iter::once(Circle::new(path[0].clone(), 2, style.filled())))?;
            }
            _ => {
                chart.draw_series(std::iter::once(PathElement::new(path, style)))?;
            }
        }
    }
    Ok(())
}

/// A dashed line, broken where the data has gaps.
pub(super) fn draw_dashed<YC>(
    chart: &mut ChartContext<'_, BitMapBackend<'_>, Cartesian2d<RangedCoordf64, YC>>,
    points: &[Option<(f64, YC::ValueType)>],
    style: ShapeStyle,
) -> Drawn
where
    YC: Ranged,
    YC::ValueType: Clone + 'static,
{
    for run in points.split(Option::is_none) {
        let path: Vec<(f64, YC::ValueType)> = run.iter().flatten().cloned().collect();
        if path.len() >= 2 {
            chart.draw_series(DashedLineSeries::new(path, 6, 4, style))?;
        }
    }
    Ok(())
}

/// A step line: each window's value held from its start to its end.
pub(super) fn steps(points: &[Option<(crate::rundata::Window, f64)>]) -> Vec<Option<(f64, f64)>> {
    let mut out = Vec::with_capacity(points.len() * 2);
    for p in points {
        match p {
            Some((w, v)) => {
                out.push(Some((w.start_s, *v)));
                out.push(Some((w.end_s, *v)));
            }
            None => out.push(None),
        }
    }
    out
}

/// A "nice" upper bound for a linear axis: at least `floor`, above `max` with headroom
/// for the labels at the top.
pub(super) fn nice_max(max: f64, floor: f64) -> f64 {
    let target = (max * 1.25).max(floor);
    let mag = 10f64.powf(target.log10().floor());
    for m in [1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0] {
        if m * mag >= target {
            return m * mag;
        }
    }
    10.0 * mag
}

#[cfg(test)]
mod tests {
    use super::{format_tick, nice_max};

    #[test]
    fn ticks_have_the_decimals_they_need() {
        assert_eq!(format_tick(20.0), "20");
        assert_eq!(format_tick(2.5), "2.5");
        assert_eq!(format_tick(0.005), "0.005");
        assert_eq!(format_tick(0.015), "0.015");
        assert_eq!(format_tick(-0.0), "0");
        assert_eq!(format_tick(1e-9), "0");
    }

    #[test]
    fn nice_max_leaves_headroom_and_is_round() {
        assert_eq!(nice_max(1560.0, 1.0), 2000.0);
        assert_eq!(nice_max(4.0, 2.0), 5.0);
        assert_eq!(nice_max(0.0, 1.0), 1.0);
        assert_eq!(nice_max(3.0, 1.0), 4.0);
    }
}
