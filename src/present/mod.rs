//! Presentation shared by the CLI and the console: markdown to ratatui
//! lines (and plain text), and runbooks drawn with it. The domain modules
//! (`runbooks`, `model`) know nothing of ratatui; this is where it starts.

pub mod markdown;
pub mod runbook;

pub use markdown::{
    MAX_DEPTH, RenderOptions, lines_to_string, markdown_lines, render_markdown, render_work,
};
pub use runbook::{header_lines, render_plain, render_runbook, render_step, render_walk};
