//! `pipeline-bench`: parses the flags, runs one benchmark setting, prints the report.

use clap::Parser as _;

use bench::settings::Settings;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::parse();
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let report = bench::run(&settings, command).await?;
    if settings.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("{}", report.markdown());
    }
    Ok(())
}
