//! Parameter sweeps: one scenario run over a grid or a list of parameter values, with
//! replications, in parallel, resumable and shardable.
//!
//! A sweep is defined by a scenario file's `sweep` block and `--set` axes ([`spec`]).
//! Each point is the base scenario with its values set by JSON path ([`path`]) and
//! validated like any scenario. Each run (a point and a replication) is single-threaded
//! and deterministic: its seed is drawn from the root seed's ChaCha stream named after
//! the point's stable id and the replication, so no result depends on the thread count,
//! the order runs finish in or the sharding. Runs go to a rayon pool of its own.
//!
//! The folder of a sweep holds `sweep.json` (its definition) and one record per finished
//! run (`records/`), each written whole as the run finishes: a killed sweep loses only
//! the runs in progress, and running it again into the same folder runs only what is
//! missing. `sweep.csv` and the charts are computed from those files alone, so a sweep
//! run at once, resumed, or sharded and merged gives the same bytes.

mod charts;
pub mod path;
pub mod record;
pub mod shard;
pub mod spec;
pub mod stats;
mod table;

pub use record::{METRICS, Manifest, Metric, RunRecord};
pub use shard::Shard;
pub use spec::check_block;

use crate::model::Scenario;
use crate::output::{self, AtomicFile, sweep as files, write_atomic};
use crate::report;
use crate::rng::{RootSeed, stable_hash};
use crate::scenario::{Issue, ScenarioError};
use crate::sim::{Hooks, RunError, RunOptions};
use path::JsonPath;
use rand::RngCore;
use rayon::prelude::*;
use record::{ManifestParam, ManifestPoint, record_path};
use serde_json::Value;
use spec::{AxisSpec, ChartKind, ChartSpec, Layout, Param, SweepSpec};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};

/// Scenario issues shown for a sweep's invalid points, at most.
const ISSUES_SHOWN: usize = 20;

/// Why a sweep could not be defined, run or merged.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The base scenario, the `sweep` block or a point is invalid: each issue names the
    /// file, the JSON path and what was expected.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// A `--set` argument is malformed.
    #[error("--set {arg}: {message}")]
    Set { arg: String, message: String },
    #[error("{file}: nothing to sweep: add a \"sweep\" block with axes or points, or --set PATH=VALUES")]
    NoAxes { file: String },
    #[error("{file}: {message}")]
    TooLarge { file: String, message: String },
    /// The output folder holds records of another sweep.
    #[error(
        "{dir} holds another sweep (definition {found}, this one is {expected}): the scenario, its sweep, \
         the seed or the replications differ; choose another --out or remove the folder"
    )]
    DifferentSweep { dir: String, found: String, expected: String },
    /// A file of the sweep folder is not what it should be.
    #[error("{path}: {message}")]
    Corrupt { path: String, message: String },
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("cannot start {threads} threads: {message}")]
    Threads { threads: usize, message: String },
    /// A run failed (an output error; limits are not errors but recorded stops).
    #[error("point {point} ({params}), replication {replication}: {source}")]
    Run { point: String, params: String, replication: u32, source: RunError },
    #[error(transparent)]
    Plot(#[from] crate::plot::PlotError),
    /// A merge lacks runs: a shard's folder is missing or unfinished.
    #[error(
        "{missing} of {total} runs have no record in the folders given (first: point {example}); \
         merge the folders of every shard, each finished"
    )]
    Incomplete { missing: usize, total: usize, example: String },
    #[error("nothing to merge: give the folders of the shards")]
    NothingToMerge,
}

impl SweepError {
    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SweepError + '_ {
        move |source| SweepError::Io { path: path.display().to_string(), source }
    }
}

/// What the command line changes in a file's sweep.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `--set PATH=VALUES` axes: each replaces the file's axis of the same path, or is
    /// added after the file's axes.
    pub sets: Vec<String>,
    pub replications: Option<u32>,
    /// The root seed (default: the scenario's `seed`).
    pub seed: Option<u64>,
}

/// A point's scenario JSON and, per parameter, the first key its path created.
type PointDoc = (Value, Vec<Option<String>>);

/// A run's record and its bytes, if some folder holds one.
type Recorded = Option<(Vec<u8>, RunRecord)>;

/// One point of the sweep: its stable id, its values (one per parameter) and where each
/// was given.
#[derive(Clone, Debug)]
struct PointDef {
    id: String,
    values: Vec<usize>,
    /// `sweep.points[3]` for a listed point, `sweep.axes` for a grid point.
    origin: String,
}

/// A defined sweep, every point checked: ready to run.
#[derive(Debug)]
pub struct Sweep {
    file: String,
    base: Value,
    params: Vec<Param>,
    points: Vec<PointDef>,
    manifest: Manifest,
}

impl Sweep {
    /// Reads and checks a sweep file (see [`Sweep::from_text`]).
    ///
    /// # Errors
    /// As `from_text`, or if the file cannot be read.
    pub fn from_file(path: &Path, overrides: &Overrides) -> Result<Sweep, SweepError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|cause| ScenarioError::Io { file: file.clone(), cause })?;
        Sweep::from_text(&text, &file, overrides)
    }

    /// Defines the sweep of a scenario file given as text (`file` names it in messages):
    /// its base scenario must be valid, its `sweep` block and `overrides` well formed,
    /// and every point a valid scenario.
    ///
    /// # Errors
    /// `SweepError::Scenario` naming the file, the JSON path (`sweep.axes[1].values[2]`
    /// for a value that makes the scenario invalid) and what was expected; `Set`,
    /// `NoAxes` or `TooLarge` for the other mistakes.
    // Over 80 lines: parse, apply the overrides, expand the axes, then validate every
    // point, with the error of each step named in place.
    pub fn from_text(text: &str, file: &str, overrides: &Overrides) -> Result<Sweep, SweepError> {
        let invalid = |issues: Vec<Issue>| SweepError::Scenario(ScenarioError::Invalid { file: file.into(), issues });
        let base_sc = crate::scenario::load_str_with(text, file, check_block)?;
        let mut base: Value = serde_json::from_str(text).map_err(|e| ScenarioError::Syntax {
            file: file.into(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        let block = base.as_object_mut().and_then(|m| m.shift_remove("sweep"));
        let spec = match &block {
            Some(v) => spec::parse_block(v).map_err(invalid)?,
            None => SweepSpec { axes: Vec::new(), points: None, replications: None, charts: None },
        };
        let mut extra: Vec<(AxisSpec, String)> = Vec::new();
        for arg in &overrides.sets {
            let axis = spec::parse_set(arg).map_err(|message| SweepError::Set { arg: arg.clone(), message })?;
            extra.push((axis, format!("--set {arg}")));
        }
        if spec.axes.is_empty() && spec.points.is_none() && extra.is_empty() {
            return Err(SweepError::NoAxes { file: file.into() });
        }
        let (params, layout) = spec::params(&spec, &extra).map_err(invalid)?;

        let replications = overrides.replications.or(spec.replications).unwrap_or(1);
        let too_large = |message: String| SweepError::TooLarge { file: file.into(), message };
        if !(1..=spec::REPLICATIONS_MAX).contains(&replications) {
            return Err(too_large(format!("from 1 to {} replications, found {replications}", spec::REPLICATIONS_MAX)));
        }
        let rows: Vec<(Vec<usize>, String)> = match layout {
            Layout::List(rows) => rows,
            Layout::Grid => {
                let count = params.iter().try_fold(1usize, |n, p| n.checked_mul(p.values.len()));
                match count {
                    Some(n) if n <= spec::POINTS_MAX => grid(&params),
                    _ => {
                        let sizes: Vec<String> = params.iter().map(|p| p.values.len().to_string()).collect();
                        return Err(too_large(format!(
                            "at most {} points, but the grid has {} points",
                            spec::POINTS_MAX,
                            sizes.join(" x ")
                        )));
                    }
                }
            }
        };
        let runs = rows.len() as u64 * u64::from(replications);
        if runs > spec::RUNS_MAX {
            return Err(too_large(format!(
                "at most {} runs, but {} points x {replications} replications make {runs}",
                spec::RUNS_MAX,
                rows.len()
            )));
        }

        let charts = charts(spec.charts.as_deref(), &params);
        let chart_issues: Vec<Issue> = charts
            .iter()
            .enumerate()
            .flat_map(|(i, c)| {
                spec::chart_problems(c, &params)
                    .into_iter()
                    .map(move |(field, message)| Issue { path: format!("sweep.charts[{i}]{field}"), message })
            })
            .collect();
        if !chart_issues.is_empty() {
            return Err(invalid(chart_issues));
        }

        let mut points: Vec<PointDef> = Vec::with_capacity(rows.len());
        for (values, origin) in rows {
            let id = format!("{:016x}", stable_hash(assignment(&params, &values, true).as_bytes()));
            if let Some(other) = points.iter().find(|p| p.id == id) {
                // Two points whose 64-bit hashes collide: astronomically unlikely, but
                // records are keyed by id, so refuse rather than mix them up.
                return Err(too_large(format!(
                    "points {} and {} share the id {id}; change a value slightly",
                    assignment(&params, &other.values, false),
                    assignment(&params, &values, false)
                )));
            }
            points.push(PointDef { id, values, origin });
        }
        let seed = overrides.seed.unwrap_or(base_sc.seed);
        let definition = definition(&base, seed, replications, &params, &points);
        let manifest = Manifest {
            format: record::FORMAT,
            definition,
            scenario: base_sc.name.clone(),
            seed,
            replications,
            parameters: params
                .iter()
                .map(|p| ManifestParam { path: p.path.to_string(), scale: p.scale, values: p.values.clone() })
                .collect(),
            points: points
                .iter()
                .map(|p| ManifestPoint {
                    id: p.id.clone(),
                    values: p.values.iter().zip(&params).map(|(&k, q)| q.values[k].clone()).collect(),
                })
                .collect(),
            charts,
        };
        let sweep = Sweep { file: file.into(), base, params, points, manifest };
        sweep.check_points()?;
        Ok(sweep)
    }

    /// What the sweep is, as `sweep.json` holds it.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The scenario's name.
    pub fn name(&self) -> &str {
        &self.manifest.scenario
    }

    /// Number of points.
    pub fn points(&self) -> usize {
        self.points.len()
    }

    /// The point's `path=value` pairs, for people: `retry.maxAttempts=3, ...`.
    pub fn point_label(&self, index: usize) -> String {
        assignment(&self.params, &self.points[index].values, false)
    }

    /// The seed of one run: the first draw of the root seed's ChaCha stream named
    /// `sweep/<point id>/<replication>`. It depends on nothing but the root seed, the
    /// point's parameters and the replication.
    pub fn run_seed(&self, index: usize, replication: u32) -> u64 {
        let name = format!("sweep/{}/{replication}", self.points[index].id);
        RootSeed(self.manifest.seed).stream(&name).next_u64()
    }

    /// The point's scenario JSON and, per parameter, the first key its path created;
    /// or the parameter whose path cannot be set and why.
    fn point_json(&self, index: usize) -> Result<PointDoc, (usize, String)> {
        let mut doc = self.base.clone();
        let mut created = Vec::with_capacity(self.params.len());
        for (k, (param, &v)) in self.params.iter().zip(&self.points[index].values).enumerate() {
            created.push(param.path.set(&mut doc, param.values[v].clone()).map_err(|m| (k, m))?);
        }
        Ok((doc, created))
    }

    /// The point's validated scenario.
    ///
    /// # Errors
    /// As [`Sweep::from_text`] reports an invalid point.
    pub fn scenario(&self, index: usize) -> Result<Scenario, SweepError> {
        self.point_scenario(index).map_err(|issues| {
            SweepError::Scenario(ScenarioError::Invalid { file: self.file.clone(), issues: self.place(index, issues) })
        })
    }

    /// The point's scenario, or its problems as the scenario validation gives them
    /// (`Err` with a parameter index for a path that cannot be set).
    fn point_scenario(&self, index: usize) -> Result<Scenario, Result<Vec<Issue>, (usize, String)>> {
        let (doc, created) = self.point_json(index).map_err(Err)?;
        let label = format!("{} [point {}]", self.file, self.points[index].id);
        crate::scenario::load_str_with(&doc.to_string(), &label, check_block).map_err(|e| {
            let mut issues = match e {
                ScenarioError::Invalid { issues, .. } => issues,
                other => vec![Issue { path: "(top level)".into(), message: other.to_string() }],
            };
            // A field the sweep had to create is the likely culprit: a misspelt path.
            for issue in &mut issues {
                let new = created.iter().flatten().find(|c| {
                    let p = JsonPath::parse(c).expect("a created path parses");
                    p.related_to(&issue.path) || issue.message.contains(p.last_key())
                });
                if let Some(c) = new {
                    issue.message.push_str(&format!(" (the base scenario has no {c}: is the path right?)"));
                }
            }
            Ok(issues)
        })
    }

    /// Says where in the sweep a point's problems come from: the value of a parameter
    /// whose path the problem lies on, or the point as a whole.
    fn place(&self, index: usize, problems: Result<Vec<Issue>, (usize, String)>) -> Vec<Issue> {
        let point = &self.points[index];
        match problems {
            Err((k, message)) => {
                let p = &self.params[k];
                let path = if p.origin.starts_with("--set") { p.origin.clone() } else { format!("{}.path", p.origin) };
                vec![Issue { path, message: format!("a path into the scenario: {message}") }]
            }
            Ok(issues) => issues
                .into_iter()
                .map(|issue| {
                    let owner = self.params.iter().position(|p| p.path.related_to(&issue.path));
                    match owner {
                        Some(k) => {
                            let p = &self.params[k];
                            let v = &p.values[point.values[k]];
                            Issue {
                                path: p.value_origins[point.values[k]].clone(),
                                message: format!(
                                    "a value the scenario accepts at {}, but {v} gives: {}: {}",
                                    p.path, issue.path, issue.message
                                ),
                            }
                        }
                        None => Issue {
                            path: point.origin.clone(),
                            message: format!(
                                "a point the scenario accepts, but {} gives: {}: {}",
                                assignment(&self.params, &point.values, false),
                                issue.path,
                                issue.message
                            ),
                        },
                    }
                })
                .collect(),
        }
    }

    /// Validates every point's scenario; reports each distinct problem once.
    fn check_points(&self) -> Result<(), SweepError> {
        let mut issues: Vec<Issue> = Vec::new();
        let mut more = 0usize;
        for index in 0..self.points.len() {
            let Err(problems) = self.point_scenario(index) else { continue };
            for issue in self.place(index, problems) {
                if issues.contains(&issue) {
                    continue;
                }
                if issues.len() < ISSUES_SHOWN {
                    issues.push(issue);
                } else {
                    more += 1;
                }
            }
        }
        if issues.is_empty() {
            return Ok(());
        }
        if more > 0 {
            issues.push(Issue { path: "sweep".into(), message: format!("and {more} more problems like these") });
        }
        Err(SweepError::Scenario(ScenarioError::Invalid { file: self.file.clone(), issues }))
    }
}

/// Every combination of the parameters' values, the first parameter varying slowest.
fn grid(params: &[Param]) -> Vec<(Vec<usize>, String)> {
    let mut rows: Vec<Vec<usize>> = vec![Vec::new()];
    for p in params {
        rows = rows
            .into_iter()
            .flat_map(|row| (0..p.values.len()).map(move |k| [row.clone(), vec![k]].concat()))
            .collect();
    }
    rows.into_iter().map(|r| (r, "sweep.axes".to_string())).collect()
}

/// `path=value` pairs in parameter order: `;`-joined compact JSON (`canonical`, the
/// text a point's id hashes), or `, `-joined for people.
fn assignment(params: &[Param], values: &[usize], canonical: bool) -> String {
    let pairs: Vec<String> = params
        .iter()
        .zip(values)
        .map(|(p, &k)| {
            let v = &p.values[k];
            if canonical { format!("{}={}", p.path, v) } else { format!("{}={}", p.path, table::value_text(v)) }
        })
        .collect();
    pairs.join(if canonical { ";" } else { ", " })
}

/// The stable hash that says whether two folders hold the same sweep: the base
/// scenario (without its `sweep` block), the root seed, the replications, and every
/// point in order. The charts are left out: they change no run.
fn definition(base: &Value, seed: u64, replications: u32, params: &[Param], points: &[PointDef]) -> String {
    let mut text = format!("meshsim-sweep/{}\n{base}\nseed={seed}\nreplications={replications}\n", record::FORMAT);
    for p in points {
        text.push_str(&assignment(params, &p.values, true));
        text.push('\n');
    }
    format!("{:016x}", stable_hash(text.as_bytes()))
}

/// The charts to draw: those of the file with their defaults filled in, or by default
/// a line chart, a heat map (with two parameters or more) and a Pareto front.
fn charts(given: Option<&[ChartSpec]>, params: &[Param]) -> Vec<ChartSpec> {
    let first = params.first().map(|p| p.path.to_string());
    let second = params.get(1).map(|p| p.path.to_string());
    let metric = Some("availability_pct".to_string());
    let defaults = || {
        let mut out = vec![ChartSpec { kind: ChartKind::Line, metric: metric.clone(), x: first.clone(), y: None }];
        if second.is_some() {
            out.push(ChartSpec {
                kind: ChartKind::Heatmap,
                metric: metric.clone(),
                x: second.clone(),
                y: first.clone(),
            });
        }
        out.push(ChartSpec {
            kind: ChartKind::Pareto,
            metric: None,
            x: Some("retry_amplification".into()),
            y: metric.clone(),
        });
        out
    };
    let Some(given) = given else { return defaults() };
    given
        .iter()
        .map(|c| {
            let mut c = c.clone();
            match c.kind {
                ChartKind::Line => {
                    c.metric = c.metric.or_else(|| metric.clone());
                    c.x = c.x.or_else(|| first.clone());
                }
                ChartKind::Heatmap => {
                    c.metric = c.metric.or_else(|| metric.clone());
                    // The first two parameters not already chosen.
                    let chosen = [c.x.clone(), c.y.clone()];
                    let mut free =
                        params.iter().map(|p| p.path.to_string()).filter(|p| !chosen.contains(&Some(p.clone())));
                    c.x = c.x.or_else(|| free.next());
                    c.y = c.y.or_else(|| free.next());
                }
                ChartKind::Pareto => {
                    c.x = c.x.or_else(|| Some("retry_amplification".into()));
                    c.y = c.y.or_else(|| metric.clone());
                }
            }
            c
        })
        .collect()
}

/// How a sweep runs.
#[derive(Clone, Copy, Default)]
pub struct SweepOptions<'a> {
    /// Threads in the sweep's pool (`None`: one per core).
    pub threads: Option<usize>,
    /// Run only this shard's points.
    pub shard: Option<Shard>,
    /// Keep every run's files in `runs/<point id>/r<replication>/`.
    pub keep_runs: bool,
    /// Start at most this many runs, then stop as if interrupted (for tests, and for
    /// batch slots shorter than the sweep).
    pub runs_max: Option<usize>,
    /// Set it to stop starting runs; runs in progress finish and are recorded.
    pub cancel: Option<&'a AtomicBool>,
    /// Called once before the first run, then after each run is recorded, from the
    /// thread that ran it.
    pub progress: Option<&'a (dyn Fn(Progress) + Sync)>,
}

/// How far a sweep is, within what this invocation has to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    pub runs_done: usize,
    pub runs_todo: usize,
    pub points_done: usize,
    pub points_todo: usize,
}

/// What a sweep did.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Points and runs of this shard (of the whole sweep without sharding).
    pub shard_points: usize,
    pub shard_runs: usize,
    /// Runs found recorded in the folder, and run now.
    pub runs_recorded: usize,
    pub runs_executed: usize,
    /// Whether every run of this shard is recorded now.
    pub shard_complete: bool,
    /// Every run recorded whose run stopped at a limit.
    pub runs_stopped: usize,
    pub report: ReportFiles,
}

/// The files written from a sweep folder's records.
#[derive(Clone, Debug)]
pub struct ReportFiles {
    pub csv: PathBuf,
    pub charts: Vec<PathBuf>,
    /// Points with every replication recorded (those in `sweep.csv`), and all points.
    pub points_complete: usize,
    pub points: usize,
}

/// Runs the sweep's missing runs into `dir`, then writes `sweep.csv` and the charts
/// from every run recorded there.
///
/// # Errors
/// If `dir` holds another sweep, a file cannot be written, or a run fails.
pub fn execute(sweep: &Sweep, dir: &Path, opts: &SweepOptions<'_>) -> Result<Outcome, SweepError> {
    let records = dir.join(files::RECORDS);
    std::fs::create_dir_all(&records).map_err(SweepError::io(&records))?;
    claim(dir, &sweep.manifest)?;
    let m = &sweep.manifest;
    let owned: Vec<usize> = (0..sweep.points.len()).filter(|&i| opts.shard.is_none_or(|s| s.owns(i))).collect();
    let mut todo: Vec<(usize, u32)> = Vec::new();
    let remaining: Vec<AtomicU32> = (0..sweep.points.len()).map(|_| AtomicU32::new(0)).collect();
    for &i in &owned {
        for r in 0..m.replications {
            if record::read_record(dir, m, &sweep.points[i].id, r)?.is_none() {
                todo.push((i, r));
                remaining[i].fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    let shard_runs = owned.len() * m.replications as usize;
    let points_todo = remaining.iter().filter(|n| n.load(Ordering::Relaxed) > 0).count();
    let threads = opts.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("meshsim-sweep-{i}"))
        .build()
        .map_err(|e| SweepError::Threads { threads, message: e.to_string() })?;

    if let Some(progress) = opts.progress {
        progress(Progress { runs_done: 0, runs_todo: todo.len(), points_done: 0, points_todo });
    }
    let started = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let points_done = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let stop = || failed.load(Ordering::Relaxed) || opts.cancel.is_some_and(|c| c.load(Ordering::Relaxed));
    pool.install(|| {
        todo.par_iter().with_max_len(1).try_for_each(|&(i, r)| {
            if stop() || opts.runs_max.is_some_and(|n| started.fetch_add(1, Ordering::Relaxed) >= n) {
                return Ok::<(), SweepError>(());
            }
            run_one(sweep, dir, i, r, opts.keep_runs).inspect_err(|_| failed.store(true, Ordering::Relaxed))?;
            let runs_done = done.fetch_add(1, Ordering::Relaxed) + 1;
            let finished = remaining[i].fetch_sub(1, Ordering::Relaxed) == 1;
            let pts = if finished {
                points_done.fetch_add(1, Ordering::Relaxed) + 1
            } else {
                points_done.load(Ordering::Relaxed)
            };
            if let Some(progress) = opts.progress {
                progress(Progress { runs_done, runs_todo: todo.len(), points_done: pts, points_todo });
            }
            Ok(())
        })
    })?;
    let runs_executed = done.load(Ordering::Relaxed);
    let (report, stopped) = write_report(dir, m, &[dir])?;
    Ok(Outcome {
        shard_points: owned.len(),
        shard_runs,
        runs_recorded: shard_runs - todo.len(),
        runs_executed,
        shard_complete: runs_executed == todo.len(),
        runs_stopped: stopped,
        report,
    })
}

/// Makes `dir` this sweep's folder: writes `sweep.json`, or checks that the one there
/// defines the same sweep (and refreshes it if only its charts differ).
fn claim(dir: &Path, manifest: &Manifest) -> Result<(), SweepError> {
    match Manifest::read(dir)? {
        Some(found) if found.definition != manifest.definition => Err(SweepError::DifferentSweep {
            dir: dir.display().to_string(),
            found: found.definition,
            expected: manifest.definition.clone(),
        }),
        Some(found) if found == *manifest => Ok(()),
        _ => {
            let path = dir.join(files::DEFINITION);
            write_atomic(&path, &manifest.to_bytes()).map_err(SweepError::io(&path))
        }
    }
}

/// Runs one replication of one point and records it; with `keep` its files too.
fn run_one(sweep: &Sweep, dir: &Path, index: usize, replication: u32, keep: bool) -> Result<(), SweepError> {
    let sc = sweep.scenario(index)?;
    let seed = sweep.run_seed(index, replication);
    let id = &sweep.points[index].id;
    let opts = RunOptions { seed: Some(seed), ..RunOptions::default() };
    let fail = |source| SweepError::Run { point: id.clone(), params: sweep.point_label(index), replication, source };
    let summary = if keep {
        let run_dir = dir.join(files::RUNS).join(id).join(files::run(replication));
        std::fs::create_dir_all(&run_dir).map_err(SweepError::io(&run_dir))?;
        let open = |name: &str| {
            let path = run_dir.join(name);
            AtomicFile::create(&path).map_err(|source| SweepError::Io { path: path.display().to_string(), source })
        };
        let (mut ts, mut tr, mut ev) =
            (open(output::timeseries::FILE)?, open(output::transitions::FILE)?, open(output::events::FILE)?);
        let hooks = Hooks {
            timeseries: Some(ts.writer()),
            transitions: Some(tr.writer()),
            events: Some(ev.writer()),
            ..Hooks::default()
        };
        let result = crate::sim::run(&sc, &opts, hooks).map_err(fail)?;
        for (file, name) in
            [(ts, output::timeseries::FILE), (tr, output::transitions::FILE), (ev, output::events::FILE)]
        {
            file.commit().map_err(SweepError::io(&run_dir.join(name)))?;
        }
        let summary = report::summary(&sc, &result);
        let path = run_dir.join(output::summary::FILE);
        write_atomic(&path, &report::summary_bytes(&summary)).map_err(SweepError::io(&path))?;
        summary
    } else {
        let hooks = Hooks::default();
        let result = crate::sim::run(&sc, &opts, hooks).map_err(fail)?;
        report::summary(&sc, &result)
    };
    let stop = summary["stop"]["reason"].as_str().unwrap_or("completed").to_string();
    let metrics = record::metrics_of(&summary);
    let rec = RunRecord::new(&sweep.manifest.definition, id, replication, seed, &stop, &metrics);
    let path = record_path(dir, id, replication);
    write_atomic(&path, &rec.to_bytes()).map_err(SweepError::io(&path))
}

/// The records of every run, found in any of `dirs` (`None` where none holds it), in
/// point then replication order, with their bytes.
fn gather(m: &Manifest, dirs: &[&Path]) -> Result<Vec<Vec<Recorded>>, SweepError> {
    let mut out = Vec::with_capacity(m.points.len());
    for p in &m.points {
        let mut runs = Vec::with_capacity(m.replications as usize);
        for r in 0..m.replications {
            let mut found: Recorded = None;
            for dir in dirs {
                let Some((bytes, rec)) = record::read_record(dir, m, &p.id, r)? else { continue };
                match &found {
                    Some((first, _)) if *first != bytes => {
                        return Err(SweepError::Corrupt {
                            path: record_path(dir, &p.id, r).display().to_string(),
                            message: "differs from the record of the same run in another folder \
                                      (were they made by different meshsim versions?)"
                                .into(),
                        });
                    }
                    Some(_) => {}
                    None => found = Some((bytes, rec)),
                }
            }
            runs.push(found);
        }
        out.push(runs);
    }
    Ok(out)
}

/// Writes `sweep.csv` and the charts into `out` from the records in `dirs`; returns
/// the files and the number of recorded runs that stopped at a limit.
fn write_report(out: &Path, m: &Manifest, dirs: &[&Path]) -> Result<(ReportFiles, usize), SweepError> {
    let runs = gather(m, dirs)?;
    let records: Vec<Option<Vec<RunRecord>>> = runs
        .iter()
        .map(|reps| reps.iter().map(|r| r.as_ref().map(|(_, rec)| rec.clone())).collect::<Option<Vec<_>>>())
        .collect();
    let stopped = runs.iter().flatten().flatten().filter(|(_, r)| r.stop != "completed").count();
    let stats = table::point_stats(&records);
    let csv = out.join(files::TABLE);
    write_atomic(&csv, &table::csv_bytes(m, &stats)).map_err(SweepError::io(&csv))?;
    let charts = charts::draw_all(m, &stats, &out.join(files::CHARTS))?;
    let points_complete = stats.iter().filter(|s| s.is_some()).count();
    Ok((ReportFiles { csv, charts, points_complete, points: m.points.len() }, stopped))
}

/// What a merge did.
#[derive(Clone, Debug)]
pub struct MergeOutcome {
    pub runs: usize,
    pub report: ReportFiles,
}

/// Combines the folders of a sweep's shards into `out`: the definition, every record,
/// and the `sweep.csv` and charts that one machine running the whole sweep writes.
///
/// # Errors
/// If the folders hold different sweeps, a run has no record in any of them, or a
/// file cannot be read or written.
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<MergeOutcome, SweepError> {
    let Some(first) = dirs.first() else { return Err(SweepError::NothingToMerge) };
    let mut manifest: Option<Manifest> = None;
    for dir in dirs {
        let m = Manifest::read(dir)?.ok_or_else(|| SweepError::Corrupt {
            path: dir.join(files::DEFINITION).display().to_string(),
            message: "no sweep here (every sweep folder has a sweep.json)".into(),
        })?;
        match &manifest {
            Some(base) if base.definition != m.definition => {
                return Err(SweepError::DifferentSweep {
                    dir: dir.display().to_string(),
                    found: m.definition,
                    expected: format!("{} of {}", base.definition, first.display()),
                });
            }
            Some(_) => {}
            None => manifest = Some(m),
        }
    }
    let m = manifest.expect("at least one folder was read");
    let dir_refs: Vec<&Path> = dirs.iter().map(PathBuf::as_path).collect();
    let runs = gather(&m, &dir_refs)?;
    let missing: Vec<(usize, u32)> = runs
        .iter()
        .enumerate()
        .flat_map(|(i, reps)| reps.iter().enumerate().filter(|(_, r)| r.is_none()).map(move |(k, _)| (i, k as u32)))
        .collect();
    if let Some(&(i, r)) = missing.first() {
        return Err(SweepError::Incomplete {
            missing: missing.len(),
            total: m.runs(),
            example: format!("{} (index {i}) replication {r}", m.points[i].id),
        });
    }
    let records = out.join(files::RECORDS);
    std::fs::create_dir_all(&records).map_err(SweepError::io(&records))?;
    claim(out, &m)?;
    for (p, reps) in m.points.iter().zip(&runs) {
        for (r, run) in reps.iter().enumerate() {
            let (bytes, _) = run.as_ref().expect("no run is missing");
            let path = record_path(out, &p.id, r as u32);
            if std::fs::read(&path).ok().as_ref() != Some(bytes) {
                write_atomic(&path, bytes).map_err(SweepError::io(&path))?;
            }
        }
    }
    let (report, _) = write_report(out, &m, &[out])?;
    Ok(MergeOutcome { runs: m.runs(), report })
}
