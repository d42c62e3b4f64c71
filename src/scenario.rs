//! Scenario files: parse the JSON, then validate it into a `model::Scenario`.
//!
//! Parsing (`raw`) checks the shape: types, field names, duration strings. Validation
//! (`validate`) checks meaning: references, ranges, call-graph cycles, and resolves names
//! to ids. Every error names the file, the JSON path and what was expected.

mod raw;
mod validate;

use crate::model::Scenario;
use std::fmt;
use std::path::Path;

/// One problem in a scenario file: where it is and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issue {
    /// JSON path such as `services.cart.endpoints.add.calls[0].service`.
    pub path: String,
    pub message: String,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Why a scenario could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{file}: cannot read the file: {cause}")]
    Io { file: String, cause: std::io::Error },
    #[error("{file}: malformed JSON at line {line}, column {column}: {message}")]
    Syntax { file: String, line: usize, column: usize, message: String },
    #[error("{}", render_invalid(file, issues))]
    Invalid { file: String, issues: Vec<Issue> },
}

impl ScenarioError {
    /// The problems found, with their JSON paths (empty for I/O and syntax errors).
    pub fn issues(&self) -> &[Issue] {
        match self {
            ScenarioError::Invalid { issues, .. } => issues,
            _ => &[],
        }
    }
}

fn render_invalid(file: &str, issues: &[Issue]) -> String {
    let lines: Vec<String> = issues.iter().map(|i| format!("{file}: {i}")).collect();
    lines.join("\n")
}

/// Checks the `sweep` block, which this module keeps as raw JSON: the sweep module owns
/// its shape (`crate::sweep::check_block`), and the crate root passes it in, so that
/// scenario never depends on sweep. Its issues come right after the run's.
pub type BlockCheck = fn(&serde_json::Value) -> Vec<Issue>;

/// Reads and validates a scenario file; `sweep` checks its `sweep` block.
///
/// # Errors
/// `ScenarioError` naming the file, the JSON path and what was expected.
pub fn load_file_with(path: &Path, sweep: BlockCheck) -> Result<Scenario, ScenarioError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|cause| ScenarioError::Io { file: file.clone(), cause })?;
    load_str_with(&text, &file, sweep)
}

/// The name of every fault kind, as scenario files spell them.
pub fn fault_kinds() -> Vec<String> {
    raw::FaultKind::ALL
        .iter()
        .filter_map(|k| serde_json::to_value(k).ok().and_then(|v| v.as_str().map(String::from)))
        .collect()
}

/// Validates scenario JSON given as text; `file` is used in messages only; `sweep`
/// checks its `sweep` block.
///
/// # Errors
/// `ScenarioError` naming the file, the JSON path and what was expected.
pub fn load_str_with(text: &str, file: &str, sweep: BlockCheck) -> Result<Scenario, ScenarioError> {
    let raw = parse(text, file)?;
    validate::validate(raw, file, sweep).map_err(|issues| ScenarioError::Invalid { file: file.to_string(), issues })
}

fn parse(text: &str, file: &str) -> Result<raw::ScenarioFile, ScenarioError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let result: Result<raw::ScenarioFile, _> = serde_path_to_error::deserialize(&mut de);
    let raw = match result {
        Ok(raw) => raw,
        Err(err) => {
            let path = json_path(&err.path().to_string());
            let inner = err.into_inner();
            return Err(classify(inner, file, path));
        }
    };
    de.end().map_err(|e| classify(e, file, "(top level)".into()))?;
    Ok(raw)
}

fn classify(err: serde_json::Error, file: &str, path: String) -> ScenarioError {
    use serde_json::error::Category;
    match err.classify() {
        Category::Syntax | Category::Eof | Category::Io => ScenarioError::Syntax {
            file: file.to_string(),
            line: err.line(),
            column: err.column(),
            message: strip_position(&err.to_string()),
        },
        Category::Data => {
            // An error inside a tagged object carries its path below that object.
            let text = strip_position(&err.to_string());
            let (path, message) = match raw::tagged::split(&text) {
                (Some(below), message) => (format!("{path}{below}"), message.to_string()),
                (None, message) => (path, message.to_string()),
            };
            ScenarioError::Invalid { file: file.to_string(), issues: vec![Issue { path, message }] }
        }
    }
}

/// serde_json appends " at line L column C"; the path says more, so drop it for data
/// errors and keep it as separate fields for syntax errors.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

fn json_path(p: &str) -> String {
    if p == "." || p.is_empty() { "(top level)".to_string() } else { p.to_string() }
}
