#![no_main]
use libfuzzer_sys::fuzz_target;
use sitrep::text::SafeText;

fuzz_target!(|data: &[u8]| {
    let raw = String::from_utf8_lossy(data);
    for s in [SafeText::line(&raw), SafeText::block(&raw)] {
        // No escape, C1 or bidi code point survives, and sanitizing is idempotent.
        assert!(!s.as_str().chars().any(|c| (c.is_control() && c != '\n' && c != '\t')
            || ('\u{80}'..='\u{9f}').contains(&c)
            || ('\u{202a}'..='\u{202e}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c)));
    }
    let once = SafeText::line(&raw);
    assert_eq!(SafeText::line(once.as_str()), once);
});
