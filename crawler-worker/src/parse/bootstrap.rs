//! The category page (`/list/?cate=N`): the values the list request must echo back and the
//! search options whose full values the filters need. The site serves its legacy template
//! (`oGlobalSetting` and `oExpansionContent` script objects) or, at random per connection, its
//! 2026 Next.js template, whose flight data carries the same category context (DANAWA.md
//! "Newer evidence", Next.js template); either gives a [`ListBootstrap`].

use std::collections::BTreeMap;

use common::config::{Filter, FilterKind};
use scraper::Html;
use serde::{Deserialize, Serialize};

use super::script::{find_object, find_value, next_flight_strings, JsObject};
use super::{selector, ParseError};

/// What a category-page answer turned out to be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "variant")]
pub enum BootstrapPage {
    /// The legacy page, with what the list request needs.
    Legacy(Box<ListBootstrap>),
    /// The 2026 Next.js page. `values` is `None` when its flight data holds no category
    /// context (then the crawler asks again on a fresh connection); the counts it announces
    /// are kept for the log.
    NextJs { values: Option<Box<ListBootstrap>>, total_count: Option<u32>, total_pages: Option<u32> },
}

impl BootstrapPage {
    /// The list request's values, whichever template carried them.
    pub fn into_values(self) -> Option<ListBootstrap> {
        match self {
            BootstrapPage::Legacy(values) => Some(*values),
            BootstrapPage::NextJs { values, .. } => values.map(|v| *v),
        }
    }
}

/// The values of the category page that the list request sends back (DANAWA.md §1–2 and
/// "Newer evidence"). They are kept as the page's text: the request echoes them unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListBootstrap {
    /// `oGlobalSetting.nCategoryCode` → `categoryCode`.
    pub category_code: String,
    /// `oGlobalSetting.nListCategoryCode` → `listCategoryCode` (may differ from the above).
    pub list_category_code: String,
    /// `nListGroup` → `group`.
    pub group: String,
    /// `nListDepth` → `depth`.
    pub depth: String,
    /// `sPhysicsCate1..4` → `physicsCate1..4` (`"0"` when absent).
    pub physics_cate: [String; 4],
    /// `sCategoryMappingCode` → `categoryMappingCode`.
    pub category_mapping_code: String,
    /// `sPowerLinkKeyword` → `sPowerLinkKeyword`.
    pub power_link_keyword: String,
    /// `oCurrentCategoryCode`, PHP-serialised in UI codes (`a:2:{i:1;i:97;i:2;i:747;}`).
    pub current_category_code: String,
    /// `oGlobalSetting.bDpgZoneCategory` (older pages: `isDpgZoneUICategory`; `"N"` when
    /// absent) → `isDpgZoneUICategory`.
    pub is_dpg_zone_ui_category: String,
    /// `oGlobalSetting.bAssemblyGalleryCategory` → `isAssemblyGalleryCategory` (`Y` for CPU,
    /// motherboard, graphics, power and case when the page does not say).
    pub assembly_gallery_category: String,
    /// `var sProductListApi` (older pages: inside `oGlobalSetting`; `"search"` when absent).
    pub product_list_api: String,
    /// `oExpansionContent.nPriceCompareListPackageType` → `listPackageType`.
    pub list_package_type: String,
    /// `nPriceCompareListPackageLimit` → `nPackageLimit`.
    pub package_limit: String,
    /// `sInitialPriceDisplay` → `sInitialPriceDisplay`.
    pub initial_price_display: String,
    /// `sDiscountProductRate` → `sDiscountProductRate`.
    pub discount_product_rate: String,
    /// `nPriceUnit` → `priceUnit`.
    pub price_unit: String,
    /// `nPriceUnitValue` → `priceUnitValue`.
    pub price_unit_value: String,
    /// `sPriceUnitClass` → `priceUnitClass`.
    pub price_unit_class: String,
    /// The search options the page offers.
    pub options: SearchOptions,
}

/// The category page's search-option checkboxes: `input#searchAttributeValueRep{ID}` whose
/// `value` is the full `CATE|GROUP|ID|OR` the list request needs, and `input#searchMakerRep{ID}`
/// (DANAWA.md "Newer evidence", attribute filters).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchOptions {
    /// Attribute id (the config's value) → the checkbox's full value.
    pub attributes: BTreeMap<String, String>,
    /// Maker id → the checkbox's value (a bare id).
    pub makers: BTreeMap<String, String>,
}

/// A config filter as the list request sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchFilter {
    /// `searchMaker[]`: the bare maker id.
    Maker(String),
    /// `searchAttributeValue[]`: the full `CATE|GROUP|ID|OR` value from the page.
    Attribute(String),
}

/// A config filter the category page does not offer: sending it anyway would most likely get
/// the unfiltered list back, silently wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("attribute {id} is not offered on category {category}")]
pub struct FilterNotOffered {
    pub id: String,
    pub category: String,
}

impl ListBootstrap {
    /// The request form of a config filter: an attribute's bare id (or full value) is mapped
    /// to the full value of the page's checkbox; a maker stays its bare id.
    ///
    /// # Errors
    /// [`FilterNotOffered`] when the page has no checkbox for the attribute.
    pub fn search_filter(&self, filter: &Filter, category: &str) -> Result<SearchFilter, FilterNotOffered> {
        let value = filter.value.trim();
        match filter.kind {
            FilterKind::Maker => Ok(SearchFilter::Maker(value.to_owned())),
            FilterKind::Attribute => {
                let id = if value.contains('|') { value.split('|').nth(2).unwrap_or("") } else { value };
                self.options
                    .attributes
                    .get(id)
                    .filter(|full| !value.contains('|') || full.as_str() == value)
                    .map(|full| SearchFilter::Attribute(full.clone()))
                    .ok_or_else(|| FilterNotOffered { id: id.to_owned(), category: category.to_owned() })
            }
        }
    }
}

/// Category numbers whose list form says `isAssemblyGalleryCategory=Y` (CPU, motherboard,
/// graphics, power, case), for pages that do not carry the flag.
const ASSEMBLY_GALLERY_CATEGORIES: [&str; 5] = ["747", "751", "753", "777", "775"];

/// Reads a category-page answer.
///
/// # Errors
/// [`ParseError::Missing`] naming the first value the list request cannot do without
/// (`oGlobalSetting`, `oGlobalSetting.nListCategoryCode`, `categoryContext.group`, ...).
pub fn parse_bootstrap(html: &str) -> Result<BootstrapPage, ParseError> {
    let Some(global) = find_object(html, "oGlobalSetting") else {
        if html.contains("self.__next_f") {
            return parse_next_js(html);
        }
        return Err(ParseError::Missing { selector: "oGlobalSetting" });
    };
    let expansion = find_object(html, "oExpansionContent").unwrap_or_default();
    let required = |key: &str, selector: &'static str| {
        global.get_non_empty(key).map(|v| v.trim().to_owned()).ok_or(ParseError::Missing { selector })
    };
    let optional =
        |object: &JsObject, key: &str, default: &str| object.get_non_empty(key).unwrap_or(default).trim().to_owned();
    let physics_cate =
        ["sPhysicsCate1", "sPhysicsCate2", "sPhysicsCate3", "sPhysicsCate4"].map(|key| optional(&global, key, "0"));
    let current_category_code = current_category_code(html, &global, &physics_cate);
    let list_category_code = required("nListCategoryCode", "oGlobalSetting.nListCategoryCode")?;
    let dpg = global.get_non_empty("bDpgZoneCategory").or_else(|| global.get_non_empty("isDpgZoneUICategory"));
    let product_list_api = find_value(html, "sProductListApi")
        .filter(|v| !v.trim().is_empty())
        .or_else(|| global.get_non_empty("sProductListApi").map(str::to_owned))
        .unwrap_or_else(|| "search".to_owned());
    Ok(BootstrapPage::Legacy(Box::new(ListBootstrap {
        category_code: required("nCategoryCode", "oGlobalSetting.nCategoryCode")?,
        group: required("nListGroup", "oGlobalSetting.nListGroup")?,
        depth: required("nListDepth", "oGlobalSetting.nListDepth")?,
        category_mapping_code: optional(&global, "sCategoryMappingCode", ""),
        power_link_keyword: optional(&global, "sPowerLinkKeyword", ""),
        is_dpg_zone_ui_category: yes_no(dpg.unwrap_or("N")),
        assembly_gallery_category: assembly_gallery(
            global.get_non_empty("bAssemblyGalleryCategory"),
            &list_category_code,
        ),
        product_list_api: product_list_api.trim().to_owned(),
        list_package_type: optional(&expansion, "nPriceCompareListPackageType", "1"),
        package_limit: optional(&expansion, "nPriceCompareListPackageLimit", "5"),
        initial_price_display: optional(&expansion, "sInitialPriceDisplay", "N"),
        discount_product_rate: optional(&expansion, "sDiscountProductRate", "0"),
        price_unit: optional(&expansion, "nPriceUnit", "0"),
        price_unit_value: optional(&expansion, "nPriceUnitValue", "0"),
        price_unit_class: optional(&expansion, "sPriceUnitClass", ""),
        physics_cate,
        current_category_code,
        list_category_code,
        options: search_options(html),
    })))
}

/// The Next.js page: the category context of its flight data, when a chunk carries one.
fn parse_next_js(html: &str) -> Result<BootstrapPage, ParseError> {
    let chunks = next_flight_strings(html);
    let number = |key: &str| chunks.iter().find_map(|c| next_number(c, key)).or_else(|| next_number(html, key));
    let (total_count, total_pages) = (number("totalCount"), number("totalPages"));
    let Some(context) = chunks.iter().find_map(|chunk| json_object_after(chunk, "\"categoryContext\"")) else {
        return Ok(BootstrapPage::NextJs { values: None, total_count, total_pages });
    };
    let text = |key: &str| match context.get(key) {
        Some(serde_json::Value::String(s)) => Some(s.trim().to_owned()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let required =
        |key: &str, selector: &'static str| text(key).filter(|v| !v.is_empty()).ok_or(ParseError::Missing { selector });
    let optional = |key: &str, default: &str| text(key).filter(|v| !v.is_empty()).unwrap_or_else(|| default.to_owned());
    let physics_cate = ["physicsCate1", "physicsCate2", "physicsCate3", "physicsCate4"].map(|key| optional(key, "0"));
    let list_category_code = required("listCategoryCode", "categoryContext.listCategoryCode")?;
    let current = text("currentCategoryCode").filter(|v| v.starts_with("a:"));
    let values = ListBootstrap {
        category_code: required("categoryCode", "categoryContext.categoryCode")?,
        group: required("group", "categoryContext.group")?,
        depth: required("depth", "categoryContext.depth")?,
        category_mapping_code: optional("categoryMappingCode", ""),
        power_link_keyword: optional("powerLinkKeyword", ""),
        current_category_code: current.unwrap_or_else(|| serialised_codes(&physics_cate)),
        is_dpg_zone_ui_category: yes_no(&optional("dpgZoneCategory", "N")),
        assembly_gallery_category: assembly_gallery(text("assemblyGalleryCategory").as_deref(), &list_category_code),
        product_list_api: optional("productListApi", "search"),
        list_package_type: optional("listPackageType", "1"),
        package_limit: optional("packageLimit", "5"),
        initial_price_display: optional("initialPriceDisplay", "N"),
        discount_product_rate: optional("discountProductRate", "0"),
        price_unit: optional("priceUnit", "0"),
        price_unit_value: optional("priceUnitValue", "0"),
        price_unit_class: optional("priceUnitClass", ""),
        physics_cate,
        list_category_code,
        options: search_options(html),
    };
    Ok(BootstrapPage::NextJs { values: Some(Box::new(values)), total_count, total_pages })
}

/// The JSON object right after `key:` in `text`.
fn json_object_after(text: &str, key: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    let at = text.find(key)? + key.len();
    let rest = text.get(at..)?.trim_start().strip_prefix(':')?;
    let mut values = serde_json::Deserializer::from_str(rest).into_iter::<serde_json::Value>();
    match values.next()? {
        Ok(serde_json::Value::Object(map)) => Some(map),
        _ => None,
    }
}

/// `Y`/`N` from the page's `true`/`false`/`Y`/`N`.
fn yes_no(value: &str) -> String {
    match value.trim() {
        "true" | "Y" | "y" | "1" => "Y".to_owned(),
        _ => "N".to_owned(),
    }
}

fn assembly_gallery(given: Option<&str>, list_category_code: &str) -> String {
    match given {
        Some(value) => yes_no(value),
        None if ASSEMBLY_GALLERY_CATEGORIES.contains(&list_category_code) => "Y".to_owned(),
        None => "N".to_owned(),
    }
}

/// The search-option checkboxes of the page (both templates render them as HTML).
fn search_options(html: &str) -> SearchOptions {
    let document = Html::parse_document(html);
    let mut options = SearchOptions::default();
    for input in document.select(selector!("input[id^=\"searchAttributeValueRep\"], input[id^=\"searchMakerRep\"]")) {
        let element = input.value();
        let (Some(id), Some(value)) = (element.id(), element.attr("value")) else { continue };
        let value = value.trim();
        if let Some(attribute) = id.strip_prefix("searchAttributeValueRep").filter(|a| !a.is_empty()) {
            options.attributes.insert(attribute.to_owned(), value.to_owned());
        } else if let Some(maker) = id.strip_prefix("searchMakerRep").filter(|m| !m.is_empty()) {
            options.makers.insert(maker.to_owned(), value.to_owned());
        }
    }
    options
}

/// `oCurrentCategoryCode` as the page gives it (a serialised string in either script object or
/// its own variable); else serialised from the page's non-zero physical categories, which is
/// what Danawa's script sends when it has nothing better.
fn current_category_code(html: &str, global: &JsObject, physics_cate: &[String; 4]) -> String {
    let given = global
        .get_non_empty("oCurrentCategoryCode")
        .map(str::to_owned)
        .or_else(|| find_value(html, "oCurrentCategoryCode"))
        .filter(|value| value.starts_with("a:"));
    given.unwrap_or_else(|| serialised_codes(physics_cate))
}

/// The page's non-zero physical categories, PHP-serialised.
fn serialised_codes(physics_cate: &[String; 4]) -> String {
    let codes: Vec<&str> = physics_cate.iter().map(String::as_str).filter(|c| *c != "0" && !c.is_empty()).collect();
    let body: String = codes.iter().enumerate().map(|(i, code)| format!("i:{};i:{};", i + 1, code)).collect();
    format!("a:{}:{{{}}}", codes.len(), body)
}

/// A number after `"key":` in the Next.js flight data, where the JSON sits inside a
/// JavaScript string and its quotes may be escaped (`\"totalCount\":4417`).
fn next_number(html: &str, key: &str) -> Option<u32> {
    let mut from = 0;
    while let Some(found) = html.get(from..)?.find(key) {
        let after = from + found + key.len();
        let rest = html.get(after..)?.trim_start_matches(['\\', '"']).trim_start();
        if let Some(value) = rest.strip_prefix(':') {
            let digits: String = value.trim_start().chars().take_while(char::is_ascii_digit).collect();
            if let Ok(number) = digits.parse() {
                return Some(number);
            }
        }
        from = after;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEGACY: &str = r#"<html><script>
        var oGlobalSetting = {
            nCategoryCode : '38749',
            nListCategoryCode : "52451",
            nListGroup : '11',
            nListDepth : '2',
            sPhysicsCate1 : '861',
            sPhysicsCate2 : '873',
            sPhysicsCate3 : '0',
            sPhysicsCate4 : '0',
            sCategoryMappingCode : '176',
            sPowerLinkKeyword : 'CPU'
        };
        var oExpansionContent = {
            sPriceCompareListType : 'LIST',
            nPriceCompareListPackageType : 2,
            nPriceCompareListCount : 5,
            nPriceCompareListPackageLimit : 7,
            sInitialPriceDisplay : 'Y',
            sDiscountProductRate : '10',
            nPriceUnit : 0,
            nPriceUnitValue : 0,
            sPriceUnitClass : ''
        };
    </script></html>"#;

    #[test]
    fn reads_the_legacy_page() {
        let BootstrapPage::Legacy(values) = parse_bootstrap(LEGACY).expect("parses") else {
            panic!("expected the legacy page");
        };
        assert_eq!(values.category_code, "38749");
        assert_eq!(values.list_category_code, "52451");
        assert_eq!((values.group.as_str(), values.depth.as_str()), ("11", "2"));
        assert_eq!(values.physics_cate, ["861", "873", "0", "0"].map(String::from));
        assert_eq!(values.category_mapping_code, "176");
        assert_eq!(values.power_link_keyword, "CPU");
        assert_eq!(values.list_package_type, "2");
        assert_eq!(values.package_limit, "7");
        assert_eq!(values.initial_price_display, "Y");
        assert_eq!(values.discount_product_rate, "10");
        assert_eq!(values.price_unit_class, "");
        assert_eq!(values.current_category_code, "a:2:{i:1;i:861;i:2;i:873;}");
        assert_eq!(values.is_dpg_zone_ui_category, "N");
        assert_eq!(values.product_list_api, "search");
    }

    #[test]
    fn keeps_a_serialised_current_category_from_the_page() {
        let page = format!("{LEGACY}<script>var oCurrentCategoryCode = 'a:2:{{i:1;i:97;i:2;i:747;}}';</script>");
        let Ok(BootstrapPage::Legacy(values)) = parse_bootstrap(&page) else { panic!("legacy page expected") };
        assert_eq!(values.current_category_code, "a:2:{i:1;i:97;i:2;i:747;}");
    }

    #[test]
    fn a_next_js_page_without_context_asks_for_another_connection() {
        let page = r#"<script>self.__next_f.push([1,"{\"totalCount\":4417,\"totalPages\":50}"])</script>"#;
        assert_eq!(
            parse_bootstrap(page),
            Ok(BootstrapPage::NextJs { values: None, total_count: Some(4417), total_pages: Some(50) })
        );
    }

    /// DANAWA.md "Newer evidence", Next.js template: the flight data's category context gives
    /// the list request's values (today's crawler only retried for the legacy page).
    #[test]
    fn reads_the_next_js_category_context() {
        let context = r#"{"categoryContext":{"cate":"11229614","originCategory":"112763","listCategoryCode":"763","categoryCode":"763","group":"11","depth":"2","physicsCate1":"861","physicsCate2":"877","physicsCate3":"0","physicsCate4":"0","categoryMappingCode":"863","powerLinkKeyword":"HDD","currentCategoryCode":"a:2:{i:1;i:97;i:2;i:763;}","productListApi":"search","dpgZoneCategory":"N","listPackageType":"1","packageLimit":"5","initialPriceDisplay":"N","discountProductRate":"0","priceUnit":"0","priceUnitValue":"0","priceUnitClass":""},"totalCount":4417,"totalPages":148}"#;
        let escaped = context.replace('"', "\\\"");
        let page = format!(
            r#"<html><body><div class="p-4"><input type="checkbox" id="searchAttributeValueRep4393" value="763|6201|4393|OR"></div>
            <script>self.__next_f.push([1,"0:[\"$\",\"html\"]"])</script><script>self.__next_f.push([1,"5:{escaped}\n"])</script></body></html>"#
        );
        let Ok(BootstrapPage::NextJs { values: Some(values), total_count, total_pages }) = parse_bootstrap(&page)
        else {
            panic!("context expected: {:?}", parse_bootstrap(&page));
        };
        assert_eq!((total_count, total_pages), (Some(4417), Some(148)));
        assert_eq!((values.list_category_code.as_str(), values.category_code.as_str()), ("763", "763"));
        assert_eq!(values.physics_cate, ["861", "877", "0", "0"].map(String::from));
        assert_eq!(values.current_category_code, "a:2:{i:1;i:97;i:2;i:763;}");
        assert_eq!(values.category_mapping_code, "863");
        assert_eq!(values.assembly_gallery_category, "N");
        assert_eq!(values.options.attributes.get("4393").map(String::as_str), Some("763|6201|4393|OR"));
    }

    /// DANAWA.md "Newer evidence", attribute filters: the config's bare id maps to the
    /// checkbox's full value; an id the page does not offer is an error, never a bare id.
    #[test]
    fn attribute_filters_take_the_checkbox_value() {
        let page = format!(
            r#"{LEGACY}<div class="search_option"><input type="checkbox" id="searchAttributeValueRep2153" name="searchAttributeValue" value="751|6492|2153|OR">
            <input type="checkbox" id="searchMakerRep3156" name="searchMaker" value="3156"></div>"#
        );
        let values = parse_bootstrap(&page).expect("parses").into_values().expect("legacy");
        let filter = |kind, value: &str| Filter { name: String::new(), kind, value: value.into() };
        assert_eq!(
            values.search_filter(&filter(FilterKind::Attribute, "2153"), "112751"),
            Ok(SearchFilter::Attribute("751|6492|2153|OR".into()))
        );
        assert_eq!(
            values.search_filter(&filter(FilterKind::Attribute, "751|6492|2153|OR"), "112751"),
            Ok(SearchFilter::Attribute("751|6492|2153|OR".into()))
        );
        let missing = values.search_filter(&filter(FilterKind::Attribute, "2154"), "112751").expect_err("not offered");
        assert_eq!(missing.to_string(), "attribute 2154 is not offered on category 112751");
        assert!(values.search_filter(&filter(FilterKind::Attribute, "751|1|2153|OR"), "112751").is_err());
        assert_eq!(
            values.search_filter(&filter(FilterKind::Maker, "3156"), "112747"),
            Ok(SearchFilter::Maker("3156".into()))
        );
    }

    /// DANAWA.md "Newer evidence", category codes: the DPG-zone flag is `bDpgZoneCategory` and
    /// `sProductListApi` is a `var` of its own.
    #[test]
    fn reads_the_flags_where_newer_pages_keep_them() {
        let page = LEGACY.replace(
            "sPowerLinkKeyword : 'CPU'",
            "sPowerLinkKeyword : 'CPU', bDpgZoneCategory : true, bAssemblyGalleryCategory : 'Y'",
        ) + "<script>var sProductListApi = 'list';</script>";
        let values = parse_bootstrap(&page).expect("parses").into_values().expect("legacy");
        assert_eq!(values.is_dpg_zone_ui_category, "Y");
        assert_eq!(values.assembly_gallery_category, "Y");
        assert_eq!(values.product_list_api, "list");
    }

    #[test]
    fn names_what_is_missing() {
        assert_eq!(parse_bootstrap("<html></html>"), Err(ParseError::Missing { selector: "oGlobalSetting" }));
        let page = "var oGlobalSetting = { nCategoryCode: '1', nListGroup: '11', nListDepth: '2' };";
        assert_eq!(parse_bootstrap(page), Err(ParseError::Missing { selector: "oGlobalSetting.nListCategoryCode" }));
    }
}
