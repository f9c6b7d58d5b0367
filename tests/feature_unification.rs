//! The program's own feature resolution (what `cargo run` builds) must equal the workspace's
//! (what `cargo test --workspace` builds) for every crate the program uses: where they
//! differ, cargo compiles that crate and everything above it twice (polars among them, ~7.5
//! minutes on 2 cores), and the README's two commands on a fresh machine pay for it. The
//! "feature unification" block of the root `Cargo.toml` keeps them equal; this test names
//! what to add there when a dependency change breaks it.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// Features per package (`name vX.Y.Z`), merged over every node of a `cargo tree` listing.
fn features(args: &[&str]) -> BTreeMap<String, BTreeSet<String>> {
    let out = Command::new(env!("CARGO"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["tree", "--offline", "--locked", "--prefix", "none"])
        .args(["--format", "{p} {f}"])
        .args(args)
        .output()
        .expect("running cargo tree");
    assert!(
        out.status.success(),
        "cargo tree {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut words = line.split_whitespace();
        let (Some(name), Some(version)) = (words.next(), words.next()) else {
            continue;
        };
        let feats = map.entry(format!("{name} {version}")).or_default();
        // The third word is the comma-separated feature list; path packages print their
        // directory in parentheses there instead, and a `(*)` marks a repeated node.
        if let Some(f) = words.next().filter(|w| !w.starts_with('(')) {
            feats.extend(f.split(',').map(str::to_string));
        }
    }
    map
}

#[test]
fn cargo_run_resolves_the_features_of_the_workspace_build() {
    let program = features(&["--edges", "normal,build"]);
    let workspace = features(&["--workspace"]);
    assert!(
        program.keys().any(|k| k.starts_with("polars ")),
        "the listing of the program's dependencies has no polars: {:?}",
        program.keys().take(5).collect::<Vec<_>>()
    );
    let missing: Vec<String> = program
        .iter()
        .filter_map(|(pkg, ours)| {
            let extra: Vec<&String> = workspace.get(pkg)?.difference(ours).collect();
            (!extra.is_empty()).then(|| format!("{pkg}: {extra:?}"))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "`cargo run` would build these crates with fewer features than `cargo test \
         --workspace`, so both commands would compile them (and every crate above them); add \
         the features to the feature-unification block of the root Cargo.toml:\n  {}",
        missing.join("\n  ")
    );
}
