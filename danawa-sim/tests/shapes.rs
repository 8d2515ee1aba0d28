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
