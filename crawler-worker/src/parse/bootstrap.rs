//! The category bootstrap page (`/list/index.php?cate=N`): the `oGlobalSetting` and
//! `oExpansionContent` values the list request must echo back, or the sign that Danawa served
//! its Next.js list page instead (then the crawler retries on a fresh connection).

use serde::{Deserialize, Serialize};

use super::script::{find_object, find_value, JsObject};
use super::ParseError;

/// What a bootstrap answer turned out to be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "variant")]
pub enum BootstrapPage {
    /// The legacy page, with what the list request needs.
    Legacy(Box<ListBootstrap>),
    /// The 2026 Next.js page (no `oGlobalSetting`): not usable for the list request. The counts
    /// it announces are kept for the log.
    NextJs { total_count: Option<u32>, total_pages: Option<u32> },
}

/// The values of the legacy list page that the list request sends back (DANAWA.md §1–2).
/// They are kept as the page's text: the request echoes them unchanged.
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
    /// `oCurrentCategoryCode`, PHP-serialised (`a:2:{i:1;i:97;i:2;i:747;}`).
    pub current_category_code: String,
    /// `isDpgZoneUICategory` (`"N"` when absent).
    pub is_dpg_zone_ui_category: String,
    /// `sProductListApi` (`"search"` when absent).
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
}

/// Reads a bootstrap answer.
///
/// # Errors
/// [`ParseError::Missing`] naming the first script value the list request cannot do without
/// (`oGlobalSetting`, `oGlobalSetting.nListCategoryCode`, ...).
pub fn parse_bootstrap(html: &str) -> Result<BootstrapPage, ParseError> {
    let Some(global) = find_object(html, "oGlobalSetting") else {
        if html.contains("self.__next_f") {
            return Ok(BootstrapPage::NextJs {
                total_count: next_number(html, "totalCount"),
                total_pages: next_number(html, "totalPages"),
            });
        }
        return Err(ParseError::Missing { selector: "oGlobalSetting" });
    };
    let expansion = find_object(html, "oExpansionContent").unwrap_or_default();
    let required = |key: &str, selector: &'static str| {
        global.get_non_empty(key).map(str::to_owned).ok_or(ParseError::Missing { selector })
    };
    let optional =
        |object: &JsObject, key: &str, default: &str| object.get_non_empty(key).unwrap_or(default).trim().to_owned();
    let physics_cate =
        ["sPhysicsCate1", "sPhysicsCate2", "sPhysicsCate3", "sPhysicsCate4"].map(|key| optional(&global, key, "0"));
    let current_category_code = current_category_code(html, &global, &physics_cate);
    Ok(BootstrapPage::Legacy(Box::new(ListBootstrap {
        category_code: required("nCategoryCode", "oGlobalSetting.nCategoryCode")?,
        list_category_code: required("nListCategoryCode", "oGlobalSetting.nListCategoryCode")?,
        group: required("nListGroup", "oGlobalSetting.nListGroup")?,
        depth: required("nListDepth", "oGlobalSetting.nListDepth")?,
        category_mapping_code: optional(&global, "sCategoryMappingCode", ""),
        power_link_keyword: optional(&global, "sPowerLinkKeyword", ""),
        is_dpg_zone_ui_category: optional(&global, "isDpgZoneUICategory", "N"),
        product_list_api: optional(&global, "sProductListApi", "search"),
        list_package_type: optional(&expansion, "nPriceCompareListPackageType", "1"),
        package_limit: optional(&expansion, "nPriceCompareListPackageLimit", "5"),
        initial_price_display: optional(&expansion, "sInitialPriceDisplay", "N"),
        discount_product_rate: optional(&expansion, "sDiscountProductRate", "0"),
        price_unit: optional(&expansion, "nPriceUnit", "0"),
        price_unit_value: optional(&expansion, "nPriceUnitValue", "0"),
        price_unit_class: optional(&expansion, "sPriceUnitClass", ""),
        physics_cate,
        current_category_code,
    })))
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
    given.unwrap_or_else(|| {
        let codes: Vec<&str> = physics_cate.iter().map(String::as_str).filter(|c| *c != "0" && !c.is_empty()).collect();
        let body: String = codes.iter().enumerate().map(|(i, code)| format!("i:{};i:{};", i + 1, code)).collect();
        format!("a:{}:{{{}}}", codes.len(), body)
    })
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
    fn detects_the_next_js_page() {
        let page = r#"<script>self.__next_f.push([1,"{\"totalCount\":4417,\"totalPages\":50}"])</script>"#;
        assert_eq!(parse_bootstrap(page), Ok(BootstrapPage::NextJs { total_count: Some(4417), total_pages: Some(50) }));
    }

    #[test]
    fn names_what_is_missing() {
        assert_eq!(parse_bootstrap("<html></html>"), Err(ParseError::Missing { selector: "oGlobalSetting" }));
        let page = "var oGlobalSetting = { nCategoryCode: '1', nListGroup: '11', nListDepth: '2' };";
        assert_eq!(parse_bootstrap(page), Err(ParseError::Missing { selector: "oGlobalSetting.nListCategoryCode" }));
    }
}
