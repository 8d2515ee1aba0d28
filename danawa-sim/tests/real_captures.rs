//! The sim's product pages against the real captures in `../shared/danawa-pages/`: the same
//! selectors find the same kinds of values in both.

mod common;

use common::{first_text, js_field, sel, shared_dir, small, start};
use danawa_sim::catalogue::Stock;
use scraper::Html;

/// What the crawler reads from a product page, as kinds of values.
#[derive(Debug, PartialEq, Eq)]
struct Shape {
    title: bool,
    made_info_date: bool,
    breadcrumb_cate: bool,
    min_price_numeric: bool,
    shop_rows: bool,
    shop_row_price_numeric: bool,
    shop_row_name: bool,
    shop_row_delivery: bool,
    shop_row_bridge_link: bool,
    json_ld_offer: bool,
    script_objects: bool,
    sold_out_flag: bool,
    spec_summary: bool,
}

fn shape(html: &str, pcode: &str) -> Shape {
    let doc = Html::parse_document(html);
    let rows: Vec<_> = doc.select(&sel("#lowPriceCompanyArea ul.list__mall-price li.list-item")).collect();
    let all_rows = |f: &dyn Fn(scraper::ElementRef<'_>) -> bool| !rows.is_empty() && rows.iter().all(|r| f(*r));
    let numeric = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit() || c == ',');
    let ld = doc
        .select(&sel("script[type=\"application/ld+json\"]"))
        .filter_map(|s| serde_json::from_str::<serde_json::Value>(&s.text().collect::<String>()).ok())
        .find(|v| v["@type"] == "Product");
    Shape {
        title: first_text(&doc, ".top_summary h3.prod_tit span.title").is_some_and(|t| !t.is_empty()),
        made_info_date: first_text(&doc, ".made_info").is_some_and(|t| t.contains("등록월: ") && t.contains("제조사:")),
        breadcrumb_cate: doc
            .select(&sel("[id=\"2DepthCategory\"] .loca_layer li.c_item.now a"))
            .next()
            .and_then(|a| a.value().attr("href"))
            .is_some_and(|h| h.starts_with("/list/?cate=") && h[12..].chars().all(|c| c.is_ascii_digit())),
        min_price_numeric: doc
            .select(&sel(&format!("input#min_price_{pcode}")))
            .next()
            .and_then(|e| e.value().attr("value"))
            .is_some_and(|v| v.parse::<u64>().is_ok()),
        shop_rows: !rows.is_empty(),
        shop_row_price_numeric: all_rows(&|r| {
            r.select(&sel(".sell-price .text__num")).next().is_some_and(|e| numeric(&common::text(e)))
        }),
        shop_row_name: all_rows(&|r| {
            r.select(&sel(".box__logo img")).next().and_then(|i| i.value().attr("alt")).is_some()
                || r.select(&sel("span.text__logo[aria-label]")).next().is_some()
        }),
        shop_row_delivery: all_rows(&|r| {
            r.select(&sel(".box__delivery")).next().is_some_and(|d| {
                let t = common::text(d);
                // `유/무료` (conditional shipping) appears in the sim's rows, per the newer evidence.
                t.contains("무료배송") || t.ends_with('원') || t == "유/무료"
            })
        }),
        shop_row_bridge_link: all_rows(&|r| {
            r.select(&sel("a")).any(|a| {
                a.value().attr("href").is_some_and(|h| {
                    h.contains("loadingBridge.html") && h.contains(&format!("pcode={pcode}")) && h.contains("cmpnyc=")
                })
            })
        }),
        json_ld_offer: ld.is_some_and(|v| {
            v["offers"]["@type"] == "AggregateOffer"
                && v["offers"]["priceCurrency"] == "KRW"
                && v["offers"]["lowPrice"].as_str().is_some_and(|p| p.parse::<u64>().is_ok())
                && v["offers"]["offerCount"].is_string()
        }),
        script_objects: ["var oGlobalSetting", "var oProductDescriptionInfo", "var oPriceCompareSetting"]
            .iter()
            .all(|s| html.contains(s))
            && ["nCategoryCode1", "nCategoryCode2", "nCategoryCode3", "nCategoryCode4", "makerCode", "makerName"]
                .iter()
                .all(|f| js_field(html, f).is_some())
            && ["\"makerName\"", "\"productName\"", "\"prodType\""].iter().all(|f| html.contains(f)),
        sold_out_flag: html.contains("ENP_VAR.collect.soldOut = 'N'") || html.contains("ENP_VAR.collect.soldOut = 'Y'"),
        spec_summary: first_text(&doc, ".spec_list").is_some_and(|t| t.split(" / ").count() >= 3),
    }
}

fn read_capture(name: &str) -> String {
    let path = shared_dir().join("danawa-pages").join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("real capture {} missing ({e}); set SIM_SHARED_DIR", path.display()))
}

fn all_true() -> Shape {
    Shape {
        title: true,
        made_info_date: true,
        breadcrumb_cate: true,
        min_price_numeric: true,
        shop_rows: true,
        shop_row_price_numeric: true,
        shop_row_name: true,
        shop_row_delivery: true,
        shop_row_bridge_link: true,
        json_ld_offer: true,
        script_objects: true,
        sold_out_flag: true,
        spec_summary: true,
    }
}

#[test]
fn the_real_captures_have_every_part_the_crawler_reads() {
    for (file, pcode) in [
        ("danawa_offers_1151074.html", "1151074"),
        ("danawa_offers_1152054.html", "1152054"),
        ("danawa_offers_16559657.html", "16559657"),
    ] {
        assert_eq!(shape(&read_capture(file), pcode), all_true(), "{file}");
    }
}

#[tokio::test]
async fn sim_pages_have_the_same_parts_as_the_real_ones() {
    let sim = start(small(2, 60)).await;
    let catalogue = sim.state().catalogue.clone();
    let mut checked = 0;
    for pcode in catalogue.pcodes() {
        let v = catalogue.find(pcode).unwrap();
        if v.variant.stock != Stock::InStock {
            continue;
        }
        let html = reqwest::get(format!("{}/info/?pcode={pcode}", sim.origin())).await.unwrap().text().await.unwrap();
        assert_eq!(shape(&html, &pcode.to_string()), all_true(), "pcode {pcode}");
        checked += 1;
        if checked == 40 {
            break;
        }
    }
    assert_eq!(checked, 40);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_discontinued_product_gets_the_exact_real_answer() {
    let real = std::fs::read(shared_dir().join("danawa-pages/danawa_expired_31162997.html")).expect("capture");
    let sim = start(small(2, 200)).await;
    let catalogue = sim.state().catalogue.clone();
    let pcode = catalogue
        .pcodes()
        .find(|p| catalogue.find(*p).unwrap().variant.stock == Stock::Discontinued)
        .expect("a discontinued product");
    let served = reqwest::get(format!("{}/info/?pcode={pcode}", sim.origin())).await.unwrap().bytes().await.unwrap();
    assert_eq!(served.as_ref(), real.as_slice());
    let robots = reqwest::get(format!("{}/robots.txt", sim.origin())).await.unwrap().text().await.unwrap();
    for path in ["/info/ajax/", "/list/ajax/", "/api/"] {
        assert!(robots.contains(&format!("Disallow: {path}")));
    }
    sim.shutdown().await;
}
