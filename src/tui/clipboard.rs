//! Copy to the terminal's clipboard with OSC 52: our own escape sequence
//! with a base64 payload, so no provider byte reaches the terminal raw.

use base64::Engine as _;
use std::io::Write;

/// The OSC 52 sequence that puts `text` on the clipboard.
pub fn osc52(text: &str) -> String {
    let payload = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    format!("\x1b]52;c;{payload}\x07")
}

pub fn copy(text: &str) {
    let mut out = std::io::stdout();
    let _ = out.write_all(osc52(text).as_bytes());
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    #[test]
    fn payload_is_rfc4648_base64() {
        assert_eq!(super::osc52(""), "\x1b]52;c;\x07");
        assert_eq!(super::osc52("f"), "\x1b]52;c;Zg==\x07");
        assert_eq!(super::osc52("fo"), "\x1b]52;c;Zm8=\x07");
        assert_eq!(super::osc52("foobar"), "\x1b]52;c;Zm9vYmFy\x07");
        // Escape bytes travel encoded, never raw.
        assert!(!super::osc52("\x1b]0;x\x07")[7..].contains('\x1b'));
    }
}
