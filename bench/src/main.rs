//! `pipeline-bench`: parses the flags, runs one benchmark setting, prints the report.

use clap::Parser as _;

use bench::settings::Settings;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::parse();
    // The library reports its progress as tracing events, on stderr like the report's errors.
    common::telemetry::init(common::settings::LogFormat::Text);
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let report = bench::run(&settings, command).await?;
    if settings.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("{}", report.markdown());
    }
    Ok(())
}
