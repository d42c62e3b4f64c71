//! The `meshsim` command line: argument parsing and glue over the library.
//!
//! Exit codes: 0 success; 1 an SLO failed (the reports are written); 2 bad input (a
//! scenario or argument error), a run that hit a limit (its reports are still written,
//! marked as stopped), or an output error.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use meshsim::charts::ChartFile;
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
    /// Run a scenario and write its report (summary.json, timeseries.csv, transitions.csv, events.csv, the
    /// charts as PNG files and report.html).
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
        Command::Run { file, seed, out, duration, requests, slos, no_charts } => {
            let opts = RunOptions { seed, duration, requests, slos: Vec::new() };
            run(&file, opts, &slos, out.as_deref(), !no_charts)
        }
        Command::Validate { file } => validate(&file),
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
    let mut ts = AtomicFile::create(&dir.join("timeseries.csv"))
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    let mut tr = AtomicFile::create(&dir.join("transitions.csv"))
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    let mut ev =
        AtomicFile::create(&dir.join("events.csv")).with_context(|| format!("cannot write in {}", dir.display()))?;
    let wall = Instant::now();
    let hooks = meshsim::Hooks {
        timeseries: Some(ts.writer()),
        transitions: Some(tr.writer()),
        events: Some(ev.writer()),
        progress: Some(&mut on_progress),
    };
    let result = meshsim::run(&sc, &opts, hooks)?;
    let elapsed = wall.elapsed().as_secs_f64();
    bar.finish_and_clear();
    ts.commit().context("cannot write timeseries.csv")?;
    tr.commit().context("cannot write transitions.csv")?;
    ev.commit().context("cannot write events.csv")?;
    let summary = report::summary(&sc, &result);
    report::write_atomic(&dir.join("summary.json"), &report::summary_bytes(&summary))
        .context("cannot write summary.json")?;
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
        Stop::Completed if result.slos.iter().any(|s| !s.pass) => Ok(ExitCode::from(1)),
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
