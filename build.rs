//! Embeds the code fingerprint in the `weaknas` binary (`WEAKNAS_CODE_FINGERPRINT`), recorded
//! with every run so a result directory never silently mixes runs of different code:
//! `git:<commit>` from a clean checkout, `git:<commit>+dirty.<hash of the diff>` with
//! uncommitted changes to tracked files, `version:<crate version>` outside a checkout (e.g. a
//! release tarball). Only this thin binary is rebuilt when it changes.
//!
//! Also sets the cfg `weaknas_shared_data` when the real NAS-Bench-201 data is beside the
//! project (`../shared/data`, or `$WEAKNAS_SHARED_DATA`) or under `CI=true`: the end-to-end
//! tests that need it are `#[ignore]`d without it, so `cargo test` reports them as ignored
//! (under CI they run, and fail if the data is missing).

use std::io::Write;
use std::process::{Command, Stdio};

fn git(args: &[&str]) -> Option<Vec<u8>> {
    let o = Command::new("git").args(args).output().ok()?;
    o.status.success().then_some(o.stdout)
}

fn text(args: &[&str]) -> Option<String> {
    Some(String::from_utf8(git(args)?).ok()?.trim().to_string())
}

/// `git hash-object` of some bytes (no hashing crate: build scripts' dependencies would be
/// compiled a second time, for the host).
fn hash(bytes: &[u8]) -> Option<String> {
    let mut c = Command::new("git")
        .args(["hash-object", "--stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .ok()?;
    c.stdin.take()?.write_all(bytes).ok()?;
    let o = c.wait_with_output().ok()?;
    let h = String::from_utf8(o.stdout).ok()?;
    (o.status.success() && h.len() >= 8).then(|| h[..8].to_string())
}

fn main() {
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let fingerprint = match text(&["rev-parse", "HEAD"]) {
        Some(commit) if commit.len() >= 12 => {
            // Rerun when HEAD moves or the index changes (commits, checkouts, staging)...
            for what in ["HEAD", "index"] {
                if let Some(p) = text(&["rev-parse", "--git-path", what]) {
                    println!("cargo:rerun-if-changed={p}");
                }
            }
            // ... and when any source the binary is built from changes.
            for p in [
                "src",
                "harness/src",
                "baselines/src",
                "results/src",
                "plots/src",
                "report/src",
                "Cargo.toml",
                "Cargo.lock",
            ] {
                println!("cargo:rerun-if-changed={p}");
            }
            let diff = git(&["diff", "HEAD", "--binary"]).unwrap_or_default();
            if diff.is_empty() {
                format!("git:{}", &commit[..12])
            } else {
                let h = hash(&diff).unwrap_or_else(|| "unknown".into());
                format!("git:{}+dirty.{h}", &commit[..12])
            }
        }
        _ => format!("version:{version}"),
    };
    println!("cargo:rustc-env=WEAKNAS_CODE_FINGERPRINT={fingerprint}");
    shared_data_cfg();
}

fn shared_data_cfg() {
    println!("cargo:rustc-check-cfg=cfg(weaknas_shared_data)");
    println!("cargo:rerun-if-env-changed=CI");
    println!("cargo:rerun-if-env-changed=WEAKNAS_SHARED_DATA");
    let base = match std::env::var_os("WEAKNAS_SHARED_DATA").filter(|s| !s.is_empty()) {
        Some(p) => std::path::PathBuf::from(p),
        None => {
            std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default())
                .join("../shared/data")
        }
    };
    let data = base.join("nasbench201");
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    if data.exists() {
        // (Watched only when present: a missing path would rerun this script every build.
        // Data added later is noticed at the next source change.)
        println!("cargo:rerun-if-changed={}", data.display());
    }
    if data.exists() || ci {
        println!("cargo:rustc-cfg=weaknas_shared_data");
    }
}
