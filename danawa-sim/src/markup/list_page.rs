//! The category page (`/list/?cate=N`): the legacy template with the `oGlobalSetting` and
//! `oExpansionContent` script objects, and the 2026 Next.js template without them.

use std::fmt::Write;

use super::{esc, js_str};
use crate::catalogue::{Category, CategoryDef};

/// List size the Next.js template's `totalPages` is computed for (its default page size).
pub const NEXT_PAGE_SIZE: usize = 30;

/// The legacy page: the crawler reads the list request's codes from its script objects. Per
/// DANAWA.md "Newer evidence" (category codes): `bDpgZoneCategory` sits in `oGlobalSetting`,
/// while `sProductListApi` and `oCurrentCategoryCode` are `var`s of their own.
pub fn legacy(category: &Category, total: usize) -> String {
    let d = category.def;
    let [p1, p2, p3, p4] = d.physics;
    let mut search = String::with_capacity(4_000);
    super::search_option::legacy(&mut search, d);
    let mut out = String::with_capacity(10_000);
    let _ = write!(
        out,
        r##"<!DOCTYPE html><html xmlns="http://www.w3.org/1999/xhtml" xml:lang="ko" lang="ko">
<head>
    <title>{label} : 다나와 가격비교</title>
    <meta http-equiv="Content-Type" content="text/html; charset=utf-8" /><meta name="Robots" content="index,follow" />
    <link rel="canonical" href="https://prod.danawa.com/list/?cate={number}">
    <script src="//static.danawa.com/globaljs/external/jquery/core/3.3.1/jquery-3.3.1.min.js"></script>
    <script src="//static.danawa.com/globaljs/com/danawa/prod/list/productList.js"></script>
</head>
<body>
<div id="danawa_wrap">
	<div id="danawa_container">
		<div class="cate_head"><h2 class="cate_tit">{label}</h2></div>
		<div class="product_list_wrap">
{search}			<div class="prod_list_tab"><ul class="tab_list"><li class="tab_item selected" data-sort-method="BEST"><a href="#">인기상품순</a></li><li class="tab_item" data-sort-method="NEW"><a href="#">신상품순</a></li><li class="tab_item" data-sort-method="MinPrice"><a href="#">낮은가격순</a></li></ul></div>
			<div class="prod_num"><strong class="num_c">{total}</strong>개 상품</div>
			<div id="productListArea" class="product_list_area"><div class="main_prodlist main_prodlist_list"><p class="loading">상품 목록을 불러오는 중입니다.</p></div></div>
		</div>
	</div>
</div>
<script type="text/javascript">
	var oGlobalSetting = {{
		nCategoryCode: "{category_code}",
		nListCategoryCode: "{list_code}",
		nListGroup: "{group}",
		nListDepth: "{depth}",
		sPhysicsCate1: "{p1}",
		sPhysicsCate2: "{p2}",
		sPhysicsCate3: "{p3}",
		sPhysicsCate4: "{p4}",
		sCategoryMappingCode: "{mapping}",
		sPowerLinkKeyword: "{label}",
		sListType: "LIST",
		sSortMethod: "BEST",
		nListCount: 30,
		bDpgZoneCategory: "N"
	}};
	var sProductListApi = "search";
	var oCurrentCategoryCode = "{current}";
	var oExpansionContent = {{
		sPriceCompareListType: "A",
		nPriceCompareListPackageType: "1",
		nPriceCompareListCount: "4",
		nPriceCompareListPackageLimit: "5",
		sInitialPriceDisplay: "N",
		sDiscountProductRate: "0",
		nPriceUnit: "0",
		nPriceUnitValue: "0",
		sPriceUnitClass: "",
		bBundleImagePreview: "N"
	}};
</script>
</body>
</html>
"##,
        label = esc(d.label),
        number = d.number,
        category_code = d.category_code,
        list_code = d.list_code,
        group = d.group,
        depth = d.depth,
        mapping = d.list_code + 100_000,
        current = d.current_category_code(),
        search = search,
        total = super::comma(total as u64),
    );
    out
}

/// The values the Next.js payload's `categoryContext` carries, in the documented key order. All
/// are strings. HDD's `cate` is its new code 11229614 with `originCategory` 112763 (DANAWA.md
/// "Newer evidence": category codes), while the list codes stay the legacy ones.
fn category_context(d: &CategoryDef) -> String {
    let [p1, p2, p3, p4] = d.physics;
    let cate = d.next_cate.unwrap_or(d.number);
    let fields: [(&str, String); 22] = [
        ("cate", cate.to_string()),
        ("originCategory", d.number.to_string()),
        ("listCategoryCode", d.list_code.to_string()),
        ("categoryCode", d.category_code.to_string()),
        ("group", d.group.to_string()),
        ("depth", d.depth.to_string()),
        ("physicsCate1", p1.to_string()),
        ("physicsCate2", p2.to_string()),
        ("physicsCate3", p3.to_string()),
        ("physicsCate4", p4.to_string()),
        ("categoryMappingCode", (d.list_code + 100_000).to_string()),
        ("powerLinkKeyword", d.label.to_owned()),
        ("currentCategoryCode", d.current_category_code()),
        ("productListApi", "search".to_owned()),
        ("dpgZoneCategory", "N".to_owned()),
        ("listPackageType", "1".to_owned()),
        ("packageLimit", "5".to_owned()),
        ("initialPriceDisplay", "N".to_owned()),
        ("discountProductRate", "0".to_owned()),
        ("priceUnit", "0".to_owned()),
        ("priceUnitValue", "0".to_owned()),
        ("priceUnitClass", String::new()),
    ];
    let mut out = String::from("{");
    for (i, (key, value)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "\"{key}\":{}", json_string(value));
    }
    out.push('}');
    out
}

/// A JSON string literal (the payload's values are plain text; `"` and `\` escaped).
fn json_string(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

/// One `<script>self.__next_f.push([1,"…"])</script>` chunk: `row` (a flight row, JSON inside)
/// as a double-quoted JavaScript string literal that is also a valid JSON string (quotes as
/// `\"`, backslashes as `\\`, newlines as `\n`, `<` as `\u003c`; other characters, Korean
/// included, stay UTF-8).
fn flight_chunk(out: &mut String, row: &str) {
    let _ = write!(out, "<script>self.__next_f.push([1,\"{}\"])</script>", js_str(row));
}

/// The Next.js (Tailwind) variant, 2026: no `oGlobalSetting`; the search-option checkboxes in
/// the server-rendered HTML, and the data in `self.__next_f.push` chunks. Exactly one chunk holds
/// the object `{"categoryContext":{…},"totalCount":N,"totalPages":M,…}` (DANAWA.md "Newer
/// evidence": Next.js template, whose payload carries the category context and totals).
pub fn next_js(category: &Category, total: usize) -> String {
    let d = category.def;
    let pages = total.div_ceil(NEXT_PAGE_SIZE);
    let label = esc(d.label);
    let mut out = String::with_capacity(12_000);
    let _ = write!(
        out,
        r##"<!DOCTYPE html><html lang="ko"><head><meta charSet="utf-8"/><meta name="viewport" content="width=1280"/><title>{label} : 다나와 가격비교</title><link rel="stylesheet" href="/_next/static/css/7a1c0e3b2d9f.css" data-precedence="next"/><link rel="preload" as="script" fetchPriority="low" href="/_next/static/chunks/webpack-5b1a.js"/><script src="/_next/static/chunks/main-app-7e3c.js" async=""></script></head><body class="bg-white font-sans text-gray-900 antialiased"><div id="__next"><main class="mx-auto flex w-[1280px] flex-col gap-4 px-4 py-6"><nav class="flex items-center gap-1 text-xs text-gray-500"><a class="hover:underline" href="/">홈</a><span>&gt;</span><span>PC부품</span><span>&gt;</span><strong class="font-bold text-gray-900">{label}</strong></nav><h2 class="text-2xl font-bold tracking-tight">{label}</h2>"##
    );
    super::search_option::next_js(&mut out, d);
    let _ = write!(
        out,
        r##"<div class="flex items-center justify-between border-b border-gray-900 pb-2"><p class="text-sm text-gray-600"><strong class="font-bold text-blue-600">{}</strong>개 상품</p><ul class="flex gap-3 text-sm"><li class="font-bold text-gray-900">인기상품순</li><li class="text-gray-500">신상품순</li><li class="text-gray-500">낮은가격순</li></ul></div><div id="productListArea" class="min-h-[600px]"><div class="h-40 animate-pulse rounded-md bg-gray-100"></div></div></main></div><script>(self.__next_f=self.__next_f||[]).push([0])</script>"##,
        super::comma(total as u64)
    );
    flight_chunk(
        &mut out,
        "1:\"$Sreact.fragment\"\n2:I[\"/_next/static/chunks/app/list/page-4f1e.js\",[\"static/chunks/app/list/page-4f1e.js\"],\"ListPage\"]\n",
    );
    // A row with Korean text and an escaped backslash (a regex), to exercise the unescaping.
    flight_chunk(
        &mut out,
        &format!(
            "3:{{\"categoryName\":{},\"breadcrumb\":[\"PC부품\",{}],\"pcodePattern\":\"^\\\\d+$\"}}\n",
            json_string(d.label),
            json_string(d.label)
        ),
    );
    flight_chunk(
        &mut out,
        &format!(
            "4:[\"$\",\"$L2\",null,{{\"categoryContext\":{},\"totalCount\":{total},\"totalPages\":{pages},\"sortMethod\":\"BEST\",\"listCount\":{NEXT_PAGE_SIZE},\"page\":1}}]\n",
            category_context(d)
        ),
    );
    flight_chunk(&mut out, "5:{\"productList\":{\"items\":[],\"page\":1}}\n");
    out.push_str("</body></html>");
    out
}
