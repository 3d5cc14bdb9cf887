#![no_main]
//! Runbook front matter + markdown over arbitrary text: parsing and every
//! renderer never panic, and what they produce is inert (no control
//! character other than newline/tab, no C1, no bidi override).
use libfuzzer_sys::fuzz_target;
use sitrep::present as render;
use sitrep::runbooks::{Source, parse_runbook};

fn inert(s: &str) -> bool {
    !s.chars().any(|c| {
        (c.is_control() && c != '\n' && c != '\t')
            || ('\u{202a}'..='\u{202e}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c)
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-22T00:00:00Z")
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or_default();
    match parse_runbook(&text, "fuzz.md", Source::Local, "fuzz.md") {
        Ok(rb) => {
            let plain = render::render_plain(&rb, 60, now);
            assert!(inert(&plain));
            let theme = sitrep::theme::Theme::default_theme();
            let t = render::render_runbook(&rb, &theme, 40, now);
            for l in &t.lines {
                for s in &l.spans {
                    assert!(inert(&s.content));
                }
            }
        }
        Err(b) => assert!(inert(b.error.as_str())),
    }
    // The markdown renderer alone, on the whole input.
    let theme = sitrep::theme::Theme::default_theme();
    let t = render::render_markdown(&text, &theme, 50);
    for l in &t.lines {
        for s in &l.spans {
            assert!(inert(&s.content));
        }
    }
});
