use clap::Parser;
use sitrep::app::AppContext;
use sitrep::cli::{self, Cli};

fn init_logging(ctx: &AppContext, tui: bool) {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let level = match ctx.opts.verbose {
        0 => LevelFilter::WARN,
        1 => LevelFilter::INFO,
        _ => LevelFilter::DEBUG,
    };
    // `SITREP_LOG`: `target=level` directives, e.g. `sitrep=debug,reqwest=info`
    // (no regex: span and field filters are not supported).
    let filter = std::env::var("SITREP_LOG")
        .ok()
        .and_then(|f| f.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_target("sitrep", level));
    let path = ctx.paths.log_file();
    let file = sitrep::fsutil::open_private_append(&path).ok();
    match file {
        Some(f) => {
            let _ = tracing_subscriber::registry()
                .with(
                    tracing_subscriber::fmt::layer()
                        .with_ansi(false)
                        .with_writer(std::sync::Mutex::new(f)),
                )
                .with(filter)
                .try_init();
        }
        // No log file: the CLI logs to stderr; the TUI logs nowhere rather
        // than onto the screen.
        None if !tui => {
            let _ = tracing_subscriber::registry()
                .with(
                    tracing_subscriber::fmt::layer()
                        .with_ansi(false)
                        .with_writer(std::io::stderr),
                )
                .with(filter)
                .try_init();
        }
        None => {}
    }
}

fn main() {
    let _ = sitrep::tui::hooks::STARTED.set(std::time::Instant::now());
    let args = Cli::parse();
    // Still the only thread: the allocator is set up before any other.
    let threshold = if args.command.is_none() {
        sitrep::mem::CONSOLE_MMAP_THRESHOLD
    } else {
        sitrep::mem::ONE_SHOT_MMAP_THRESHOLD
    };
    let arenas = if args.verifies_audit() {
        sitrep::mem::arenas_for_parallel_work()
    } else {
        1
    };
    sitrep::mem::limit_arenas(threshold, arenas);
    // TLS for every HTTP client: rustls with the ring provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ctx = match AppContext::new(args.global.clone().into()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sitrep: {e}");
            std::process::exit(sitrep::app::exit::USAGE);
        }
    };
    init_logging(&ctx, args.command.is_none());
    // The console keeps two workers (polls, actions and the screen side by
    // side); a one-shot command runs on this thread alone: fewer threads,
    // fewer malloc arenas, no hand-offs between them.
    let built = if args.command.is_none() {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    };
    let rt = match built {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sitrep: cannot start the async runtime: {e}");
            std::process::exit(cli::exit::USAGE);
        }
    };
    let code = rt.block_on(async move {
        match args.command {
            None => sitrep::tui::run(&ctx).await,
            Some(cmd) => cli::run(&ctx, cmd).await,
        }
    });
    rt.shutdown_timeout(std::time::Duration::from_millis(200));
    std::process::exit(code);
}
