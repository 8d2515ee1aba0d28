//! `crawler-worker capture` against danawa-sim: it writes every answer with its request and a
//! manifest; the directory parses back (`parse --dir`) to the same report; every answer is
//! whole and parses, and what the parsers found matches the sim's ground truth.

mod harness;

use std::process::Command;
use std::time::Duration;

use crawler_worker::capture::{capture, parse_dir, problems, CaptureArgs, Manifest, MANIFEST};
use crawler_worker::complete::AnswerKind;
use crawler_worker::settings::{HttpArgs, RobotsPolicy};
use danawa_sim::{CatalogueParams, FaultConfig};
use test_harness::TempDir;

fn args(config: std::path::PathBuf, category: &str, out: std::path::PathBuf) -> CaptureArgs {
    CaptureArgs {
        config,
        category: category.into(),
        pcode: None,
        out,
        http: HttpArgs {
            proxy: Vec::new(),
            robots: RobotsPolicy::Warn,
            request_delay: Some(Duration::from_millis(5)),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capture_writes_answers_that_parse_back_to_the_same_report() {
    let params = CatalogueParams { seed: 5, categories: 6, products_per_category: 120, max_variants: 3 };
    let sim = harness::start_sim(params, FaultConfig::default()).await;
    let dir = TempDir::new("capture");
    let config_text =
        include_str!("../../danawa-sim/src/default_config.json").replace("https://prod.danawa.com", &sim.origin());
    let config = dir.path().join("scrapConfig.json");
    std::fs::write(&config, config_text).expect("config");

    // hdd: an attribute filter, whose full value the category page gives.
    for category in ["cpu", "hdd"] {
        let out = dir.path().join(category);
        let reports = capture(&args(config.clone(), category, out.clone())).await.expect("capture");
        let kinds: Vec<AnswerKind> = reports.iter().map(|r| r.kind).collect();
        assert_eq!(
            kinds,
            [
                AnswerKind::CategoryPage,
                AnswerKind::ListFragment,
                AnswerKind::ProductPage,
                AnswerKind::SpecTable,
                AnswerKind::ShopList
            ],
            "{category}"
        );
        assert_eq!(problems(&reports), Vec::<String>::new(), "{category}");
        assert_eq!(parse_dir(&out).expect("parses back"), reports, "{category}: the directory reads back the same");

        let manifest: Manifest =
            serde_json::from_str(&std::fs::read_to_string(out.join(MANIFEST)).expect("manifest")).expect("json");
        assert_eq!(manifest.category, category);
        let list = &manifest.answers[1];
        assert_eq!(list.method, "POST");
        assert!(list.form.iter().any(|(k, _)| k == "listCategoryCode"));
        assert!(list.headers_sent.iter().any(|(k, v)| k == "X-Requested-With" && v == "XMLHttpRequest"));
        assert!(list.headers_received.iter().any(|(k, _)| k == "content-type"));
        for answer in &manifest.answers {
            let saved = std::fs::read(out.join(&answer.file)).expect("answer file");
            assert_eq!(saved.len(), answer.bytes, "{}", answer.file);
        }

        // What the parsers found is the truth: the product's vendors and spec fields.
        let pcode = manifest.pcode.clone().expect("a product was captured");
        let config = common::config::ScrapeConfig::load(&config).expect("config");
        let truth = danawa_sim::ground_truth(&sim.state().catalogue, &config);
        let part = truth.iter().find(|p| p.pcode == pcode).expect("the captured pcode is in the truth");
        let shops: crawler_worker::parse::shops::ShopList =
            serde_json::from_value(reports[4].parsed.clone()).expect("shop list");
        assert_eq!(shops.vendors, part.vendors, "{category} {pcode}");
        let spec_fields = reports[3].parsed["details"].as_object().map_or(0, |d| d.len());
        assert!(spec_fields > 0, "{category}: spec fields");
    }

    // The binary prints the same report from the directory.
    let printed = Command::new(env!("CARGO_BIN_EXE_crawler-worker"))
        .args(["parse", "--dir"])
        .arg(dir.path().join("cpu"))
        .output()
        .expect("crawler-worker parse --dir");
    assert!(printed.status.success(), "{}", String::from_utf8_lossy(&printed.stderr));
    let text = String::from_utf8_lossy(&printed.stdout);
    assert!(text.contains("01-category.html (category, HTTP 200)"), "{text}");
    assert!(text.contains("complete: yes"), "{text}");
    sim.shutdown().await;
}

/// Captures an operator made of the real site (`DANAWA_CAPTURES_DIR`: a directory of
/// `crawler-worker capture` directories): every answer whole, HTTP 200 and parsed.
#[test]
#[ignore = "needs DANAWA_CAPTURES_DIR: an operator's captures of the real site"]
fn operator_captures_parse() {
    let root = std::env::var_os("DANAWA_CAPTURES_DIR").expect("DANAWA_CAPTURES_DIR: a directory of captures");
    let mut checked = 0;
    for entry in std::fs::read_dir(&root).expect("DANAWA_CAPTURES_DIR is a directory").flatten() {
        if entry.path().join(MANIFEST).is_file() {
            let reports = parse_dir(&entry.path()).expect("readable capture");
            assert_eq!(problems(&reports), Vec::<String>::new(), "{}", entry.path().display());
            checked += 1;
        }
    }
    assert!(checked > 0, "no capture directory (with {MANIFEST}) in {}", std::path::Path::new(&root).display());
}
