//! The TUI.

use crate::cli::Ctx;

pub async fn run(_ctx: &Ctx) -> i32 {
    crate::cli::not_available("the console")
}
