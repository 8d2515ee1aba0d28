//! Everything the crawler asks Danawa, in one place: the endpoint paths, derived from the
//! origin of the config's `pageBaseUrl` / `itemBaseUrl` (so a config pointing at `danawa-sim`
//! or a mirror needs no other change), and the form fields and headers of each request as
//! Danawa's own pages send them (DANAWA.md §2 and "Product page"). Pure data: the HTTP client
//! turns a [`Request`] into a call.

use common::config::LIST_COUNT;
use url::form_urlencoded;

use crate::complete::AnswerKind;
use crate::parse::bootstrap::{ListBootstrap, SearchFilter};
use crate::parse::product::DescriptionParams;

/// The legacy category list page (bootstrap); `/list/?cate=` may serve the Next.js variant.
pub const LIST_PAGE_PATH: &str = "/list/index.php";
/// The list fragment.
pub const LIST_AJAX_PATH: &str = "/list/ajax/getProductList.ajax.php";
/// The product page.
pub const PRODUCT_PATH: &str = "/info/";
/// The spec table.
pub const SPEC_AJAX_PATH: &str = "/info/ajax/getProductDescription.ajax.php";
/// The full price-compare shop list.
pub const SHOPS_AJAX_PATH: &str = "/info/ajax/getAllPriceCompareMallList.ajax.php";
pub const ROBOTS_PATH: &str = "/robots.txt";
/// Every path the crawler requests, checked against robots.txt.
pub const CRAWLER_PATHS: [&str; 5] = [LIST_PAGE_PATH, LIST_AJAX_PATH, PRODUCT_PATH, SPEC_AJAX_PATH, SHOPS_AJAX_PATH];

/// The sort the crawler asks for: popularity, which `sortOrder` reflects.
pub const SORT_METHOD: &str = "BEST";

/// What Danawa's pages send as `Accept-Language`.
pub const ACCEPT_LANGUAGE: &str = "ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7";
const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=UTF-8";
const ACCEPT_PAGE: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
const ACCEPT_AJAX: &str = "text/html, */*; q=0.01";

/// Recent desktop browsers' User-Agents, rotated per request or per connection.
pub const USER_AGENTS: [&str; 8] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/137.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36 Edg/138.0.0.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/136.0.0.0 Safari/537.36 Whale/4.32.315.22",
];

/// The `n`-th User-Agent of the rotation (wraps around).
pub fn user_agent(n: usize) -> &'static str {
    USER_AGENTS[n % USER_AGENTS.len()]
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SiteError {
    #[error("base URL {url:?} is not a URL: {reason}")]
    NotUrl { url: String, reason: String },
    #[error("base URL {url:?} must be http or https with a host")]
    NoOrigin { url: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// One request, ready for the HTTP client. The User-Agent is not here: the client rotates it
/// ([`user_agent`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    /// Form fields of a POST, in the order Danawa's script sends them (keys may repeat).
    pub form: Vec<(String, String)>,
    /// What the answer is: decides its completeness check and labels its metrics.
    pub answer: AnswerKind,
}

impl Request {
    /// The form as an `application/x-www-form-urlencoded` body.
    pub fn body(&self) -> String {
        form_urlencoded::Serializer::new(String::new()).extend_pairs(&self.form).finish()
    }

    /// The value of a form field (the first, when it repeats).
    pub fn field(&self, name: &str) -> Option<&str> {
        self.form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// A Danawa site (the real one or a stand-in), known by its origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    origin: String,
}

impl Site {
    /// The site of a config base URL such as `https://prod.danawa.com/list/?cate=` or
    /// `http://127.0.0.1:8080/info/?pcode=`: only its origin is kept.
    ///
    /// # Errors
    /// [`SiteError`] when the text is not an http(s) URL with a host.
    pub fn from_base_url(base: &str) -> Result<Self, SiteError> {
        let url =
            url::Url::parse(base).map_err(|e| SiteError::NotUrl { url: base.to_owned(), reason: e.to_string() })?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(SiteError::NoOrigin { url: base.to_owned() });
        }
        Ok(Self { origin: url.origin().ascii_serialization() })
    }

    /// `scheme://host[:port]`, without a trailing slash.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn list_page_url(&self, category_number: &str) -> String {
        format!("{}{LIST_PAGE_PATH}?cate={}", self.origin, encode(category_number))
    }

    pub fn list_ajax_url(&self) -> String {
        format!("{}{LIST_AJAX_PATH}", self.origin)
    }

    pub fn product_url(&self, pcode: &str) -> String {
        format!("{}{PRODUCT_PATH}?pcode={}", self.origin, encode(pcode))
    }

    pub fn spec_url(&self) -> String {
        format!("{}{SPEC_AJAX_PATH}", self.origin)
    }

    pub fn shops_url(&self) -> String {
        format!("{}{SHOPS_AJAX_PATH}", self.origin)
    }

    pub fn robots_url(&self) -> String {
        format!("{}{ROBOTS_PATH}", self.origin)
    }

    /// GET of robots.txt.
    pub fn robots_request(&self) -> Request {
        self.page_request(self.robots_url(), AnswerKind::Robots)
    }

    /// GET of the category page, whose scripts (legacy) or flight data (Next.js) hold the list
    /// request's values, and whose search options hold the filters' full values.
    pub fn bootstrap_request(&self, category_number: &str) -> Request {
        self.page_request(self.list_page_url(category_number), AnswerKind::CategoryPage)
    }

    /// POST of one list page (sorted by popularity, [`LIST_COUNT`] a page), with the job's
    /// filter, as Danawa's list script sends it from the category page.
    pub fn list_request(
        &self,
        category_number: &str,
        bootstrap: &ListBootstrap,
        page: u32,
        filter: Option<&SearchFilter>,
    ) -> Request {
        Request {
            method: Method::Post,
            url: self.list_ajax_url(),
            headers: self.ajax_headers(self.list_page_url(category_number)),
            form: list_form(bootstrap, page, filter),
            answer: AnswerKind::ListFragment,
        }
    }

    /// GET of a product page.
    pub fn product_request(&self, pcode: &str) -> Request {
        self.page_request(self.product_url(pcode), AnswerKind::ProductPage)
    }

    /// POST of the spec table, with the product page's script values.
    pub fn spec_request(&self, pcode: &str, params: &DescriptionParams) -> Request {
        let mut form = product_fields(pcode, params);
        form.extend([
            field("makerName", &params.maker_name),
            field("productName", &params.product_name),
            field("prodType", &params.prod_type),
        ]);
        Request {
            method: Method::Post,
            url: self.spec_url(),
            headers: self.ajax_headers(self.product_url(pcode)),
            form,
            answer: AnswerKind::SpecTable,
        }
    }

    /// POST of the full shop list: `pcode`, `cate1..4` and `depth=4`, which return the whole
    /// list in `#defaultMallList` (DANAWA.md "Newer evidence", shop list).
    pub fn shops_request(&self, pcode: &str, params: &DescriptionParams) -> Request {
        let mut form = product_fields(pcode, params);
        form.push(field("depth", "4"));
        Request {
            method: Method::Post,
            url: self.shops_url(),
            headers: self.ajax_headers(self.product_url(pcode)),
            form,
            answer: AnswerKind::ShopList,
        }
    }

    fn page_request(&self, url: String, answer: AnswerKind) -> Request {
        Request {
            method: Method::Get,
            url,
            headers: vec![("Accept", ACCEPT_PAGE.to_owned()), ("Accept-Language", ACCEPT_LANGUAGE.to_owned())],
            form: Vec::new(),
            answer,
        }
    }

    /// The headers Danawa's scripts send with their AJAX calls; no cookies are needed.
    fn ajax_headers(&self, referer: String) -> Vec<(&'static str, String)> {
        vec![
            ("Accept", ACCEPT_AJAX.to_owned()),
            ("Accept-Language", ACCEPT_LANGUAGE.to_owned()),
            ("Content-Type", FORM_CONTENT_TYPE.to_owned()),
            ("Origin", self.origin.clone()),
            ("Referer", referer),
            ("X-Requested-With", "XMLHttpRequest".to_owned()),
        ]
    }
}

/// The list request's fields: every field DANAWA.md §2 lists and the 2026 form adds ("Newer
/// evidence", the 2026 list form), from the category page's values, then the filter. With a
/// filter, `btnAllOptUse` is `true` and the option goes twice (`…Rep[]` and `…[]`), as the
/// site's own script sends it.
pub fn list_form(b: &ListBootstrap, page: u32, filter: Option<&SearchFilter>) -> Vec<(String, String)> {
    let [cate1, cate2, cate3, cate4] = &b.physics_cate;
    let mut form = vec![
        field("btnAllOptUse", if filter.is_some() { "true" } else { "false" }),
        field("page", &page.to_string()),
        field("listCategoryCode", &b.list_category_code),
        field("categoryCode", &b.category_code),
        field("physicsCate1", cate1),
        field("physicsCate2", cate2),
        field("physicsCate3", cate3),
        field("physicsCate4", cate4),
        field("viewMethod", "LIST"),
        field("sortMethod", SORT_METHOD),
        field("listCount", &LIST_COUNT.to_string()),
        field("group", &b.group),
        field("depth", &b.depth),
        field("brandName", ""),
        field("makerName", ""),
        field("searchOptionName", ""),
        field("sDiscountProductRate", &b.discount_product_rate),
        field("sInitialPriceDisplay", &b.initial_price_display),
        field("sPowerLinkKeyword", &b.power_link_keyword),
        field("oCurrentCategoryCode", &b.current_category_code),
        field("sMallMinPriceDisplayYN", "undefined"),
        // Left empty: the site can drop names with excluded words itself (` -해외구매 -중고`), but
        // that would shift list positions (the sort order) and drop whole entries where the
        // config drops single variants by their tag.
        field("innerSearchKeyword", ""),
        field("quickDeliveryCategoryYN", "N"),
        field("quickDeliveryDisplay", ""),
        field("priceUnitSort", "N"),
        field("priceUnitSortOrder", "A"),
        field("simpleDescriptionDisplayYN", "N"),
        field("simpleDescriptionOpen", ""),
        field("listPackageType", &b.list_package_type),
        field("categoryMappingCode", &b.category_mapping_code),
        field("priceUnit", &b.price_unit),
        field("priceUnitValue", &b.price_unit_value),
        field("priceUnitClass", &b.price_unit_class),
        field("cmRecommendSort", "N"),
        field("cmRecommendSortDefault", "N"),
        field("bundleImagePreview", "N"),
        field("nPackageLimit", &b.package_limit),
        field("bMakerDisplayYN", "Y"),
        field("dnwSwitchOn", ""),
        field("isDpgZoneUICategory", &b.is_dpg_zone_ui_category),
        field("isAssemblyGalleryCategory", &b.assembly_gallery_category),
        field("addDelivery", ""),
        field("coupangMemberSort", ""),
        field("coupangMemberSortLayerType", ""),
        field("sProductListApi", &b.product_list_api),
    ];
    match filter {
        Some(SearchFilter::Maker(id)) => {
            form.push(field("searchMakerRep[]", id));
            form.push(field("searchMaker[]", id));
        }
        Some(SearchFilter::Attribute(value)) => {
            form.push(field("searchAttributeValueRep[]", value));
            form.push(field("searchAttributeValue[]", value));
        }
        None => {}
    }
    form
}

fn product_fields(pcode: &str, params: &DescriptionParams) -> Vec<(String, String)> {
    let [cate1, cate2, cate3, cate4] = &params.cate;
    vec![
        field("pcode", pcode),
        field("cate1", cate1),
        field("cate2", cate2),
        field("cate3", cate3),
        field("cate4", cate4),
    ]
}

fn field(name: &str, value: &str) -> (String, String) {
    (name.to_owned(), value.to_owned())
}

fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bootstrap() -> ListBootstrap {
        ListBootstrap {
            category_code: "38749".into(),
            list_category_code: "52451".into(),
            group: "11".into(),
            depth: "2".into(),
            physics_cate: ["861", "873", "0", "0"].map(String::from),
            category_mapping_code: "176".into(),
            power_link_keyword: "CPU".into(),
            current_category_code: "a:2:{i:1;i:861;i:2;i:873;}".into(),
            is_dpg_zone_ui_category: "N".into(),
            product_list_api: "search".into(),
            list_package_type: "1".into(),
            package_limit: "5".into(),
            initial_price_display: "N".into(),
            discount_product_rate: "0".into(),
            price_unit: "0".into(),
            price_unit_value: "0".into(),
            price_unit_class: "".into(),
            assembly_gallery_category: "Y".into(),
            options: Default::default(),
        }
    }

    #[test]
    fn endpoints_follow_the_config_origin() {
        let site = Site::from_base_url("http://127.0.0.1:8080/list/?cate=").expect("site");
        assert_eq!(site.origin(), "http://127.0.0.1:8080");
        assert_eq!(site.list_page_url("112747"), "http://127.0.0.1:8080/list/index.php?cate=112747");
        assert_eq!(site.list_ajax_url(), "http://127.0.0.1:8080/list/ajax/getProductList.ajax.php");
        assert_eq!(site.product_url("1234"), "http://127.0.0.1:8080/info/?pcode=1234");
        assert_eq!(site.spec_url(), "http://127.0.0.1:8080/info/ajax/getProductDescription.ajax.php");
        assert_eq!(site.shops_url(), "http://127.0.0.1:8080/info/ajax/getAllPriceCompareMallList.ajax.php");
        assert_eq!(site.robots_url(), "http://127.0.0.1:8080/robots.txt");
        let real = Site::from_base_url("https://prod.danawa.com/info/?pcode=").expect("site");
        assert_eq!(real.origin(), "https://prod.danawa.com");
        assert!(Site::from_base_url("not a url").is_err());
        assert!(Site::from_base_url("ftp://x/").is_err());
    }

    #[test]
    fn list_request_sends_every_field_and_the_filter() {
        let site = Site::from_base_url("https://prod.danawa.com/list/?cate=").expect("site");
        let filter = SearchFilter::Maker("3156".into());
        let request = site.list_request("112747", &bootstrap(), 3, Some(&filter));
        assert_eq!(request.method, Method::Post);
        for (name, value) in [
            ("page", "3"),
            ("listCategoryCode", "52451"),
            ("categoryCode", "38749"),
            ("physicsCate2", "873"),
            ("viewMethod", "LIST"),
            ("sortMethod", "BEST"),
            ("listCount", "90"),
            ("group", "11"),
            ("depth", "2"),
            ("oCurrentCategoryCode", "a:2:{i:1;i:861;i:2;i:873;}"),
            ("categoryMappingCode", "176"),
            ("nPackageLimit", "5"),
            ("searchMaker[]", "3156"),
            ("searchMakerRep[]", "3156"),
            ("btnAllOptUse", "true"),
            // DANAWA.md "Newer evidence", the 2026 list form.
            ("isAssemblyGalleryCategory", "Y"),
            ("bMakerDisplayYN", "Y"),
            ("sMallMinPriceDisplayYN", "undefined"),
            ("priceUnitSortOrder", "A"),
        ] {
            assert_eq!(request.field(name), Some(value), "{name}");
        }
        for name in [
            "physicsCate1",
            "physicsCate3",
            "physicsCate4",
            "brandName",
            "makerName",
            "searchOptionName",
            "sDiscountProductRate",
            "sInitialPriceDisplay",
            "sPowerLinkKeyword",
            "innerSearchKeyword",
            "isDpgZoneUICategory",
            "sProductListApi",
            "listPackageType",
            "priceUnit",
            "priceUnitValue",
            "priceUnitClass",
            "cmRecommendSort",
            "cmRecommendSortDefault",
            "bundleImagePreview",
            "dnwSwitchOn",
            "quickDeliveryCategoryYN",
            "quickDeliveryDisplay",
            "priceUnitSort",
            "simpleDescriptionDisplayYN",
            "simpleDescriptionOpen",
            "addDelivery",
            "coupangMemberSort",
            "coupangMemberSortLayerType",
        ] {
            assert!(request.field(name).is_some(), "{name}");
        }
        assert_eq!(request.field("searchAttributeValue[]"), None);
        assert!(request.body().contains("searchMaker%5B%5D=3156"));
        let header = |name: &str| request.headers.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str());
        assert_eq!(header("Referer"), Some("https://prod.danawa.com/list/index.php?cate=112747"));
        assert_eq!(header("X-Requested-With"), Some("XMLHttpRequest"));
        assert_eq!(header("Origin"), Some("https://prod.danawa.com"));
        assert_eq!(header("Content-Type"), Some("application/x-www-form-urlencoded; charset=UTF-8"));
        assert!(header("Accept-Language").is_some_and(|v| v.starts_with("ko-KR")));
        let attribute = SearchFilter::Attribute("751|6492|2153|OR".into());
        let request = site.list_request("112751", &bootstrap(), 1, Some(&attribute));
        assert_eq!(request.field("searchAttributeValue[]"), Some("751|6492|2153|OR"));
        assert_eq!(request.field("searchAttributeValueRep[]"), Some("751|6492|2153|OR"));
        let unfiltered = site.list_request("112751", &bootstrap(), 1, None);
        assert_eq!(unfiltered.field("searchMaker[]"), None);
        assert_eq!(unfiltered.field("btnAllOptUse"), Some("false"));
    }

    #[test]
    fn spec_and_shop_requests_carry_the_page_values() {
        let site = Site::from_base_url("https://prod.danawa.com/info/?pcode=").expect("site");
        let params = DescriptionParams {
            cate: ["224", "38768", "53984", "0"].map(String::from),
            maker_name: "APPLE".into(),
            product_name: "2022 iPad Air 5세대".into(),
            prod_type: "T2".into(),
        };
        let spec = site.spec_request("16559657", &params);
        assert_eq!(spec.url, "https://prod.danawa.com/info/ajax/getProductDescription.ajax.php");
        for (name, value) in [
            ("pcode", "16559657"),
            ("cate1", "224"),
            ("cate4", "0"),
            ("makerName", "APPLE"),
            ("productName", "2022 iPad Air 5세대"),
            ("prodType", "T2"),
        ] {
            assert_eq!(spec.field(name), Some(value), "{name}");
        }
        assert!(spec.headers.contains(&("Referer", "https://prod.danawa.com/info/?pcode=16559657".to_owned())));
        let shops = site.shops_request("16559657", &params);
        assert_eq!(shops.field("cate2"), Some("38768"));
        assert!(shops.url.ends_with("/info/ajax/getAllPriceCompareMallList.ajax.php"));
        assert_eq!(site.product_request("1").method, Method::Get);
        assert_eq!(site.bootstrap_request("112747").url, "https://prod.danawa.com/list/index.php?cate=112747");
    }

    #[test]
    fn user_agents_rotate() {
        assert_eq!(user_agent(0), user_agent(USER_AGENTS.len()));
        assert_ne!(user_agent(0), user_agent(1));
        assert!(USER_AGENTS.iter().all(|ua| ua.starts_with("Mozilla/5.0")));
    }
}
