//! Core benchmarks (plain harness, no extra dependencies): frame render
//! with 10,000 incidents at 200x60, terminal bytes per selection move and
//! per unchanged redraw, sanitizer throughput. Run with
//! `cargo bench --bench core`; `benches/run` records the results in
//! BENCHMARKS.md. Whole-process figures (start-up, RSS, idle CPU) are
//! measured by `benches/run`.

use chrono::TimeZone;
use ratatui::Terminal;
use ratatui::backend::{CrosstermBackend, TestBackend};
use sitrep::model::*;
use sitrep::text::SafeText;
use sitrep::tui::state::{State, View, demo_state};
use sitrep::tui::ui;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn now() -> Time {
    chrono::Utc
        .with_ymd_and_hms(2026, 11, 22, 3, 4, 5)
        .single()
        .unwrap_or_default()
}

fn state_with(n: usize) -> State {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut s = rt.block_on(demo_state(now()));
    let sevs = Severity::ALL;
    let incidents: Vec<Incident> = (0..n)
        .map(|i| Incident {
            provider: SafeText::line("pd"),
            id: SafeText::line(&format!("Q{i:08}")),
            labels: Default::default(),
            title: SafeText::line(&format!(
                "checkout-{i} error rate above threshold on shard {}",
                i % 97
            )),
            severity: sevs[i % 4],
            status: if i % 3 == 0 {
                IncidentStatus::Acknowledged
            } else {
                IncidentStatus::Triggered
            },
            service: Some(SafeText::line(
                ["checkout", "payments", "auth", "search"][i % 4],
            )),
            created_at: now() - chrono::Duration::seconds(i as i64 * 7),
            url: None,
            assignee: None,
            runbook: None,
        })
        .collect();
    if let Some(slot) = s.store.slots.iter_mut().find(|s| s.name == "pd") {
        slot.data.incidents = incidents;
    }
    s.rebuild();
    s.ui.size = (200, 60);
    s
}

fn stats(mut v: Vec<Duration>) -> (Duration, Duration) {
    v.sort();
    let med = v[v.len() / 2];
    let p95 = v[(v.len() * 95 / 100).min(v.len() - 1)];
    (med, p95)
}

#[derive(Clone, Default)]
struct Counter(Arc<Mutex<usize>>);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut n) = self.0.lock() {
            *n += buf.len();
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn main() {
    // `--frames K [VIEW]`: set up 10,000 incidents at 200x60, draw K frames
    // (a different selection each) and exit. `benches/run` runs it under
    // callgrind with K = 1 and K = 11: the difference / 10 is the
    // instruction count of one frame, without the set-up (the release
    // binary is stripped, so no function filter).
    let args: Vec<String> = std::env::args().collect();
    if let Some(k) = args.iter().position(|a| a == "--frames") {
        let n: usize = args.get(k + 1).and_then(|v| v.parse().ok()).unwrap_or(1);
        let view = match args.get(k + 2).map(String::as_str) {
            Some("dashboard") => View::Dashboard,
            _ => View::Incidents,
        };
        let mut s = state_with(10_000);
        s.ui.view = view;
        let mut term = Terminal::new(TestBackend::new(200, 60)).expect("terminal");
        for i in 0..n {
            s.list_mut(view).selected = (i * 37) % 10_000;
            term.draw(|f| ui::render(f, &s)).expect("draw");
        }
        return;
    }
    // Only run when asked (`cargo test --all-targets` builds benches too).
    if !args.iter().any(|a| a == "--bench") {
        return;
    }
    let mut out = String::new();

    // 1. One frame with 10,000 incidents at 200x60, each view.
    for view in [View::Dashboard, View::Incidents] {
        let mut s = state_with(10_000);
        s.ui.view = view;
        let mut term = Terminal::new(TestBackend::new(200, 60)).expect("terminal");
        let mut times = Vec::new();
        for i in 0..300 {
            s.list_mut(view).selected = (i * 37) % 10_000;
            let t = Instant::now();
            term.draw(|f| ui::render(f, &s)).expect("draw");
            times.push(t.elapsed());
        }
        let (med, p95) = stats(times);
        out.push_str(&format!(
            "| frame, 10,000 incidents, 200x60, {} | {:.3} ms | {:.3} ms |\n",
            view.title(),
            med.as_secs_f64() * 1e3,
            p95.as_secs_f64() * 1e3
        ));
    }

    // 2. Terminal bytes: a selection move, and a redraw with nothing changed.
    {
        let mut s = state_with(10_000);
        s.ui.view = View::Incidents;
        let counter = Counter::default();
        let backend = CrosstermBackend::new(counter.clone());
        let mut term = Terminal::with_options(
            backend,
            ratatui::TerminalOptions {
                viewport: ratatui::Viewport::Fixed(ratatui::layout::Rect::new(0, 0, 200, 60)),
            },
        )
        .expect("terminal");
        term.draw(|f| ui::render(f, &s)).expect("draw");
        let bytes = |c: &Counter| c.0.lock().map(|n| *n).unwrap_or(0);
        let before = bytes(&counter);
        term.draw(|f| ui::render(f, &s)).expect("draw");
        let unchanged = bytes(&counter) - before;
        let before = bytes(&counter);
        s.list_mut(View::Incidents).selected += 1;
        term.draw(|f| ui::render(f, &s)).expect("draw");
        let moved = bytes(&counter) - before;
        out.push_str(&format!(
            "| terminal bytes, selection move (200x60) | {moved} B | |\n"
        ));
        out.push_str(&format!(
            "| terminal bytes, unchanged redraw | {unchanged} B | |\n"
        ));
    }

    // 3. Sanitizer throughput on hostile and clean text.
    {
        let clean = "Checkout error rate above 5% on shard 12 ".repeat(25_000);
        let hostile = "\x1b]0;t\x07ok\x1b[31m\u{9b}1m\u{202e}x ".repeat(50_000);
        for (name, input) in [("clean", &clean), ("hostile", &hostile)] {
            let mut times = Vec::new();
            for _ in 0..20 {
                let t = Instant::now();
                let s = SafeText::block(input);
                std::hint::black_box(s);
                times.push(t.elapsed());
            }
            let (med, _) = stats(times);
            let mb = input.len() as f64 / 1e6;
            out.push_str(&format!(
                "| sanitize {:.1} MB {name} text | {:.2} ms | {:.0} MB/s |\n",
                mb,
                med.as_secs_f64() * 1e3,
                mb / med.as_secs_f64()
            ));
        }
    }
    print!("{out}");
}
