//! The charts and report.html of a run: written by `meshsim run`, rebuilt byte for byte by
//! `meshsim report DIR`, drawn from the data (not blank, and different when the data
//! differs), clear errors for a broken run folder, and a page that a browser shows whole.

use crate::common::{scenario_path, temp_dir};
use meshsim::charts::{CHARTS, HEIGHT, WIDTH};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn meshsim(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_meshsim")).args(args).arg(dir).output().expect("meshsim runs")
}

fn run_scenario(name: &str, dir: &Path, extra: &[&str]) {
    let file = scenario_path(name);
    let mut args = vec!["run", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    args.push("--out");
    let out = meshsim(&args, dir);
    assert!(out.status.success(), "meshsim run {name}: {}", String::from_utf8_lossy(&out.stderr));
}

/// One run of exp-payment-outage (faults, breakers, five routes), shared by the tests
/// that only read it; tests that change files work on a copy.
fn base_run() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = temp_dir("charts-base");
        run_scenario("exp-payment-outage", &dir, &[]);
        dir
    })
}

fn copy_of_base(test: &str) -> PathBuf {
    let dir = temp_dir(test);
    for entry in std::fs::read_dir(base_run()).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
    }
    dir
}

struct Png {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
}

fn decode(path: &Path) -> Png {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = png::Decoder::new(file).read_info().unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut rgb = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut rgb).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!((info.color_type, info.bit_depth), (png::ColorType::Rgb, png::BitDepth::Eight), "{}", path.display());
    rgb.truncate(info.buffer_size());
    Png { width: info.width, height: info.height, rgb }
}

/// The pixels below the title and legend, where the data is drawn.
fn plot_region(p: &Png) -> Vec<[u8; 3]> {
    let mut out = Vec::new();
    for y in 90..p.height as usize - 10 {
        for x in 10..p.width as usize - 10 {
            let i = (y * p.width as usize + x) * 3;
            out.push([p.rgb[i], p.rgb[i + 1], p.rgb[i + 2]]);
        }
    }
    out
}

#[test]
fn run_writes_every_chart_as_a_png_of_the_stated_size_with_data_drawn() {
    let dir = base_run();
    for chart in CHARTS.iter().filter(|c| !c.optional) {
        let path = dir.join(chart.file);
        assert!(path.exists(), "{} is missing", chart.file);
        let png = decode(&path);
        assert_eq!((png.width, png.height), (WIDTH, HEIGHT), "{}", chart.file);
        let region = plot_region(&png);
        let mut colours: Vec<[u8; 3]> = region.clone();
        colours.sort_unstable();
        colours.dedup();
        let inked = region.iter().filter(|c| c.iter().any(|&v| v < 235)).count();
        let share = inked as f64 / region.len() as f64;
        // Axes, grid and text are grey and fault bands pale: strong colour is data.
        let strong = region.iter().filter(|c| c.iter().max().unwrap() - c.iter().min().unwrap() > 80).count();
        let strong_share = strong as f64 / region.len() as f64;
        assert!(colours.len() >= 40, "{}: only {} colours in the plot region", chart.file, colours.len());
        assert!(share > 0.03, "{}: only {:.1} % of the plot region drawn", chart.file, 100.0 * share);
        assert!(strong_share > 0.004, "{}: only {:.2} % in strong colours", chart.file, 100.0 * strong_share);
    }
    assert!(dir.join("report.html").exists());
}

#[test]
fn charts_differ_when_the_run_differs() {
    let other = temp_dir("charts-seed-7");
    run_scenario("exp-payment-outage", &other, &["--seed", "7"]);
    for chart in CHARTS.iter().filter(|c| !c.optional) {
        let a = std::fs::read(base_run().join(chart.file)).unwrap();
        let b = std::fs::read(other.join(chart.file)).unwrap();
        assert_ne!(a, b, "{}: the same bytes for seeds 42 and 7", chart.file);
    }
    // Not only the seed in the header: the data drawn differs too.
    for file in ["latency.png", "throughput.png", "instances.png", "goodput.png"] {
        let (a, b) = (decode(&base_run().join(file)), decode(&other.join(file)));
        assert_ne!(plot_region(&a), plot_region(&b), "{file}: the same plot for seeds 42 and 7");
    }
}

#[test]
fn the_breaker_chart_follows_transitions_csv() {
    let dir = copy_of_base("charts-breakers-edit");
    let before = decode(&dir.join("breakers.png"));
    // Keep only the first opening of each breaker: both stay open to the end.
    let text = std::fs::read_to_string(dir.join("transitions.csv")).unwrap();
    let kept: Vec<&str> = text.lines().take(3).collect();
    std::fs::write(dir.join("transitions.csv"), kept.join("\n") + "\n").unwrap();
    let out = meshsim(&["report"], &dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let after = decode(&dir.join("breakers.png"));
    assert_ne!(plot_region(&before), plot_region(&after));
    // Near the end of the run the breaker bands were closed (green) and are open (red) now.
    let red_at_end = |p: &Png| {
        (90..p.height as usize / 2).any(|y| {
            let i = (y * p.width as usize + p.width as usize - 30) * 3;
            p.rgb[i] > 180 && p.rgb[i + 1] < 80
        })
    };
    assert!(!red_at_end(&before), "the breakers closed again in the run");
    assert!(red_at_end(&after), "an open breaker is drawn to the end of the run");
}

#[test]
fn a_run_without_data_for_a_chart_leaves_it_out_and_says_why() {
    // Into a folder that holds an earlier run with breakers: its breakers.png must go.
    let dir = copy_of_base("charts-no-breakers");
    run_scenario("retry-storm", &dir, &[]);
    assert!(!dir.join("breakers.png").exists(), "a stale breakers.png was left behind");
    for chart in CHARTS.iter().filter(|c| c.file != "breakers.png" && !c.optional) {
        assert!(dir.join(chart.file).exists(), "{}", chart.file);
    }
    let page = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(page.contains(
        "No chart of circuit breakers and outlier ejections: no circuit breakers and no outlier ejections in this run."
    ));
    assert_eq!(page.matches("<img ").count(), CHARTS.iter().filter(|c| !c.optional).count() - 1);
    assert!(!page.contains("No chart of rollout"), "an unused feature's chart is left out without a note");
}

#[test]
fn report_rebuilds_byte_identical_charts_and_page() {
    let dir = copy_of_base("charts-rebuild");
    let files: Vec<&str> = CHARTS.iter().filter(|c| !c.optional).map(|c| c.file).chain(["report.html"]).collect();
    let written: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(dir.join(f)).unwrap()).collect();
    for f in &files {
        std::fs::remove_file(dir.join(f)).unwrap();
    }
    for round in 0..2 {
        let out = meshsim(&["report"], &dir);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        for (f, bytes) in files.iter().zip(&written) {
            let again = std::fs::read(dir.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
            assert!(again == *bytes, "{f} differs from what `run` wrote (round {round})");
        }
    }
    // Nothing but the outputs: no temporary files left behind.
    let names: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");
}

#[test]
fn no_charts_writes_neither_charts_nor_page() {
    let dir = copy_of_base("charts-no-charts");
    run_scenario("baseline", &dir, &["--no-charts"]);
    assert!(dir.join("summary.json").exists());
    for chart in &CHARTS {
        assert!(!dir.join(chart.file).exists(), "{} of the earlier run was left behind", chart.file);
    }
    assert!(!dir.join("report.html").exists());
    let out = meshsim(&["report"], &dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(dir.join("report.html").exists() && dir.join("latency.png").exists());
}

/// Replaces the first match of `from` in a file of the folder.
fn edit(dir: &Path, file: &str, from: &str, to: &str) {
    let text = std::fs::read_to_string(dir.join(file)).unwrap();
    assert!(text.contains(from), "{file} has no {from:?}");
    std::fs::write(dir.join(file), text.replacen(from, to, 1)).unwrap();
}

#[test]
fn report_names_a_missing_or_malformed_file() {
    type Breakage = fn(&Path);
    let cases: [(&str, Breakage, &[&str]); 10] = [
        ("no summary", |d| std::fs::remove_file(d.join("summary.json")).unwrap(), &["summary.json", "cannot read"]),
        ("no time series", |d| std::fs::remove_file(d.join("timeseries.csv")).unwrap(), &["timeseries.csv"]),
        ("no transitions", |d| std::fs::remove_file(d.join("transitions.csv")).unwrap(), &["transitions.csv"]),
        ("no events", |d| std::fs::remove_file(d.join("events.csv")).unwrap(), &["events.csv"]),
        (
            "truncated JSON",
            |d| {
                let text = std::fs::read(d.join("summary.json")).unwrap();
                std::fs::write(d.join("summary.json"), &text[..text.len() / 2]).unwrap();
            },
            &["summary.json", "malformed JSON"],
        ),
        (
            "a field of the wrong type",
            |d| edit(d, "summary.json", "\"seed\": 42", "\"seed\": \"forty-two\""),
            &["summary.json", "seed"],
        ),
        (
            "a cell that is not a number",
            |d| edit(d, "timeseries.csv", "\n0.000,1.000,total,all,", "\n0.000,1.000,total,all,many"),
            &["timeseries.csv", "line 2", "`requests`", "many"],
        ),
        (
            "a missing column",
            |d| edit(d, "timeseries.csv", "latency_p99_ms", "latency_p99"),
            &["timeseries.csv", "latency_p99_ms"],
        ),
        (
            "a transition without a state",
            |d| edit(d, "transitions.csv", ",CLOSED,OPEN,", ",CLOSED,,"),
            &["transitions.csv", "line 2", "`to`", "a state such as"],
        ),
        (
            "a time that is not a number",
            |d| edit(d, "transitions.csv", "\n25.", "\nabout 25."),
            &["transitions.csv", "line 2", "`time_s`", "about 25."],
        ),
    ];
    for (what, breakage, expected) in cases {
        let dir = copy_of_base("charts-broken");
        breakage(&dir);
        let out = meshsim(&["report"], &dir);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{what}: {stderr}");
        assert!(stderr.starts_with("error: "), "{what}: {stderr}");
        assert!(!stderr.contains("panicked"), "{what}: {stderr}");
        for e in expected {
            assert!(stderr.contains(e), "{what}: expected {e:?} in: {stderr}");
        }
    }
    let out = meshsim(&["report"], &base_run().join("no-such-folder"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-folder: not a folder"));
}

#[test]
fn the_page_escapes_run_text_and_caps_long_lists() {
    let dir = copy_of_base("charts-escape");
    edit(&dir, "summary.json", "\"scenario\": \"exp-payment-outage\"", "\"scenario\": \"exp <b>&amp; 'q'\"");
    let mut events = std::fs::read_to_string(dir.join("events.csv")).unwrap();
    let before = events.lines().count() - 1;
    for i in 0..600 {
        events +=
            &format!("{}.5,payment-0,payment,unhealthy,\"<script>alert({i})</script>, \"\"x\"\"\"\n", 50 + i / 100);
    }
    std::fs::write(dir.join("events.csv"), events).unwrap();
    let out = meshsim(&["report"], &dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let page = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(!page.contains("<script"), "raw markup from the run reached the page");
    assert!(!page.contains("<b>"));
    assert!(page.contains("<title>meshsim report: exp &lt;b&gt;&amp;amp; &#39;q&#39;</title>"));
    assert!(page.contains("&lt;script&gt;alert(0)&lt;/script&gt;, &quot;x&quot;"));
    let total = before + 600;
    assert!(page.contains(&format!("Showing the first 500 of {total} rows; events.csv")), "no note of the cap");
    assert!(!page.contains("alert(499)"), "more than 500 events listed");
}

/// Debian's Chromium; installed with apt-get when missing (the tests run as root).
fn chromium() -> PathBuf {
    let path = PathBuf::from("/usr/bin/chromium");
    if !path.exists() {
        let status = Command::new("sh")
            .args(["-c", "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium"])
            .status();
        assert!(status.is_ok_and(|s| s.success()), "Chromium is missing and `apt-get install chromium` failed");
    }
    assert!(path.exists(), "Chromium is missing at {} after installing it", path.display());
    path
}

/// Reads `name="value"` from the first `<body ...>` tag of a dumped DOM.
fn body_attr(dom: &str, name: &str) -> Option<String> {
    let start = dom.find("<body")?;
    let tag = &dom[start..start + dom[start..].find('>')?];
    let at = tag.find(&format!("{name}=\""))? + name.len() + 2;
    Some(tag[at..at + tag[at..].find('"')?].to_string())
}

#[test]
fn the_page_opens_in_headless_chromium_without_errors_and_shows_every_chart() {
    let chromium = chromium();
    let dir = copy_of_base("charts-browser");
    // A probe before the page's own content-security policy (so the policy, which allows
    // no script, still governs everything after it): it records load errors and policy
    // violations, and once the page has loaded, how many images it has and shows.
    let probe = r#"<script>
var errors = [];
window.addEventListener('error', function (e) { errors.push('error ' + (e.message || (e.target && e.target.tagName))); }, true);
document.addEventListener('securitypolicyviolation', function (e) { errors.push('csp ' + e.violatedDirective + ' ' + e.blockedURI); });
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var shown = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; });
  document.body.setAttribute('data-images', String(imgs.length));
  document.body.setAttribute('data-shown', String(shown.length));
  document.body.setAttribute('data-errors', errors.join(' | ').replace(/"/g, "'") || 'none');
});
</script>
"#;
    let page = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(page.contains("<head>\n"));
    std::fs::write(dir.join("probe.html"), page.replacen("<head>\n", &format!("<head>\n{probe}"), 1)).unwrap();
    let profile = temp_dir("charts-browser-profile");
    let out = Command::new("timeout")
        .arg("120")
        .arg(&chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=10000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("file://{}", dir.join("probe.html").display()))
        .output()
        .expect("Chromium starts");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "Chromium failed: {stderr}");
    let dom = String::from_utf8_lossy(&out.stdout);
    // Every message the page wrote to the console (errors, blocked loads) is logged so.
    let console: Vec<&str> = stderr.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:#?}");
    assert_eq!(body_attr(&dom, "data-errors").as_deref(), Some("none"), "the probe did not finish cleanly");
    let shown = CHARTS.iter().filter(|c| !c.optional).count().to_string();
    assert_eq!(body_attr(&dom, "data-images"), Some(shown.clone()));
    assert_eq!(body_attr(&dom, "data-shown"), Some(shown), "an image did not decode");
}

#[test]
fn a_rollout_run_draws_its_rollout_chart_and_report_redraws_it() {
    let dir = temp_dir("charts-rollout");
    run_scenario("canary-rollback", &dir, &[]);
    let written = std::fs::read(dir.join("rollout.png")).unwrap();
    let png = decode(&dir.join("rollout.png"));
    assert_eq!((png.width, png.height), (WIDTH, HEIGHT));
    // The failed analyses are marked red, the canary weight line in the first series colour.
    let region = plot_region(&png);
    assert!(region.iter().any(|c| c[0] > 200 && c[1] < 60 && c[2] < 60), "no failed analysis marked");
    let page = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(page.contains("id=\"chart-rollout\""));
    std::fs::remove_file(dir.join("rollout.png")).unwrap();
    let out = meshsim(&["report"], &dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read(dir.join("rollout.png")).unwrap(), written);
}

#[test]
fn a_long_run_is_read_for_its_charts_in_groups_of_windows() {
    // mm1 for 1,200 s in 1 s windows: more windows than the charts read, so they come in
    // groups of three. Counts add up, rates average, percentiles
    // take the group's highest.
    use meshsim::rundata::{RunData, WINDOWS_DRAWN_MAX};
    let dir = temp_dir("charts-long-run");
    let mut v = crate::common::scenario_json("mm1");
    v["run"] = serde_json::json!({ "duration": "1200s" });
    v["metrics"] = serde_json::json!({ "interval": "1s" });
    let file = dir.join("long.json");
    std::fs::write(&file, v.to_string()).unwrap();
    let out = meshsim(&["run", file.to_str().unwrap(), "--no-charts", "--out"], &dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let csv = std::fs::read_to_string(dir.join("timeseries.csv")).unwrap();
    let totals: Vec<Vec<&str>> =
        csv.lines().skip(1).map(|l| l.split(',').collect::<Vec<&str>>()).filter(|c| c[2] == "total").collect();
    // 1,200 windows and the drain's last one.
    let n = totals.len();
    assert!(n >= 1200, "{n} windows");
    let group = n.div_ceil(WINDOWS_DRAWN_MAX);
    assert_eq!(group, 3);
    let data = RunData::load(&dir).unwrap();
    let s = &data.series;
    assert_eq!(s.windows.len(), n.div_ceil(group));
    assert!(s.windows.len() <= WINDOWS_DRAWN_MAX);
    assert_eq!((s.windows[0].start_s, s.windows[0].end_s), (0.0, 3.0));
    assert_eq!(s.total.len(), s.windows.len());
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (req, rps, p99) = (col("requests"), col("throughput_rps"), col("latency_p99_ms"));
    let num = |c: &Vec<&str>, i: usize| c[i].parse::<f64>().unwrap_or(0.0);
    for (g, row) in s.total.iter().enumerate() {
        let rows = &totals[group * g..(group * g + group).min(n)];
        assert_eq!(row.outcomes.requests as f64, rows.iter().map(|c| num(c, req)).sum::<f64>());
        let mean_rps = rows.iter().map(|c| num(c, rps)).sum::<f64>() / rows.len() as f64;
        assert!((row.throughput_rps - mean_rps).abs() < 1e-9, "window {g}");
        let highest = rows.iter().map(|c| num(c, p99)).fold(0.0, f64::max);
        assert_eq!(row.latency.map_or(0.0, |l| l.p99), highest, "window {g}");
    }
    // The charts and the page are drawn from the grouped series.
    let out = meshsim(&["report"], &dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(dir.join("report.html").exists());
}
