//! The `meshsim` command line: argument parsing and glue over the library.
//!
//! Exit codes: 0 success; 1 an SLO failed or an invariant broke (the reports are written); 2 bad input (a
//! scenario or argument error), a run that hit a limit (its reports are still written,
//! marked as stopped), or an output error; 130 a sweep stopped by Ctrl-C (what finished
//! is recorded: run the same command again to resume).

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use meshsim::charts::ChartFile;
use meshsim::output::{self, AtomicFile, write_atomic};
use meshsim::report;
use meshsim::sweep::{self as sweeps, Shard, Sweep};
use meshsim::{RunOptions, SimDuration, Stop};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(Parser)]
#[command(name = "meshsim", version, about = "Deterministic discrete-event simulator of a microservice service mesh")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario and write its report (summary.json, timeseries.csv, transitions.csv, events.csv,
    /// alerts.csv, traces.otlp.jsonl, trace.json, metrics.prom, latency.hlog, stats.csv, the charts as PNG
    /// files and report.html).
    Run {
        /// The scenario file (JSON).
        file: PathBuf,
        /// Root seed (default: the scenario's `seed`).
        #[arg(long)]
        seed: Option<u64>,
        /// Output folder (default: reports/<scenario name>/).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Stop arrivals after this much simulated time, e.g. 30s or 5m.
        #[arg(long, value_parser = parse_duration)]
        duration: Option<SimDuration>,
        /// Stop arrivals after N requests and let them finish.
        #[arg(long)]
        requests: Option<u64>,
        /// A service-level objective, k6-threshold style, judged besides the scenario's
        /// own: 'p99<500ms', 'availability>99.9%', 'error_rate<1%', 'checkout:mean<80ms'.
        /// Repeatable. A failed SLO makes the exit code 1.
        #[arg(long = "slo")]
        slos: Vec<String>,
        /// The share of requests traced, in percent (default: the scenario's
        /// `tracing.sampling`, else 0.1). 0 writes empty trace files.
        #[arg(long, value_name = "PERCENT")]
        trace_sampling: Option<f64>,
        /// Write neither the charts nor report.html (faster); `meshsim report DIR` can
        /// build them later from the files written.
        #[arg(long)]
        no_charts: bool,
    },
    /// Build the charts and report.html of a run folder again from its files, without
    /// running anything.
    Report {
        /// The run folder (with summary.json, timeseries.csv, transitions.csv, events.csv).
        dir: PathBuf,
    },
    /// Run a scenario over several seeds with the invariant checker on; exit 1 on a violation.
    Check {
        /// The scenario file (JSON).
        file: PathBuf,
        /// How many seeds: the scenario's seed and the ones after it.
        #[arg(long, default_value_t = 10)]
        seeds: u64,
        /// Stop arrivals after this much simulated time, e.g. 30s.
        #[arg(long, value_parser = parse_duration)]
        duration: Option<SimDuration>,
        /// Stop arrivals after N requests.
        #[arg(long)]
        requests: Option<u64>,
    },
    /// Check a scenario file without running it (with a `sweep` block: every point too).
    Validate {
        /// The scenario file (JSON).
        file: PathBuf,
    },
    /// Run a scenario over a grid or a list of parameter values, in parallel, and write
    /// sweep.csv and charts. Resumable: run it again into the same folder to finish.
    Sweep {
        /// The scenario file (JSON), with or without a `sweep` block.
        file: PathBuf,
        /// Output folder (default: reports/<scenario name>-sweep/).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Threads running points at once (default: one per core).
        #[arg(long)]
        threads: Option<usize>,
        /// An axis: PATH=VALUES, e.g. 'policies.default.retry.maxAttempts=1,2,3',
        /// 'policies.default.timeout=100ms..1s:4:log'. Replaces the file's axis of the
        /// same path, or adds one. Repeatable.
        #[arg(long = "set", value_name = "PATH=VALUES")]
        sets: Vec<String>,
        /// Runs per point, each with its own seed (default: the sweep block's, or 1).
        #[arg(long)]
        replications: Option<u32>,
        /// Root seed (default: the scenario's `seed`).
        #[arg(long)]
        seed: Option<u64>,
        /// Run only shard INDEX of COUNT (0-based): the points whose index is INDEX
        /// modulo COUNT. Default: JOB_COMPLETION_INDEX (Kubernetes Indexed Jobs) or
        /// SLURM_ARRAY_TASK_ID (Slurm arrays), if set.
        #[arg(long, value_parser = parse_shard, value_name = "INDEX/COUNT")]
        shard: Option<Shard>,
        /// The shard count with JOB_COMPLETION_INDEX (or set MESHSIM_SHARD_COUNT).
        #[arg(long)]
        shard_count: Option<u32>,
        /// Keep every run's files in DIR/runs/<point>/r<replication>/.
        #[arg(long)]
        keep_runs: bool,
    },
    /// Combine the folders of a sweep's shards into the sweep.csv and charts one machine
    /// running the whole sweep writes.
    Merge {
        /// The shards' output folders.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Output folder (it may be one of the shards').
        #[arg(long)]
        out: PathBuf,
    },
}

fn parse_shard(s: &str) -> Result<Shard, String> {
    Shard::parse(s)
}

fn parse_duration(s: &str) -> Result<SimDuration, String> {
    meshsim::time::parse_duration(s)
}

fn main() -> ExitCode {
    // A closed stdout (`meshsim check ... | head`) ends the process quietly, as it does
    // other Unix tools, instead of a panic in `println!` (Rust ignores SIGPIPE by default).
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to its default before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run { file, seed, out, duration, requests, slos, trace_sampling, no_charts } => {
            let trace_sampling = trace_sampling.map(|p| p / 100.0);
            let opts =
                RunOptions { seed, duration, requests, slos: Vec::new(), trace_sampling, no_direct_calls: false };
            run(&file, opts, &slos, out.as_deref(), !no_charts)
        }
        Command::Validate { file } => validate(&file),
        Command::Check { file, seeds, duration, requests } => check(&file, seeds, duration, requests),
        Command::Sweep { file, out, threads, sets, replications, seed, shard, shard_count, keep_runs } => {
            let overrides = sweeps::Overrides { sets, replications, seed };
            sweep(&file, &overrides, out.as_deref(), threads, shard, shard_count, keep_runs)
        }
        Command::Merge { dirs, out } => merge(&dirs, &out),
        Command::Report { dir } => report_dir(&dir),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn check(file: &Path, seeds: u64, duration: Option<SimDuration>, requests: Option<u64>) -> Result<ExitCode> {
    let sc = meshsim::load_file(file)?;
    anyhow::ensure!(seeds >= 1, "--seeds: at least 1");
    let mut failed = 0;
    for k in 0..seeds {
        let seed = sc.seed.wrapping_add(k);
        let mut checker = meshsim::checker::Checker::new();
        let opts = RunOptions { seed: Some(seed), duration, requests, ..RunOptions::default() };
        let hooks = meshsim::Hooks { checker: Some(&mut checker), ..meshsim::Hooks::default() };
        let r = meshsim::run(&sc, &opts, hooks)?;
        let broken: Vec<_> = r.invariants.iter().filter(|i| !i.holds).collect();
        if checker.violation_count == 0 && broken.is_empty() {
            println!("seed {seed}: ok ({} requests, {} events)", r.requests, r.events);
            continue;
        }
        failed += 1;
        for v in &checker.violations {
            println!("seed {seed}: at {} (event {}): {}: {}", v.at, v.event, v.property, v.detail);
        }
        if checker.violation_count > checker.violations.len() as u64 {
            println!("seed {seed}: ... {} violations in all", checker.violation_count);
        }
        for i in broken {
            println!("seed {seed}: invariant {:?} broken: {}", i.text, i.first.as_deref().unwrap_or(""));
        }
        println!("seed {seed}: replay with: meshsim run {} --seed {seed}", file.display());
    }
    if failed > 0 {
        println!("{failed} of {seeds} seeds broke an invariant");
        return Ok(ExitCode::from(1));
    }
    println!("all invariants hold over {seeds} seeds");
    Ok(ExitCode::SUCCESS)
}

fn validate(file: &Path) -> Result<ExitCode> {
    let sc = meshsim::load_file(file)?;
    println!(
        "ok: {}: scenario \"{}\", {} services, {} instances, {} endpoints, {} routes, {} zones",
        file.display(),
        sc.name,
        sc.services.len(),
        sc.instances.len(),
        sc.endpoints.len(),
        sc.gateway.routes.len(),
        sc.zones.len()
    );
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let has_sweep = serde_json::from_str::<serde_json::Value>(&text).is_ok_and(|v| v.get("sweep").is_some());
    if has_sweep {
        let sw = Sweep::from_text(&text, &file.display().to_string(), &sweeps::Overrides::default())?;
        let m = sw.manifest();
        println!(
            "ok: {}: sweep of {} parameters, {} points x {} replications, every point a valid scenario",
            file.display(),
            m.parameters.len(),
            m.points.len(),
            m.replications
        );
    }
    Ok(ExitCode::SUCCESS)
}

// Over 80 lines: the sweep's options, its progress bar and SIGINT handling, and the
// summary it prints, in the order the user sees them.
fn sweep(
    file: &Path,
    overrides: &sweeps::Overrides,
    out: Option<&Path>,
    threads: Option<usize>,
    shard: Option<Shard>,
    shard_count: Option<u32>,
    keep_runs: bool,
) -> Result<ExitCode> {
    if threads == Some(0) {
        anyhow::bail!("--threads: at least 1 thread");
    }
    let sw = Sweep::from_file(file, overrides)?;
    let shard = match (shard, shard_count) {
        (Some(_), Some(_)) => anyhow::bail!("--shard-count goes with JOB_COMPLETION_INDEX; --shard gives both"),
        (Some(s), None) => Some(s),
        (None, count) => Shard::from_env(|name| std::env::var(name).ok(), count).map_err(|e| anyhow::anyhow!(e))?,
    };
    let dir = out.map_or_else(|| Path::new("reports").join(format!("{}-sweep", sw.name())), Path::to_path_buf);
    let m = sw.manifest();
    let threads = threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    eprintln!(
        "meshsim sweep: {}: {} points x {} replications = {} runs{}, {threads} thread{}, into {}",
        sw.name(),
        m.points.len(),
        m.replications,
        m.runs(),
        shard.map_or_else(String::new, |s| format!(", shard {s}")),
        if threads == 1 { "" } else { "s" },
        dir.display()
    );
    interrupt::install();
    let bar = sweep_bar();
    let on_progress = |p: sweeps::Progress| {
        bar.set_length(p.runs_todo as u64);
        bar.set_position(p.runs_done as u64);
        bar.set_message(format!("{}/{} points", p.points_done, p.points_todo));
    };
    let wall = Instant::now();
    let opts = sweeps::SweepOptions {
        threads: Some(threads),
        shard,
        keep_runs,
        runs_max: None,
        cancel: Some(&interrupt::FLAG),
        progress: Some(&on_progress),
    };
    let outcome = sweeps::execute(&sw, &dir, &opts)?;
    let elapsed = wall.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let r = &outcome.report;
    println!(
        "{}: {} runs done now, {} were recorded before; {} of {} points complete in {}",
        sw.name(),
        outcome.runs_executed,
        outcome.runs_recorded,
        r.points_complete,
        r.points,
        r.csv.display()
    );
    for chart in &r.charts {
        println!("  chart: {}", chart.display());
    }
    eprintln!(
        "meshsim: {} runs in {elapsed:.3} s wall on {threads} thread{}: {:.2} runs/s",
        outcome.runs_executed,
        if threads == 1 { "" } else { "s" },
        outcome.runs_executed as f64 / elapsed.max(1e-9)
    );
    if outcome.runs_stopped > 0 {
        eprintln!(
            "warning: {} runs stopped at a limit (run.eventsMax, run.inFlightMax or run.drainTimeout); \
             see runs_stopped in sweep.csv",
            outcome.runs_stopped
        );
    }
    if !outcome.shard_complete {
        eprintln!(
            "interrupted: the runs that finished are recorded in {}; run the same command again to resume",
            dir.display()
        );
        return Ok(ExitCode::from(130));
    }
    if r.points_complete < r.points {
        eprintln!(
            "note: {} of {} points are in this folder's sweep.csv; `meshsim merge` the folders of every shard",
            r.points_complete, r.points
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn merge(dirs: &[PathBuf], out: &Path) -> Result<ExitCode> {
    let outcome = sweeps::merge(dirs, out)?;
    let r = &outcome.report;
    println!("merged {} runs of {} folders: {} points in {}", outcome.runs, dirs.len(), r.points, r.csv.display());
    for chart in &r.charts {
        println!("  chart: {}", chart.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn sweep_bar() -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} runs ({msg}), ETA {eta}") {
        bar.set_style(style);
    }
    bar
}

/// Ctrl-C during a sweep: the first stops starting runs (those in progress finish and
/// are recorded, then the report is written); the second exits at once, which loses
/// only the runs in progress.
mod interrupt {
    use std::sync::atomic::AtomicBool;

    pub static FLAG: AtomicBool = AtomicBool::new(false);

    #[cfg(unix)]
    pub fn install() {
        use std::sync::atomic::Ordering;
        extern "C" fn on_sigint(_: libc::c_int) {
            // Only async-signal-safe work here: an atomic swap, and _exit.
            if FLAG.swap(true, Ordering::SeqCst) {
                // SAFETY: _exit is async-signal-safe and takes no pointers.
                unsafe { libc::_exit(130) }
            }
        }
        let handler: extern "C" fn(libc::c_int) = on_sigint;
        // SAFETY: installs a handler that only touches an atomic and calls _exit.
        unsafe {
            libc::signal(libc::SIGINT, handler as libc::sighandler_t);
        }
    }

    /// Elsewhere Ctrl-C ends the process, which loses only the runs in progress.
    #[cfg(not(unix))]
    pub fn install() {}
}

fn report_dir(dir: &Path) -> Result<ExitCode> {
    if !dir.is_dir() {
        anyhow::bail!("{}: not a folder (expected a run folder written by `meshsim run`)", dir.display());
    }
    let wall = Instant::now();
    let written = meshsim::html::write_report(dir)
        .with_context(|| format!("cannot build the report of the run folder {}", dir.display()))?;
    for r in &written.charts {
        match r.file {
            ChartFile::Written { width, height } => println!("chart: {} ({width} x {height})", r.path.display()),
            ChartFile::Skipped { reason } => println!("no {}: {reason}", r.chart.file),
        }
    }
    println!("report: {}", written.page.display());
    eprintln!("meshsim: report built in {:.3} s wall", wall.elapsed().as_secs_f64());
    Ok(ExitCode::SUCCESS)
}

// Over 80 lines: every file of the run folder opened, handed to the loop as a hook,
// then finished in order (the manifest of outputs reads top to bottom here).
fn run(file: &Path, mut opts: RunOptions, slos: &[String], out: Option<&Path>, charts: bool) -> Result<ExitCode> {
    let sc = meshsim::load_file(file)?;
    for text in slos {
        let slo = meshsim::slo::Slo::parse(text, &sc.gateway.routes).map_err(|e| anyhow::anyhow!("--slo: {e}"))?;
        opts.slos.push(slo);
    }
    let dir = out.map_or_else(|| Path::new("reports").join(&sc.name), Path::to_path_buf);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create the output folder {}", dir.display()))?;

    let bar = progress_bar(&sc, &opts);
    let mut on_progress = |p: meshsim::sim::Progress| {
        if let Some(n) = opts.requests.filter(|_| opts.duration.is_none()) {
            bar.set_position(p.requests.min(n));
        } else {
            bar.set_position((p.now.0 / 1_000_000).min(bar.length().unwrap_or(u64::MAX)));
        }
    };
    let create =
        |name: &str| AtomicFile::create(&dir.join(name)).with_context(|| format!("cannot write in {}", dir.display()));
    let mut ts = create(output::timeseries::FILE)?;
    let mut tr = create(output::transitions::FILE)?;
    let mut ev = create(output::events::FILE)?;
    let mut al = create(output::alerts::FILE)?;
    let mut otlp = create(output::otlp::FILE)?;
    let mut chrome = create(output::chrome_trace::FILE)?;
    let hl = create(output::hlog::FILE)?;
    // Deflating each route's histogram per window runs on a thread of its own.
    let mut hlog = meshsim::formats::hlog::HlogThread::spawn(hl, &sc, opts.seed.unwrap_or(sc.seed))
        .with_context(|| cannot_write(output::hlog::FILE))?;
    let mut on_route_window = |start, end, route, latency: &_| hlog.record(start, end, route, latency);
    // autoscaling.csv only for scenarios with an autoscaler (others' folders stay as they were).
    let autoscaling_path = dir.join(output::autoscaling::FILE);
    let mut autoscaling_file = if sc.services.iter().any(|s| s.autoscaler.is_some()) {
        Some(create(output::autoscaling::FILE)?)
    } else {
        output::remove_stale(&autoscaling_path)
            .with_context(|| format!("cannot remove {}", autoscaling_path.display()))?;
        None
    };
    let wall = Instant::now();
    let hooks = meshsim::Hooks {
        timeseries: Some(ts.writer()),
        transitions: Some(tr.writer()),
        events: Some(ev.writer()),
        alerts: Some(al.writer()),
        checker: None,
        traces_otlp: Some(otlp.writer()),
        trace_chrome: Some(chrome.writer()),
        progress: Some(&mut on_progress),
        route_windows: Some(&mut on_route_window),
        autoscaling: autoscaling_file.as_mut().map(AtomicFile::writer),
    };
    let result = meshsim::run(&sc, &opts, hooks)?;
    let elapsed = wall.elapsed().as_secs_f64();
    bar.finish_and_clear();
    ts.commit().with_context(|| cannot_write(output::timeseries::FILE))?;
    tr.commit().with_context(|| cannot_write(output::transitions::FILE))?;
    ev.commit().with_context(|| cannot_write(output::events::FILE))?;
    al.commit().with_context(|| cannot_write(output::alerts::FILE))?;
    if let Some(f) = autoscaling_file {
        f.commit().with_context(|| cannot_write(output::autoscaling::FILE))?;
    }
    otlp.commit().with_context(|| cannot_write(output::otlp::FILE))?;
    chrome.commit().with_context(|| cannot_write(output::chrome_trace::FILE))?;
    let summary = report::summary(&sc, &result);
    write_atomic(&dir.join(output::summary::FILE), &report::summary_bytes(&summary))
        .with_context(|| cannot_write(output::summary::FILE))?;
    let hl = hlog.finish().with_context(|| cannot_write(output::hlog::FILE))?;
    hl.commit().with_context(|| cannot_write(output::hlog::FILE))?;
    write_atomic(&dir.join(output::prom::FILE), meshsim::formats::prom::metrics(&sc, &result).as_bytes())
        .with_context(|| cannot_write(output::prom::FILE))?;
    write_atomic(&dir.join(output::stats::FILE), &meshsim::formats::locust::stats_csv(&sc, &result))
        .with_context(|| cannot_write(output::stats::FILE))?;
    // locality.csv and rollout.csv only for scenarios with clusters and rollouts; an
    // earlier run's file of that name is removed.
    let locality = match &result.locality {
        Some(l) => {
            let mut bytes = Vec::new();
            meshsim::sim::write_locality_csv(&sc, l, &mut bytes)
                .with_context(|| cannot_write(output::locality::FILE))?;
            Some(bytes)
        }
        None => None,
    };
    let rollout = report::traffic::rollout_csv(&sc, &result);
    for (name, bytes) in [(output::locality::FILE, locality), (output::rollout::FILE, rollout)] {
        match bytes {
            Some(bytes) => write_atomic(&dir.join(name), &bytes).with_context(|| cannot_write(name))?,
            None => output::remove_stale(&dir.join(name))
                .with_context(|| format!("cannot remove an earlier run's {name}"))?,
        }
    }
    // The charts and the page come from the files just written, as `meshsim report`
    // builds them, so both give the same bytes.
    let chart_wall = Instant::now();
    if charts {
        meshsim::html::write_report(&dir).context("cannot write the charts and report.html")?;
    } else {
        meshsim::html::remove_report(&dir).context("cannot remove an earlier run's charts and report.html")?;
    }
    let chart_elapsed = chart_wall.elapsed().as_secs_f64();
    print!("{}", report::human(&sc, &result, &dir));
    for i in &result.invariants {
        match &i.first {
            None => println!("  invariant {}: holds", i.text),
            Some(first) => println!("  invariant {}: BROKEN in {} windows, first {first}", i.text, i.windows_broken),
        }
    }
    eprintln!(
        "meshsim: {} events, {} requests in {:.3} s wall: {:.2} M events/s, {:.3} M requests/s",
        result.events,
        result.requests,
        elapsed,
        result.events as f64 / elapsed / 1e6,
        result.requests as f64 / elapsed / 1e6
    );
    if charts {
        eprintln!("meshsim: charts and report.html in {chart_elapsed:.3} s wall");
    }
    match &result.stop {
        Stop::Limit { message, .. } => {
            eprintln!("error: {}: run stopped at a limit: {message}", file.display());
            Ok(ExitCode::from(2))
        }
        Stop::Completed if result.slos.iter().any(|s| !s.pass) || result.invariants.iter().any(|i| !i.holds) => {
            Ok(ExitCode::from(1))
        }
        Stop::Completed => Ok(ExitCode::SUCCESS),
    }
}

/// The context of an error writing the file `name` of a run folder.
fn cannot_write(name: &str) -> String {
    format!("cannot write {name}")
}

fn progress_bar(sc: &meshsim::Scenario, opts: &RunOptions) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let by_requests = opts.requests.filter(|_| opts.duration.is_none());
    let (len, template) = match (by_requests, opts.duration.or(sc.run.duration)) {
        (Some(n), _) => (n, "{bar:40} {pos}/{len} requests, ETA {eta}"),
        (None, Some(d)) => (d.as_nanos() / 1_000_000, "{bar:40} {pos}/{len} simulated ms, ETA {eta}"),
        (None, None) => (sc.run.requests.unwrap_or(0), "{bar:40} {pos}/{len} requests, ETA {eta}"),
    };
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}
