//! A CSV file held as rows of text cells, with typed access by column that names the
//! file, line and column of a cell that does not parse.

use super::RunDataError;
use std::path::{Path, PathBuf};

pub(super) struct Table {
    path: PathBuf,
    header: Vec<String>,
    rows: Vec<csv::StringRecord>,
    /// The line of each row in the file (1-based; the header is line 1).
    lines: Vec<u64>,
}

impl Table {
    pub(super) fn parse(path: &Path, bytes: &[u8]) -> Result<Table, RunDataError> {
        let malformed = |message: String| RunDataError::Malformed { path: path.to_path_buf(), message };
        if bytes.is_empty() {
            return Err(malformed("empty file, expected a header row".into()));
        }
        let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(bytes);
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| malformed(format!("malformed CSV header: {e}")))?
            .iter()
            .map(str::to_string)
            .collect();
        let mut rows = Vec::new();
        let mut lines = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| match e.position() {
                Some(p) => malformed(format!("line {}: malformed CSV: {}", p.line(), e.kind_message())),
                None => malformed(format!("malformed CSV: {e}")),
            })?;
            lines.push(record.position().map_or(0, |p| p.line()));
            rows.push(record);
        }
        Ok(Table { path: path.to_path_buf(), header, rows, lines })
    }

    /// Reads the CSV file at `path` one row at a time: `setup` sees the header (a table
    /// with no rows), then `each` sees a table holding only the current row, as row 0.
    /// Memory stays at one row whatever the file's length.
    pub(super) fn for_each_row<C>(
        path: &Path,
        setup: impl FnOnce(&Table) -> Result<C, RunDataError>,
        mut each: impl FnMut(&Table, &C) -> Result<(), RunDataError>,
    ) -> Result<(), RunDataError> {
        let malformed = |message: String| RunDataError::Malformed { path: path.to_path_buf(), message };
        let file =
            std::fs::File::open(path).map_err(|source| RunDataError::Read { path: path.to_path_buf(), source })?;
        let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(std::io::BufReader::new(file));
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| malformed(format!("malformed CSV header: {e}")))?
            .iter()
            .map(str::to_string)
            .collect();
        if header.is_empty() || header.iter().all(String::is_empty) {
            return Err(malformed("empty file, expected a header row".into()));
        }
        let mut table = Table { path: path.to_path_buf(), header, rows: Vec::new(), lines: Vec::new() };
        let cx = setup(&table)?;
        let mut record = csv::StringRecord::new();
        loop {
            match reader.read_record(&mut record) {
                Ok(false) => return Ok(()),
                Ok(true) => {
                    let line = record.position().map_or(0, |p| p.line());
                    table.rows.clear();
                    table.lines.clear();
                    table.rows.push(std::mem::take(&mut record));
                    table.lines.push(line);
                    each(&table, &cx)?;
                    record = table.rows.pop().expect("the row just pushed");
                }
                Err(e) => {
                    return Err(match e.position() {
                        Some(p) => malformed(format!("line {}: malformed CSV: {}", p.line(), e.kind_message())),
                        None => malformed(format!("malformed CSV: {e}")),
                    });
                }
            }
        }
    }

    pub(super) fn rows(&self) -> usize {
        self.rows.len()
    }

    fn malformed(&self, message: String) -> RunDataError {
        RunDataError::Malformed { path: self.path.clone(), message }
    }

    /// Where this file holds the columns `wanted` of the file's `schema` (indices into
    /// its header, such as `timeseries::col::REQUESTS`): found by name, so a column
    /// added later, or moved, does not disturb the reader.
    pub(super) fn columns<const N: usize>(
        &self,
        schema: &[&str],
        wanted: [usize; N],
    ) -> Result<[usize; N], RunDataError> {
        let mut out = [0; N];
        for (slot, name) in out.iter_mut().zip(wanted.map(|c| schema[c])) {
            *slot = self
                .header
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| self.malformed(format!("no column `{name}` in the header")))?;
        }
        Ok(out)
    }

    pub(super) fn cell(&self, row: usize, col: usize) -> &str {
        self.rows[row].get(col).unwrap_or("")
    }

    /// The error for a cell that is not what was expected.
    pub(super) fn bad(&self, row: usize, col: usize, expected: &str) -> RunDataError {
        self.malformed(format!(
            "line {}, column `{}`: expected {expected}, found {:?}",
            self.lines[row],
            self.header[col],
            self.cell(row, col)
        ))
    }

    pub(super) fn f64(&self, row: usize, col: usize) -> Result<f64, RunDataError> {
        self.opt_f64(row, col)?.ok_or_else(|| self.bad(row, col, "a number"))
    }

    /// A number, or `None` for an empty cell.
    pub(super) fn opt_f64(&self, row: usize, col: usize) -> Result<Option<f64>, RunDataError> {
        let s = self.cell(row, col);
        if s.is_empty() {
            return Ok(None);
        }
        match s.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(Some(x)),
            _ => Err(self.bad(row, col, "a number")),
        }
    }

    pub(super) fn u64(&self, row: usize, col: usize) -> Result<u64, RunDataError> {
        self.opt_u64(row, col)?.ok_or_else(|| self.bad(row, col, "a whole number"))
    }

    /// A whole number, or `None` for an empty cell.
    pub(super) fn opt_u64(&self, row: usize, col: usize) -> Result<Option<u64>, RunDataError> {
        let s = self.cell(row, col);
        if s.is_empty() {
            return Ok(None);
        }
        s.parse::<u64>().map(Some).map_err(|_| self.bad(row, col, "a whole number"))
    }
}

trait KindMessage {
    fn kind_message(&self) -> String;
}

impl KindMessage for csv::Error {
    /// The error without csv's own position prefix (the caller adds the line).
    fn kind_message(&self) -> String {
        match self.kind() {
            csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                format!("{len} fields, but the header has {expected_len}")
            }
            csv::ErrorKind::Utf8 { .. } => "not UTF-8".to_string(),
            _ => self.to_string(),
        }
    }
}
