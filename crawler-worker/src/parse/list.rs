//! The list fragment (`getProductList.ajax.php`): the listing's total count and the products of
//! one page with their variants, advertisements left out. The scrape config's rules (minimum
//! registration date, ignore words) are not the parser's: [`ListPage::keep`] applies
//! `common::plan`'s.

use common::config::RegistrationDate;
use common::messages::{ListedProduct, ListedVariant};
use common::plan::{ListingRules, RuleSkip};
use scraper::{ElementRef, Html};
use serde::Serialize;

use super::{non_empty, parse_amount, selector, text_of, ParseError};

/// Price texts meaning "no price now" (and 단종 for discontinued): the variant has no price.
const NO_PRICE_TEXTS: [&str; 7] = ["가격비교예정", "일시품절", "판매중지", "출시예정", "가격비교중지", "단종", "품절"];

/// One parsed list page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListPage {
    /// `input#totalProductCount` of the listing (all pages).
    pub total_count: u32,
    /// The pager's current page (`a.num.now_on`), when the pager shows one.
    pub current_page: Option<u32>,
    pub products: Vec<ListedProduct>,
    /// Entries left out, and why: what an operator checks when a product seems missing.
    pub skipped: Vec<SkippedEntry>,
}

impl ListPage {
    /// The listing's last page for `list_count` products a page (at least 1).
    pub fn last_page(&self, list_count: u32) -> u32 {
        self.total_count.div_ceil(list_count.max(1)).max(1)
    }

    /// The page with the config's rules applied: products they leave out move to `skipped`
    /// (their positions stay: a skipped product took its place on the page).
    pub fn keep(mut self, rules: &ListingRules) -> Self {
        let mut kept = Vec::with_capacity(self.products.len());
        for product in std::mem::take(&mut self.products) {
            match rules.apply(product) {
                Ok(product) => kept.push(product),
                Err((product, rule)) => {
                    let id = product.variants.first().map_or_else(String::new, |v| format!("productItem{}", v.pcode));
                    let reason = SkipReason::Rule(rule);
                    self.skipped.push(SkippedEntry { id, position: Some(product.position), reason });
                }
            }
        }
        self.products = kept;
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SkippedEntry {
    /// The entry's `id` attribute (`productItem123`, `adPointProductItem…`).
    pub id: String,
    /// Its position; `None` for advertisements, which take none.
    pub position: Option<u32>,
    pub reason: SkipReason,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SkipReason {
    Advertisement,
    /// The config's rules left it out.
    Rule(RuleSkip),
    /// No `p.prod_name a` (markup change or a cut answer).
    NoName,
    /// No variant with a pcode.
    NoVariants,
}

/// Reads one list fragment of page `page`.
///
/// # Errors
/// [`ParseError::Missing`] for `input#totalProductCount` when the answer does not carry it (an
/// empty or cut answer: the crawler treats it as a soft block); [`ParseError::Invalid`] when
/// its value is not a count.
pub fn parse_list(html: &str, page: u32) -> Result<ListPage, ParseError> {
    let document = Html::parse_fragment(html);
    let total_count = total_count(&document)?;
    let mut products = Vec::new();
    let mut skipped = Vec::new();
    let mut position = 0u32;
    for item in document.select(selector!("li.prod_item")) {
        let id = item.value().id().unwrap_or("").to_owned();
        if is_advertisement(item) {
            skipped.push(SkippedEntry { id, position: None, reason: SkipReason::Advertisement });
            continue;
        }
        match read_product(item, page, position) {
            Ok(product) => products.push(product),
            Err(reason) => skipped.push(SkippedEntry { id, position: Some(position), reason }),
        }
        position += 1;
    }
    let current_page =
        document.select(selector!("div.num_nav_wrap a.num.now_on")).next().and_then(|a| text_of(a).trim().parse().ok());
    Ok(ListPage { total_count, current_page, products, skipped })
}

fn total_count(document: &Html) -> Result<u32, ParseError> {
    const SELECTOR: &str = "input#totalProductCount";
    let input = document.select(selector!("input#totalProductCount")).next();
    let value = input.and_then(|i| i.value().attr("value")).ok_or(ParseError::Missing { selector: SELECTOR })?;
    let digits: String = value.chars().filter(|c| *c != ',').collect();
    digits.trim().parse().map_err(|_| ParseError::Invalid {
        selector: SELECTOR,
        value: value.to_owned(),
        expected: "a comma-formatted count",
    })
}

/// `li.prod_ad_item`, ids starting with `ad`, and anything inside `div.main_ad_prodlist`.
fn is_advertisement(item: ElementRef<'_>) -> bool {
    let element = item.value();
    element.classes().any(|c| c == "prod_ad_item")
        || element.id().is_some_and(|id| id.starts_with("ad"))
        || item.ancestors().filter_map(ElementRef::wrap).any(|a| a.value().classes().any(|c| c == "main_ad_prodlist"))
}

fn read_product(item: ElementRef<'_>, page: u32, position: u32) -> Result<ListedProduct, SkipReason> {
    let name = product_name(item).ok_or(SkipReason::NoName)?;
    let registered = item.select(selector!("div.prod_sub_meta dl.meta_item.mt_date dd")).next().and_then(|dd| {
        let text = text_of(dd);
        RegistrationDate::parse(&text)
    });
    let variants = variants(item);
    if variants.is_empty() {
        return Err(SkipReason::NoVariants);
    }
    Ok(ListedProduct { name, registered, page, position, variants })
}

fn product_name(item: ElementRef<'_>) -> Option<String> {
    let link = item
        .select(selector!("p.prod_name a[name=productName]"))
        .next()
        .or_else(|| item.select(selector!("p.prod_name a")).next())?;
    non_empty(text_of(link))
}

/// The variants of `div.prod_pricelist` (not the `prod_top5` mall list), without the
/// rocket-shipping and top-5 rows. An entry with no variant rows at all is one variant: its own
/// pcode (from `productItem{pcode}`) with the first price shown.
fn variants(item: ElementRef<'_>) -> Vec<ListedVariant> {
    let rows = item
        .select(selector!("div.prod_pricelist ul > li"))
        .filter(|li| {
            let classes = li.value();
            !classes.classes().any(|c| c == "rocket-shipping" || c == "top5_button") && !in_top5_list(*li)
        })
        .collect::<Vec<_>>();
    if rows.is_empty() {
        let pcode = item.value().id().and_then(|id| id.strip_prefix("productItem")).filter(|p| is_pcode(p));
        let price =
            if item.select(selector!("p.price_sect")).next().is_some() { price(item) } else { top5_price(item) };
        return pcode.map(|pcode| ListedVariant { pcode: pcode.to_owned(), tag: None, price }).into_iter().collect();
    }
    rows.into_iter().filter_map(variant).collect()
}

/// A one-pcode product whose only price list is a `div.prod_pricelist.prod_top5` of mall rows
/// (`li > a > div` mall, `div > em` price): its list price is the first mall's (DANAWA.md
/// "Newer evidence", list items).
fn top5_price(item: ElementRef<'_>) -> Option<i64> {
    let first = item.select(selector!("div.prod_pricelist.prod_top5 ul > li")).next()?;
    let em = first.select(selector!("div > em")).next().or_else(|| first.select(selector!("em")).next())?;
    parse_amount(&text_of(em)).filter(|p| *p > 0)
}

fn in_top5_list(li: ElementRef<'_>) -> bool {
    li.ancestors().filter_map(ElementRef::wrap).any(|a| {
        let element = a.value();
        element.classes().any(|c| c == "prod_top5") && element.classes().any(|c| c == "prod_pricelist")
    })
}

fn variant(li: ElementRef<'_>) -> Option<ListedVariant> {
    let from_id = li.value().id().and_then(|id| id.strip_prefix("productInfoDetail_")).filter(|p| is_pcode(p));
    let pcode = from_id
        .map(str::to_owned)
        .or_else(|| li.select(selector!("a[href]")).find_map(|a| a.value().attr("href").and_then(pcode_in_href)))?;
    let tag = li.select(selector!("p.memory_sect span.text")).next().map(text_of).and_then(non_empty);
    let tag = tag.or_else(|| li.select(selector!("p.memory_sect")).next().and_then(bare_text));
    Some(ListedVariant { pcode, tag, price: price(li) })
}

/// The text nodes directly inside an element, without its child elements' text: the variant
/// tag of 2021–23 list pages, a bare text node of `p.memory_sect` (DANAWA.md "Newer evidence",
/// list items).
fn bare_text(element: ElementRef<'_>) -> Option<String> {
    let text: String = element.children().filter_map(|node| node.value().as_text().map(|t| t.to_string())).collect();
    non_empty(super::collapse_whitespace(&text))
}

/// `p.price_sect a strong` as a number; `None` for the "no price now" texts and discontinued
/// (`.nosale_price`).
fn price(scope: ElementRef<'_>) -> Option<i64> {
    if scope.select(selector!(".nosale_price")).next().is_some() {
        return None;
    }
    let section = scope.select(selector!("p.price_sect")).next()?;
    let text = section
        .select(selector!("a strong"))
        .next()
        .or_else(|| section.select(selector!("strong")).next())
        .map_or_else(|| text_of(section), text_of);
    if NO_PRICE_TEXTS.iter().any(|t| text.contains(t)) {
        return None;
    }
    parse_amount(&text).filter(|p| *p > 0)
}

fn is_pcode(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// The `pcode=` value of a link such as `//prod.danawa.com/info/?pcode=123&cate=456`.
fn pcode_in_href(href: &str) -> Option<String> {
    let query = href.split_once('?')?.1;
    query.split(['&', '#']).find_map(|pair| pair.strip_prefix("pcode=")).filter(|p| is_pcode(p)).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, name: &str, date: &str, variants: &str) -> String {
        format!(
            r#"<li class="prod_item prod_layer " id="{id}">
              <div class="prod_main_info">
                <div class="thumb_image"><img data-original="//img/x.jpg"></div>
                <div class="prod_info">
                  <p class="prod_name"><a href="//prod.danawa.com/info/?pcode=1&cate=112747" name="productName">{name}</a></p>
                  <div class="prod_sub_meta"><dl class="meta_item mt_date"><dt>등록월</dt><dd>{date}</dd></dl></div>
                </div>
                <div class="prod_pricelist " data-cate="112|747|0|112747"><ul>{variants}</ul></div>
              </div>
            </li>"#
        )
    }

    fn variant(pcode: &str, tag: &str, price: &str) -> String {
        format!(
            r#"<li id="productInfoDetail_{pcode}">
              <p class="memory_sect"><span class="text">{tag}</span><span class="memory_price_sect"></span><span class="rank_one">1위</span></p>
              <p class="price_sect"><a href="//prod.danawa.com/info/?pcode={pcode}&cate=112747"><strong>{price}</strong>원</a></p>
            </li>"#
        )
    }

    fn fragment(total: &str, items: &str) -> String {
        format!(
            r#"<div class="main_prodlist main_prodlist_list"><ul class="product_list">{items}</ul></div>
               <input type="hidden" id="totalProductCount" value="{total}">"#
        )
    }

    fn page(items: &str) -> String {
        fragment("4,417", items)
    }

    #[test]
    fn reads_total_count_products_and_variants() {
        let html = page(&format!(
            "{}{}",
            item(
                "productItem100",
                "AMD 라이젠7 7800X3D",
                "2023.04",
                &(variant("100", "정품", "797,900") + &variant("101", "멀티팩", "일시품절"))
            ),
            item("productItem200", "인텔 코어i5 12400F", "2022.01", &variant("200", "", "189,000")),
        ));
        let list = parse_list(&html, 3).expect("parses");
        assert_eq!(list.total_count, 4417);
        assert_eq!(list.last_page(90), 50);
        assert_eq!(list.products.len(), 2);
        let first = &list.products[0];
        assert_eq!(first.name, "AMD 라이젠7 7800X3D");
        assert_eq!(first.registered, Some(RegistrationDate { year: 2023, month: 4 }));
        assert_eq!((first.page, first.position), (3, 0));
        assert_eq!(
            first.variants,
            vec![
                ListedVariant { pcode: "100".into(), tag: Some("정품".into()), price: Some(797_900) },
                ListedVariant { pcode: "101".into(), tag: Some("멀티팩".into()), price: None },
            ]
        );
        assert_eq!(list.products[1].position, 1);
        assert_eq!(list.products[1].variants[0].tag, None);
    }

    #[test]
    fn no_price_texts_and_discontinued_have_no_price() {
        for text in ["가격비교예정", "일시품절", "판매중지", "출시예정", "가격비교중지"] {
            let html = page(&item("productItem1", "A", "2024.01", &variant("1", "", text)));
            let list = parse_list(&html, 1).expect("parses");
            assert_eq!(list.products[0].variants[0].price, None, "{text}");
        }
        let discontinued =
            r#"<li id="productInfoDetail_1"><p class="price_sect"><span class="nosale_price">단종상품</span></p></li>"#;
        let list = parse_list(&page(&item("productItem1", "A", "2024.01", discontinued)), 1).expect("parses");
        assert_eq!(list.products[0].variants[0].price, None);
    }

    #[test]
    fn advertisements_take_no_position() {
        let ad_block = format!(
            r#"<div class="main_ad_prodlist"><ul>{}</ul></div>"#,
            item("productItem9", "광고 상품", "2024.01", &variant("9", "", "1,000"))
        );
        let html = page(&format!(
            "{}{}{}{}",
            item("adPointProductItem5", "포인트 광고", "2024.01", &variant("5", "", "1,000")),
            r#"<li class="prod_item prod_ad_item" id="x7"><p class="prod_name"><a>광고</a></p></li>"#,
            item("productItem1", "진짜 상품", "2024.01", &variant("1", "", "1,000")),
            item("adReaderProductItem6", "리더 광고", "2024.01", &variant("6", "", "1,000")),
        )) + &ad_block;
        let list = parse_list(&html, 1).expect("parses");
        assert_eq!(list.products.len(), 1);
        assert_eq!(list.products[0].name, "진짜 상품");
        assert_eq!(list.products[0].position, 0);
        assert_eq!(list.skipped.iter().filter(|s| s.reason == SkipReason::Advertisement).count(), 4);
    }

    #[test]
    fn rocket_top5_and_mall_lists_are_not_variants() {
        let rows = variant("1", "A", "1,000")
            + r#"<li class="rocket-shipping"><a href="?pcode=77">로켓</a></li><li class="top5_button"><a href="?pcode=78">TOP5</a></li>"#;
        let mut html = item("productItem1", "상품", "2024.01", &rows);
        html = html.replace(
            "</div>\n              </div>",
            r#"</div><div class="prod_pricelist prod_top5"><ul><li id="productInfoDetail_99"><p class="price_sect"><a><strong>5</strong></a></p></li></ul></div></div>"#,
        );
        let list = parse_list(&page(&html), 1).expect("parses");
        let pcodes: Vec<&str> = list.products[0].variants.iter().map(|v| v.pcode.as_str()).collect();
        assert_eq!(pcodes, ["1"]);
    }

    #[test]
    fn config_rules_skip_but_keep_positions() {
        let rules = ListingRules {
            minimum_date: RegistrationDate { year: 2018, month: 1 },
            ignore_words: vec!["채굴".into(), "해외구매".into()],
        };
        let html = page(&format!(
            "{}{}{}{}{}",
            item("productItem1", "오래된 상품", "2017.12", &variant("1", "", "1,000")),
            item("productItem2", "채굴용 그래픽카드", "2022.01", &variant("2", "", "1,000")),
            item(
                "productItem3",
                "상품",
                "2022.01",
                &(variant("3", "정품", "1,000") + &variant("4", "해외구매", "900"))
            ),
            item("productItem5", "상품2", "2022.01", &variant("5", "해외구매", "900")),
            item("productItem6", "날짜 모름", "", &variant("6", "", "1,000")),
        ));
        let list = parse_list(&html, 2).map(|p| p.keep(&rules)).expect("parses");
        let kept: Vec<(&str, u32)> = list.products.iter().map(|p| (p.name.as_str(), p.position)).collect();
        assert_eq!(kept, [("상품", 2), ("날짜 모름", 4)]);
        assert_eq!(list.products[0].variants.len(), 1);
        let reasons: Vec<&SkipReason> = list.skipped.iter().map(|s| &s.reason).collect();
        let rule = |r| SkipReason::Rule(r);
        assert_eq!(reasons, [&rule(RuleSkip::TooOld), &rule(RuleSkip::IgnoredName), &rule(RuleSkip::IgnoredVariants)]);
    }

    #[test]
    fn variant_pcode_from_the_link_and_single_entry_fallback() {
        let row = r#"<li><p class="price_sect"><a href="//prod.danawa.com/info/?cate=1&pcode=555"><strong>2,000</strong></a></p></li>"#;
        let list = parse_list(&page(&item("productItem5", "A", "2024.01", row)), 1).expect("parses");
        assert_eq!(list.products[0].variants[0].pcode, "555");
        let bare = r#"<li class="prod_item" id="productItem42"><p class="prod_name"><a>B</a></p><p class="price_sect"><a><strong>3,000</strong></a></p></li>"#;
        let list = parse_list(&page(bare), 1).expect("parses");
        assert_eq!(list.products[0].variants, [ListedVariant { pcode: "42".into(), tag: None, price: Some(3000) }]);
    }

    /// DANAWA.md "Newer evidence", list items: a one-pcode product whose only price list is a
    /// `div.prod_pricelist.prod_top5` of mall rows takes the first mall's price (today's
    /// crawler found no price), and a variant tag may be the bare text of `p.memory_sect`.
    #[test]
    fn top5_only_products_and_bare_text_tags() {
        let top5 = r#"<li class="prod_item prod_layer" id="productItem77"><div class="prod_main_info">
            <div class="prod_info"><p class="prod_name"><a name="productName">단일 상품</a></p></div>
            <div class="prod_pricelist prod_top5"><ul>
              <li><a href="//prod.danawa.com/info/?pcode=77"><div class="box__mall">쿠팡</div><div class="box__price"><em>12,340</em>원</div></a></li>
              <li><a href="//prod.danawa.com/info/?pcode=77"><div class="box__mall">11번가</div><div class="box__price"><em>12,900</em>원</div></a></li>
            </ul></div></div></li>"#;
        let bare = r#"<li id="productInfoDetail_5"><p class="memory_sect"> 16GB <span class="memory_price_sect"></span><span class="rank_one">1위</span></p>
            <p class="price_sect"><a href="?pcode=5"><strong>50,000</strong>원</a></p></li>"#;
        let html = page(&(top5.to_owned() + &item("productItem5", "메모리", "2024.01", bare)));
        let list = parse_list(&html, 1).expect("parses");
        assert_eq!(list.products[0].variants, [ListedVariant { pcode: "77".into(), tag: None, price: Some(12_340) }]);
        assert_eq!(list.products[1].variants[0].tag.as_deref(), Some("16GB"));
    }

    #[test]
    fn the_pager_tells_the_current_page() {
        let pager = r#"<div class="num_nav_wrap"><div class="number_wrap"><a class="num ">1</a><a class="num now_on">2</a></div></div>"#;
        let list = parse_list(&(page("") + pager), 2).expect("parses");
        assert_eq!(list.current_page, Some(2));
        assert_eq!(parse_list(&page(""), 2).expect("parses").current_page, None);
    }

    #[test]
    fn empty_pages_are_valid_but_a_missing_count_is_not() {
        let list = parse_list(&fragment("0", ""), 7).expect("parses");
        assert_eq!((list.total_count, list.products.len(), list.last_page(90)), (0, 0, 1));
        assert_eq!(parse_list("", 1), Err(ParseError::Missing { selector: "input#totalProductCount" }));
        let products_only = item("productItem1", "A", "2024.01", &variant("1", "", "1,000"));
        assert!(parse_list(&products_only, 1).is_err());
        assert!(matches!(
            parse_list(&fragment("many", ""), 1),
            Err(ParseError::Invalid { selector: "input#totalProductCount", .. })
        ));
    }
}
