//! The console on demo data with a fixed clock, drawn to text: what the
//! in-process screen tests share.

use chrono::TimeZone;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use sitrep::tui::state::{State, demo_state};
use sitrep::tui::ui;

/// The demo's fixed clock (2026-11-22 03:04:05 UTC).
pub fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc
        .with_ymd_and_hms(2026, 11, 22, 3, 4, 5)
        .single()
        .unwrap()
}

/// The demo's state at [`now`], outside a runtime.
pub fn state() -> State {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(demo_state(now()))
}

/// One frame of `s` at `w`x`h`, a line per row.
pub fn text(s: &mut State, w: u16, h: u16) -> String {
    s.ui.size = (w, h);
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| ui::render(f, s)).unwrap();
    let buf = term.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}
