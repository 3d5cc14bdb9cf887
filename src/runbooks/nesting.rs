//! Defusing pathological nesting before pulldown-cmark sees the text
//! (linear, idempotent); the catalog and the renderer both use it.

/// Most list/quote markers honoured at the start of one line.
pub const MAX_LINE_NESTING: usize = 32;

/// pulldown-cmark spends more than linear time on many containers opened
/// on one line (`- - - - … x`). Past [`MAX_LINE_NESTING`] markers on a
/// line, the next marker is backslash-escaped so it reads as text. Lines
/// that nest normally are left alone; the pass is linear and idempotent.
pub fn defuse_nesting(md: &str) -> std::borrow::Cow<'_, str> {
    let mut out: Option<String> = None;
    let mut done = 0;
    let mut line_start = 0;
    let bytes = md.as_bytes();
    while line_start < bytes.len() {
        let line_end = md[line_start..]
            .find('\n')
            .map(|i| line_start + i + 1)
            .unwrap_or(bytes.len());
        let mut i = line_start;
        let mut count = 0;
        let mut cut = None;
        loop {
            while i < line_end && (bytes[i] == b' ' || bytes[i] == b'\t') {
                i += 1;
            }
            if i >= line_end {
                break;
            }
            let marker_at = i;
            let is_marker = match bytes[i] {
                b'>' => {
                    i += 1;
                    true
                }
                b'-' | b'*' | b'+'
                    if i + 1 < line_end && (bytes[i + 1] == b' ' || bytes[i + 1] == b'\t') =>
                {
                    i += 1;
                    true
                }
                b'0'..=b'9' => {
                    let mut j = i;
                    while j < line_end && j - i < 9 && bytes[j].is_ascii_digit() {
                        j += 1;
                    }
                    if j + 1 < line_end
                        && (bytes[j] == b'.' || bytes[j] == b')')
                        && (bytes[j + 1] == b' ' || bytes[j + 1] == b'\t')
                    {
                        i = j + 1;
                        true
                    } else {
                        false
                    }
                }
                _ => false,
            };
            if !is_marker {
                break;
            }
            count += 1;
            if count > MAX_LINE_NESTING {
                // Escape this marker: for an ordered one, its delimiter.
                let at = if bytes[marker_at].is_ascii_digit() {
                    i - 1
                } else {
                    marker_at
                };
                cut = Some(at);
                break;
            }
        }
        if let Some(at) = cut {
            let o = out.get_or_insert_with(|| String::with_capacity(md.len() + 16));
            o.push_str(&md[done..at]);
            o.push('\\');
            done = at;
        }
        line_start = line_end;
    }
    match out {
        None => std::borrow::Cow::Borrowed(md),
        Some(mut o) => {
            o.push_str(&md[done..]);
            std::borrow::Cow::Owned(o)
        }
    }
}
