//! The `meshsim` command line: argument parsing and glue over the library.
//!
//! Exit codes: 0 success; 1 an SLO failed or an invariant broke (the reports are written); 2 bad input (a
//! scenario or argument error), a run that hit a limit (its reports are still written,
//! marked as stopped), or an output error.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use meshsim::report::{self, AtomicFile};
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
    /// alerts.csv, traces.otlp.jsonl, trace.json, metrics.prom, latency.hlog, stats.csv).
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
    /// Check a scenario file without running it.
    Validate {
        /// The scenario file (JSON).
        file: PathBuf,
    },
}

fn parse_duration(s: &str) -> Result<SimDuration, String> {
    meshsim::time::parse_duration(s)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run { file, seed, out, duration, requests, slos, trace_sampling } => {
            let trace_sampling = trace_sampling.map(|p| p / 100.0);
            run(&file, RunOptions { seed, duration, requests, slos: Vec::new(), trace_sampling }, &slos, out.as_deref())
        }
        Command::Validate { file } => validate(&file),
        Command::Check { file, seeds, duration, requests } => check(&file, seeds, duration, requests),
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
        let mut checker = meshsim::check::Checker::new();
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
    Ok(ExitCode::SUCCESS)
}

fn run(file: &Path, mut opts: RunOptions, slos: &[String], out: Option<&Path>) -> Result<ExitCode> {
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
    let mut ts = AtomicFile::create(&dir.join("timeseries.csv"))
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    let mut tr = AtomicFile::create(&dir.join("transitions.csv"))
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    let mut ev =
        AtomicFile::create(&dir.join("events.csv")).with_context(|| format!("cannot write in {}", dir.display()))?;
    let mut al =
        AtomicFile::create(&dir.join("alerts.csv")).with_context(|| format!("cannot write in {}", dir.display()))?;
    let mut otlp = AtomicFile::create(&dir.join("traces.otlp.jsonl"))
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    let mut chrome =
        AtomicFile::create(&dir.join("trace.json")).with_context(|| format!("cannot write in {}", dir.display()))?;
    let mut hl =
        AtomicFile::create(&dir.join("latency.hlog")).with_context(|| format!("cannot write in {}", dir.display()))?;
    let mut hlog = meshsim::formats::hlog::HlogWriter::begin(hl.writer(), &sc, opts.seed.unwrap_or(sc.seed))
        .context("cannot write latency.hlog")?;
    let mut on_route_window = |start, end, route, latency: &_| hlog.record(start, end, route, latency);
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
    };
    let result = meshsim::run(&sc, &opts, hooks)?;
    let elapsed = wall.elapsed().as_secs_f64();
    bar.finish_and_clear();
    ts.commit().context("cannot write timeseries.csv")?;
    tr.commit().context("cannot write transitions.csv")?;
    ev.commit().context("cannot write events.csv")?;
    al.commit().context("cannot write alerts.csv")?;
    otlp.commit().context("cannot write traces.otlp.jsonl")?;
    chrome.commit().context("cannot write trace.json")?;
    let summary = report::summary(&sc, &result);
    report::write_atomic(&dir.join("summary.json"), &report::summary_bytes(&summary))
        .context("cannot write summary.json")?;
    hlog.finish().context("cannot write latency.hlog")?;
    hl.commit().context("cannot write latency.hlog")?;
    report::write_atomic(&dir.join("metrics.prom"), meshsim::formats::prom::metrics(&sc, &result).as_bytes())
        .context("cannot write metrics.prom")?;
    report::write_atomic(&dir.join("stats.csv"), &meshsim::formats::locust::stats_csv(&sc, &result))
        .context("cannot write stats.csv")?;
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
