//! The product page (`/info/?pcode=N`): title, breadcrumb category, registration, maker,
//! prices, sold-out flag, spec summary, the short low-price shop list, and the script values the
//! spec and shop-list requests need. The "service ended" answer is a typed outcome.

use common::config::RegistrationDate;
use scraper::{ElementRef, Html};
use serde::Serialize;

use super::script::{find_object, find_value};
use super::{collapse_whitespace, non_empty, parse_amount, selector, text_of, ParseError};

/// The current breadcrumb item (the id starts with a digit, so `#2DepthCategory` is not CSS).
const BREADCRUMB: &str = "[id=\"2DepthCategory\"] .loca_layer li.c_item.now a[href]";

/// The text of the alert Danawa answers with for a product it no longer compares.
const DISCONTINUED_TEXT: &str = "가격비교 서비스가 종료된 상품";

/// What a product-page answer turned out to be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "outcome")]
pub enum ProductAnswer {
    Product(Box<ProductPage>),
    /// "가격비교 서비스가 종료된 상품입니다.": no longer sold; not a block, not an error.
    Discontinued,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductPage {
    /// `oGlobalSetting.nProductCode`, else the suffix of `input#min_price_{pcode}`.
    pub pcode: Option<String>,
    /// `.top_summary h3.prod_tit span.title`.
    pub title: String,
    /// Danawa's category number from the breadcrumb (`a[href="/list/?cate=N"]` of the current
    /// item), else `oGlobalSetting.nCategoryCode`.
    pub category_number: String,
    /// `.made_info` `등록월: 2022.04.`
    pub registered: Option<RegistrationDate>,
    /// `.made_info` `제조사: …`
    pub maker: Option<String>,
    /// `input#min_price_{pcode}[value]`; `None` when absent or 0.
    pub min_price: Option<i64>,
    /// `offers.lowPrice` of the JSON-LD `Product`; `None` when absent or 0.
    pub json_ld_low_price: Option<i64>,
    /// `ENP_VAR.collect.soldOut = 'Y'`, or the older `.summary_left .lowest_area .no_data`.
    pub sold_out: bool,
    /// First item of the spec summary `.spec_list` (items separated by " / ").
    pub spec_summary_first: Option<String>,
    /// What the spec and shop-list requests send.
    pub description: DescriptionParams,
    /// `#lowPriceCompanyArea ul.list__mall-price li.list-item`: the ~10 cheapest shops.
    pub low_price_shops: Vec<LowPriceShop>,
}

/// The values the spec (`getProductDescription.ajax.php`) and shop-list requests send, from
/// `oGlobalSetting` and `oProductDescriptionInfo`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescriptionParams {
    /// `nCategoryCode1..4` → `cate1..4`.
    pub cate: [String; 4],
    /// `oProductDescriptionInfo.makerName` (else `oGlobalSetting.makerName`).
    pub maker_name: String,
    /// `oProductDescriptionInfo.productName`.
    pub product_name: String,
    /// `oProductDescriptionInfo.prodType`.
    pub prod_type: String,
}

/// One row of the product page's low-price shop list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LowPriceShop {
    /// Logo `alt`, or `span.text__logo[aria-label]`.
    pub vendor_name: String,
    /// `cmpnyc=` of the bridge link.
    pub vendor_code: Option<String>,
    /// `.icon__npay` present.
    pub npay: bool,
    /// `.sell-price .text__num`.
    pub price: i64,
    /// `.box__delivery`: `무료배송` = 0, `3,000원` = 3000.
    pub shipping_cost: i64,
    /// The `loadingBridge.html` link.
    pub url: String,
}

/// Reads a product-page answer.
///
/// # Errors
/// [`ParseError::Missing`] naming the selector of a part every product page has: the title,
/// the breadcrumb category, or a `cate1..4` value of `oGlobalSetting`.
pub fn parse_product(html: &str) -> Result<ProductAnswer, ParseError> {
    if is_discontinued(html) {
        return Ok(ProductAnswer::Discontinued);
    }
    let document = Html::parse_document(html);
    let global = find_object(html, "oGlobalSetting").unwrap_or_default();
    let title = document
        .select(selector!(".top_summary h3.prod_tit span.title"))
        .next()
        .map(text_of)
        .and_then(non_empty)
        .ok_or(ParseError::Missing { selector: ".top_summary h3.prod_tit span.title" })?;
    let category_number = breadcrumb_category(&document)
        .or_else(|| global.get_non_empty("nCategoryCode").map(|c| c.trim().to_owned()))
        .ok_or(ParseError::Missing { selector: BREADCRUMB })?;
    let (registered, maker) = made_info(&document);
    let min_price_input = document.select(selector!(r#"input[id^="min_price_"]"#)).next();
    let pcode = global
        .get_non_empty("nProductCode")
        .map(|p| p.trim().to_owned())
        .or_else(|| min_price_input.and_then(|i| i.value().id()?.strip_prefix("min_price_").map(str::to_owned)));
    Ok(ProductAnswer::Product(Box::new(ProductPage {
        pcode,
        title,
        category_number,
        registered,
        maker,
        min_price: min_price_input.and_then(|i| parse_amount(i.value().attr("value")?)).filter(|p| *p > 0),
        json_ld_low_price: json_ld_low_price(&document),
        sold_out: is_sold_out(html, &document),
        spec_summary_first: spec_summary_first(&document),
        description: description_params(html, &global)?,
        low_price_shops: low_price_shops(&document),
    })))
}

/// The short alert page (`alert("가격비교 서비스가 종료된 상품입니다.")`).
pub fn is_discontinued(html: &str) -> bool {
    html.contains(DISCONTINUED_TEXT) && html.contains("alert(")
}

/// The current breadcrumb item that links to a category list (`/list/?cate=N`); other current
/// items of the menu (group tabs) carry no such link.
fn breadcrumb_category(document: &Html) -> Option<String> {
    document.select(selector!("[id=\"2DepthCategory\"] .loca_layer li.c_item.now a[href]")).find_map(|a| {
        let href = a.value().attr("href")?;
        let query = href.split_once('?')?.1;
        let cate = query.split('&').find_map(|pair| pair.strip_prefix("cate="))?;
        (!cate.is_empty() && cate.bytes().all(|b| b.is_ascii_digit())).then(|| cate.to_owned())
    })
}

/// `등록월: 2022.04.` and `제조사: APPLE` from the `.made_info` spans.
fn made_info(document: &Html) -> (Option<RegistrationDate>, Option<String>) {
    let mut parts: Vec<String> = document.select(selector!(".made_info span.txt")).map(text_of).collect();
    if parts.is_empty() {
        // Without the spans, the line is one text: `등록월: 2005.01. ㅣ 제조사: …`.
        let line = document.select(selector!(".made_info")).next().map(text_of).unwrap_or_default();
        parts = line.split('ㅣ').map(|part| part.trim().to_owned()).collect();
    }
    let mut registered = None;
    let mut maker = None;
    for text in parts {
        if let Some(value) = text.strip_prefix("등록월:") {
            registered = registered.or_else(|| RegistrationDate::parse(value));
        } else if let Some(value) = text.strip_prefix("제조사:") {
            maker = maker.or_else(|| non_empty(value.trim().to_owned()));
        }
    }
    (registered, maker)
}

fn is_sold_out(html: &str, document: &Html) -> bool {
    let flagged = find_value(html, "ENP_VAR.collect.soldOut").is_some_and(|v| v.trim() == "Y");
    flagged || document.select(selector!(".summary_left .lowest_area .no_data")).next().is_some()
}

/// `offers.lowPrice` of the first JSON-LD `Product`. The values are strings on Danawa, but a
/// number is accepted too; a block that is not valid JSON is passed over.
fn json_ld_low_price(document: &Html) -> Option<i64> {
    document.select(selector!(r#"script[type="application/ld+json"]"#)).find_map(|script| {
        let text: String = script.text().collect();
        let value: serde_json::Value = serde_json::from_str(&text).ok()?;
        let products = match value {
            serde_json::Value::Array(items) => items,
            single => vec![single],
        };
        products.iter().filter(|p| p.get("@type").and_then(|t| t.as_str()) == Some("Product")).find_map(|p| {
            let low = p.get("offers")?.get("lowPrice")?;
            let price = match low {
                serde_json::Value::String(text) => parse_amount(text),
                serde_json::Value::Number(number) => number.as_f64().map(|f| f as i64),
                _ => None,
            };
            price.filter(|p| *p > 0)
        })
    })
}

fn spec_summary_first(document: &Html) -> Option<String> {
    let list = document
        .select(selector!(".spec_list .items"))
        .next()
        .or_else(|| document.select(selector!(".spec_list")).next())?;
    let text = text_of(list);
    text.split(" / ").next().map(|first| first.trim().to_owned()).and_then(non_empty)
}

fn description_params(html: &str, global: &super::script::JsObject) -> Result<DescriptionParams, ParseError> {
    let info = find_object(html, "oProductDescriptionInfo").unwrap_or_default();
    let cate = |key: &str, selector: &'static str| {
        global.get_non_empty(key).map(|v| v.trim().to_owned()).ok_or(ParseError::Missing { selector })
    };
    let maker_name = info.get("makerName").or_else(|| global.get("makerName")).unwrap_or("");
    Ok(DescriptionParams {
        cate: [
            cate("nCategoryCode1", "oGlobalSetting.nCategoryCode1")?,
            cate("nCategoryCode2", "oGlobalSetting.nCategoryCode2")?,
            cate("nCategoryCode3", "oGlobalSetting.nCategoryCode3")?,
            cate("nCategoryCode4", "oGlobalSetting.nCategoryCode4")?,
        ],
        maker_name: maker_name.to_owned(),
        product_name: info.get("productName").unwrap_or("").to_owned(),
        prod_type: info.get("prodType").unwrap_or("").to_owned(),
    })
}

fn low_price_shops(document: &Html) -> Vec<LowPriceShop> {
    document
        .select(selector!("#lowPriceCompanyArea ul.list__mall-price li.list-item"))
        .filter_map(low_price_shop)
        .collect()
}

fn low_price_shop(row: ElementRef<'_>) -> Option<LowPriceShop> {
    let price = row.select(selector!(".sell-price .text__num")).next().and_then(|n| parse_amount(&text_of(n)))?;
    let logo_alt = row.select(selector!(".box__logo img[alt]")).next().and_then(|img| img.value().attr("alt"));
    let logo_label = row
        .select(selector!("span.text__logo"))
        .next()
        .and_then(|s| s.value().attr("aria-label").map(str::to_owned).or_else(|| non_empty(text_of(s))));
    let url = row
        .select(selector!("a[href*=\"loadingBridge\"]"))
        .next()
        .or_else(|| row.select(selector!("a[href]")).next())
        .and_then(|a| a.value().attr("href"))
        .unwrap_or("")
        .to_owned();
    Some(LowPriceShop {
        vendor_name: logo_alt.map(str::to_owned).or(logo_label).map(|n| collapse_whitespace(&n)).unwrap_or_default(),
        vendor_code: query_value(&url, "cmpnyc"),
        npay: row.select(selector!(".icon__npay")).next().is_some(),
        price,
        shipping_cost: row.select(selector!(".box__delivery")).next().map_or(0, delivery_cost),
        url,
    })
}

/// `무료배송` is 0; otherwise the amount written in the cell's own text (the cell also holds a
/// tooltip, whose text is not the cost).
fn delivery_cost(cell: ElementRef<'_>) -> i64 {
    let own: String = cell.children().filter_map(|c| c.value().as_text().map(|t| t.to_string())).collect();
    let text = if own.trim().is_empty() { text_of(cell) } else { own };
    if text.contains("무료") {
        return 0;
    }
    parse_amount(&text).unwrap_or(0)
}

fn query_value(url: &str, key: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query
        .split('&')
        .find_map(|pair| pair.split_once('=').filter(|(k, _)| *k == key).map(|(_, v)| v.to_owned()))
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r##"<html><body>
      <div class="loca_item" id="2DepthCategory"><div class="loca_layer"><ul class="cate_list">
        <li class="c_item now"><a href="#" cate-code="873">CPU</a></li>
        <li class="c_item "><a href="/list/?cate=112751">메인보드</a></li>
        <li class="c_item now"><a href="/list/?cate=112747" target="_blank">CPU</a></li>
      </ul></div></div>
      <div class="summary_info"><div class="top_summary">
        <h3 class="prod_tit"><span class="title">AMD 라이젠7-5세대 7800X3D (라파엘) (멀티팩(정품))</span></h3>
        <div class="spec_list"><div class="items"><a><u>AMD(소켓AM5)</u></a> / <u>5nm</u></div></div>
      </div>
      <div class="made_info"><span class="txt">등록월: 2023.04.</span><span class="bar">ㅣ</span>
        <span class="txt" id="makerTxtArea">제조사: <a href="x">AMD</a></span></div></div>
      <input type="hidden" id="min_price_18000000" value="480000" />
      <div id="lowPriceCompanyArea"><ul class="list__membership"><li class="list-item">
          <div class="sell-price"><span class="text__num">1</span></div></li></ul>
        <ul class="list__mall-price">
          <li class="list-item"><div class="box__logo"><img alt="쿠팡" src="x"></div>
            <div class="sell-price"><span class="text__num">480,000</span></div>
            <div class="box__delivery"> 무료배송 </div>
            <a href="https://prod.danawa.com/bridge/loadingBridge.html?pcode=18000000&cmpnyc=TP40F&x=1"></a></li>
          <li class="list-item"><div class="box__logo"><span class="text__logo" aria-label="컴퓨존">컴퓨존</span>
            <span class="icon__npay"></span></div>
            <div class="sell-price"><span class="text__num">489,000</span></div>
            <div class="box__delivery"><div class="layer">빠른배송 10,000원 이상</div> 3,000원 </div>
            <a href="https://prod.danawa.com/bridge/loadingBridge.html?cmpnyc=TS001"></a></li>
          <li class="list-item"><div class="box__logo"><img alt="가격없음"></div></li>
        </ul></div>
      <script>
        var oGlobalSetting = { nProductCode: 18000000, nCategoryCode: "112747", nCategoryCode1: "861",
          nCategoryCode2: "873", nCategoryCode3: "959", nCategoryCode4: "0", makerName: "AMD" };
        var oProductDescriptionInfo = {"makerName":"AMD","productName":"\ub77c\uc774\uc8207","prodType":"C"};
        ENP_VAR.collect.soldOut = 'N';
      </script>
      <script type="application/ld+json">{"@type":"Product","offers":{"@type":"AggregateOffer","lowPrice":"479000"}}</script>
    </body></html>"##;

    fn product(html: &str) -> ProductPage {
        match parse_product(html) {
            Ok(ProductAnswer::Product(page)) => *page,
            other => panic!("expected a product page, got {other:?}"),
        }
    }

    #[test]
    fn reads_the_page() {
        let page = product(PAGE);
        assert_eq!(page.pcode.as_deref(), Some("18000000"));
        assert_eq!(page.title, "AMD 라이젠7-5세대 7800X3D (라파엘) (멀티팩(정품))");
        assert_eq!(page.category_number, "112747");
        assert_eq!(page.registered, Some(RegistrationDate { year: 2023, month: 4 }));
        assert_eq!(page.maker.as_deref(), Some("AMD"));
        assert_eq!(page.min_price, Some(480_000));
        assert_eq!(page.json_ld_low_price, Some(479_000));
        assert!(!page.sold_out);
        assert_eq!(page.spec_summary_first.as_deref(), Some("AMD(소켓AM5)"));
        assert_eq!(
            page.description,
            DescriptionParams {
                cate: ["861", "873", "959", "0"].map(String::from),
                maker_name: "AMD".into(),
                product_name: "라이젠7".into(),
                prod_type: "C".into(),
            }
        );
    }

    #[test]
    fn reads_the_low_price_shops() {
        let shops = product(PAGE).low_price_shops;
        assert_eq!(shops.len(), 2);
        assert_eq!(
            (shops[0].vendor_name.as_str(), shops[0].vendor_code.as_deref(), shops[0].npay),
            ("쿠팡", Some("TP40F"), false)
        );
        assert_eq!((shops[0].price, shops[0].shipping_cost), (480_000, 0));
        assert_eq!((shops[1].vendor_name.as_str(), shops[1].npay), ("컴퓨존", true));
        assert_eq!((shops[1].price, shops[1].shipping_cost), (489_000, 3000));
    }

    #[test]
    fn sold_out_flags() {
        assert!(product(&PAGE.replace("soldOut = 'N'", "soldOut = 'Y'")).sold_out);
        let older = PAGE.replace(
            r#"<div class="made_info">"#,
            r#"<div class="summary_left"><div class="lowest_area"><p class="no_data">일시품절</p></div></div><div class="made_info">"#,
        );
        assert!(product(&older).sold_out);
    }

    #[test]
    fn breadcrumb_falls_back_to_the_script_and_then_errors() {
        let no_crumb = PAGE.replace("/list/?cate=112747", "#");
        assert_eq!(product(&no_crumb).category_number, "112747");
        let neither = no_crumb.replace(r#"nCategoryCode: "112747","#, "");
        assert_eq!(parse_product(&neither), Err(ParseError::Missing { selector: BREADCRUMB }));
        assert_eq!(
            parse_product("<html></html>"),
            Err(ParseError::Missing { selector: ".top_summary h3.prod_tit span.title" })
        );
    }

    #[test]
    fn the_discontinued_answer_is_an_outcome() {
        let answer = r#"<meta name="robots" content="none" /><script type="text/javascript">alert("가격비교 서비스가 종료된 상품입니다.");location.replace("https://www.danawa.com");</script>"#;
        assert_eq!(parse_product(answer), Ok(ProductAnswer::Discontinued));
    }

    #[test]
    fn made_info_without_spans() {
        let plain = PAGE.replace(
            r#"<div class="made_info"><span class="txt">등록월: 2023.04.</span><span class="bar">ㅣ</span>
        <span class="txt" id="makerTxtArea">제조사: <a href="x">AMD</a></span></div>"#,
            r#"<div class="made_info">등록월: 2021.11. ㅣ 제조사: 인텔</div>"#,
        );
        let page = product(&plain);
        assert_eq!(page.registered, Some(RegistrationDate { year: 2021, month: 11 }));
        assert_eq!(page.maker.as_deref(), Some("인텔"));
    }

    #[test]
    fn zero_prices_are_no_prices() {
        let page = product(&PAGE.replace(r#"value="480000""#, r#"value="0""#).replace(r#""479000""#, "0"));
        assert_eq!((page.min_price, page.json_ld_low_price), (None, None));
    }
}
