//! File helpers: atomic writes (temporary file in the same directory, fsync, rename) and
//! the lock that keeps two processes from writing one output directory.

use anyhow::{Context, Result};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Writes `bytes` to `path` atomically: readers see the old file or the new one, never a
/// partial file, even if the process is killed mid-write. The temporary file (same directory,
/// named by pid and a per-process counter, so threads writing the same path never share
/// one) is fsynced before the rename and removed on failure. The one atomic write of the
/// workspace (results, tables, figures, stores).
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating directory {}", dir.display()))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let res = (|| -> Result<()> {
        let mut f = std::fs::File::create(&tmp)
            .with_context(|| format!("creating temporary file {}", tmp.display()))?;
        f.write_all(bytes)
            .with_context(|| format!("writing {}", tmp.display()))?;
        f.sync_all()
            .with_context(|| format!("syncing {}", tmp.display()))?;
        std::fs::rename(&tmp, path)
            .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

/// An exclusive lock on a directory that this process writes (results, evaluation journals),
/// held until dropped: the file `.weaknas.lock` in it, locked with the OS's advisory file lock
/// and holding the owner's pid. A second process asking for the same directory gets a clear
/// error instead of both writing (and both training) at once. On a file system without file
/// locks it warns and goes on unlocked.
#[derive(Debug)]
pub struct DirLock {
    file: Option<std::fs::File>,
    dir: std::path::PathBuf,
    created: bool,
}

/// Name of the lock file [`DirLock`] keeps in a locked directory.
pub const LOCK_FILE: &str = ".weaknas.lock";

impl DirLock {
    /// Locks `dir` (created if needed) for the command `what` (e.g. "run", named in the
    /// error), or fails naming the directory and the pid of the process holding it.
    pub fn acquire(dir: &Path, what: &str) -> Result<DirLock> {
        let created = !dir.exists();
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
        let file = match file.try_lock() {
            Ok(()) => {
                file.set_len(0)
                    .and_then(|()| file.write_all(std::process::id().to_string().as_bytes()))
                    .with_context(|| format!("writing {}", path.display()))?;
                Some(file)
            }
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
                None
            }
        };
        Ok(DirLock {
            file,
            dir: dir.to_path_buf(),
            created,
        })
    }

    /// Releases the lock after a command that wrote nothing (e.g. a spec refused before any
    /// run): a directory that [`DirLock::acquire`] created and that holds only the lock file
    /// is removed again, so a refused command leaves no trace.
    pub fn abandon(mut self) {
        drop(self.file.take());
        if !self.created {
            return;
        }
        let only_lock = std::fs::read_dir(&self.dir).is_ok_and(|entries| {
            entries
                .filter_map(|e| e.ok())
                .all(|e| e.file_name() == LOCK_FILE)
        });
        if only_lock {
            let _ = std::fs::remove_file(self.dir.join(LOCK_FILE));
            let _ = std::fs::remove_dir(&self.dir);
        }
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
        // Abandoned after writing nothing: a directory it created is gone again...
        let new = d.path().join("new");
        super::DirLock::acquire(&new, "weaknas run")
            .unwrap()
            .abandon();
        assert!(!new.exists());
        // ...but one that existed before stays, as does one holding anything else.
        super::DirLock::acquire(&dir, "weaknas run")
            .unwrap()
            .abandon();
        assert!(dir.exists());
        let fresh = d.path().join("fresh");
        let l = super::DirLock::acquire(&fresh, "weaknas run").unwrap();
        std::fs::write(fresh.join("result"), b"x").unwrap();
        l.abandon();
        assert!(fresh.join("result").exists());
    }
}
