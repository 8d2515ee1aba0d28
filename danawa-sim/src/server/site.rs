//! The crawler-facing endpoints: what each URL answers when no fault intervenes.

use hyper::{HeaderMap, Method, StatusCode};

use super::routes::SimRequest;
use super::{Connection, SimState};
use crate::catalogue::shops::shop_lists;
use crate::catalogue::specs::spec_table;
use crate::catalogue::{Category, Stock};
use crate::markup::list_fragment::{self, ListPage};
use crate::markup::misc::{EXPIRED_PAGE, ROBOTS_TXT};
use crate::markup::{list_page, mall_list, product_page, spec_table as spec_markup};

/// The endpoints, for routing, fault scopes and stats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Endpoint {
    Robots,
    ListPage,
    ListAjax,
    ProductPage,
    SpecAjax,
    MallAjax,
    NotFound,
}

impl Endpoint {
    pub(super) fn name(self) -> &'static str {
        match self {
            Endpoint::Robots => "robots",
            Endpoint::ListPage => "list_page",
            Endpoint::ListAjax => "list_ajax",
            Endpoint::ProductPage => "product_page",
            Endpoint::SpecAjax => "spec_ajax",
            Endpoint::MallAjax => "mall_ajax",
            Endpoint::NotFound => "not_found",
        }
    }
}

/// Which endpoint a request is for.
pub(super) fn classify(method: &Method, path: &str) -> Endpoint {
    let get = method == Method::GET || method == Method::HEAD;
    match (get, path) {
        (true, "/robots.txt") => Endpoint::Robots,
        (true, "/list/" | "/list/index.php" | "/list") => Endpoint::ListPage,
        (true, "/info/" | "/info/index.php" | "/info") => Endpoint::ProductPage,
        (false, "/list/ajax/getProductList.ajax.php") => Endpoint::ListAjax,
        (false, "/info/ajax/getProductDescription.ajax.php") => Endpoint::SpecAjax,
        (false, "/info/ajax/getAllPriceCompareMallList.ajax.php") => Endpoint::MallAjax,
        _ => Endpoint::NotFound,
    }
}

/// An answer before fault post-processing.
pub(super) struct Rendered {
    pub status: StatusCode,
    pub content_type: &'static str,
    pub body: String,
}

const HTML: &str = "text/html; charset=UTF-8";

fn html(body: String) -> Rendered {
    Rendered { status: StatusCode::OK, content_type: HTML, body }
}

fn not_found() -> Rendered {
    Rendered {
        status: StatusCode::NOT_FOUND,
        content_type: HTML,
        body: "<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>".to_owned(),
    }
}

/// Form or query fields, in order (repeated keys such as `searchMaker[]` kept).
pub(super) struct Fields(Vec<(String, String)>);

impl Fields {
    pub(super) fn parse(text: &[u8]) -> Self {
        Self(url::form_urlencoded::parse(text).into_owned().collect())
    }

    pub(super) fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    pub(super) fn number(&self, key: &str) -> Option<u32> {
        self.get(key)?.trim().parse().ok()
    }

    /// Every value of `key[]` or `key`, comma lists split, trimmed.
    pub(super) fn values<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == key || k.strip_suffix("[]") == Some(key))
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }

    /// The pairs in order, for the request log.
    pub(super) fn into_pairs(self) -> Vec<(String, String)> {
        self.0
    }

    /// Every numeric value of `key[]` or `key`.
    pub(super) fn numbers(&self, key: &str) -> Vec<u32> {
        self.values(key).filter_map(|n| n.parse().ok()).collect()
    }
}

/// The words `innerSearchKeyword` excludes: each `-word` (e.g. ` -해외구매 -중고`) drops the
/// entries whose name contains the word (DANAWA.md "Newer evidence": the site itself can drop
/// names with excluded words). Words without `-` are ignored.
fn excluded_words(form: &Fields) -> Vec<String> {
    let mut words: Vec<String> = form
        .get("innerSearchKeyword")
        .unwrap_or("")
        .split_whitespace()
        .filter_map(|w| w.strip_prefix('-'))
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect();
    words.sort_unstable();
    words.dedup();
    words
}

/// The attribute filters of a list request: each value of `searchAttributeValue[]` or of
/// `searchAttributeValueRep[]` (Danawa's script sends both) that is exactly one of the category's
/// checkbox values `CATE|GROUP|ID|OR`. Anything else, a bare id included, is ignored and the
/// listing is the unfiltered one, as the site most likely does (DANAWA.md "Newer evidence":
/// attribute filters need the full checkbox value).
fn attribute_filters(category: &Category, form: &Fields) -> Vec<u32> {
    let offered: Vec<(u32, String)> =
        category.def.offered_attributes().map(|(_, attr, value)| (attr.value, value)).collect();
    let mut attrs: Vec<u32> = form
        .values("searchAttributeValue")
        .chain(form.values("searchAttributeValueRep"))
        .filter_map(|sent| offered.iter().find(|(_, value)| value == sent).map(|(id, _)| *id))
        .collect();
    attrs.sort_unstable();
    attrs.dedup();
    attrs
}

/// Renders the normal answer of `endpoint`. `repeat` serves another page of the same listing
/// (the soft block "previous page served again").
pub(super) fn render(
    state: &SimState,
    conn: &Connection,
    req: &SimRequest,
    endpoint: Endpoint,
    repeat: bool,
) -> Rendered {
    match endpoint {
        Endpoint::Robots => {
            Rendered { status: StatusCode::OK, content_type: "text/plain; charset=UTF-8", body: ROBOTS_TXT.to_owned() }
        }
        Endpoint::ListPage => category_page(state, conn, req),
        Endpoint::ListAjax => list_ajax(state, req, repeat),
        Endpoint::ProductPage => product(state, req),
        Endpoint::SpecAjax => spec_ajax(state, req),
        Endpoint::MallAjax => mall_ajax(state, req),
        Endpoint::NotFound => not_found(),
    }
}

fn category_page(state: &SimState, conn: &Connection, req: &SimRequest) -> Rendered {
    let query = Fields::parse(req.query.as_bytes());
    let Some(category) = query.number("cate").and_then(|n| state.catalogue.by_number(n)) else {
        return not_found();
    };
    let total = category.products.len();
    // Both `/list/?cate=` and `/list/index.php?cate=` are A/B-routed, per connection (DANAWA.md
    // "Newer evidence": the same URL serves the legacy or the Next.js template at random).
    if conn.next_variant {
        return html(list_page::next_js(category, total));
    }
    html(list_page::legacy(category, total))
}

/// Whether an AJAX request carries what Danawa's own script sends.
fn ajax_headers_ok(state: &SimState, headers: &HeaderMap) -> bool {
    if !state.strict_ajax {
        return true;
    }
    let xrw = headers.get("x-requested-with").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"XMLHttpRequest"));
    xrw && headers.contains_key("referer")
}

/// The empty 200 the real site gives a request it cannot place.
fn empty() -> Rendered {
    html(String::new())
}

fn list_category<'a>(state: &'a SimState, form: &Fields) -> Option<&'a Category> {
    let category = state.catalogue.by_codes(form.number("listCategoryCode")?, form.number("categoryCode")?)?;
    let group_ok = form.number("group") == Some(category.def.group);
    let depth_ok = form.number("depth") == Some(category.def.depth);
    (group_ok && depth_ok).then_some(category)
}

fn list_ajax(state: &SimState, req: &SimRequest, repeat: bool) -> Rendered {
    let form = Fields::parse(&req.body);
    if !ajax_headers_ok(state, &req.headers) {
        return empty();
    }
    let Some(category) = list_category(state, &form) else { return empty() };
    // Danawa offers 30 (default) and 90 per page; anything else gets the default.
    let list_count = if form.number("listCount") == Some(90) { 90 } else { 30 };
    let listing = state.listings.get(
        category,
        form.numbers("searchMaker"),
        attribute_filters(category, &form),
        excluded_words(&form),
    );
    let last = listing.len().div_ceil(list_count).max(1);
    let asked = form.number("page").unwrap_or(1).max(1) as usize;
    let page = match (repeat, asked) {
        (false, p) => p,
        (true, 1) if last >= 2 => 2,
        (true, 1) => 1,
        (true, p) => p - 1,
    };
    let from = ((page - 1) * list_count).min(listing.len());
    let to = (from + list_count).min(listing.len());
    html(list_fragment::render(&ListPage {
        catalogue: &state.catalogue,
        shapes: state.shapes(),
        category,
        entries: &listing[from..to],
        page,
        list_count,
        total: listing.len(),
    }))
}

fn product(state: &SimState, req: &SimRequest) -> Rendered {
    let query = Fields::parse(req.query.as_bytes());
    let found = query.number("pcode").and_then(|p| state.catalogue.find(p));
    match found {
        Some(v) if v.variant.stock != Stock::Discontinued => {
            let seed = state.catalogue.params.seed;
            html(product_page::render(seed, &v, &shop_lists(seed, &v)))
        }
        // Unknown and discontinued products both get the "service ended" answer.
        _ => html(EXPIRED_PAGE.to_owned()),
    }
}

fn ajax_variant<'a>(state: &'a SimState, req: &SimRequest) -> Option<crate::catalogue::VariantRef<'a>> {
    if !ajax_headers_ok(state, &req.headers) {
        return None;
    }
    let form = Fields::parse(&req.body);
    let v = state.catalogue.find(form.number("pcode")?)?;
    (v.variant.stock != Stock::Discontinued).then_some(v)
}

fn spec_ajax(state: &SimState, req: &SimRequest) -> Rendered {
    let Some(v) = ajax_variant(state, req) else { return empty() };
    let title = v.product.title(usize::from(v.location.variant));
    let classless = state.shapes().classless_spec(v.variant.pcode);
    html(spec_markup::render(&title, &spec_table(state.catalogue.params.seed, &v), classless))
}

fn mall_ajax(state: &SimState, req: &SimRequest) -> Rendered {
    let Some(v) = ajax_variant(state, req) else { return empty() };
    let seed = state.catalogue.params.seed;
    html(mall_list::render(seed, state.shapes(), &v, &shop_lists(seed, &v)))
}
