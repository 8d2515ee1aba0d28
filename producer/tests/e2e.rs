//! The whole pipeline as operators run it: producer, two crawler and two updater processes,
//! a real Redis and SecantusDB, danawa-sim. The `parts` collection must equal the sim's ground
//! truth field by field (timestamps excepted) — also while workers are killed and restarted —
//! and a second run over the same catalogue adds exactly one price point per product.

mod pipeline;

use std::time::Duration;

use danawa_sim::{CatalogueParams, SimConfig};
use pipeline::{assert_equals_truth, untimed, wait_exit, Pipeline};
use rand::{Rng, SeedableRng};
use test_harness::Child;

fn catalogue() -> CatalogueParams {
    // 9 categories × 240 entries = 2,160 products; the cooler category's 37 filters overlap.
    CatalogueParams { seed: 21, categories: 9, products_per_category: 240, max_variants: 2 }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_equals_the_ground_truth_and_a_second_run_adds_one_price_point() {
    let pipeline = Pipeline::start(SimConfig { catalogue: catalogue(), ..SimConfig::default() }).await;
    let workers: Vec<Child> =
        (0..2).flat_map(|n| [pipeline.worker("crawler", n), pipeline.worker("updater", n)]).collect();

    assert_eq!(wait_exit(pipeline.run_producer(), Duration::from_secs(900)), 0, "first run completes");
    let first = pipeline.parts().await;
    let truth = pipeline.truth();
    let products: usize = pipeline.sim.state().catalogue.categories.iter().map(|c| c.products.len()).sum();
    assert!(products >= 2000 && truth.len() >= 1000, "{products} products, {} parts expected", truth.len());
    assert_equals_truth(&first, &truth);
    assert!(first.values().all(|p| !p.is_updating), "no part left isUpdating");
    let status = pipeline.status();
    assert_eq!(status["partsInserted"].as_u64(), Some(truth.len() as u64), "every part counted once as inserted");

    assert_eq!(wait_exit(pipeline.run_producer(), Duration::from_secs(900)), 0, "second run completes");
    let second = pipeline.parts().await;
    let status = pipeline.status();
    assert_eq!(status["partsInserted"].as_u64(), Some(0), "the second run inserts nothing");
    assert_eq!(status["partsUpdated"].as_u64(), Some(truth.len() as u64), "and refreshes every part");
    for (pcode, before) in &first {
        let after = &second[pcode];
        let added = after.prices.len() - before.prices.len();
        let priced = truth[pcode].prices.len();
        assert_eq!(added, priced, "{pcode}: one new price point per priced product, none for the others");
        let mut same = untimed(after);
        same.prices.truncate(before.prices.len());
        assert_eq!(same, untimed(before), "{pcode}: nothing else changed");
        assert_eq!(after.created_at, before.created_at, "{pcode}: createdAt kept");
    }
    drop(workers);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_and_restarting_workers_changes_nothing_and_status_always_balances() {
    let pipeline = Pipeline::start(SimConfig { catalogue: catalogue(), ..SimConfig::default() }).await;
    let mut crawlers = vec![pipeline.worker("crawler", 0), pipeline.worker("crawler", 1)];
    let mut updaters = vec![pipeline.worker("updater", 0), pipeline.worker("updater", 1)];
    let mut producer = pipeline.run_producer();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut samples = 0;
    let mut kills = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(900);
    loop {
        if let Some(status) = producer.try_wait() {
            assert_eq!(status.code(), Some(0), "the run completes");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "run did not finish");
        let status = pipeline.status();
        samples += 1;
        assert_eq!(status["balanced"], true, "status balances at every sample: {status}");
        for stream in status["streams"].as_array().into_iter().flatten() {
            assert_eq!(stream["matchesCounters"], true, "stream length = in flight by counters: {stream}");
        }
        if kills < 6 && rng.gen_bool(0.3) {
            // SIGKILL one crawler or one updater mid-work, then start it again under its name.
            let (pool, kind) = if kills % 2 == 0 { (&mut crawlers, "crawler") } else { (&mut updaters, "updater") };
            let victim = rng.gen_range(0..pool.len());
            pool.remove(victim).kill_and_wait();
            pool.insert(victim, pipeline.worker(kind, victim));
            kills += 1;
        }
        tokio::time::sleep(Duration::from_millis(rng.gen_range(100..600))).await;
    }
    assert!(kills >= 2 && samples >= 5, "the test really killed workers ({kills}) and sampled ({samples})");
    let parts = pipeline.parts().await;
    assert_equals_truth(&parts, &pipeline.truth());
    assert!(parts.values().all(|p| !p.is_updating));
    drop((crawlers, updaters));
}
