//! The markup shapes of DANAWA.md's "Newer evidence" that `--new-markup-share` mixes in: each
//! appears at share 1, none at share 0, both kinds at the default 0.5.

mod common;

use common::{parse_fragment, sel, small, start, text, RefCrawler};
use danawa_sim::catalogue::Stock;
use scraper::Html;

const LIST: &str = "/list/ajax/getProductList.ajax.php";

/// Every list page (listCount 90) of the unfiltered memory and CPU listings.
async fn list_pages(share: f64) -> (String, danawa_sim::SimHandle) {
    let mut config = small(8, 180);
    config.new_markup_share = share;
    let sim = start(config).await;
    let crawler = RefCrawler::new(sim.origin());
    let mut pages = Vec::new();
    for cate in [112752, 112747] {
        let page = crawler.get(&format!("/list/?cate={cate}")).await;
        let referer = format!("{}/list/?cate={cate}", sim.origin());
        for p in 1..=2 {
            pages.push(crawler.post(LIST, &referer, &RefCrawler::list_form(&page, p, None)).await);
        }
    }
    (pages.join("\n"), sim)
}

#[derive(Debug, Default, PartialEq, Eq)]
struct ListShapes {
    span_tags: usize,
    bare_tags: usize,
    single_top5: usize,
    extra_top5: usize,
}

fn list_shapes(html: &str) -> ListShapes {
    let doc = Html::parse_fragment(html);
    let mut shapes = ListShapes::default();
    for memory in doc.select(&sel("li[id^=productInfoDetail_] p.memory_sect")) {
        if memory.select(&sel("span.text")).next().is_some() {
            shapes.span_tags += 1;
        } else if memory.children().any(|n| n.value().as_text().is_some_and(|t| !t.trim().is_empty())) {
            shapes.bare_tags += 1;
        }
    }
    for item in doc.select(&sel("li.prod_item")) {
        let top5 = item.select(&sel("div.prod_pricelist.prod_top5")).next().is_some();
        let normal = item.select(&sel("div.prod_pricelist:not(.prod_top5)")).next().is_some();
        match (top5, normal) {
            (true, false) => shapes.single_top5 += 1,
            (true, true) => shapes.extra_top5 += 1,
            _ => {}
        }
    }
    shapes
}

#[tokio::test]
async fn list_entries_take_both_shapes() {
    for share in [0.0, 0.5, 1.0] {
        let (html, sim) = list_pages(share).await;
        let s = list_shapes(&html);
        match share {
            0.0 => assert!(s.bare_tags == 0 && s.single_top5 == 0 && s.span_tags > 0 && s.extra_top5 > 0, "{s:?}"),
            1.0 => assert!(s.span_tags == 0 && s.extra_top5 == 0 && s.bare_tags > 0 && s.single_top5 > 0, "{s:?}"),
            _ => assert!(s.span_tags > 0 && s.bare_tags > 0 && s.single_top5 > 0 && s.extra_top5 > 0, "{s:?}"),
        }
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn a_one_pcode_top5_entry_lists_malls_and_its_first_price_is_the_list_price() {
    let (html, sim) = list_pages(1.0).await;
    let catalogue = sim.state().catalogue.clone();
    let doc = Html::parse_fragment(&html);
    let mut checked = 0;
    for item in doc.select(&sel("li.prod_item")) {
        let Some(list) = item.select(&sel("div.prod_pricelist.prod_top5")).next() else { continue };
        assert!(item.select(&sel("li[id^=productInfoDetail_], p.price_sect")).next().is_none());
        let pcode: u32 = item.value().id().unwrap().trim_start_matches(char::is_alphabetic).parse().unwrap();
        let v = catalogue.find(pcode).unwrap();
        assert_eq!((v.product.variants.len(), v.variant.stock), (1, Stock::InStock));
        let rows: Vec<_> = list.select(&sel("ul > li > a")).collect();
        assert!(!rows.is_empty());
        for row in &rows {
            assert!(row.value().attr("href").unwrap().contains(&format!("&pcode={pcode}&")));
            let mall = row.select(&sel("div")).next().unwrap();
            assert!(mall.value().attr("class").unwrap().ends_with("mall") && !text(mall).is_empty());
        }
        let first = text(rows[0].select(&sel("div > em")).next().unwrap());
        assert_eq!(first.replace(',', "").parse::<u32>().unwrap(), v.variant.price);
        checked += 1;
    }
    assert!(checked > 5, "{checked} one-pcode entries");
    // The reference parser reads them as one untagged, priced variant.
    let (_, entries) = parse_fragment(&html);
    assert!(entries.iter().all(|e| !e.variants.is_empty()));
    sim.shutdown().await;
}

#[tokio::test]
async fn spec_tables_come_with_and_without_cell_classes() {
    let sim = start(small(8, 60)).await;
    let crawler = RefCrawler::new(sim.origin());
    let referer = format!("{}/info/", sim.origin());
    let (mut classed, mut classless) = (0, 0);
    let pcodes: Vec<u32> = sim.state().catalogue.pcodes().step_by(7).take(60).collect();
    for pcode in pcodes {
        let form = vec![("pcode".to_owned(), pcode.to_string())];
        let html = crawler.post("/info/ajax/getProductDescription.ajax.php", &referer, &form).await;
        if html.is_empty() {
            continue; // discontinued
        }
        let doc = Html::parse_fragment(&html);
        let ths = doc.select(&sel("table.spec_tbl th")).count();
        let tits = doc.select(&sel("table.spec_tbl th.tit")).count();
        let dscs = doc.select(&sel("table.spec_tbl td.dsc")).count();
        match (tits, dscs) {
            (0, 0) => classless += 1,
            (t, _) if t == ths => classed += 1,
            other => panic!("mixed classes {other:?} in pcode {pcode}"),
        }
        assert!(!common::parse_spec(&html).is_empty(), "pcode {pcode}");
    }
    assert!(classed > 10 && classless > 10, "{classed} with classes, {classless} without");
    sim.shutdown().await;
}

/// Both shop-list shapes parse to the truth's vendors; the new shape has the 2025–26 selectors,
/// card rows show a higher plain price, `유/무료` rows are stored with a null shipping cost, and
/// some answers carry group containers outside the four known lists, priced no lower than the
/// variant's lowest price and absent from the truth.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shop_lists_in_both_shapes_give_the_truth_vendors() {
    let sim = start(small(8, 60)).await;
    let crawler = RefCrawler::new(sim.origin());
    let config = danawa_sim::default_config().unwrap();
    let truth = danawa_sim::ground_truth(&sim.state().catalogue, &config);
    let mut seen = std::collections::BTreeMap::<&str, usize>::new();
    for part in truth.iter().filter(|p| !p.vendors.open_market.is_empty()) {
        let referer = format!("{}/info/?pcode={}", sim.origin(), part.pcode);
        let form = vec![("pcode".to_owned(), part.pcode.clone())];
        let html = crawler.post("/info/ajax/getAllPriceCompareMallList.ajax.php", &referer, &form).await;
        assert_eq!(
            serde_json::to_value(common::parse_malls(&html)).unwrap(),
            serde_json::to_value(&part.vendors).unwrap(),
            "pcode {}",
            part.pcode
        );
        let all: Vec<_> = [&part.vendors.open_market, &part.vendors.mall, &part.vendors.credit, &part.vendors.cash]
            .into_iter()
            .flatten()
            .collect();
        let lowest = all.iter().map(|v| v.price).min().unwrap();
        if all.iter().any(|v| v.shipping_cost.is_none()) {
            *seen.entry("conditional shipping").or_insert(0) += 1;
            assert!(html.contains("유/무료"));
        }
        let doc = Html::parse_fragment(&html);
        if html.starts_with("<div class=\"diff_wrap\">") {
            *seen.entry("classic").or_insert(0) += 1;
            assert!(common::unknown_groups(&html).is_empty());
            continue;
        }
        *seen.entry("defaultMallList").or_insert(0) += 1;
        assert!(html.starts_with("<div id=\"defaultMallList\""));
        let rows = doc.select(&sel("#defaultMallList div.diff_item[data-linkProduct] > div.diff_box")).count();
        assert!(rows >= all.len());
        for item in doc.select(&sel("div.diff_item")) {
            let mall = sel(".d_mall a.priceCompareBuyLink img[alt], .d_mall a.priceCompareBuyLink span.txt_logo");
            assert_eq!(item.select(&mall).count(), 1);
            assert!(item.select(&sel(".d_buy > a.priceCompareBuyLink")).next().is_some());
            let ship = item.select(&sel(".d_dsc .prc_line span.ship")).next().map(text).unwrap();
            assert!(["(무료배송)", "유/무료"].contains(&ship.as_str()) || ship.starts_with("(배송비 "), "{ship}");
            let plain = item.select(&sel(".d_dsc .prc_line span.price.lowest em.prc_c")).next().map(text);
            if let Some(card) = item.select(&sel(".card_line .card_prc em")).next().map(text) {
                *seen.entry("card row").or_insert(0) += 1;
                let n = |s: &str| s.replace(',', "").parse::<i64>().unwrap();
                assert!(n(&plain.unwrap()) > n(&card), "the card price is the lower one");
                assert!(item.select(&sel(".card_line span.txt")).next().is_some());
            }
        }
        for id in common::unknown_groups(&html) {
            *seen.entry("unknown group").or_insert(0) += 1;
            assert!(["OverseasShoppingMallListDiv", "GeneralAffiliateMallListDiv"].contains(&id.as_str()));
            let prices: Vec<i64> = doc
                .select(&sel(&format!("#{id} div.diff_item .prc_line em.prc_c")))
                .map(|e| text(e).replace(',', "").parse().unwrap())
                .collect();
            assert!(!prices.is_empty() && prices.iter().all(|&p| p >= lowest), "{id}: {prices:?} vs {lowest}");
        }
    }
    eprintln!("{seen:?}");
    for kind in ["classic", "defaultMallList", "conditional shipping", "card row", "unknown group"] {
        assert!(seen.get(kind).is_some_and(|n| *n > 0), "no {kind} in {seen:?}");
    }
    assert!(truth.iter().flat_map(|p| &p.vendors.open_market).any(|v| v.shipping_cost.is_none()));
    sim.shutdown().await;
}
