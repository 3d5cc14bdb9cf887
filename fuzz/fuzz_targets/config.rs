#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = sitrep::config::parse(&text, std::path::Path::new("fuzz.toml"));
});
