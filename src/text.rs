//! `SafeText`: every string that comes from outside the program (provider
//! responses, runbooks, config, error bodies) is sanitized once, when it
//! enters, and only `SafeText` reaches the terminal, the JSON output and the
//! logs.
//!
//! Policy (see docs/RELIABILITY.md):
//! - whole escape sequences are removed: CSI (`ESC [` and 8-bit `0x9B`), OSC
//!   (`ESC ]`, `0x9D`, ended by BEL or ST), DCS/SOS/PM/APC (ended by ST) and
//!   two-byte `ESC x`; a sequence left open consumes the rest of that field
//!   only, and sequences are bounded in length;
//! - remaining C0 controls, DEL and C1 controls become visible placeholders
//!   such as `\x1b`, `\x7f`, `\u{9b}`;
//! - bidi controls (U+061C, U+200E/F, U+202A–U+202E, U+2066–U+2069) and
//!   invisible format characters (U+200B–U+200D, U+2060, U+FEFF, tag
//!   characters) are shown as `\u{…}` so they can neither reorder nor hide text;
//! - `\n` and `\t` survive only in multi-line fields (runbooks, notes); in
//!   single-line fields (titles, names) they become a space, so a title stays
//!   readable on one line, while `\r` and every other control is shown;
//! - fields are capped in length.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::sync::Arc;

/// Longest single-line field kept, in bytes.
pub const LINE_CAP: usize = 4 * 1024;
/// Longest multi-line field kept, in bytes (runbooks).
pub const BLOCK_CAP: usize = 1024 * 1024;
const CSI_CAP: usize = 64;
const STRING_SEQ_CAP: usize = 4 * 1024;

/// Text that has been sanitized for display. There is no `From<String>`:
/// the only ways in are [`SafeText::line`], [`SafeText::block`] and
/// [`SafeText::trusted`] (for our own literals).
///
/// Shared, immutable text: a clone is a reference count, not a copy (the
/// console's store and the snapshot on screen hold the same strings).
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SafeText(Arc<str>);

impl SafeText {
    /// Sanitize a single-line field (title, name, id...).
    pub fn line(raw: &str) -> Self {
        if already_clean(raw, Mode::Line, LINE_CAP) {
            return SafeText(Arc::from(raw));
        }
        SafeText(Arc::from(sanitize(raw, Mode::Line, LINE_CAP)))
    }

    /// [`SafeText::line`] of an owned string, kept as is when already clean.
    pub fn line_owned(raw: String) -> Self {
        if already_clean(&raw, Mode::Line, LINE_CAP) {
            return SafeText(Arc::from(raw));
        }
        SafeText(Arc::from(sanitize(&raw, Mode::Line, LINE_CAP)))
    }

    /// Sanitize a multi-line field (runbook body, note). Keeps `\n` and `\t`.
    pub fn block(raw: &str) -> Self {
        if already_clean(raw, Mode::Block, BLOCK_CAP) {
            return SafeText(Arc::from(raw));
        }
        SafeText(Arc::from(sanitize(raw, Mode::Block, BLOCK_CAP)))
    }

    /// Sanitize bytes that may not be UTF-8 (invalid sequences become U+FFFD).
    pub fn line_bytes(raw: &[u8]) -> Self {
        Self::line(&String::from_utf8_lossy(raw))
    }

    /// Our own literal text. Still sanitized, so a mistake cannot leak escapes.
    pub fn trusted(s: &str) -> Self {
        Self::block(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_string(self) -> String {
        self.0.to_string()
    }
}

impl fmt::Display for SafeText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SafeText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl AsRef<str> for SafeText {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Serialize for SafeText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// Deserializing sanitizes (single-line): data read back from the cache or
/// from any file is treated as untrusted again.
impl<'de> Deserialize<'de> for SafeText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // A visitor rather than `String::deserialize`: text the decoder can
        // lend (no escapes) goes straight into the shared string, with no
        // intermediate `String`.
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = SafeText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<SafeText, E> {
                Ok(SafeText::line(v))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<SafeText, E> {
                Ok(SafeText::line_owned(v))
            }
        }
        d.deserialize_str(V)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Line,
    Block,
}

#[derive(Clone, Copy)]
enum State {
    Ground,
    /// After ESC.
    Esc,
    /// Inside CSI; counts bytes.
    Csi(usize),
    /// Inside OSC/DCS/SOS/PM/APC; `esc` = the previous char was ESC (for ST).
    Str {
        len: usize,
        esc: bool,
        osc: bool,
    },
}

fn is_bidi_or_invisible(c: char) -> bool {
    matches!(c,
        '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' |
        '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}' |
        '\u{E0000}'..='\u{E007F}' | '\u{00AD}' | '\u{180E}' | '\u{FFF9}'..='\u{FFFB}')
}

fn push_escaped(out: &mut String, c: char) {
    use std::fmt::Write;
    let v = c as u32;
    if v < 0x80 {
        let _ = write!(out, "\\x{v:02x}");
    } else {
        let _ = write!(out, "\\u{{{v:x}}}");
    }
}

/// The common case, checked byte-wise: printable ASCII (and, in blocks,
/// `\n` / `\t`) within the cap, which `sanitize` returns unchanged.
fn already_clean(raw: &str, mode: Mode, cap: usize) -> bool {
    raw.len() <= cap
        && match mode {
            Mode::Line => raw.bytes().all(|b| (0x20..0x7f).contains(&b)),
            Mode::Block => raw
                .bytes()
                .all(|b| (0x20..0x7f).contains(&b) || b == b'\n' || b == b'\t'),
        }
}

fn sanitize(raw: &str, mode: Mode, cap: usize) -> String {
    let mut out = String::with_capacity(raw.len().min(cap));
    let mut state = State::Ground;
    // Where the output stood before the last character's piece: a piece
    // (a placeholder such as `\u{2066}` is one) that crosses the cap is
    // dropped whole, so the cap never cuts a placeholder in two and a
    // second pass over the output changes nothing.
    let mut mark = 0;
    let mut cut = false;
    for c in raw.chars() {
        if out.len() >= cap {
            cut = true;
            break;
        }
        mark = out.len();
        state = match state {
            State::Ground => match c {
                '\u{1b}' => State::Esc,
                '\u{9b}' => State::Csi(0),
                '\u{9d}' => State::Str {
                    len: 0,
                    esc: false,
                    osc: true,
                },
                '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => State::Str {
                    len: 0,
                    esc: false,
                    osc: false,
                },
                '\n' | '\t' if mode == Mode::Block => {
                    out.push(c);
                    State::Ground
                }
                '\n' | '\t' => {
                    out.push(' ');
                    State::Ground
                }
                c if c.is_control() || is_bidi_or_invisible(c) => {
                    push_escaped(&mut out, c);
                    State::Ground
                }
                c => {
                    out.push(c);
                    State::Ground
                }
            },
            State::Esc => match c {
                '[' => State::Csi(0),
                ']' => State::Str {
                    len: 0,
                    esc: false,
                    osc: true,
                },
                'P' | 'X' | '^' | '_' => State::Str {
                    len: 0,
                    esc: false,
                    osc: false,
                },
                // ESC followed by ESC: the first is dropped, stay in Esc.
                '\u{1b}' => State::Esc,
                // Two-byte sequence (ESC c, ESC 7, ESC ( B's intermediate...): dropped.
                ' '..='/' => State::Csi(CSI_CAP.saturating_sub(2)),
                _ => State::Ground,
            },
            State::Csi(n) => {
                // Final byte 0x40..=0x7E ends it; a control ends it too.
                if ('\u{40}'..='\u{7e}').contains(&c) || n >= CSI_CAP {
                    State::Ground
                } else if c == '\u{1b}' {
                    State::Esc
                } else if c.is_control() {
                    push_escaped(&mut out, c);
                    State::Ground
                } else {
                    State::Csi(n + 1)
                }
            }
            State::Str { len, esc, osc } => {
                let ended = (esc && c == '\\') || (osc && c == '\u{7}') || c == '\u{9c}';
                if ended || len >= STRING_SEQ_CAP {
                    State::Ground
                } else {
                    State::Str {
                        len: len + c.len_utf8(),
                        esc: c == '\u{1b}',
                        osc,
                    }
                }
            }
        };
    }
    if out.len() > cap {
        out.truncate(mark);
        cut = true;
    }
    if cut {
        out.push('…');
    }
    out
}

/// Fit `s` in `width` terminal cells, adding `…` when cut.
pub fn truncate(s: &str, width: usize) -> String {
    use unicode_width::UnicodeWidthChar;
    let total: usize = s
        .chars()
        .map(|c| UnicodeWidthChar::width(c).unwrap_or(0))
        .sum();
    if total <= width {
        return s.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut w = 0;
    for c in s.chars() {
        let cw = UnicodeWidthChar::width(c).unwrap_or(0);
        if w + cw > width.saturating_sub(1) {
            break;
        }
        w += cw;
        out.push(c);
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(s: &str) -> bool {
        !s.chars().any(|c| {
            (c.is_control() && c != '\n' && c != '\t')
                || is_bidi_or_invisible(c)
                || ('\u{80}'..='\u{9f}').contains(&c)
        })
    }

    #[test]
    fn every_control_code_point_is_neutralized() {
        for v in 0u32..=0x9f {
            let Some(c) = char::from_u32(v) else { continue };
            for raw in [c.to_string(), format!("a{c}b"), format!("{c}{c}x")] {
                let l = SafeText::line(&raw);
                assert!(clean(l.as_str()), "U+{v:04X} leaked in line: {:?}", l);
                assert!(!l.as_str().contains('\n') && !l.as_str().contains('\t'));
                let b = SafeText::block(&raw);
                assert!(clean(b.as_str()), "U+{v:04X} leaked in block: {:?}", b);
            }
        }
    }

    #[test]
    fn bidi_and_zero_width_are_visible() {
        for c in [
            '\u{202E}',
            '\u{2066}',
            '\u{2069}',
            '\u{200B}',
            '\u{200D}',
            '\u{FEFF}',
            '\u{061C}',
            '\u{E0041}',
        ] {
            let s = SafeText::line(&format!("ab{c}cd"));
            assert!(clean(s.as_str()), "{c:?} leaked: {s:?}");
            assert!(s.as_str().contains("\\u{"), "{c:?} not shown: {s:?}");
            assert!(s.as_str().starts_with("ab") && s.as_str().ends_with("cd"));
        }
    }

    #[test]
    fn attack_corpus_is_inert_and_text_kept() {
        let cases = [
            ("\x1b]0;pwned\x07Title", "Title"),
            ("\x1b]2;pwned\x1b\\Title", "Title"),
            ("\x1b]52;c;cm0gLXJmIH4=\x07paste", "paste"),
            ("\x1b[2Jclear", "clear"),
            ("\x1b[31mred\x1b[0m", "red"),
            ("\x1b[6nreport", "report"),
            ("\x1bcreset", "reset"),
            ("\x1b[?1049halt", "alt"),
            ("\x1bPq#0;2;0;0;0\x1b\\dcs", "dcs"),
            ("\x1b_apc\x1b\\after", "after"),
            ("\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\", "link"),
            ("\u{9b}31mc1csi", "c1csi"),
            ("\u{9d}0;t\u{9c}c1osc", "c1osc"),
            ("open \x1b]0;never closed", "open "),
            ("trailing esc\x1b", "trailing esc"),
            (
                "Type 'prod-db' to confirm\x1b[1A\x1b[2K",
                "Type 'prod-db' to confirm",
            ),
        ];
        for (raw, want) in cases {
            let s = SafeText::line(raw);
            assert_eq!(s.as_str(), want, "for {raw:?}");
            assert!(clean(s.as_str()));
        }
    }

    #[test]
    fn block_keeps_newlines_line_folds_them() {
        assert_eq!(SafeText::block("a\nb\tc").as_str(), "a\nb\tc");
        assert_eq!(SafeText::line("a\nb\tc").as_str(), "a b c");
        assert_eq!(SafeText::line("a\rb").as_str(), "a\\x0db");
        assert_eq!(SafeText::line("del\x7f").as_str(), "del\\x7f");
    }

    #[test]
    fn length_is_capped() {
        let s = SafeText::line(&"x".repeat(LINE_CAP * 3));
        assert!(s.as_str().len() <= LINE_CAP + 4);
        assert!(s.as_str().ends_with('…'));
    }

    #[test]
    fn the_cap_never_cuts_a_placeholder_in_two() {
        // Found by the `safetext` fuzz target (fuzz/regressions/safetext-cap-placeholder):
        // the placeholder crossing the cap was kept whole, and a second
        // pass (the cache read back) cut it to `\u…`.
        let a = |n: usize| "a".repeat(n);
        for (raw, want) in [
            (
                format!("{}\u{2066}bbb", a(LINE_CAP - 2)),
                format!("{}…", a(LINE_CAP - 2)),
            ),
            (
                format!("{}\u{2066}", a(LINE_CAP - 2)),
                format!("{}…", a(LINE_CAP - 2)),
            ),
            (
                format!("{}\x00\x00", a(LINE_CAP - 5)),
                format!("{}\\x00…", a(LINE_CAP - 5)),
            ),
        ] {
            let once = SafeText::line(&raw);
            assert!(
                once.as_str() == want,
                "{:?}",
                &once.as_str()[LINE_CAP - 8..]
            );
            assert_eq!(SafeText::line(once.as_str()), once);
        }
        let regression = include_bytes!("../fuzz/regressions/safetext-cap-placeholder");
        let once = SafeText::line_bytes(regression);
        assert_eq!(SafeText::line(once.as_str()), once);
    }

    #[test]
    fn serde_roundtrip_resanitizes() {
        let s: SafeText = serde_json::from_str("\"a\\u001b[2Jb\"").unwrap_or_default();
        assert_eq!(s.as_str(), "ab");
    }

    #[test]
    fn truncate_fits_width() {
        assert_eq!(truncate("hello", 10), "hello");
        assert_eq!(truncate("hello world", 6), "hello…");
        assert_eq!(truncate("日本語テキスト", 5), "日本…");
    }

    proptest::proptest! {
        #[test]
        fn idempotent_at_the_cap(pad in (LINE_CAP - 24)..LINE_CAP, tail in "[\\x00-\\x{9f}\\x{2066}a\\n]{0,16}") {
            let raw = format!("{}{tail}", "a".repeat(pad));
            let once = SafeText::line(&raw);
            proptest::prop_assert!(once.as_str().len() <= LINE_CAP + '…'.len_utf8());
            proptest::prop_assert_eq!(SafeText::line(once.as_str()), once.clone());
            let b = sanitize(&raw, Mode::Block, LINE_CAP);
            proptest::prop_assert_eq!(sanitize(&b, Mode::Block, LINE_CAP), b);
        }

        #[test]
        fn sanitize_is_idempotent_and_clean(raw in "\\PC*|[\\x00-\\x{9f}\\x{200b}-\\x{206f}a-z\\[\\]]{0,64}") {
            let once = SafeText::line(&raw);
            proptest::prop_assert!(clean(once.as_str()));
            let twice = SafeText::line(once.as_str());
            proptest::prop_assert_eq!(once.as_str(), twice.as_str());
            let b = SafeText::block(&raw);
            proptest::prop_assert!(clean(b.as_str()));
            let b2 = SafeText::block(b.as_str());
            proptest::prop_assert_eq!(b.as_str(), b2.as_str());
        }

        #[test]
        fn fast_path_agrees_with_the_sanitizer(raw in "[\\x00-\\x{a0}]{0,80}") {
            let (fast, slow) = (SafeText::line(&raw), sanitize(&raw, Mode::Line, LINE_CAP));
            proptest::prop_assert_eq!(fast.as_str(), slow.as_str());
            let (fast, slow) = (SafeText::block(&raw), sanitize(&raw, Mode::Block, BLOCK_CAP));
            proptest::prop_assert_eq!(fast.as_str(), slow.as_str());
        }

        #[test]
        fn printable_text_is_preserved(raw in "[a-zA-Z0-9 .,:;!?'()/_-]{0,200}") {
            let l = SafeText::line(&raw);
            proptest::prop_assert_eq!(l.as_str(), raw.as_str());
        }
    }
}
