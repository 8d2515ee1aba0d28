//! What the list endpoint makes of a request's fields: attribute filters by their full checkbox
//! value only (DANAWA.md "Newer evidence": attribute filters need the full checkbox value),
//! makers by bare id, both category templates offering the checkboxes.

mod common;

use common::{checkbox_value, parse_fragment, small, start, RefCrawler};
use scraper::Html;

const LIST: &str = "/list/ajax/getProductList.ajax.php";

/// The pcodes of the first variants on page 1 (listCount 90) for these extra fields.
async fn first_page(crawler: &RefCrawler, cate: u32, extra: &[(&str, &str)]) -> (usize, Vec<String>) {
    let page = crawler.get(&format!("/list/index.php?cate={cate}")).await;
    let referer = format!("{}/list/index.php?cate={cate}", crawler.origin);
    let mut form = RefCrawler::list_form(&page, 1, None);
    form.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    let (total, entries) = parse_fragment(&crawler.post(LIST, &referer, &form).await);
    (total, entries.into_iter().map(|e| e.variants[0].0.clone()).collect())
}

#[tokio::test]
async fn attribute_filters_count_only_with_the_full_checkbox_value() {
    let sim = start(small(4, 200)).await;
    let crawler = RefCrawler::new(sim.origin());
    let board = sim.state().catalogue.by_number(112751).unwrap();
    let unfiltered = first_page(&crawler, 112751, &[]).await;
    assert_eq!(unfiltered.0, 200);
    let page = crawler.get("/list/index.php?cate=112751").await;
    let full = checkbox_value(&page, "searchAttributeValueRep2153").expect("checkbox for 2153");
    assert_eq!(full, "751|3611|2153|OR");
    let want = board.listing(&[], &[2153]).len();
    assert!(want > 0 && want < 200);

    // The full value filters, sent once or twice (Rep and plain, as Danawa's script does).
    for extra in [
        vec![("searchAttributeValue[]", full.as_str())],
        vec![("searchAttributeValueRep[]", full.as_str()), ("searchAttributeValue[]", full.as_str())],
    ] {
        assert_eq!(first_page(&crawler, 112751, &extra).await.0, want, "{extra:?}");
    }
    // A bare id, another form, or another category's full value: ignored, the unfiltered list.
    let memory_page = crawler.get("/list/index.php?cate=112752").await;
    let other = checkbox_value(&memory_page, "searchAttributeValueRep1223").unwrap();
    assert_eq!(other, "752|1205|1223|OR");
    for bad in ["2153", "751|3611|2153", "751|9999|2153|OR", "751|3611|2153|AND", other.as_str()] {
        assert_eq!(first_page(&crawler, 112751, &[("searchAttributeValue[]", bad)]).await, unfiltered, "{bad}");
    }
    // A bare id next to a full value: the full value counts.
    let mixed = [("searchAttributeValue[]", "2154"), ("searchAttributeValue[]", full.as_str())];
    assert_eq!(first_page(&crawler, 112751, &mixed).await.0, want);
    // Makers stay bare ids.
    let asus = board.listing(&[2869], &[]).len();
    assert_eq!(first_page(&crawler, 112751, &[("searchMaker[]", "2869")]).await.0, asus);
    sim.shutdown().await;
}

#[tokio::test]
async fn both_templates_offer_a_checkbox_per_maker_and_attribute_value() {
    let mut config = small(4, 20);
    config.next_share = 1.0;
    let sim = start(config).await;
    let crawler = RefCrawler::new(sim.origin());
    let legacy_sim = start(small(4, 20)).await;
    let legacy = RefCrawler::new(legacy_sim.origin());
    for category in &sim.state().catalogue.categories {
        let d = category.def;
        for crawler in [&crawler, &legacy] {
            let page = crawler.get(&format!("/list/?cate={}", d.number)).await;
            for maker in d.makers {
                let value = checkbox_value(&page, &format!("searchMakerRep{}", maker.code));
                assert_eq!(value, Some(maker.code.to_string()), "{} maker {}", d.name, maker.code);
            }
            let mut offered = 0;
            for group in d.attr_groups {
                for attr in group.values {
                    let value = checkbox_value(&page, &format!("searchAttributeValueRep{}", attr.value));
                    if attr.value == 0 {
                        continue;
                    }
                    offered += 1;
                    assert_eq!(value, Some(format!("{}|{}|{}|OR", d.list_code, group.id, attr.value)));
                    assert!((1000..10_000).contains(&group.id));
                }
            }
            let doc = Html::parse_document(&page);
            let boxes = doc.select(&common::sel("input[type=checkbox][name=searchAttributeValue]")).count();
            assert_eq!(boxes, offered, "{}: one checkbox per value, none for the NONE placeholders", d.name);
        }
        let ids: Vec<u32> = d.attr_groups.iter().map(|g| g.id).collect();
        let mut distinct = ids.clone();
        distinct.dedup();
        assert_eq!(ids, distinct, "group ids differ within {}", d.name);
    }
    sim.shutdown().await;
    legacy_sim.shutdown().await;
}

#[tokio::test]
async fn the_log_records_the_list_form_in_order() {
    let sim = start(small(4, 30)).await;
    let crawler = RefCrawler::new(sim.origin());
    let page = crawler.get("/list/?cate=112747").await;
    let referer = format!("{}/list/?cate=112747", sim.origin());
    let mut form = RefCrawler::list_form(&page, 1, None);
    form.push(("isAssemblyGalleryCategory".into(), "Y".into()));
    form.push(("sMallMinPriceDisplayYN".into(), "undefined".into()));
    form.push(("searchMaker[]".into(), "3156".into()));
    form.push(("searchMaker[]".into(), "3132".into()));
    crawler.post(LIST, &referer, &form).await;
    let log: Vec<serde_json::Value> =
        reqwest::get(format!("{}/_sim/log", sim.origin())).await.unwrap().json().await.unwrap();
    assert_eq!(log.len(), 2);
    assert!(log[0].get("form").is_none(), "only list requests carry their form");
    let logged: Vec<(String, String)> = serde_json::from_value(log[1]["form"].clone()).unwrap();
    assert_eq!(logged, form);
    assert_eq!(log[1]["form"][0], serde_json::json!(["btnAllOptUse", "false"]));
    sim.shutdown().await;
}

#[tokio::test]
async fn inner_search_keyword_drops_names_with_excluded_words() {
    let sim = start(small(4, 400)).await;
    let crawler = RefCrawler::new(sim.origin());
    let cpu = sim.state().catalogue.by_number(112747).unwrap();
    let excluded = |name: &str| name.contains("해외구매") || name.contains("중고");
    let dropped = cpu.products.iter().filter(|p| excluded(&p.list_name())).count();
    assert!(dropped > 0, "the catalogue has CPU names with excluded words");
    let (total, names) = {
        let page = crawler.get("/list/?cate=112747").await;
        let referer = format!("{}/list/?cate=112747", sim.origin());
        let mut form = RefCrawler::list_form(&page, 1, None);
        form.push(("innerSearchKeyword".into(), " -해외구매 -중고".into()));
        let (total, entries) = parse_fragment(&crawler.post(LIST, &referer, &form).await);
        (total, entries.into_iter().map(|e| e.name).collect::<Vec<_>>())
    };
    assert_eq!(total, 400 - dropped);
    assert!(names.iter().all(|n| !excluded(n)), "{names:?}");
    // Plain words do not filter.
    assert_eq!(first_page(&crawler, 112747, &[("innerSearchKeyword", "인텔")]).await.0, 400);
    sim.shutdown().await;
}
