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
        "--new-markup-share",
        "--throttle",
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
    assert!(help.contains("SIM_NEW_MARKUP_SHARE") && help.contains("SIM_THROTTLE"));
}

#[test]
fn a_bad_config_is_refused_with_its_position() {
    let config = std::env::temp_dir().join(format!("sim-bad-{}.json", std::process::id()));
    std::fs::write(&config, "{\"categories\": 3}").unwrap();
    let out = sim().args(["truth", "--config"]).arg(&config).output().unwrap();
    assert!(!out.status.success());
    let _ = std::fs::remove_file(config);
}

#[test]
fn serve_answers_and_exits_cleanly_on_sigterm() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = sim()
        .args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--products", "20"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut answered = false;
    for _ in 0..100 {
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::{Read, Write};
            stream.write_all(b"GET /robots.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
            let mut answer = String::new();
            stream.read_to_string(&mut answer).unwrap();
            answered = answer.contains("Disallow: /list/ajax/");
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(answered, "robots.txt served");
    assert!(status.success(), "exit status {status:?}");
}
