//! Link-time layout of the release binary.
//!
//! The code that runs when sitrep starts (the CLI reads, the console's first
//! frame) is spread across the whole 6 MB of machine code, and the kernel maps
//! 64 KiB around every page it faults in, so a one-shot `sitrep deploys`
//! used to keep most of the binary resident. `link/hot-symbols.order` lists
//! the functions those paths run (made by `scripts/hot-symbols` from
//! callgrind runs of the release binary); a partial linker script made from
//! it gathers them, in that order, into one output section in front of the
//! rest of the code. A name that no longer exists (a dependency or compiler
//! upgrade renames symbols) matches nothing: a stale list costs memory,
//! never correctness.
//!
//! Only where the linker is known to be LLD: release builds for
//! x86_64-unknown-linux-gnu with Rust 1.90 or newer (rust-lld is the default
//! linker there) and no linker chosen in the configuration.
//! `SITREP_LINK_ORDER=0` turns it off; `SITREP_LINK_MAP=PATH` writes the
//! linker's map (what `scripts/hot-symbols` and `benches/run` read).

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
        let out = Path::new(&std::env::var("OUT_DIR").unwrap_or_default()).join("hot.ld");
        if let Ok(names) = std::fs::read_to_string(&order)
            && let Some(script) = out.to_str().filter(|p| usable_in_wl(p))
            && std::fs::write(&out, linker_script(&names)).is_ok()
        {
            println!("cargo:rustc-link-arg-bin=sitrep=-Wl,-T,{script}");
        }
    }
    if let Ok(map) = std::env::var("SITREP_LINK_MAP")
        && usable_in_wl(&map)
    {
        println!("cargo:rustc-link-arg-bin=sitrep=-Wl,-Map={map}");
    }
}

/// A partial linker script (`INSERT BEFORE .text`: the default layout
/// stays) that gathers the listed functions, in the listed order, into an
/// output section of their own in front of the rest of the code. A name
/// ThinLTO gave a `.llvm.<hash>` suffix matches any such suffix: the hash
/// is of its codegen unit and changes with any edit there, while the name
/// before it (with its own hash of the item's path and type) does not.
fn linker_script(names: &str) -> String {
    let mut s = String::from("SECTIONS\n{\n  .text.sitrep_hot :\n  {\n");
    for name in names.lines().map(str::trim) {
        // Section patterns are globs: skip anything that is not a plain
        // symbol name (none are, from scripts/hot-symbols).
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_$.".contains(c))
        {
            continue;
        }
        let pattern = match name.find(".llvm.") {
            Some(i) => format!("{}.llvm.*", &name[..i]),
            None => name.to_string(),
        };
        s.push_str(&format!(
            "    *(.text.{pattern} .text.unlikely.{pattern} .text.hot.{pattern})\n"
        ));
    }
    s.push_str("  }\n}\nINSERT BEFORE .text;\n");
    s
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
