//! Names the commit a binary was built from, for `sitrep --version`:
//! `SITREP_COMMIT` (short hash, `-dirty` with uncommitted changes) and
//! `SITREP_COMMIT_DATE` (the commit's date, so two builds of one commit
//! say the same). Outside a git checkout both are "unknown".

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

fn main() {
    let commit = git(&["rev-parse", "--short=9", "HEAD"]);
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).is_some();
    let date = git(&["log", "-1", "--format=%cs"]);
    let commit = match commit {
        Some(c) if dirty => format!("{c}-dirty"),
        Some(c) => c,
        None => "unknown".into(),
    };
    println!("cargo:rustc-env=SITREP_COMMIT={commit}");
    println!(
        "cargo:rustc-env=SITREP_COMMIT_DATE={}",
        date.as_deref().unwrap_or("unknown")
    );
    // A new commit (or checkout) changes HEAD or the ref it points to.
    for p in [".git/HEAD", ".git/index", ".git/refs/heads"] {
        if std::path::Path::new(p).exists() {
            println!("cargo:rerun-if-changed={p}");
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
