//! Whole-or-nothing file writes: data goes to a temporary name beside the target and is
//! renamed over it only when complete, so a reader never sees half a file.

use std::io::Write;
use std::path::{Path, PathBuf};

/// A file written whole or not at all: data goes to a temporary name beside the target
/// and is renamed over it only on `commit`. Dropped without `commit`, it removes the
/// temporary file.
pub struct AtomicFile {
    tmp: PathBuf,
    target: PathBuf,
    file: Option<std::io::BufWriter<std::fs::File>>,
}

impl AtomicFile {
    /// # Errors
    /// If the temporary file cannot be created.
    pub fn create(target: &Path) -> std::io::Result<AtomicFile> {
        let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let tmp = target.with_file_name(format!(".{name}.tmp"));
        let file = std::fs::File::create(&tmp)?;
        Ok(AtomicFile { tmp, target: target.to_path_buf(), file: Some(std::io::BufWriter::new(file)) })
    }

    pub fn writer(&mut self) -> &mut dyn Write {
        self.file.as_mut().expect("not yet committed")
    }

    /// Flushes, syncs and renames the file into place.
    ///
    /// # Errors
    /// If flushing, syncing or renaming fails; the target is then left untouched.
    pub fn commit(mut self) -> std::io::Result<()> {
        let file = self.file.take().expect("committed once");
        let file = file.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&self.tmp, &self.target)
    }
}

/// Writes go to the temporary file, as through [`AtomicFile::writer`]; an `AtomicFile` can
/// so be handed whole to a writer thread and given back for [`AtomicFile::commit`].
impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.writer().write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.writer().write_all(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.writer().flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.file.is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Writes `bytes` to `target` whole or not at all.
///
/// # Errors
/// If the temporary file cannot be written or renamed.
pub fn write_atomic(target: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = AtomicFile::create(target)?;
    f.writer().write_all(bytes)?;
    f.commit()
}

/// Removes `path` if it is there: an earlier run's file that this run does not write.
///
/// # Errors
/// If the file exists and cannot be removed.
pub fn remove_stale(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}
