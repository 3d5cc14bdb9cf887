#![no_main]
//! The audit reader/verifier over arbitrary bytes: never panics, and its
//! verdict is deterministic. A log that verifies must also survive the
//! reader (`audit` lists what `audit verify` accepted).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let first = sitrep::audit::verify_reader(data);
    let second = sitrep::audit::verify_reader(data);
    assert_eq!(first.is_ok(), second.is_ok());
    if first.is_ok() && !data.is_empty() {
        let dir = std::env::temp_dir().join(format!("sitrep-fuzz-audit-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("audit.jsonl");
        if std::fs::write(&path, data).is_ok() {
            assert!(sitrep::audit::read(&path).is_ok());
        }
    }
});
