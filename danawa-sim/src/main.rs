//! The `danawa-sim` binary: parses flags (the settings are in [`danawa_sim::settings`]) and
//! calls the library (`serve` or `truth`).

use anyhow::Context;
use clap::{Parser, Subcommand};
use danawa_sim::settings::{load_config, ServeArgs, TruthArgs};
use danawa_sim::Catalogue;

/// An offline Danawa with the real markup, a ground truth and fault injection.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the catalogue over HTTP (control endpoints under /_sim/).
    Serve(Box<ServeArgs>),
    /// Print the parts documents a complete run with CONFIG must produce (JSON, sorted by pcode).
    Truth(TruthArgs),
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let config = args.sim_config()?;
    let listener = tokio::net::TcpListener::bind(args.addr).await.with_context(|| format!("binding {}", args.addr))?;
    let sim = danawa_sim::serve(config, listener).await?;
    tracing::info!(origin = %sim.origin(), "danawa-sim serving");
    println!("danawa-sim listening on {}", sim.origin());
    stop_signal().await?;
    sim.shutdown().await;
    Ok(())
}

/// Ctrl-C or SIGTERM (what `kill`, docker and Kubernetes send): both end the server cleanly.
async fn stop_signal() -> anyhow::Result<()> {
    let mut term =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).context("SIGTERM handler")?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result.context("waiting for Ctrl-C")?,
        _ = term.recv() => {}
    }
    Ok(())
}

fn truth(args: TruthArgs) -> anyhow::Result<()> {
    let config = load_config(&args.config)?;
    let catalogue = Catalogue::generate(&args.catalogue.params());
    let parts = danawa_sim::ground_truth(&catalogue, &config);
    println!("{}", serde_json::to_string_pretty(&parts)?);
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve(args) => serve(*args).await,
        Command::Truth(args) => truth(args),
    }
}
