//! The same seed gives the same bytes, on every endpoint; another seed gives others.

mod common;

use common::{small, start, RefCrawler};

async fn snapshot(seed: u64) -> Vec<String> {
    let sim = start(small(seed, 120)).await;
    let crawler = RefCrawler::new(sim.origin());
    let mut out = Vec::new();
    let page = crawler.get("/list/index.php?cate=11236855").await;
    out.push(page.clone());
    let referer = format!("{}/list/?cate=11236855", sim.origin());
    for p in 1..=2 {
        let form = RefCrawler::list_form(&page, p, None);
        out.push(crawler.post("/list/ajax/getProductList.ajax.php", &referer, &form).await);
    }
    let pcodes: Vec<u32> = sim.state().catalogue.pcodes().step_by(97).take(12).collect();
    for pcode in pcodes {
        out.push(crawler.get(&format!("/info/?pcode={pcode}")).await);
        let form = vec![("pcode".to_owned(), pcode.to_string())];
        out.push(crawler.post("/info/ajax/getProductDescription.ajax.php", &referer, &form).await);
        out.push(crawler.post("/info/ajax/getAllPriceCompareMallList.ajax.php", &referer, &form).await);
    }
    out.push(crawler.get("/_sim/truth").await);
    sim.shutdown().await;
    out
}

#[tokio::test]
async fn same_seed_same_bytes() {
    let a = snapshot(42).await;
    let b = snapshot(42).await;
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert!(x == y, "answer {i} differs between two sims with seed 42");
    }
    assert!(a.iter().all(|s| !s.is_empty()));
}

#[tokio::test]
async fn another_seed_other_bytes() {
    let a = snapshot(42).await;
    let c = snapshot(43).await;
    assert_ne!(a[1], c[1], "list fragments differ across seeds");
    assert_ne!(a.last(), c.last(), "truths differ across seeds");
}

#[test]
fn the_catalogue_has_every_case_the_crawler_must_handle() {
    use danawa_sim::catalogue::Stock;
    let catalogue = danawa_sim::Catalogue::generate(&danawa_sim::CatalogueParams::default());
    let variants: Vec<_> = catalogue.pcodes().filter_map(|p| catalogue.find(p)).collect();
    let has = |f: &dyn Fn(&danawa_sim::catalogue::VariantRef<'_>) -> bool| variants.iter().any(f);
    assert!(has(&|v| v.variant.hidden), "hidden variants");
    assert!(has(&|v| matches!(v.variant.stock, Stock::NoPrice(_))), "no-price texts");
    assert!(has(&|v| v.variant.stock == Stock::Discontinued), "discontinued");
    assert!(has(&|v| v.variant.stock == Stock::NoShops), "no shops");
    assert!(has(&|v| v.variant.stock == Stock::LowPriceOnly), "JSON-LD price only");
    assert!(has(&|v| v.product.year < 2018) && has(&|v| v.product.year >= 2018), "years on both sides of 2018");
    assert!(
        has(&|v| v.product.base_name.contains("중고") || v.product.base_name.contains("채굴")),
        "ignore words in names"
    );
    assert!(has(&|v| v.variant.tag.as_deref() == Some("해외구매")), "ignore words in CPU tags");
    assert!(has(&|v| v.product.code_name.is_some()), "CPU code names");
}

/// The same fault seed gives the same truncations for the same request sequence (one
/// connection, requests in order); another fault seed gives others.
#[tokio::test]
async fn a_fault_seed_reproduces_the_cuts() {
    async fn cuts(fault_seed: u64) -> Vec<Option<usize>> {
        let mut config = small(42, 60);
        config.fault_seed = fault_seed;
        config.faults = danawa_sim::FaultConfig { truncate: 0.6, ..Default::default() };
        let sim = start(config).await;
        let client = reqwest::Client::new();
        let mut out = Vec::new();
        for pcode in sim.state().catalogue.pcodes().step_by(5).take(40) {
            let url = format!("{}/info/?pcode={pcode}", sim.origin());
            let response = client.get(&url).send().await.expect("headers");
            out.push(response.text().await.ok().map(|body| body.len()));
        }
        sim.shutdown().await;
        out
    }
    let a = cuts(3).await;
    assert_eq!(a, cuts(3).await);
    assert_ne!(a, cuts(4).await);
    assert!(a.iter().any(Option::is_none) && a.iter().any(Option::is_some));
}
