//! The one way Sealog replaces a whole file: a crash at any point leaves either the old file
//! or the new one, complete, never a mix and never a stray temporary under a name a later
//! write could collide with.
//!
//! The steps: write the new bytes to a temporary file with a unique name beside the target
//! (created exclusively, with the target's mode), fsync it, rename it over the target, and
//! fsync the directory so that the rename itself survives a power cut. A failure before the
//! rename removes the temporary file.

use crate::faults::Faults;
use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Replaces `path` with `bytes` atomically and durably; a new file gets `mode` (e.g. 0o600 for
/// secrets).
pub fn write_file(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    write_file_with(path, bytes, mode, &Faults::default())
}

/// [`write_file`] for content too large for memory: the new file is copied from `from`.
pub fn write_file_from(path: &Path, from: &mut dyn Read, mode: u32) -> io::Result<()> {
    replace_with(path, mode, &Faults::default(), |mut file| {
        io::copy(from, &mut file).map(drop)
    })
}

/// [`write_file`], every creation, write, fsync and rename going through `faults`.
pub(crate) fn write_file_with(
    path: &Path,
    bytes: &[u8],
    mode: u32,
    faults: &Faults,
) -> io::Result<()> {
    replace_with(path, mode, faults, |file| faults.write(file, bytes))
}

/// Replaces `path` with a new file of `mode` that `fill` writes, by the steps above.
fn replace_with(
    path: &Path,
    mode: u32,
    faults: &Faults,
    fill: impl FnOnce(&File) -> io::Result<()>,
) -> io::Result<()> {
    let dir = parent(path);
    let tmp = temp_name(path);
    let written = (|| {
        let file = faults.sync(|| {
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(mode)
                .open(&tmp)
        })?;
        fill(&file)?;
        faults.sync(|| file.sync_all())?;
        faults.sync(|| std::fs::rename(&tmp, path))
    })();
    if written.is_err() {
        // Nothing else can name this file; a failure to remove it is only litter.
        let _ = std::fs::remove_file(&tmp);
    }
    written?;
    faults.sync(|| sync_dir(dir))
}

/// Fsyncs a directory, making the creations, renames and removals in it durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// The directory holding `path` (`.` for a bare file name).
fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// A temporary name beside `path`, unique within this process and across processes, hidden,
/// and ending in `.tmp` so that an operator can tell it is disposable.
fn temp_name(path: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    parent(path).join(format!(".{name}.{}-{n}.tmp", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::{Effect, Fault, FaultInjector, Op};
    use std::os::unix::fs::PermissionsExt;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    /// Fails the `n`-th operation of kind `op`, without effect.
    struct FailNth(Op, usize, AtomicUsize);

    impl FaultInjector for FailNth {
        fn decide(&self, op: Op) -> Option<Fault> {
            (op == self.0 && self.2.fetch_add(1, Ordering::Relaxed) == self.1).then_some(Fault {
                effect: Effect::NotPersisted,
                kind: io::ErrorKind::StorageFull,
            })
        }
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn replaces_the_file_with_its_mode_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        write_file(&path, b"one", 0o600).unwrap();
        write_file(&path, b"two", 0o600).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(names(dir.path()), ["secret"]);
    }

    #[test]
    fn a_failure_at_any_step_keeps_the_old_file_whole_and_removes_the_temporary() {
        // Syncs: 0 create, 1 fsync, 2 rename; writes: 0.
        for (op, nth) in [(Op::Sync, 0), (Op::Write, 0), (Op::Sync, 1), (Op::Sync, 2)] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("checkpoint");
            write_file(&path, b"old", 0o644).unwrap();
            let faults = Faults::new(Arc::new(FailNth(op, nth, AtomicUsize::new(0))));
            let err = write_file_with(&path, b"new", 0o644, &faults).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::StorageFull, "{op:?} {nth}");
            assert_eq!(std::fs::read(&path).unwrap(), b"old", "{op:?} {nth}");
            assert_eq!(names(dir.path()), ["checkpoint"], "{op:?} {nth}");
        }
    }

    #[test]
    fn temporary_names_never_repeat() {
        let a = temp_name(Path::new("/x/key"));
        let b = temp_name(Path::new("/x/key"));
        assert_ne!(a, b);
        assert!(
            a.to_str().unwrap().starts_with("/x/.key."),
            "{}",
            a.display()
        );
        assert_eq!(temp_name(Path::new("key")).parent(), Some(Path::new(".")));
    }
}
