//! The files a method's command names, hashed into its runs' content address.
//!
//! A method whose parameters hold a string `command` (the `external` kind) runs a program the
//! spec does not contain. Editing the script must not let an old result pass for a new one,
//! so its content is part of the run id: every word of the command (split as `sh` would,
//! quotes honoured) that names an existing regular file — relative to the working directory —
//! is hashed, except the first word when it has no `/` (a program found on `PATH`, such as
//! `python3`, whose upgrades should not invalidate results).

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use std::path::Path;

/// sha256 over (word, file content) of the files `params.command` names, or `None` when the
/// parameters have no command or it names no file (the run id is then unchanged).
pub fn command_files_sha256(params: &toml::Table) -> Result<Option<String>> {
    let Some(command) = params.get("command").and_then(|c| c.as_str()) else {
        return Ok(None);
    };
    let words = shlex::split(command).unwrap_or_default();
    let mut h = Sha256::new();
    let mut any = false;
    for (i, w) in words.iter().enumerate() {
        if i == 0 && !w.contains('/') {
            continue;
        }
        let p = Path::new(w);
        if !p.is_file() {
            continue;
        }
        let bytes =
            std::fs::read(p).with_context(|| format!("reading {w} (named by {command:?})"))?;
        for part in [w.as_bytes(), &Sha256::digest(&bytes)[..]] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part);
        }
        any = true;
    }
    Ok(any.then(|| hex::encode(h.finalize())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_named_files_only() {
        let d = tempfile::tempdir().unwrap();
        let script = d.path().join("my search.py");
        std::fs::write(&script, "print(1)\n").unwrap();
        let quoted = shlex::try_quote(script.to_str().unwrap())
            .unwrap()
            .to_string();
        let table = |c: &str| -> toml::Table {
            let mut t = toml::Table::new();
            t.insert("command".into(), c.into());
            t
        };
        let a = command_files_sha256(&table(&format!("python3 {quoted} --x 1"))).unwrap();
        assert!(a.is_some());
        assert_eq!(
            command_files_sha256(&table("python3 -c pass")).unwrap(),
            None
        );
        assert_eq!(command_files_sha256(&toml::Table::new()).unwrap(), None);
        std::fs::write(&script, "print(2)\n").unwrap();
        let b = command_files_sha256(&table(&format!("python3 {quoted} --x 1"))).unwrap();
        assert_ne!(a, b, "an edited script changes the digest");
    }
}
