#![no_main]
//! The config parser over arbitrary text: a config or an error, never a
//! panic; the error names the file and prints inert (a quoted key or value
//! from the file can hold any escape).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Err(e) = sitrep::config::parse(&text, std::path::Path::new("fuzz.toml")) {
        let shown = e.to_string();
        assert!(shown.starts_with("fuzz.toml"), "{shown:?}");
        assert!(
            !shown.chars().any(|c| (c.is_control() && c != '\n' && c != '\t')
                || ('\u{202a}'..='\u{202e}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c)),
            "{shown:?}"
        );
    }
});
