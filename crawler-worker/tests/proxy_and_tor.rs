//! Traffic through a real SOCKS5 proxy (Debian's microsocks) and new circuits through a real
//! Tor control port (Debian's tor, network disabled: only the control protocol is exercised).

mod harness;

use std::process::Command;
use std::time::Duration;

use common::secret::Secret;
use crawler_worker::tor::{TorAuth, TorControl, TorError};
use danawa_sim::{CatalogueParams, FaultConfig};
use harness::*;
use test_harness::{free_port, Child, RedisServer, TempDir};
use tokio_util::sync::CancellationToken;

/// microsocks on a free port; its outgoing connections leave from 127.0.0.2, so the sim can
/// tell proxied requests from direct ones (which come from 127.0.0.1).
fn start_microsocks(logs: &TempDir) -> (Child, u16) {
    let port = free_port();
    let mut cmd = Command::new("microsocks");
    cmd.args(["-i", "127.0.0.1", "-p", &port.to_string(), "-b", "127.0.0.2"]);
    let child =
        Child::spawn(cmd, &logs.path().join("microsocks.log")).expect("microsocks starts (make setup installs it)");
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return (child, port);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("microsocks did not listen on {port}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_reaches_the_site_through_the_proxy() {
    let logs = TempDir::new("proxy");
    let (_proxy, port) = start_microsocks(&logs);
    let redis = RedisServer::start();
    let pool = pool(&redis);
    let sim = start_sim(
        CatalogueParams { seed: 2, categories: 1, products_per_category: 100, max_variants: 2 },
        FaultConfig::default(),
    )
    .await;
    let config = config_for(&sim, 1);
    let mut jobs = list_jobs(&config);
    jobs.extend(sim.state().catalogue.pcodes().take(5).map(|p| item_job(&config, "cpu", &p.to_string())));
    enqueue(&pool, jobs).await;

    let mut proxied = settings(&redis, "w", 3);
    proxied.http.proxy = vec![format!("socks5h://127.0.0.1:{port}")];
    proxied.worker.environment = crawler_worker::settings::Environment::Production; // checks the handshake at start-up
    let stop = CancellationToken::new();
    let worker = tokio::spawn({
        let stop = stop.clone();
        async move { crawler_worker::run::run_crawler(proxied, stop).await.expect("runs") }
    });
    let counters = wait_jobs_settled(&pool, Duration::from_secs(60)).await;
    stop.cancel();
    worker.await.expect("stops");

    assert_eq!(counters.get("dead:list").copied().unwrap_or(0) + counters.get("dead:item").copied().unwrap_or(0), 0);
    let stats = sim.state().observer.stats();
    assert!(stats.requests >= 7, "{stats:?}");
    let peers: Vec<&String> = stats.peers.keys().collect();
    assert!(
        !peers.is_empty() && peers.iter().all(|p| p.starts_with("127.0.0.2")),
        "every request came from the proxy: {peers:?}"
    );
}

#[tokio::test]
async fn production_mode_checks_the_proxy_handshake() {
    let redis = RedisServer::start();
    let mut settings = settings(&redis, "w", 1);
    settings.worker.environment = crawler_worker::settings::Environment::Production;
    // Redis speaks, but not SOCKS5: the start-up check must refuse it.
    settings.http.proxy = vec![format!("socks5h://127.0.0.1:{}", redis.port())];
    let err = crawler_worker::run::run_crawler(settings, CancellationToken::new()).await.expect_err("not a proxy");
    assert!(err.to_string().contains("proxy check failed"), "{err}");
}

/// Debian's tor with the network disabled, a control port and a hashed password.
fn start_tor(dir: &TempDir, password: &str) -> (Child, u16) {
    let hashed = Command::new("tor")
        .args(["--hash-password", password, "--quiet"])
        .output()
        .expect("tor is installed (make setup)");
    let hashed = String::from_utf8_lossy(&hashed.stdout).lines().last().unwrap_or_default().trim().to_owned();
    assert!(hashed.starts_with("16:"), "tor --hash-password gave {hashed:?}");
    let port = free_port();
    let torrc = dir.path().join("torrc");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    std::fs::write(
        &torrc,
        format!(
            "DisableNetwork 1\nSocksPort 0\nControlPort 127.0.0.1:{port}\nHashedControlPassword {hashed}\nDataDirectory {}\nLog notice stdout\n",
            data.display()
        ),
    )
    .expect("torrc");
    let mut cmd = Command::new("tor");
    cmd.args(["-f", &torrc.display().to_string(), "--ignore-missing-torrc"]);
    let child = Child::spawn(cmd, &dir.path().join("tor.log")).expect("tor starts");
    for _ in 0..500 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return (child, port);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!(
        "tor control port {port} never opened: {}",
        std::fs::read_to_string(dir.path().join("tor.log")).unwrap_or_default()
    );
}

#[tokio::test]
async fn newnym_goes_through_a_real_tor_control_port() {
    let dir = TempDir::new("tor");
    let (_tor, port) = start_tor(&dir, "s3cret \"quoted\"");
    let addr = format!("127.0.0.1:{port}");

    let good = TorControl::new(addr.clone(), TorAuth::Password("s3cret \"quoted\"".parse::<Secret>().expect("secret")));
    assert!(good.new_circuit().await.expect("AUTHENTICATE and SIGNAL NEWNYM answered 250"), "signal sent");
    assert!(!good.new_circuit().await.expect("second ask"), "a second ask within 10 s is coalesced");

    let bad = TorControl::new(addr, TorAuth::Password("wrong".parse::<Secret>().expect("secret")));
    match bad.new_circuit().await {
        Err(TorError::Refused { command: "AUTHENTICATE", reply, .. }) => assert!(reply.starts_with("515"), "{reply}"),
        other => panic!("a wrong password must be refused: {other:?}"),
    }
}
