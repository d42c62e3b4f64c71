//! The sweep's charts, as PNG files with deterministic bytes: a metric against one
//! parameter (a line per combination of the others, with its 95 % confidence band), a
//! metric over two parameters (a heat map), and the Pareto front of two metrics.
//!
//! Parameters whose values are all numbers on a linear axis are placed by value; any
//! other parameter (strings, booleans, log ranges, whose values are evenly spaced in
//! log) is placed by the values' order, one tick per value.

use super::SweepError;
use super::record::{Manifest, Metric, metric};
use super::spec::{ChartKind, ChartSpec, Scale};
use super::table::{PointStats, value_text};
use crate::output::fixed;
use crate::plot::PALETTE;
use crate::plot::{FONT, PlotError, register_font, write_png};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::{Path, PathBuf};

const WIDTH: u32 = 1000;
const HEIGHT: u32 = 660;
/// Viridis at five stops, interpolated linearly between them.
const VIRIDIS: [(f64, f64, f64); 5] =
    [(68.0, 1.0, 84.0), (59.0, 82.0, 139.0), (33.0, 145.0, 140.0), (94.0, 201.0, 98.0), (253.0, 231.0, 37.0)];

type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;
/// A line: the other parameters' value indices, and its points (value index of x,
/// mean, confidence half-width).
type Series = (Vec<usize>, Vec<(usize, f64, f64)>);

/// Draws every chart of the manifest into `dir`; returns the files in chart order.
pub fn draw_all(m: &Manifest, stats: &[Option<PointStats>], dir: &Path) -> Result<Vec<PathBuf>, SweepError> {
    if m.charts.is_empty() {
        return Ok(Vec::new());
    }
    register_font()?;
    std::fs::create_dir_all(dir).map_err(SweepError::io(dir))?;
    let data = Data { m, stats, indices: m.value_indices() };
    let mut files = Vec::new();
    for spec in &m.charts {
        let path = dir.join(data.file_name(spec));
        let mut buf = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut buf, (WIDTH, HEIGHT)).into_drawing_area();
            let drawn = match spec.kind {
                ChartKind::Line => data.line(&root, spec),
                ChartKind::Heatmap => data.heatmap(&root, spec),
                ChartKind::Pareto => data.pareto(&root, spec),
            };
            drawn
                .and_then(|()| root.present().map_err(|e| e.to_string()))
                .map_err(|message| SweepError::Plot(PlotError::Draw { path: path.display().to_string(), message }))?;
        }
        write_png(&path, &buf, WIDTH, HEIGHT)?;
        files.push(path);
    }
    Ok(files)
}

struct Data<'a> {
    m: &'a Manifest,
    stats: &'a [Option<PointStats>],
    indices: Vec<Vec<usize>>,
}

fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

fn text_style(size: u32) -> TextStyle<'static> {
    (FONT, size).into_font().color(&BLACK)
}

/// A title and a subtitle over the rest of the chart.
fn titled<'a>(root: &Area<'a>, title: &str, subtitle: &str) -> Result<Area<'a>, String> {
    root.fill(&WHITE).map_err(err)?;
    let (top, body) = root.split_vertically(66);
    top.draw_text(title, &text_style(22), (24, 12)).map_err(err)?;
    top.draw_text(subtitle, &(FONT, 14).into_font().color(&RGBColor(80, 80, 80)), (24, 42)).map_err(err)?;
    Ok(body)
}

impl Data<'_> {
    fn param(&self, path: &str) -> usize {
        self.m.parameters.iter().position(|p| p.path == path).expect("charts name swept paths (checked)")
    }

    /// A parameter's short name: its last key, or its whole path if another parameter
    /// ends with the same key.
    fn short(&self, k: usize) -> String {
        let key = |path: &str| super::path::JsonPath::parse(path).map(|p| p.last_key().to_string()).unwrap_or_default();
        let mine = key(&self.m.parameters[k].path);
        let shared = self.m.parameters.iter().filter(|p| key(&p.path) == mine).count() > 1;
        if shared { self.m.parameters[k].path.clone() } else { mine }
    }

    fn file_name(&self, c: &ChartSpec) -> String {
        let safe = |s: String| s.replace(['[', '.'], "-").replace(']', "");
        let (x, y) = (c.x.clone().unwrap_or_default(), c.y.clone().unwrap_or_default());
        let metric = c.metric.clone().unwrap_or_default();
        match c.kind {
            ChartKind::Line => format!("line-{metric}-by-{}.png", safe(self.short(self.param(&x)))),
            ChartKind::Heatmap => {
                format!(
                    "heatmap-{metric}-{}-{}.png",
                    safe(self.short(self.param(&x))),
                    safe(self.short(self.param(&y)))
                )
            }
            ChartKind::Pareto => format!("pareto-{y}-{x}.png"),
        }
    }

    /// Where a value of parameter `k` sits on an axis: by value, or by its order.
    fn by_value(&self, k: usize) -> bool {
        let p = &self.m.parameters[k];
        p.scale == Scale::Linear && p.values.iter().all(serde_json::Value::is_number)
    }

    fn position(&self, k: usize, value_index: usize) -> f64 {
        if self.by_value(k) {
            self.m.parameters[k].values[value_index].as_f64().unwrap_or(0.0)
        } else {
            value_index as f64
        }
    }

    /// The axis range of parameter `k`, with a margin.
    fn axis(&self, k: usize) -> (f64, f64) {
        let n = self.m.parameters[k].values.len();
        if !self.by_value(k) {
            return (-0.5, n as f64 - 0.5);
        }
        let xs: Vec<f64> = (0..n).map(|i| self.position(k, i)).collect();
        padded(xs.iter().copied().fold(f64::INFINITY, f64::min), xs.iter().copied().fold(f64::NEG_INFINITY, f64::max))
    }

    /// The tick label at position `x` of parameter `k`.
    fn tick(&self, k: usize, x: f64) -> String {
        if self.by_value(k) {
            return trim_number(x);
        }
        let i = x.round();
        let values = &self.m.parameters[k].values;
        if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < values.len() {
            value_text(&values[i as usize])
        } else {
            String::new()
        }
    }

    fn replications_note(&self) -> String {
        match self.m.replications {
            1 => "one run per point (no confidence interval)".into(),
            n => format!("mean of {n} replications per point"),
        }
    }

    // Over 80 lines: plotters' builder calls for one chart (axes, series, bands, legend).
    fn line(&self, root: &Area, c: &ChartSpec) -> Result<(), String> {
        let (mi, metric) = metric(c.metric.as_deref().unwrap_or_default()).expect("a known metric (checked)");
        let px = self.param(c.x.as_deref().unwrap_or_default());
        let others: Vec<usize> = (0..self.m.parameters.len()).filter(|&k| k != px).collect();
        // One series per combination of the other parameters, in point order.
        let mut series: Vec<Series> = Vec::new();
        for (p, s) in self.indices.iter().zip(self.stats) {
            let Some((Some(mean), ci)) = s.as_ref().map(|s| s.metrics[mi]) else { continue };
            let key: Vec<usize> = others.iter().map(|&k| p[k]).collect();
            let entry = match series.iter().position(|(k, _)| *k == key) {
                Some(i) => &mut series[i].1,
                None => {
                    series.push((key, Vec::new()));
                    &mut series.last_mut().expect("just pushed").1
                }
            };
            entry.push((p[px], mean, ci.unwrap_or(0.0)));
        }
        let band = if self.m.replications > 1 { "; band: 95 % confidence interval (Student t)" } else { "" };
        let title = format!("{} by {}", metric.label, self.short(px));
        let body = titled(root, &title, &format!("{}{band}", self.replications_note()))?;
        let all = series.iter().flat_map(|(_, pts)| pts.iter());
        let lo = all.clone().map(|&(_, m, ci)| m - ci).fold(f64::INFINITY, f64::min);
        let hi = all.map(|&(_, m, ci)| m + ci).fold(f64::NEG_INFINITY, f64::max);
        if series.is_empty() {
            return no_data(&body);
        }
        let (y0, y1) = padded(lo, hi);
        let (x0, x1) = self.axis(px);
        let mut chart = ChartBuilder::on(&body)
            .margin(18)
            .x_label_area_size(52)
            .y_label_area_size(84)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(err)?;
        let n_values = self.m.parameters[px].values.len();
        let tick = |x: &f64| self.tick(px, *x);
        let ylab = |y: &f64| trim_number(*y);
        chart
            .configure_mesh()
            .x_desc(self.m.parameters[px].path.as_str())
            .y_desc(metric.label)
            .x_labels(if self.by_value(px) { 10 } else { 2 * n_values + 1 })
            .x_label_formatter(&tick)
            .y_label_formatter(&ylab)
            .label_style(text_style(13))
            .axis_desc_style(text_style(15))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(err)?;
        for (s, (key, pts)) in series.iter_mut().enumerate() {
            pts.sort_by_key(|&(v, _, _)| v);
            let color = PALETTE[s % PALETTE.len()];
            let at = |v: usize| self.position(px, v);
            if self.m.replications > 1 {
                let upper = pts.iter().map(|&(v, m, ci)| (at(v), m + ci));
                let lower = pts.iter().rev().map(|&(v, m, ci)| (at(v), m - ci));
                let outline: Vec<(f64, f64)> = upper.chain(lower).collect();
                chart.draw_series(std::iter::once(Polygon::new(outline, color.mix(0.18).filled()))).map_err(err)?;
            }
            let label = if others.is_empty() {
                "all points".to_string()
            } else {
                let pairs: Vec<String> = others
                    .iter()
                    .zip(key.iter())
                    .map(|(&k, &v)| format!("{}={}", self.short(k), value_text(&self.m.parameters[k].values[v])))
                    .collect();
                pairs.join(", ")
            };
            chart
                .draw_series(LineSeries::new(pts.iter().map(|&(v, m, _)| (at(v), m)), color.stroke_width(2)))
                .map_err(err)?
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], color.stroke_width(2)));
            chart.draw_series(pts.iter().map(|&(v, m, _)| Circle::new((at(v), m), 4, color.filled()))).map_err(err)?;
        }
        let position =
            if metric.higher_is_better { SeriesLabelPosition::LowerRight } else { SeriesLabelPosition::UpperRight };
        chart
            .configure_series_labels()
            .position(position)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(160, 160, 160))
            .label_font(text_style(13))
            .draw()
            .map_err(err)
    }

    fn heatmap(&self, root: &Area, c: &ChartSpec) -> Result<(), String> {
        let (mi, metric) = metric(c.metric.as_deref().unwrap_or_default()).expect("a known metric (checked)");
        let px = self.param(c.x.as_deref().unwrap_or_default());
        let py = self.param(c.y.as_deref().unwrap_or_default());
        let (nx, ny) = (self.m.parameters[px].values.len(), self.m.parameters[py].values.len());
        // Each cell: the mean over the points there (more than one when other
        // parameters vary), summed in point order.
        let mut sums = vec![(0.0_f64, 0usize); nx * ny];
        for (p, s) in self.indices.iter().zip(self.stats) {
            if let Some((Some(mean), _)) = s.as_ref().map(|s| s.metrics[mi]) {
                let cell = &mut sums[p[py] * nx + p[px]];
                cell.0 += mean;
                cell.1 += 1;
            }
        }
        let cells: Vec<Option<f64>> = sums.iter().map(|&(s, n)| (n > 0).then(|| s / n as f64)).collect();
        let others = self.m.parameters.len() > 2;
        let title = format!("{} over {} and {}", metric.label, self.short(px), self.short(py));
        let mut note = self.replications_note();
        if others {
            note.push_str(", averaged over the other parameters");
        }
        let body = titled(root, &title, &note)?;
        let present: Vec<f64> = cells.iter().flatten().copied().collect();
        if present.is_empty() {
            return no_data(&body);
        }
        let lo = present.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = present.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let (plot, legend) = body.split_horizontally(WIDTH - 130);
        let mut chart = ChartBuilder::on(&plot)
            .margin(18)
            .x_label_area_size(52)
            .y_label_area_size(110)
            .build_cartesian_2d(-0.5..nx as f64 - 0.5, -0.5..ny as f64 - 0.5)
            .map_err(err)?;
        let xt = |x: &f64| self.tick_by_order(px, *x);
        let yt = |y: &f64| self.tick_by_order(py, *y);
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(self.m.parameters[px].path.as_str())
            .y_desc(self.m.parameters[py].path.as_str())
            .x_labels(2 * nx + 1)
            .y_labels(2 * ny + 1)
            .x_label_formatter(&xt)
            .y_label_formatter(&yt)
            .label_style(text_style(13))
            .axis_desc_style(text_style(15))
            .draw()
            .map_err(err)?;
        let decimals = metric.decimals.min(2);
        for j in 0..ny {
            for i in 0..nx {
                let (x, y) = (i as f64, j as f64);
                let cell = [(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)];
                let (fill, label, ink) = match cells[j * nx + i] {
                    Some(v) => {
                        let color = viridis(if hi > lo { (v - lo) / (hi - lo) } else { 0.5 });
                        let light =
                            0.299 * f64::from(color.0) + 0.587 * f64::from(color.1) + 0.114 * f64::from(color.2);
                        (color, fixed(v, decimals), if light < 140.0 { WHITE } else { BLACK })
                    }
                    None => (RGBColor(225, 225, 225), "no data".to_string(), RGBColor(90, 90, 90)),
                };
                chart.draw_series(std::iter::once(Rectangle::new(cell, fill.filled()))).map_err(err)?;
                let style = (FONT, 14).into_font().color(&ink).pos(Pos::new(HPos::Center, VPos::Center));
                chart.draw_series(std::iter::once(Text::new(label, (x, y), style))).map_err(err)?;
            }
        }
        color_bar(&legend, metric, lo, hi)
    }

    /// A tick at each value of parameter `k`, by order.
    fn tick_by_order(&self, k: usize, x: f64) -> String {
        let i = x.round();
        let values = &self.m.parameters[k].values;
        if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < values.len() {
            value_text(&values[i as usize])
        } else {
            String::new()
        }
    }

    // Over 80 lines: plotters' builder calls for one chart (axes, points, front, labels).
    fn pareto(&self, root: &Area, c: &ChartSpec) -> Result<(), String> {
        let (xi, xm) = metric(c.x.as_deref().unwrap_or_default()).expect("a known metric (checked)");
        let (yi, ym) = metric(c.y.as_deref().unwrap_or_default()).expect("a known metric (checked)");
        let pts: Vec<(usize, f64, f64)> = self
            .stats
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let s = s.as_ref()?;
                Some((i, s.metrics[xi].0?, s.metrics[yi].0?))
            })
            .collect();
        let front = pareto_front(&pts, xm, ym);
        let direction = |m: &Metric| if m.higher_is_better { "higher" } else { "lower" };
        let title = format!("Pareto front: {} against {}", short_label(ym), short_label(xm));
        let note = format!(
            "{}; on the front, no other point is at least as good in both ({} {}, {} {}) and better in one",
            self.replications_note(),
            direction(ym),
            ym.name,
            direction(xm),
            xm.name
        );
        let body = titled(root, &title, &note)?;
        if pts.is_empty() {
            return no_data(&body);
        }
        let fold =
            |f: fn(f64, f64) -> f64, init: f64, get: fn(&(usize, f64, f64)) -> f64| pts.iter().map(get).fold(init, f);
        let (x0, x1) = padded(fold(f64::min, f64::INFINITY, |p| p.1), fold(f64::max, f64::NEG_INFINITY, |p| p.1));
        let (y0, y1) = padded(fold(f64::min, f64::INFINITY, |p| p.2), fold(f64::max, f64::NEG_INFINITY, |p| p.2));
        let mut chart = ChartBuilder::on(&body)
            .margin(18)
            .x_label_area_size(52)
            .y_label_area_size(84)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(err)?;
        let lab = |v: &f64| trim_number(*v);
        chart
            .configure_mesh()
            .x_desc(xm.label)
            .y_desc(ym.label)
            .x_label_formatter(&lab)
            .y_label_formatter(&lab)
            .label_style(text_style(13))
            .axis_desc_style(text_style(15))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(err)?;
        let grey = RGBColor(150, 150, 150);
        chart
            .draw_series(pts.iter().map(|&(_, x, y)| Circle::new((x, y), 4, grey.filled())))
            .map_err(err)?
            .label(format!("points ({})", pts.len()))
            .legend(move |(x, y)| Circle::new((x + 10, y), 4, grey.filled()));
        let red = RGBColor(214, 39, 40);
        let line: Vec<(f64, f64)> = front.iter().map(|&(_, x, y)| (x, y)).collect();
        chart
            .draw_series(LineSeries::new(line, red.stroke_width(2)))
            .map_err(err)?
            .label(format!("Pareto front ({})", front.len()))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], red.stroke_width(2)));
        chart.draw_series(front.iter().map(|&(_, x, y)| Circle::new((x, y), 5, red.filled()))).map_err(err)?;
        // Each point of the front is labelled with its parameters.
        let style = (FONT, 12).into_font().color(&RGBColor(60, 60, 60));
        let label = |i: usize| {
            let pairs: Vec<String> = self.indices[i]
                .iter()
                .enumerate()
                .map(|(k, &v)| format!("{}={}", self.short(k), value_text(&self.m.parameters[k].values[v])))
                .collect();
            pairs.join(", ")
        };
        chart
            .draw_series(
                front.iter().map(|&(i, x, y)| EmptyElement::at((x, y)) + Text::new(label(i), (8, -18), style.clone())),
            )
            .map_err(err)?;
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(160, 160, 160))
            .label_font(text_style(13))
            .draw()
            .map_err(err)
    }
}

/// The points no other point dominates, by increasing x.
fn pareto_front(pts: &[(usize, f64, f64)], xm: &Metric, ym: &Metric) -> Vec<(usize, f64, f64)> {
    let better = |a: f64, b: f64, higher: bool| if higher { a > b } else { a < b };
    let at_least = |a: f64, b: f64, higher: bool| if higher { a >= b } else { a <= b };
    let dominated = |p: &(usize, f64, f64)| {
        pts.iter().any(|q| {
            at_least(q.1, p.1, xm.higher_is_better)
                && at_least(q.2, p.2, ym.higher_is_better)
                && (better(q.1, p.1, xm.higher_is_better) || better(q.2, p.2, ym.higher_is_better))
        })
    };
    let mut front: Vec<(usize, f64, f64)> = pts.iter().filter(|p| !dominated(p)).copied().collect();
    front.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.2.total_cmp(&b.2)).then(a.0.cmp(&b.0)));
    front
}

/// A metric's label without its unit, for titles.
fn short_label(m: &Metric) -> &'static str {
    match m.label.find(" (") {
        Some(i) => &m.label[..i],
        None => m.label,
    }
}

fn no_data(body: &Area) -> Result<(), String> {
    body.draw_text("no point has all its replications recorded yet", &text_style(16), (24, 40)).map_err(err)
}

/// A vertical colour scale from `lo` (bottom) to `hi` (top), labelled.
fn color_bar(area: &Area, metric: &Metric, lo: f64, hi: f64) -> Result<(), String> {
    let (top, bottom, left, width) = (40i32, HEIGHT as i32 - 66 - 80, 16i32, 24i32);
    let steps = 100;
    for s in 0..steps {
        let t0 = top + (bottom - top) * s / steps;
        let t1 = top + (bottom - top) * (s + 1) / steps;
        let color = viridis(1.0 - f64::from(s) / f64::from(steps - 1));
        area.draw(&Rectangle::new([(left, t0), (left + width, t1)], color.filled())).map_err(err)?;
    }
    let decimals = metric.decimals.min(2);
    let style = text_style(12);
    area.draw_text(&fixed(hi, decimals), &style, (left + width + 6, top - 6)).map_err(err)?;
    area.draw_text(&fixed((lo + hi) / 2.0, decimals), &style, (left + width + 6, (top + bottom) / 2 - 6))
        .map_err(err)?;
    area.draw_text(&fixed(lo, decimals), &style, (left + width + 6, bottom - 6)).map_err(err)?;
    area.draw_text(metric.name, &style, (4, top - 28)).map_err(err)
}

fn viridis(t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0) * (VIRIDIS.len() - 1) as f64;
    let i = (t.floor() as usize).min(VIRIDIS.len() - 2);
    let f = t - i as f64;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    let mix = |x: f64, y: f64| (x + (y - x) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// A range around `lo..hi` with 8 % room on each side (a unit or 10 % around a single value).
fn padded(lo: f64, hi: f64) -> (f64, f64) {
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.0, 1.0);
    }
    let span = if hi > lo { hi - lo } else { (lo.abs() * 0.1).max(1.0) };
    (lo - 0.08 * span, hi + 0.08 * span)
}

/// A tick value with at most four decimals and no trailing zeros.
fn trim_number(x: f64) -> String {
    let s = fixed(x, 4);
    let s = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s };
    if s == "-0" { "0".into() } else { s }
}

#[cfg(test)]
mod tests {
    use super::super::record::METRICS;
    use super::*;

    #[test]
    fn the_front_keeps_only_undominated_points() {
        let (amp, avail) = (&METRICS[4], &METRICS[0]);
        // (index, amplification: lower is better, availability: higher is better)
        let pts = [(0, 1.0, 80.0), (1, 1.0, 79.0), (2, 2.0, 90.0), (3, 3.0, 85.0), (4, 0.9, 70.0)];
        let front: Vec<usize> = pareto_front(&pts, amp, avail).iter().map(|p| p.0).collect();
        assert_eq!(front, vec![4, 0, 2]);
    }

    #[test]
    fn viridis_runs_from_purple_to_yellow() {
        assert_eq!(viridis(0.0), RGBColor(68, 1, 84));
        assert_eq!(viridis(1.0), RGBColor(253, 231, 37));
        assert_eq!(viridis(2.0), RGBColor(253, 231, 37));
    }
}
