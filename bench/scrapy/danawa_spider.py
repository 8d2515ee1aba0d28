"""A plain Scrapy spider doing the pipeline's crawl: the baseline of the throughput issue.

It sends the requests crawler-worker sends (crawler-worker/src/danawa.rs, crawl.rs) and reads
the fields crawler-worker's parsers read (crawler-worker/src/parse/), with parsel selectors:

- per config category, the category page ``GET /list/index.php?cate=N`` (the "bootstrap":
  ``oGlobalSetting`` / ``oExpansionContent`` / ``var sProductListApi`` /
  ``oCurrentCategoryCode`` and the search-option checkboxes that give an attribute filter's
  full ``CATE|GROUP|ID|OR`` value);
- per listing (one per filter, or one unfiltered), ``POST /list/ajax/getProductList.ajax.php``
  with the form of ``danawa::list_form`` (same fields, same order, 90 a page, sorted BEST, the
  filter sent twice as ``...Rep[]`` and ``...[]``) and the AJAX headers (Origin, Referer = the
  category page, X-Requested-With); page 1 of an ``end: "*"`` listing fans out to
  ``ceil(#totalProductCount / 90)`` pages, a numbered ``start..end`` range is requested whole;
- the config's listing rules (minimumDate, ignoreWords merged with the global ones) as
  ``common::plan::ListingRules`` applies them;
- only for categories named in ``itemsCategories`` (``Category::crawl_items``), once per pcode
  of the run (the pipeline's per-run claim: the first listing to list a pcode owns it): the
  product page ``GET /info/?pcode=P``, then side by side the spec table
  ``POST /info/ajax/getProductDescription.ajax.php`` (pcode, cate1..4, makerName,
  productName, prodType from the page's ``oGlobalSetting`` / ``oProductDescriptionInfo``) and
  the shop list ``POST /info/ajax/getAllPriceCompareMallList.ajax.php`` (pcode, cate1..4,
  depth=4), Referer = the product page; a discontinued product (the "서비스가 종료된 상품"
  alert) stops after the product page.

Documents: one ``parts`` document per pcode in database ``electrokerot`` (the workers'
default), upserted by pcode (unique index ``pcode_unique``), with the contract's fields
(DESIGN.md section 6; updater-worker/src/store/list.rs and item.rs for the shapes): pcode,
category, name {fullName, tag?}, variants, isVariant, sortOrder (``$max``), stock, details
{field: {value, type}}, vendors {openMarket, mall, credit, cash}, prices (one
{timestamp, price} point ``$push``-ed when in stock with a price), isUpdating: false,
createdAt, updatedAt. The values follow the same rules (split_title, normalize_maker,
strip_count_suffix, the CPU code name and the graphics/cooler subtype in details, the lowest
vendor price, else the page's min price, else JSON-LD's), so ``run.py --check-truth`` can
compare them with the sim's ground truth field by field, as ``pipeline-bench --check-truth``
does.

Writes: an item pipeline buffers the update statements and writes them in batches of
``DANAWA_BATCH_SIZE`` (10) with pymongo ``bulk_write(ordered=False)``. The batches are written
in a thread pool of ``DANAWA_DB_WRITERS`` threads (default 2, as the pipeline runs 2 updaters)
through Twisted's ``deferToThreadPool``, chosen so that the reactor keeps downloading and
parsing while a batch is in SecantusDB, as the pipeline's crawlers keep crawling while its
updaters write: the baseline should not lose to a stall the pipeline does not have. ``-s
DANAWA_DB_WRITERS=0`` writes synchronously in ``process_item`` instead (the "MongoPipeline"
of Scrapy's docs, batched), every download waiting while a batch is written; against a local
SecantusDB that took a few ms per batch, it measured about the same at 22 products.

Settings: CONCURRENT_REQUESTS 30 (and the per-domain limit with it), no download delay, no
AutoThrottle, no robots.txt, Scrapy's default retries, log level INFO, the telnet console and
the remote-control server off; everything else is Scrapy's default, CONCURRENT_ITEMS 100
included (Scrapy 2.19 then starts 100 asyncio tasks per response to process its callback's
output; ``-s CONCURRENT_ITEMS=10`` took about a quarter off the spider's CPU time here).

What differs from the pipeline (on purpose: a plain spider; none of it changes which pages are
fetched or what the final documents hold):

- Requests: the category page once per category (the pipeline's crawlers read it 27-69 times
  per run in BENCHMARKS.md's tables, before the fleet shares its values); no
  robots.txt (one per crawler process in the pipeline); Scrapy's default retries (2 on
  5xx/408/429/timeouts, none on soft blocks) instead of the pipeline's per-request retries,
  block checks (empty or cut answers, a page served twice, ``a.num.now_on``), backoff, proxies
  and circuit changes; the legacy category page only (the Next.js template, served by the sim
  with ``--next-share``, is logged as an error); a User-Agent rotated per request from the
  crawler's list. Scrapy adds its own ``Accept-Encoding``; the sim does not compress.
- Writes: one upsert per product, built when its three answers are in, instead of one upsert
  per listed variant per listing (the list result) plus one update per product (the item
  result); a later listing that ranks an already written pcode higher sends a small
  ``$max: {sortOrder}`` upsert (the pipeline's list upserts do that). ``-s
  DANAWA_LIST_WRITES=1`` adds the pipeline's list upserts (one per listed variant per listing
  page) so the statement count matches the pipeline's. No transactions (the pipeline writes each
  batch of 10 results in one transaction, with its item-job claims), no ``itemCheckedAt`` /
  ``itemCheckedRun``, ``isUpdating`` never set to true, ``$push`` instead of ``$addToSet`` for
  the price point, and only the pcode index (the pipeline also keeps ``{category, sortOrder}``
  and ``{isUpdating, updatedAt}``; ``-s DANAWA_ALL_INDEXES=1`` creates them too).
- No Redis, no streams, no dedupe sets, no run bookkeeping: the run's state is this process's
  memory, and a crash loses it.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import re
import time
from datetime import datetime, timezone
from urllib.parse import quote

import scrapy
from scrapy import signals
from scrapy.http import FormRequest, Request
from scrapy.utils.defer import maybe_deferred_to_future

# --- constants of crawler-worker/src/danawa.rs and common -----------------------------------

LIST_PAGE_PATH = "/list/index.php"
LIST_AJAX_PATH = "/list/ajax/getProductList.ajax.php"
PRODUCT_PATH = "/info/"
SPEC_AJAX_PATH = "/info/ajax/getProductDescription.ajax.php"
SHOPS_AJAX_PATH = "/info/ajax/getAllPriceCompareMallList.ajax.php"
SORT_METHOD = "BEST"
LIST_COUNT = 90
SORT_ORDER_TOP = 1_000_000
ACCEPT_LANGUAGE = "ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded; charset=UTF-8"
ACCEPT_PAGE = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
ACCEPT_AJAX = "text/html, */*; q=0.01"
USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/137.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36 Edg/138.0.0.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/136.0.0.0 Safari/537.36 Whale/4.32.315.22",
]
# crawler-worker/src/parse/bootstrap.rs ASSEMBLY_GALLERY_CATEGORIES
ASSEMBLY_GALLERY_CATEGORIES = {"747", "751", "753", "777", "775"}
# crawler-worker/src/parse/list.rs NO_PRICE_TEXTS
NO_PRICE_TEXTS = ["가격비교예정", "일시품절", "판매중지", "출시예정", "가격비교중지", "단종", "품절"]
DISCONTINUED_TEXT = "가격비교 서비스가 종료된 상품"
STOP_SECTION = "인증"
MAKER_FIELD = "제조회사"
COOLER_SECTION = "쿨러"
CODE_NAME_FIELD, CODE_NAME_SECTION = "코드 네임", "CPU"
SUBTYPE_FIELD, SUBTYPE_SECTION = "분류", "요약"
SHOP_CONTAINERS = [
    ("OpenMarketMallListDiv", "openMarket", False),
    ("AffiliateMallListDiv", "mall", False),
    ("cardCashMallList", "credit", True),
    ("cashMallList", "cash", True),
]
SHOP_CONTAINER_IDS = {c[0] for c in SHOP_CONTAINERS}

DATABASE = "electrokerot"
COLLECTION = "parts"


# --- small text helpers (crawler-worker/src/parse/mod.rs) ------------------------------------


def collapse(text: str) -> str:
    return " ".join(text.split())


def text_of(sel) -> str:
    """The element's text with runs of whitespace collapsed (``text_of``)."""
    return collapse("".join(sel.xpath(".//text()").getall()))


def parse_amount(text: str | None):
    """The digits of the first number in the text (``1,089,990``, ``3,000원``), else None."""
    if not text:
        return None
    m = re.search(r"[0-9][0-9,]*", text)
    if not m:
        return None
    digits = m.group(0).replace(",", "")
    if not digits:
        return None
    value = int(digits)
    return value if value < 2**63 else None


def has_class(name: str) -> str:
    """An XPath predicate for an exact class token."""
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


def parse_date(text: str):
    """``RegistrationDate::parse``: ``YYYY``, ``YYYY.MM``, ``YYYY-MM``, ``YYYY.MM.`` -> (y, m)."""
    text = text.strip().rstrip(".")
    m = re.match(r"^([^.\-]*)[.\-](.*)$", text)
    year_text, month_text = (m.group(1), m.group(2)) if m else (text, None)
    year_text = year_text.strip()
    if not year_text.isascii() or not year_text.isdigit():
        return None
    year = int(year_text)
    if year > 65535:
        return None
    if month_text is None:
        return (year, 0 if year == 0 else 1)
    month_text = month_text.strip()
    if not month_text.isascii() or not month_text.isdigit() or not 1 <= int(month_text) <= 12:
        return None
    return (year, int(month_text))


def sort_order(page: int, position: int) -> int:
    return SORT_ORDER_TOP - ((max(page - 1, 0)) * LIST_COUNT + position)


def split_title(title: str, code_name: bool):
    """``common::parts::split_title``: (full name, tag = last "(...)", code name = first "(...)"
    of a title with two groups or more, for CPUs)."""
    groups = []
    depth = 0
    start = 0
    for i, c in enumerate(title):
        if c == "(":
            if depth == 0:
                start = i
            depth += 1
        elif c == ")" and depth > 0:
            depth -= 1
            if depth == 0:
                groups.append((start, i + 1))
    tag_group = groups[-1] if groups else None
    code_group = groups[0] if code_name and len(groups) >= 2 else None
    full = []
    cursor = 0
    for group in (code_group, tag_group):
        if group is None:
            continue
        full.append(title[cursor : group[0]])
        cursor = group[1]
    full.append(title[cursor:])

    def inner(group):
        if group is None:
            return None
        return title[group[0] + 1 : group[1] - 1].strip() or None

    return collapse("".join(full)), inner(tag_group), inner(code_group)


def normalize_maker(value: str) -> str:
    return "".join(c for c in value if not c.isspace() and c not in "()")


def strip_count_suffix(value: str) -> str:
    trimmed = value.rstrip()
    at = max(trimmed.rfind("x"), trimmed.rfind("X"))
    if at > 0:
        digits = trimmed[at + 1 :]
        if digits and digits.isascii() and digits.isdigit():
            return trimmed[:at].rstrip()
    return trimmed


def name_doc(full_name: str, tag):
    doc = {"fullName": full_name}
    if tag is not None:
        doc["tag"] = tag
    return doc


# --- inline scripts (crawler-worker/src/parse/script.rs, simplified) -------------------------

_JS_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}


def _read_string(text: str, pos: int):
    """The JS string literal starting at ``text[pos]`` (a quote), unescaped, and the end."""
    quote_char = text[pos]
    out = []
    i = pos + 1
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n:
            e = text[i + 1]
            if e == "u" and re.match(r"[0-9a-fA-F]{4}", text[i + 2 : i + 6]):
                out.append(chr(int(text[i + 2 : i + 6], 16)))
                i += 6
                continue
            if e == "x" and re.match(r"[0-9a-fA-F]{2}", text[i + 2 : i + 4]):
                out.append(chr(int(text[i + 2 : i + 4], 16)))
                i += 4
                continue
            out.append(_JS_ESCAPES.get(e, e))
            i += 2
            continue
        if c == quote_char:
            return "".join(out), i + 1
        out.append(c)
        i += 1
    return "".join(out), n


def _assignments(text: str, name: str):
    """Positions just after ``name =`` (not ``==``; ``name`` a whole identifier)."""
    for m in re.finditer(r"(?<![\w$])" + re.escape(name) + r"\s*=(?!=)\s*", text):
        yield m.end()


def _skip_blank(text: str, i: int) -> int:
    n = len(text)
    while i < n:
        if text[i].isspace():
            i += 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i)
            i = n if j < 0 else j + 2
        else:
            break
    return i


def _read_value(text: str, i: int):
    """A value: a string unescaped, anything else (number, nested object) as trimmed source."""
    n = len(text)
    if i < n and text[i] in "'\"`":
        return _read_string(text, i)
    start = i
    depth = 0
    while i < n:
        c = text[i]
        if c in "'\"`":
            _, i = _read_string(text, i)
            continue
        if c in "{[(":
            depth += 1
        elif c in "}])":
            if depth == 0:
                break
            depth -= 1
        elif c in ",;\n" and depth == 0:
            break
        i += 1
    return text[start:i].strip(), i


def find_object(text: str, name: str):
    """The entries of the object literal assigned to ``name``, as a dict of strings."""
    for at in _assignments(text, name):
        if at < len(text) and text[at] == "{":
            break
    else:
        return None
    entries: dict[str, str] = {}
    i = at + 1
    n = len(text)
    while i < n:
        i = _skip_blank(text, i)
        if i >= n or text[i] == "}":
            break
        if text[i] == ",":
            i += 1
            continue
        if text[i] in "'\"":
            key, i = _read_string(text, i)
        else:
            m = re.compile(r"[\w$]+").match(text, i)
            if not m:
                break
            key, i = m.group(0), m.end()
        i = _skip_blank(text, i)
        if i >= n or text[i] != ":":
            break
        i = _skip_blank(text, i + 1)
        value, i = _read_value(text, i)
        entries.setdefault(key, value)
    return entries


def find_value(text: str, name: str):
    for at in _assignments(text, name):
        value, _ = _read_value(text, at)
        return value
    return None


def non_empty(obj: dict, key: str):
    value = obj.get(key)
    return value if value is not None and value.strip() else None


# --- the category page (crawler-worker/src/parse/bootstrap.rs) -------------------------------


def yes_no(value: str) -> str:
    return "Y" if value.strip() in ("true", "Y", "y", "1") else "N"


def parse_bootstrap(response):
    html = response.text
    g = find_object(html, "oGlobalSetting")
    if g is None:
        what = "the Next.js template" if "self.__next_f" in html else "no oGlobalSetting"
        raise ValueError(f"category page {response.url}: {what} (only the legacy page is read)")
    e = find_object(html, "oExpansionContent") or {}

    def required(key):
        value = non_empty(g, key)
        if value is None:
            raise ValueError(f"category page {response.url}: no oGlobalSetting.{key}")
        return value.strip()

    def optional(obj, key, default):
        value = non_empty(obj, key)
        return (value if value is not None else default).strip()

    physics = [optional(g, f"sPhysicsCate{i}", "0") for i in range(1, 5)]
    current = non_empty(g, "oCurrentCategoryCode") or find_value(html, "oCurrentCategoryCode")
    if not current or not current.startswith("a:"):
        codes = [c for c in physics if c and c != "0"]
        current = f"a:{len(codes)}:{{" + "".join(f"i:{i + 1};i:{c};" for i, c in enumerate(codes)) + "}"
    list_category_code = required("nListCategoryCode")
    dpg = non_empty(g, "bDpgZoneCategory") or non_empty(g, "isDpgZoneUICategory") or "N"
    api = find_value(html, "sProductListApi")
    if not api or not api.strip():
        api = non_empty(g, "sProductListApi") or "search"
    gallery = non_empty(g, "bAssemblyGalleryCategory")
    if gallery is not None:
        gallery = yes_no(gallery)
    else:
        gallery = "Y" if list_category_code in ASSEMBLY_GALLERY_CATEGORIES else "N"
    attributes, makers = {}, {}
    for node in response.css('input[id^="searchAttributeValueRep"], input[id^="searchMakerRep"]'):
        ident, value = node.attrib.get("id"), node.attrib.get("value")
        if ident is None or value is None:
            continue
        value = value.strip()
        if ident.startswith("searchAttributeValueRep") and len(ident) > len("searchAttributeValueRep"):
            attributes[ident[len("searchAttributeValueRep") :]] = value
        elif ident.startswith("searchMakerRep") and len(ident) > len("searchMakerRep"):
            makers[ident[len("searchMakerRep") :]] = value
    return {
        "category_code": required("nCategoryCode"),
        "list_category_code": list_category_code,
        "group": required("nListGroup"),
        "depth": required("nListDepth"),
        "physics_cate": physics,
        "category_mapping_code": optional(g, "sCategoryMappingCode", ""),
        "power_link_keyword": optional(g, "sPowerLinkKeyword", ""),
        "current_category_code": current,
        "is_dpg_zone_ui_category": yes_no(dpg),
        "assembly_gallery_category": gallery,
        "product_list_api": api.strip(),
        "list_package_type": optional(e, "nPriceCompareListPackageType", "1"),
        "package_limit": optional(e, "nPriceCompareListPackageLimit", "5"),
        "initial_price_display": optional(e, "sInitialPriceDisplay", "N"),
        "discount_product_rate": optional(e, "sDiscountProductRate", "0"),
        "price_unit": optional(e, "nPriceUnit", "0"),
        "price_unit_value": optional(e, "nPriceUnitValue", "0"),
        "price_unit_class": optional(e, "sPriceUnitClass", ""),
        "attributes": attributes,
        "makers": makers,
    }


def search_filter(bootstrap: dict, flt: dict):
    """``ListBootstrap::search_filter``: a maker stays its bare id; an attribute's id maps to
    the page's checkbox value. None when the page does not offer it."""
    value = str(flt["value"]).strip()
    if flt["type"] == "maker":
        return ("maker", value)
    if "|" in value:
        parts = value.split("|")
        ident = parts[2] if len(parts) > 2 else ""
    else:
        ident = value
    full = bootstrap["attributes"].get(ident)
    if full is None or ("|" in value and full != value):
        return None
    return ("attribute", full)


def list_form(b: dict, page: int, flt) -> list[tuple[str, str]]:
    """``danawa::list_form``: the fields in the order Danawa's list script sends them."""
    c1, c2, c3, c4 = b["physics_cate"]
    form = [
        ("btnAllOptUse", "true" if flt is not None else "false"),
        ("page", str(page)),
        ("listCategoryCode", b["list_category_code"]),
        ("categoryCode", b["category_code"]),
        ("physicsCate1", c1),
        ("physicsCate2", c2),
        ("physicsCate3", c3),
        ("physicsCate4", c4),
        ("viewMethod", "LIST"),
        ("sortMethod", SORT_METHOD),
        ("listCount", str(LIST_COUNT)),
        ("group", b["group"]),
        ("depth", b["depth"]),
        ("brandName", ""),
        ("makerName", ""),
        ("searchOptionName", ""),
        ("sDiscountProductRate", b["discount_product_rate"]),
        ("sInitialPriceDisplay", b["initial_price_display"]),
        ("sPowerLinkKeyword", b["power_link_keyword"]),
        ("oCurrentCategoryCode", b["current_category_code"]),
        ("sMallMinPriceDisplayYN", "undefined"),
        ("innerSearchKeyword", ""),
        ("quickDeliveryCategoryYN", "N"),
        ("quickDeliveryDisplay", ""),
        ("priceUnitSort", "N"),
        ("priceUnitSortOrder", "A"),
        ("simpleDescriptionDisplayYN", "N"),
        ("simpleDescriptionOpen", ""),
        ("listPackageType", b["list_package_type"]),
        ("categoryMappingCode", b["category_mapping_code"]),
        ("priceUnit", b["price_unit"]),
        ("priceUnitValue", b["price_unit_value"]),
        ("priceUnitClass", b["price_unit_class"]),
        ("cmRecommendSort", "N"),
        ("cmRecommendSortDefault", "N"),
        ("bundleImagePreview", "N"),
        ("nPackageLimit", b["package_limit"]),
        ("bMakerDisplayYN", "Y"),
        ("dnwSwitchOn", ""),
        ("isDpgZoneUICategory", b["is_dpg_zone_ui_category"]),
        ("isAssemblyGalleryCategory", b["assembly_gallery_category"]),
        ("addDelivery", ""),
        ("coupangMemberSort", ""),
        ("coupangMemberSortLayerType", ""),
        ("sProductListApi", b["product_list_api"]),
    ]
    if flt is not None:
        kind, value = flt
        if kind == "maker":
            form += [("searchMakerRep[]", value), ("searchMaker[]", value)]
        else:
            form += [("searchAttributeValueRep[]", value), ("searchAttributeValue[]", value)]
    return form


# --- the list fragment (crawler-worker/src/parse/list.rs) ------------------------------------

_AD_XPATH = f"ancestor::*[{has_class('main_ad_prodlist')}]"
_TOP5_XPATH = f"ancestor::*[{has_class('prod_top5')} and {has_class('prod_pricelist')}]"


def _is_pcode(text) -> bool:
    return bool(text) and text.isascii() and text.isdigit()


def _pcode_in_href(href: str):
    if "?" not in href:
        return None
    query = href.split("?", 1)[1]
    for pair in re.split(r"[&#]", query):
        if pair.startswith("pcode="):
            value = pair[len("pcode=") :]
            return value if _is_pcode(value) else None
    return None


def _list_price(scope):
    if scope.css(".nosale_price"):
        return None
    section = scope.css("p.price_sect")
    if not section:
        return None
    section = section[0]
    strong = section.css("a strong") or section.css("strong")
    text = text_of(strong[0]) if strong else text_of(section)
    if any(t in text for t in NO_PRICE_TEXTS):
        return None
    price = parse_amount(text)
    return price if price and price > 0 else None


def _top5_price(item):
    first = item.css("div.prod_pricelist.prod_top5 ul > li")
    if not first:
        return None
    em = first[0].css("div > em") or first[0].css("em")
    if not em:
        return None
    price = parse_amount(text_of(em[0]))
    return price if price and price > 0 else None


def _variants(item):
    rows = []
    for li in item.css("div.prod_pricelist ul > li"):
        classes = (li.attrib.get("class") or "").split()
        if "rocket-shipping" in classes or "top5_button" in classes or li.xpath(_TOP5_XPATH):
            continue
        rows.append(li)
    if not rows:
        ident = item.attrib.get("id") or ""
        pcode = ident[len("productItem") :] if ident.startswith("productItem") else None
        if not _is_pcode(pcode):
            return []
        price = _list_price(item) if item.css("p.price_sect") else _top5_price(item)
        return [{"pcode": pcode, "tag": None, "price": price}]
    variants = []
    for li in rows:
        ident = li.attrib.get("id") or ""
        pcode = ident[len("productInfoDetail_") :] if ident.startswith("productInfoDetail_") else None
        if not _is_pcode(pcode):
            pcode = None
            for href in li.css("a[href]::attr(href)").getall():
                pcode = _pcode_in_href(href)
                if pcode:
                    break
        if not pcode:
            continue
        tag_node = li.css("p.memory_sect span.text")
        tag = text_of(tag_node[0]) if tag_node else ""
        if not tag:
            memory = li.css("p.memory_sect")
            tag = collapse("".join(memory[0].xpath("./text()").getall())) if memory else ""
        variants.append({"pcode": pcode, "tag": tag or None, "price": _list_price(li)})
    return variants


def parse_list(response, page: int):
    """The listing's total count and its products (name, registration, page, position,
    variants); advertisements take no position."""
    total = response.css("input#totalProductCount::attr(value)").get()
    if total is None:
        raise ValueError("no input#totalProductCount")
    total = int(total.replace(",", "").strip())
    products = []
    position = 0
    for item in response.css("li.prod_item"):
        ident = item.attrib.get("id") or ""
        classes = (item.attrib.get("class") or "").split()
        if "prod_ad_item" in classes or ident.startswith("ad") or item.xpath(_AD_XPATH):
            continue
        link = item.css("p.prod_name a[name=productName]") or item.css("p.prod_name a")
        name = text_of(link[0]) if link else ""
        if name:
            date = item.css("div.prod_sub_meta dl.meta_item.mt_date dd")
            registered = parse_date(text_of(date[0])) if date else None
            variants = _variants(item)
            if variants:
                products.append(
                    {"name": name, "registered": registered, "page": page, "position": position, "variants": variants}
                )
        position += 1
    return total, products


def keep(product: dict, minimum_date, ignore_words):
    """``ListingRules::apply``: None when the product is left out, else it with the variants
    whose tag holds an ignore word dropped."""
    if product["registered"] is not None and product["registered"] < minimum_date:
        return None

    def ignored(text):
        return any(word and word in text for word in ignore_words)

    if ignored(product["name"]):
        return None
    kept = [v for v in product["variants"] if not (v["tag"] and ignored(v["tag"]))]
    if not kept:
        return None
    return {**product, "variants": kept}


# --- the product page, spec table and shop list (product.rs, spec.rs, shops.rs) --------------


def is_discontinued(html: str) -> bool:
    return DISCONTINUED_TEXT in html and "alert(" in html


def _delivery_cost(cell) -> int:
    own = "".join(cell.xpath("./text()").getall())
    text = own if own.strip() else text_of(cell)
    if "무료" in text:
        return 0
    return parse_amount(text) or 0


def _query_value(url: str, key: str):
    if "?" not in url:
        return None
    for pair in url.split("?", 1)[1].split("&"):
        k, sep, v = pair.partition("=")
        if sep and k == key:
            return v or None
    return None


def parse_product(response):
    """The product page's fields (``ProductPage``), or None for a discontinued product."""
    html = response.text
    if is_discontinued(html):
        return None
    g = find_object(html, "oGlobalSetting") or {}
    title_node = response.css(".top_summary h3.prod_tit span.title")
    title = text_of(title_node[0]) if title_node else ""
    if not title:
        raise ValueError("no .top_summary h3.prod_tit span.title")
    category_number = None
    for href in response.css('[id="2DepthCategory"] .loca_layer li.c_item.now a[href]::attr(href)').getall():
        if "?" in href:
            for pair in href.split("?", 1)[1].split("&"):
                if pair.startswith("cate="):
                    cate = pair[len("cate=") :]
                    if _is_pcode(cate):
                        category_number = cate
                    break
        if category_number:
            break
    if category_number is None:
        category_number = (non_empty(g, "nCategoryCode") or "").strip() or None
    if category_number is None:
        raise ValueError("no breadcrumb category")
    # .made_info: registration and maker (read as the crawler reads them; not stored by either).
    parts = [text_of(s) for s in response.css(".made_info span.txt")]
    if not parts:
        line = response.css(".made_info")
        parts = [p.strip() for p in (text_of(line[0]) if line else "").split("ㅣ")]
    registered = maker = None
    for text in parts:
        if text.startswith("등록월:"):
            registered = registered or parse_date(text[len("등록월:") :])
        elif text.startswith("제조사:"):
            maker = maker or (text[len("제조사:") :].strip() or None)
    min_input = response.css('input[id^="min_price_"]')
    min_price = parse_amount(min_input[0].attrib.get("value")) if min_input else None
    json_ld = None
    for script in response.css('script[type="application/ld+json"]::text').getall():
        try:
            value = json.loads(script)
        except ValueError:
            continue
        for product in value if isinstance(value, list) else [value]:
            if not isinstance(product, dict) or product.get("@type") != "Product":
                continue
            low = (product.get("offers") or {}).get("lowPrice")
            price = parse_amount(low) if isinstance(low, str) else (int(low) if isinstance(low, (int, float)) else None)
            if price and price > 0:
                json_ld = price
                break
        if json_ld:
            break
    sold_flag = find_value(html, "ENP_VAR.collect.soldOut")
    sold_out = (sold_flag or "").strip() == "Y" or bool(response.css(".summary_left .lowest_area .no_data"))
    spec_list = response.css(".spec_list .items") or response.css(".spec_list")
    summary_first = None
    if spec_list:
        summary_first = text_of(spec_list[0]).split(" / ")[0].strip() or None
    info = find_object(html, "oProductDescriptionInfo") or {}
    cate = []
    for i in range(1, 5):
        value = non_empty(g, f"nCategoryCode{i}")
        if value is None:
            raise ValueError(f"no oGlobalSetting.nCategoryCode{i}")
        cate.append(value.strip())
    maker_name = info.get("makerName")
    if maker_name is None:
        maker_name = g.get("makerName", "")
    # The short low-price shop list (read as the crawler reads it; not stored by either).
    low_price_shops = []
    for row in response.css("#lowPriceCompanyArea ul.list__mall-price li.list-item"):
        num = row.css(".sell-price .text__num")
        price = parse_amount(text_of(num[0])) if num else None
        if price is None:
            continue
        alt = row.css(".box__logo img[alt]::attr(alt)").get()
        label = row.css("span.text__logo")
        label = (label[0].attrib.get("aria-label") or text_of(label[0]) or None) if label else None
        url = row.css('a[href*="loadingBridge"]::attr(href)').get() or row.css("a[href]::attr(href)").get() or ""
        delivery = row.css(".box__delivery")
        low_price_shops.append(
            {
                "vendorName": collapse(alt or label or ""),
                "vendorCode": _query_value(url, "cmpnyc"),
                "npay": bool(row.css(".icon__npay")),
                "price": price,
                "shippingCost": _delivery_cost(delivery[0]) if delivery else 0,
                "url": url,
            }
        )
    return {
        "title": title,
        "category_number": category_number,
        "registered": registered,
        "maker": maker,
        "min_price": min_price if min_price and min_price > 0 else None,
        "json_ld_low_price": json_ld,
        "sold_out": sold_out,
        "spec_summary_first": summary_first,
        "cate": cate,
        "maker_name": maker_name,
        "product_name": info.get("productName", ""),
        "prod_type": info.get("prodType", ""),
        "low_price_shops": low_price_shops,
    }


def parse_spec(response):
    """``table.spec_tbl`` into ``details``: {field: {value, type: section}}."""
    table = response.css("table.spec_tbl")
    if not table:
        raise ValueError("no table.spec_tbl")
    details = {}
    section = ""
    for row in table[0].css("tr"):
        cells = row.xpath("./th | ./td")
        if len(cells) == 1 and cells[0].root.tag == "th":
            section = text_of(cells[0])
            if STOP_SECTION in section:
                break
            continue
        field = None
        for cell in cells:
            if cell.root.tag == "th":
                field = text_of(cell)
            elif field is not None:
                value = text_of(cell)
                name, field = field, None
                if not name or not value:
                    continue
                if name == MAKER_FIELD:
                    value = normalize_maker(value)
                elif COOLER_SECTION in section:
                    value = strip_count_suffix(value)
                if value:
                    details[name] = {"value": value, "type": section}
    return details


def _shipping_cost(text: str):
    if "유/무료" in text or "유료/무료" in text:
        return None
    if "무료" in text:
        return 0
    return parse_amount(text) or 0


def _shop_price(row):
    for line in row.css(".card_line"):
        node = line.css(".card_prc") or line.css("em.prc_c") or line.css(".prc")
        amount = parse_amount(text_of(node[0])) if node else None
        if amount and amount > 0:
            card = line.css(".txt")
            card = text_of(card[0]) if card else ""
            return amount, card or None
    for em in row.css(".prc_line em.prc_c"):
        if em.xpath(f"ancestor::*[{has_class('card_line')}]"):
            continue
        amount = parse_amount(text_of(em))
        if amount and amount > 0:
            return amount, None
    return None


def parse_shops(response):
    """The four vendor lists; rows in other containers are counted, not stored."""
    containers = {ident: response.css(f"#{ident}") for ident, _, _ in SHOP_CONTAINERS}
    if not any(containers.values()):
        raise ValueError("none of the four shop-list containers")
    vendors = {}
    for ident, key, keeps_code in SHOP_CONTAINERS:
        rows = []
        for container in containers[ident]:
            for row in container.css("div.diff_item"):
                priced = _shop_price(row)
                if priced is None:
                    continue
                link = row.attrib.get("data-linkproduct") or ""
                code = link.split("_")[0].strip() or None
                npay = bool(row.css(".npay"))
                name = None
                for alt in row.css(".d_mall img[alt]::attr(alt)").getall():
                    name = collapse(alt) or None
                    if name:
                        break
                if not name:
                    logo = row.css("span.txt_logo")
                    name = (text_of(logo[0]) if logo else "") or None
                url = row.css(".d_buy a[href]::attr(href)").get() or row.css("a[href]::attr(href)").get() or ""
                ship = row.css(".ship")
                vendor = {
                    "vendorName": name or code or "",
                    "vendorUrl": url,
                    "price": priced[0],
                    "shippingCost": _shipping_cost(text_of(ship[0])) if ship else 0,
                }
                if code is not None and (keeps_code or npay):
                    vendor["vendorCode"] = code
                if priced[1] is not None:
                    vendor["card"] = priced[1]
                rows.append(vendor)
        vendors[key] = rows
    unknown = 0
    for row in response.css("div.diff_item"):
        ids = row.xpath("ancestor::*/@id").getall()
        if not SHOP_CONTAINER_IDS.intersection(ids):
            unknown += 1
    return vendors, unknown


def lowest_price(vendors: dict, page: dict):
    prices = [v["price"] for rows in vendors.values() for v in rows if v["price"] > 0]
    if prices:
        return min(prices)
    return page["min_price"] or page["json_ld_low_price"]


# --- the spider -------------------------------------------------------------------------------


class DanawaSpider(scrapy.Spider):
    name = "danawa"
    custom_settings = {
        "CONCURRENT_REQUESTS": 30,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 30,
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "ROBOTSTXT_OBEY": False,
        "LOG_LEVEL": "INFO",
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,
        # Loopback only: an http_proxy in the environment must not take the traffic.
        "HTTPPROXY_ENABLED": False,
        "DEFAULT_REQUEST_HEADERS": {"Accept": ACCEPT_PAGE, "Accept-Language": ACCEPT_LANGUAGE},
        "ITEM_PIPELINES": {"danawa_spider.MongoBatchPipeline": 300},
    }

    @classmethod
    def update_settings(cls, settings):
        super().update_settings(settings)
        # One host: the per-domain limit must not be lower than the global one (default 8).
        total = settings.getint("CONCURRENT_REQUESTS")
        if settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN") < total:
            settings.set("CONCURRENT_REQUESTS_PER_DOMAIN", total, priority="cmdline")

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.closed_with_stats, signal=signals.spider_closed)
        return spider

    def __init__(self, config: str, stats_file: str | None = None, **kwargs):
        super().__init__(**kwargs)
        with open(config, encoding="utf-8") as f:
            raw = json.load(f)
        self.stats_file = stats_file
        origin = re.match(r"^(https?://[^/?#]+)", raw["pageBaseUrl"])
        if not origin:
            raise ValueError(f"pageBaseUrl {raw['pageBaseUrl']!r} is not an http(s) URL")
        self.origin = origin.group(1)
        item_origin = re.match(r"^(https?://[^/?#]+)", raw["itemBaseUrl"])
        self.item_origin = item_origin.group(1) if item_origin else self.origin
        global_date = parse_date(str(raw.get("minimumDate", "0"))) or (0, 0)
        global_words = list(raw.get("ignoreWords") or [])
        items = set(raw.get("itemsCategories") or [])
        self.categories = []
        for c in raw["categories"]:
            words = list(global_words)
            for w in c.get("ignoreWords") or []:
                if w not in words:
                    words.append(w)
            own_date = parse_date(str(c["minimumDate"])) if "minimumDate" in c else None
            end = str(c.get("end", "*")).strip()
            self.categories.append(
                {
                    "name": c["category"],
                    "number": str(c["categoryNumber"]),
                    "start": int(str(c.get("start", "1")).strip()),
                    "end": None if end == "*" else int(end),
                    "minimum_date": own_date if own_date is not None else global_date,
                    "ignore_words": words,
                    "filters": c.get("filters") or [],
                    "crawl_items": c["category"] in items,
                }
            )
        self.user_agents = itertools.cycle(USER_AGENTS)
        # The run's memory: pcode -> what the first listing of it said, and the best rank.
        self.listed: dict[str, dict] = {}
        self.best_rank: dict[str, int] = {}
        self.written_rank: dict[str, int] = {}
        self.t_start = None

    # ---- requests (crawler-worker/src/danawa.rs) ----

    def _ua(self):
        return next(self.user_agents)

    def _page_headers(self):
        return {"Accept": ACCEPT_PAGE, "Accept-Language": ACCEPT_LANGUAGE, "User-Agent": self._ua()}

    def _ajax_headers(self, referer: str):
        return {
            "Accept": ACCEPT_AJAX,
            "Accept-Language": ACCEPT_LANGUAGE,
            "Content-Type": FORM_CONTENT_TYPE,
            "Origin": self.origin,
            "Referer": referer,
            "X-Requested-With": "XMLHttpRequest",
            "User-Agent": self._ua(),
        }

    def list_page_url(self, number: str) -> str:
        return f"{self.origin}{LIST_PAGE_PATH}?cate={quote(number, safe='')}"

    def product_url(self, pcode: str) -> str:
        return f"{self.item_origin}{PRODUCT_PATH}?pcode={quote(pcode, safe='')}"

    async def start(self):
        self.t_start = time.time()
        for category in self.categories:
            yield Request(
                self.list_page_url(category["number"]),
                headers=self._page_headers(),
                callback=self.parse_category,
                errback=self.failed,
                cb_kwargs={"category": category},
                meta={"kind": "category_page"},
            )

    def list_request(self, category, bootstrap, page, flt, fan_out):
        return FormRequest(
            f"{self.origin}{LIST_AJAX_PATH}",
            formdata=list_form(bootstrap, page, flt),
            headers=self._ajax_headers(self.list_page_url(category["number"])),
            callback=self.parse_list,
            errback=self.failed,
            cb_kwargs={"category": category, "bootstrap": bootstrap, "page": page, "flt": flt, "fan_out": fan_out},
            meta={"kind": "list_ajax"},
        )

    # ---- callbacks ----

    def parse_category(self, response, category):
        bootstrap = parse_bootstrap(response)
        self.crawler.stats.inc_value("danawa/category_pages")
        listings = category["filters"] or [None]
        for flt in listings:
            sent = None
            if flt is not None:
                sent = search_filter(bootstrap, flt)
                if sent is None:
                    self.crawler.stats.inc_value("danawa/filters_not_offered")
                    self.logger.error("attribute %s is not offered on category %s", flt["value"], category["number"])
                    continue
            if category["end"] is None:
                yield self.list_request(category, bootstrap, category["start"], sent, True)
            else:
                for page in range(category["start"], category["end"] + 1):
                    yield self.list_request(category, bootstrap, page, sent, False)

    def parse_list(self, response, category, bootstrap, page, flt, fan_out):
        total, products = parse_list(response, page)
        self.crawler.stats.inc_value("danawa/list_pages")
        if fan_out:
            last = max(math.ceil(total / LIST_COUNT), 1)
            if category["end"] is not None:
                last = min(last, category["end"])
            for n in range(page + 1, last + 1):
                yield self.list_request(category, bootstrap, n, flt, False)
        list_writes = self.settings.getbool("DANAWA_LIST_WRITES")
        for product in products:
            kept = keep(product, category["minimum_date"], category["ignore_words"])
            if kept is None:
                continue
            variants = [v["pcode"] for v in kept["variants"]]
            rank = sort_order(kept["page"], kept["position"])
            title_name, title_tag, _ = split_title(kept["name"], category["name"] == "cpu")
            for index, variant in enumerate(kept["variants"]):
                pcode = variant["pcode"]
                self.best_rank[pcode] = max(self.best_rank.get(pcode, rank), rank)
                first = pcode not in self.listed
                if first:
                    self.listed[pcode] = {
                        "category": category,
                        "name": name_doc(title_name, variant["tag"] if variant["tag"] is not None else title_tag),
                        "variants": variants,
                        "isVariant": index > 0,
                        "stock": variant["price"] is not None,
                    }
                listed = self.listed[pcode]
                if list_writes:
                    # The pipeline's list result: one upsert per listed variant (list.rs).
                    yield {
                        "kind": "list",
                        "pcode": pcode,
                        "category": listed["category"]["name"],
                        "name": name_doc(title_name, variant["tag"] if variant["tag"] is not None else title_tag),
                        "stock": variant["price"] is not None,
                        "variants": variants,
                        "isVariant": index > 0,
                        "sortOrder": rank,
                        "owns_name": not listed["category"]["crawl_items"],
                    }
                elif first and not category["crawl_items"]:
                    # A list-only category: its document is the list's.
                    self.written_rank[pcode] = rank
                    yield {
                        "kind": "list",
                        "pcode": pcode,
                        "category": category["name"],
                        "name": listed["name"],
                        "stock": listed["stock"],
                        "variants": variants,
                        "isVariant": index > 0,
                        "sortOrder": rank,
                        "owns_name": True,
                    }
                elif pcode in self.written_rank and rank > self.written_rank[pcode]:
                    # Written already, ranked higher here: raise its sortOrder.
                    self.written_rank[pcode] = rank
                    self.crawler.stats.inc_value("danawa/rank_updates")
                    yield {"kind": "rank", "pcode": pcode, "sortOrder": rank}
                if first and category["crawl_items"]:
                    yield Request(
                        self.product_url(pcode),
                        headers=self._page_headers(),
                        callback=self.parse_product,
                        errback=self.failed,
                        cb_kwargs={"pcode": pcode},
                        meta={"kind": "product_page"},
                    )

    def parse_product(self, response, pcode):
        listed = self.listed[pcode]
        category = listed["category"]
        page = parse_product(response)
        if page is None:
            self.crawler.stats.inc_value("danawa/products")
            self.crawler.stats.inc_value("danawa/discontinued")
            yield self.document(pcode, {"kind": "discontinued", "name": listed["name"], "stock": False})
            return
        if page["category_number"] != category["number"]:
            self.crawler.stats.inc_value("danawa/category_mismatch")
            self.logger.error(
                "pcode %s: product page is in category %s, the listing's is %s",
                pcode,
                page["category_number"],
                category["number"],
            )
            return
        c1, c2, c3, c4 = page["cate"]
        fields = [("pcode", pcode), ("cate1", c1), ("cate2", c2), ("cate3", c3), ("cate4", c4)]
        state = {"pcode": pcode, "page": page, "spec": None, "shops": None, "failed": False}
        referer = self.product_url(pcode)
        yield FormRequest(
            f"{self.item_origin}{SPEC_AJAX_PATH}",
            formdata=fields
            + [("makerName", page["maker_name"]), ("productName", page["product_name"]), ("prodType", page["prod_type"])],
            headers=self._ajax_headers(referer),
            callback=self.parse_spec,
            errback=self.failed_part,
            cb_kwargs={"state": state},
            meta={"kind": "spec_ajax", "state": state},
        )
        yield FormRequest(
            f"{self.item_origin}{SHOPS_AJAX_PATH}",
            formdata=fields + [("depth", "4")],
            headers=self._ajax_headers(referer),
            callback=self.parse_shops,
            errback=self.failed_part,
            cb_kwargs={"state": state},
            meta={"kind": "mall_ajax", "state": state},
        )

    def parse_spec(self, response, state):
        try:
            state["spec"] = parse_spec(response)
        except ValueError:
            state["failed"] = True
            raise
        yield from self.assemble(state)

    def parse_shops(self, response, state):
        try:
            vendors, unknown = parse_shops(response)
        except ValueError:
            state["failed"] = True
            raise
        if unknown:
            self.crawler.stats.inc_value("danawa/unknown_shop_rows", unknown)
        state["shops"] = vendors
        yield from self.assemble(state)

    def assemble(self, state):
        """``parse::assemble``: once both answers are in, the product's document."""
        if state["failed"] or state["spec"] is None or state["shops"] is None:
            return
        pcode, page = state["pcode"], state["page"]
        category = self.listed[pcode]["category"]["name"]
        full_name, tag, code_name = split_title(page["title"], category == "cpu")
        details = dict(state["spec"])
        if code_name is not None:
            details[CODE_NAME_FIELD] = {"value": code_name, "type": CODE_NAME_SECTION}
        if (category == "graphics" or "cooler" in category.lower()) and page["spec_summary_first"]:
            details[SUBTYPE_FIELD] = {"value": page["spec_summary_first"], "type": SUBTYPE_SECTION}
        vendors = state["shops"]
        stock = not page["sold_out"]
        price = lowest_price(vendors, page)
        self.crawler.stats.inc_value("danawa/products")
        yield self.document(
            pcode,
            {
                "kind": "product",
                "name": name_doc(full_name, tag),
                "stock": stock,
                "details": details,
                "vendors": vendors,
                "price": price if stock else None,
            },
        )

    def document(self, pcode, fields):
        listed = self.listed[pcode]
        rank = self.best_rank[pcode]
        self.written_rank[pcode] = rank
        return {
            **fields,
            "pcode": pcode,
            "category": listed["category"]["name"],
            "variants": listed["variants"],
            "isVariant": listed["isVariant"],
            "sortOrder": rank,
        }

    # ---- failures and the end ----

    def failed(self, failure):
        kind = failure.request.meta.get("kind", "request")
        self.crawler.stats.inc_value(f"danawa/failed/{kind}")
        self.logger.error("%s %s failed: %r", kind, failure.request.url, failure.value)

    def failed_part(self, failure):
        failure.request.meta["state"]["failed"] = True
        self.failed(failure)

    def closed_with_stats(self, spider, reason):
        if not self.stats_file:
            return
        stats = {k: v for k, v in self.crawler.stats.get_stats().items() if isinstance(v, (int, float, str))}
        out = {
            "reason": reason,
            "t_start": self.t_start,
            "t_end": stats.get("danawa/t_writes_done", time.time()),
            "pcodes_listed": len(self.listed),
            "stats": stats,
        }
        with open(self.stats_file, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=1, ensure_ascii=False, default=str)


# --- the item pipeline: batches of upserts ----------------------------------------------------


def empty_vendors():
    return {"openMarket": [], "mall": [], "credit": [], "cash": []}


def update_of(item: dict, now: datetime):
    """The upsert of one item, as (filter, update)."""
    kind = item["kind"]
    if kind == "rank":
        return {"pcode": item["pcode"]}, {"$max": {"sortOrder": item["sortOrder"]}, "$setOnInsert": {"createdAt": now}}
    on_insert = {"createdAt": now}
    if kind == "list":
        # updater-worker/src/store/list.rs
        set_ = {"variants": item["variants"], "isVariant": item["isVariant"], "updatedAt": now}
        on_insert.update(
            {"category": item["category"], "details": {}, "vendors": empty_vendors(), "prices": [], "isUpdating": False}
        )
        owner = set_ if item["owns_name"] else on_insert
        owner["name"] = item["name"]
        owner["stock"] = item["stock"]
        return {"pcode": item["pcode"]}, {"$set": set_, "$setOnInsert": on_insert, "$max": {"sortOrder": item["sortOrder"]}}
    set_ = {
        "category": item["category"],
        "name": item["name"],
        "variants": item["variants"],
        "isVariant": item["isVariant"],
        "stock": item["stock"],
        "isUpdating": False,
        "updatedAt": now,
    }
    update = {"$set": set_, "$setOnInsert": on_insert, "$max": {"sortOrder": item["sortOrder"]}}
    if kind == "discontinued":
        # updater-worker/src/store/item.rs: stock false, the rest as the list left it.
        on_insert.update({"details": {}, "vendors": empty_vendors(), "prices": []})
        return {"pcode": item["pcode"]}, update
    set_["details"] = item["details"]
    set_["vendors"] = item["vendors"]
    if item["price"] is not None:
        update["$push"] = {"prices": {"timestamp": now, "price": item["price"]}}
    else:
        on_insert["prices"] = []
    return {"pcode": item["pcode"]}, update


class MongoBatchPipeline:
    """Buffers upserts and writes ``DANAWA_BATCH_SIZE`` of them per ``bulk_write``."""

    def __init__(self, crawler):
        s = crawler.settings
        self.crawler = crawler
        self.uri = s.get("MONGODB_URI", "mongodb://127.0.0.1:27017/?directConnection=true")
        self.database = s.get("MONGODB_DB", DATABASE)
        self.batch_size = s.getint("DANAWA_BATCH_SIZE", 10)
        self.writers = s.getint("DANAWA_DB_WRITERS", 2)
        self.all_indexes = s.getbool("DANAWA_ALL_INDEXES")
        self.buffer = []
        self.pending = set()
        self.pool = None

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def open_spider(self, spider=None):
        import pymongo

        self.pymongo = pymongo
        self.client = pymongo.MongoClient(self.uri)
        self.parts = self.client[self.database][COLLECTION]
        self.parts.create_index([("pcode", 1)], unique=True, name="pcode_unique")
        if self.all_indexes:
            self.parts.create_index([("category", 1), ("sortOrder", -1)], name="category_sortOrder")
            self.parts.create_index([("isUpdating", 1), ("updatedAt", 1)], name="isUpdating_updatedAt")
        if self.writers > 0:
            from twisted.python.threadpool import ThreadPool

            self.pool = ThreadPool(minthreads=self.writers, maxthreads=self.writers, name="mongo-writer")
            self.pool.start()

    def _write(self, ops):
        result = self.parts.bulk_write(ops, ordered=False)
        return len(ops), result.upserted_count

    def _written(self, counts):
        ops, upserted = counts
        stats = self.crawler.stats
        stats.inc_value("danawa/db_batches")
        stats.inc_value("danawa/db_upserts", ops)
        stats.inc_value("danawa/db_inserted", upserted)
        return counts

    def _failed(self, failure):
        self.crawler.stats.inc_value("danawa/db_failed_batches")
        logging.getLogger(__name__).error("bulk_write failed: %s", failure.value)
        return failure

    def _flush(self):
        ops, self.buffer = self.buffer, []
        if not ops:
            return None
        if self.pool is None:
            try:
                self._written(self._write(ops))
            except Exception:
                self.crawler.stats.inc_value("danawa/db_failed_batches")
                raise
            return None
        from twisted.internet import reactor
        from twisted.internet.threads import deferToThreadPool

        d = deferToThreadPool(reactor, self.pool, self._write, ops)
        d.addCallbacks(self._written, self._failed)
        self.pending.add(d)

        def done(result):
            self.pending.discard(d)
            return result

        d.addBoth(done)
        return d

    async def process_item(self, item, spider=None):
        q, u = update_of(item, datetime.now(timezone.utc))
        self.buffer.append(self.pymongo.UpdateOne(q, u, upsert=True))
        if len(self.buffer) >= self.batch_size:
            d = self._flush()
            if d is not None:
                # The item counts as processed once its batch is in the database.
                await maybe_deferred_to_future(d)
        return item

    async def close_spider(self, spider=None):
        from twisted.internet import defer

        self._flush()
        if self.pending:
            await maybe_deferred_to_future(defer.DeferredList(list(self.pending), consumeErrors=True))
        self.crawler.stats.set_value("danawa/t_writes_done", time.time())
        if self.pool is not None:
            self.pool.stop()
        self.client.close()
