//! `sweep.csv`: one row per point with every replication recorded, in point order: its
//! parameters, then each key metric's mean and 95 % confidence half-width across the
//! replications, in fixed decimals.

use super::record::{METRICS, Manifest, RunRecord};
use super::stats::mean_ci95;
use crate::output::fixed;
use crate::output::sweep::table as columns;
use serde_json::Value;

/// A point's figures across its replications.
#[derive(Clone, Debug, PartialEq)]
pub struct PointStats {
    pub runs: usize,
    /// Runs that stopped at a limit (`drain-timeout`, ...).
    pub stopped: usize,
    /// Per metric, in `METRICS` order: the mean and the half-width of its 95 %
    /// confidence interval (`None` with fewer than two values), over the replications
    /// that have the metric.
    pub metrics: Vec<(Option<f64>, Option<f64>)>,
}

/// The statistics of each point whose replications are all recorded (`None` for the
/// others), from the records in replication order.
pub fn point_stats(records: &[Option<Vec<RunRecord>>]) -> Vec<Option<PointStats>> {
    records
        .iter()
        .map(|reps| {
            let reps = reps.as_ref()?;
            let values: Vec<Vec<Option<f64>>> = reps.iter().map(RunRecord::values).collect();
            let metrics = (0..METRICS.len())
                .map(|k| {
                    let xs: Vec<f64> = values.iter().filter_map(|v| v[k]).collect();
                    mean_ci95(&xs)
                })
                .collect();
            let stopped = reps.iter().filter(|r| r.stop != "completed").count();
            Some(PointStats { runs: reps.len(), stopped, metrics })
        })
        .collect()
}

/// A parameter value as a CSV cell or a label: strings bare, anything else as JSON.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The bytes of `sweep.csv`.
pub fn csv_bytes(m: &Manifest, stats: &[Option<PointStats>]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = vec![columns::POINT.into()];
    header.extend(m.parameters.iter().map(|p| p.path.clone()));
    header.extend([columns::RUNS.to_string(), columns::RUNS_STOPPED.to_string()]);
    for metric in &METRICS {
        header.push(format!("{}{}", metric.name, columns::MEAN_SUFFIX));
        header.push(format!("{}{}", metric.name, columns::CI95_SUFFIX));
    }
    w.write_record(&header).expect("writing to memory");
    for (p, s) in m.points.iter().zip(stats) {
        let Some(s) = s else { continue };
        let mut row: Vec<String> = vec![p.id.clone()];
        row.extend(p.values.iter().map(value_text));
        row.extend([s.runs.to_string(), s.stopped.to_string()]);
        for (metric, (mean, ci)) in METRICS.iter().zip(&s.metrics) {
            row.push(mean.map_or_else(String::new, |x| fixed(x, metric.decimals)));
            row.push(ci.map_or_else(String::new, |x| fixed(x, metric.decimals)));
        }
        w.write_record(&row).expect("writing to memory");
    }
    w.into_inner().expect("flushing to memory")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_metric_without_variance_has_a_zero_interval() {
        let rec = |a: f64| {
            RunRecord::new("d", "p", 0, 1, "completed", &[Some(a), None, None, None, None, None, None, None, None])
        };
        let stats = point_stats(&[Some(vec![rec(100.0), rec(100.0), rec(100.0)]), None]);
        let s = stats[0].as_ref().unwrap();
        assert_eq!(s.metrics[0], (Some(100.0), Some(0.0)));
        assert_eq!(s.metrics[1], (None, None));
        assert_eq!(stats[1], None);
    }
}
