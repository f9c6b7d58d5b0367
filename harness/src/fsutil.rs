//! File helpers: atomic writes (temporary file in the same directory, fsync, rename) and
//! the lock that keeps two processes from writing one output directory.

use anyhow::{Context, Result};
use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically: readers see the old file or the new one, never a
/// partial file, even if the process is killed mid-write.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating directory {}", dir.display()))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    {
        let mut f = std::fs::File::create(&tmp)
            .with_context(|| format!("creating temporary file {}", tmp.display()))?;
        f.write_all(bytes)
            .with_context(|| format!("writing {}", tmp.display()))?;
        f.sync_all()
            .with_context(|| format!("syncing {}", tmp.display()))?;
    }
    std::fs::rename(&tmp, path)
        .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
    Ok(())
}

/// An exclusive lock on a directory that this process writes (results, evaluation journals),
/// held until dropped: the file `.weaknas.lock` in it, locked with the OS's advisory file lock
/// and holding the owner's pid. A second process asking for the same directory gets a clear
/// error instead of both writing (and both training) at once. On a file system without file
/// locks it warns and goes on unlocked.
#[derive(Debug)]
pub struct DirLock {
    _file: Option<std::fs::File>,
}

/// Name of the lock file [`DirLock`] keeps in a locked directory.
pub const LOCK_FILE: &str = ".weaknas.lock";

impl DirLock {
    /// Locks `dir` (created if needed) for `what` (e.g. "weaknas run"), or fails naming the
    /// directory and the pid of the process holding it.
    pub fn acquire(dir: &Path, what: &str) -> Result<DirLock> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating directory {}", dir.display()))?;
        let path = dir.join(LOCK_FILE);
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("opening lock file {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let owner = std::fs::read_to_string(&path).unwrap_or_default();
                let owner = owner.trim();
                anyhow::bail!(
                    "{} is in use by another weaknas process{}: wait for it to finish, or give \
                     this {what} another output directory (parts run apart are joined with \
                     `weaknas merge`)",
                    dir.display(),
                    if owner.is_empty() {
                        String::new()
                    } else {
                        format!(" (pid {owner})")
                    }
                );
            }
            Err(std::fs::TryLockError::Error(e)) => {
                tracing::warn!(
                    "cannot lock {} ({e}); going on without protection against a second \
                     process writing there",
                    path.display()
                );
                return Ok(DirLock { _file: None });
            }
        }
        file.set_len(0)
            .and_then(|()| file.write_all(std::process::id().to_string().as_bytes()))
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(DirLock { _file: Some(file) })
    }
}

/// SHA-256 of a file, hex-encoded, streamed.
pub fn sha256_file(path: &Path) -> Result<String> {
    use sha2::{Digest, Sha256};
    let mut f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).with_context(|| format!("reading {}", path.display()))?;
    Ok(hex::encode(h.finalize()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn atomic_write_replaces_content() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("sub/x.bin");
        super::atomic_write(&p, b"one").unwrap();
        super::atomic_write(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
    }

    #[test]
    fn a_locked_directory_is_refused_until_released() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("out");
        let held = super::DirLock::acquire(&dir, "weaknas run").unwrap();
        let pid = std::fs::read_to_string(dir.join(super::LOCK_FILE)).unwrap();
        assert_eq!(pid, std::process::id().to_string());
        let e = super::DirLock::acquire(&dir, "weaknas run")
            .unwrap_err()
            .to_string();
        assert!(e.contains("in use by another weaknas process"), "{e}");
        assert!(
            e.contains(&format!("(pid {pid})")) && e.contains("out"),
            "{e}"
        );
        drop(held);
        super::DirLock::acquire(&dir, "weaknas run").unwrap();
    }
}
