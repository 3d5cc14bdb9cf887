#![no_main]
//! Every provider kind's wire decoders over arbitrary bytes: a value or a
//! `ProviderError`, never a panic; errors carry no raw control character.
use libfuzzer_sys::fuzz_target;
use sitrep::providers::{WIRE_KINDS, decode_wire};

fuzz_target!(|data: &[u8]| {
    for kind in WIRE_KINDS {
        if let Err(e) = decode_wire(*kind, data) {
            let text = e.to_string();
            assert!(!text.chars().any(|c| c.is_control()), "{text:?}");
        }
    }
});
