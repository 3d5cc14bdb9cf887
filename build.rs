//! Link-time layout of the release binary.
//!
//! The code that runs when sitrep starts (the CLI reads, the console's first
//! frame) is spread across the whole 6 MB of machine code, and the kernel maps
//! 64 KiB around every page it faults in, so a one-shot `sitrep deploys`
//! used to keep most of the binary resident. `link/hot-symbols.order` lists
//! the functions those paths run (made by `scripts/hot-symbols` from
//! callgrind runs of the release binary); the linker places them first and
//! together. A name that no longer exists (a dependency or compiler upgrade
//! renames symbols) is skipped: a stale list costs memory, never correctness.
//!
//! Only where the linker is known to be LLD: release builds for
//! x86_64-unknown-linux-gnu with Rust 1.90 or newer (rust-lld is the default
//! linker there) and no linker chosen in the configuration.
//! `SITREP_LINK_ORDER=0` turns it off; `SITREP_LINK_MAP=PATH` writes the
//! linker's map (what `scripts/hot-symbols` reads).

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=link/hot-symbols.order");
    for var in ["SITREP_LINK_ORDER", "SITREP_LINK_MAP", "RUSTC_LINKER"] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    if !lld_is_the_linker() {
        return;
    }
    if std::env::var("SITREP_LINK_ORDER").as_deref() != Ok("0") {
        let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
        let order = Path::new(&dir).join("link/hot-symbols.order");
        if let Some(order) = order.to_str().filter(|p| usable_in_wl(p))
            && Path::new(order).is_file()
        {
            println!("cargo:rustc-link-arg-bin=sitrep=-Wl,--symbol-ordering-file={order}");
            println!("cargo:rustc-link-arg-bin=sitrep=-Wl,--no-warn-symbol-ordering");
        }
    }
    if let Ok(map) = std::env::var("SITREP_LINK_MAP")
        && usable_in_wl(&map)
    {
        println!("cargo:rustc-link-arg-bin=sitrep=-Wl,-Map={map}");
    }
}

/// A path `-Wl,` can carry: no commas (its separator), no white space.
fn usable_in_wl(path: &str) -> bool {
    !path.is_empty() && !path.contains(',') && !path.contains(char::is_whitespace)
}

fn lld_is_the_linker() -> bool {
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    if var("PROFILE") != "release" || var("TARGET") != "x86_64-unknown-linux-gnu" {
        return false;
    }
    // A linker chosen in the configuration or the flags: not ours to guess.
    if std::env::var_os("RUSTC_LINKER").is_some() || var("CARGO_ENCODED_RUSTFLAGS").contains("link")
    {
        return false;
    }
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let Ok(out) = Command::new(rustc).arg("-vV").output() else {
        return false;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let minor = text
        .lines()
        .find_map(|l| l.strip_prefix("release: "))
        .and_then(|v| {
            let mut parts = v.split('.');
            let major: u32 = parts.next()?.parse().ok()?;
            let minor: u32 = parts.next()?.parse().ok()?;
            (major == 1).then_some(minor)
        });
    // rust-lld became the default linker for this target in Rust 1.90.
    matches!(minor, Some(m) if m >= 90)
}
