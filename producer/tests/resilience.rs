//! The producer survives what operators do to it: killed with SIGKILL and started again it
//! watches the same run; a Redis restart while it waits delays the run but does not end it.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use producer::run::{self, Outcome};
use producer::run_state;
use support::{Crawl, Env, Expected};
use tokio_util::sync::CancellationToken;

fn producer(env: &Env, config: &std::path::Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_producer"))
        .args(["run", "--config"])
        .arg(config)
        .env("REDIS_URL", env.redis.url())
        .env("EK_PROGRESS", "log")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn producer")
}

/// The child's stderr, line by line (newline kept), read on a thread of its own; the
/// channel closes when the child closes its stderr.
fn stderr_lines(child: &mut std::process::Child) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead as _;
    let stderr = child.stderr.take().expect("piped stderr");
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            if send.send(format!("{line}\n")).is_err() {
                return;
            }
        }
    });
    receive
}

async fn wait_for_run(env: &Env) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut conn = env.conn().await;
        if let Some(run) = run_state::read(&mut conn, &env.keys).await.expect("read").0 {
            let counters = support::hgetall(&mut conn, &env.keys.run_counters(&run.id)).await;
            if counters.contains_key("enqueued:list") {
                return run.id;
            }
        }
        assert!(Instant::now() < deadline, "the producer did not start a run");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_producer_killed_mid_run_and_restarted_watches_the_same_run() {
    let env = Env::start();
    let config = env.write_config("config.json", support::CONFIG);
    let mut first = producer(&env, &config);
    let run_id = wait_for_run(&env).await;
    first.kill().expect("SIGKILL");
    first.wait().expect("reap");

    let mut second = producer(&env, &config);
    // Interrupted once it says it resumed (its signal handler is in place by then), not after
    // a guessed delay: a slow start must not turn the SIGINT into a kill before that line.
    let lines = stderr_lines(&mut second);
    let mut stderr = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !stderr.contains("resuming the running run") {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => stderr.push_str(&line),
            Err(_) => panic!("the second producer did not resume the run: {stderr}"),
        }
    }
    // SIGINT: the producer stops watching, the run goes on (exit 130).
    let pid = i32::try_from(second.id()).expect("pid");
    let status = Command::new("kill").args(["-INT", &pid.to_string()]).status().expect("kill -INT");
    assert!(status.success());
    let out = second.wait_with_output().expect("wait");
    stderr.extend(lines.iter());
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("resuming the running run") && stderr.contains(&run_id), "{stderr}");
    assert!(!stderr.contains(env.redis.password()), "no secret in the logs");

    let mut conn = env.conn().await;
    let counters = support::hgetall(&mut conn, &env.keys.run_counters(&run_id)).await;
    assert_eq!(counters.get("enqueued:list").map(String::as_str), Some("5"), "nothing enqueued twice");
    assert_eq!(support::xlen(&mut conn, &env.keys.jobs()).await, 5);
}

#[tokio::test]
async fn a_redis_restart_while_waiting_does_not_end_the_run() {
    let mut env = Env::start();
    let options = support::options(env.write_config("config.json", support::CONFIG));
    let producer = {
        let (pool, keys, options) = (env.pool.clone(), env.keys.clone(), options.clone());
        tokio::spawn(async move { run::run_to_end(&pool, &keys, &options, &CancellationToken::new()).await })
    };
    let run_id = wait_for_run(&env).await;
    env.redis.stop();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!producer.is_finished(), "the producer rides out the outage");
    env.redis.restart();

    let stop = CancellationToken::new();
    let workers =
        support::spawn_workers(env.pool.clone(), env.keys.clone(), Crawl::Succeed, Duration::ZERO, stop.clone());
    let outcome =
        tokio::time::timeout(Duration::from_secs(60), producer).await.expect("finishes").expect("join").expect("run");
    stop.cancel();
    workers.await.expect("workers");
    let Outcome::Finished(summary) = outcome else { panic!("{outcome:?}") };
    assert_eq!(summary.run_id, run_id);
    assert_eq!(summary.list_pages.done, Expected::LIST_PAGES);
    assert_eq!(summary.items.done, Expected::ITEMS);
}
