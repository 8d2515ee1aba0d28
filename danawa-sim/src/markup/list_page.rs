//! The category page (`/list/?cate=N`): the legacy template with the `oGlobalSetting` and
//! `oExpansionContent` script objects, and the 2026 Next.js template without them.

use std::fmt::Write;

use super::esc;
use crate::catalogue::Category;

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

/// The Next.js variant: data only in `self.__next_f.push` chunks, no `oGlobalSetting`.
pub fn next_js(category: &Category, total: usize) -> String {
    let d = category.def;
    let pages = total.div_ceil(NEXT_PAGE_SIZE);
    let mut out = String::with_capacity(3_000);
    let _ = writeln!(
        out,
        r##"<!DOCTYPE html><html lang="ko"><head><meta charSet="utf-8"/><meta name="viewport" content="width=1280"/><title>{label} : 다나와 가격비교</title><link rel="preload" as="script" fetchPriority="low" href="/_next/static/chunks/webpack-5b1a.js"/><script src="/_next/static/chunks/main-app-7e3c.js" async=""></script></head><body><div id="__next"><main class="list-page"><div class="list-page__loading"></div></main></div><script>(self.__next_f=self.__next_f||[]).push([0])</script><script>self.__next_f.push([1,"1:\"$Sreact.fragment\"\n2:I[\"/_next/static/chunks/app/list/page-4f1e.js\",\"ListPage\"]\n"])</script><script>self.__next_f.push([1,"3:[\"$\",\"$L2\",null,{{\"categoryCode\":{code},\"cate\":\"{number}\",\"categoryName\":\"{label}\",\"sortMethod\":\"BEST\",\"listCount\":{size},\"page\":1,\"totalCount\":{total},\"totalPages\":{pages}}}]\n"])</script><script>self.__next_f.push([1,"4:{{\"productList\":{{\"items\":[],\"totalCount\":{total},\"totalPages\":{pages}}}}}\n"])</script></body></html>"##,
        label = esc(d.label),
        code = d.category_code,
        number = d.number,
        size = NEXT_PAGE_SIZE,
    );
    out
}
