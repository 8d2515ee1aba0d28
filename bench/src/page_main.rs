//! `page-bench`: the monitoring page's latency with 100,000 dead letters and 100 consumers
//! (see `bench::page`); prints a Markdown table, fails over the budget.

use clap::Parser as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = bench::page::PageSettings::parse();
    // The library reports its progress as tracing events, on stderr like the report's errors.
    common::telemetry::init(common::settings::LogFormat::Text);
    println!("{}", bench::page::run(&settings).await?);
    Ok(())
}
