//! The binary: `truth` prints what the library computes; `--help` documents every flag.

use std::process::Command;

fn sim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_danawa-sim"))
}

#[test]
fn truth_prints_the_library_truth() {
    let config = std::env::temp_dir().join(format!("sim-config-{}.json", std::process::id()));
    std::fs::write(&config, danawa_sim::truth::DEFAULT_CONFIG).unwrap();
    let out =
        sim().args(["truth", "--config"]).arg(&config).args(["--seed", "9", "--products", "50"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let params = danawa_sim::CatalogueParams { seed: 9, products_per_category: 50, ..Default::default() };
    let catalogue = danawa_sim::Catalogue::generate(&params);
    let truth = danawa_sim::ground_truth(&catalogue, &danawa_sim::default_config().unwrap());
    assert_eq!(printed, serde_json::to_value(truth).unwrap());
    // Flags come from the environment too.
    let env =
        sim().args(["truth", "--config"]).arg(&config).env("SIM_SEED", "9").env("SIM_PRODUCTS", "50").output().unwrap();
    assert_eq!(env.stdout, out.stdout);
    let _ = std::fs::remove_file(config);
}

#[test]
fn help_documents_every_flag() {
    let out = sim().args(["serve", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--addr",
        "--seed",
        "--categories",
        "--products",
        "--max-variants",
        "--next-share",
        "--strict-ajax",
        "--latency",
        "--error-5xx",
        "--status-403",
        "--status-429",
        "--retry-after",
        "--empty-200",
        "--repeat-page",
        "--block-page",
        "--truncate",
        "--slow-body",
        "--reset",
        "--fault-scope",
        "--fault-seed",
        "--log-capacity",
        "--config",
    ] {
        assert!(help.contains(flag), "serve --help lacks {flag}");
    }
    assert!(help.contains("SIM_ADDR") && help.contains("SIM_LATENCY"), "env vars are documented");
}

#[test]
fn a_bad_config_is_refused_with_its_position() {
    let config = std::env::temp_dir().join(format!("sim-bad-{}.json", std::process::id()));
    std::fs::write(&config, "{\"categories\": 3}").unwrap();
    let out = sim().args(["truth", "--config"]).arg(&config).output().unwrap();
    assert!(!out.status.success());
    let _ = std::fs::remove_file(config);
}
