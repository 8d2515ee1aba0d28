//! The `parts` document, the contract with the PC-builder web API (DESIGN.md §6), and the
//! rules that derive its fields from what the crawler saw.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::LIST_COUNT;

/// The MongoDB collection the updater writes and the web API reads.
pub const COLLECTION: &str = "parts";

/// Rank 0 (first product of page 1) gets this sort order; lower ranks count down from it.
pub const SORT_ORDER_TOP: i64 = 1_000_000;

/// One document of the `parts` collection. Timestamps are optional so that a ground truth
/// ("timestamps excepted") and a stored document share one type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Part {
    pub pcode: String,
    pub category: String,
    pub name: PartName,
    pub variants: Vec<String>,
    pub is_variant: bool,
    pub sort_order: i64,
    pub stock: bool,
    #[serde(default)]
    pub details: BTreeMap<String, Detail>,
    #[serde(default)]
    pub vendors: Vendors,
    #[serde(default)]
    pub prices: Vec<PricePoint>,
    #[serde(default)]
    pub is_updating: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<bson::DateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<bson::DateTime>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartName {
    pub full_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

/// One spec field: its value and the spec-table section it sits in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Detail {
    pub value: String,
    #[serde(rename = "type")]
    pub section: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Vendors {
    pub open_market: Vec<Vendor>,
    pub mall: Vec<Vendor>,
    pub credit: Vec<Vendor>,
    pub cash: Vec<Vendor>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Vendor {
    pub vendor_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_code: Option<String>,
    pub vendor_url: String,
    pub price: i64,
    /// Won; `None` (stored as `null`) when the shop says `유/무료`: the cost depends on the
    /// order, so it is neither free nor a known amount.
    pub shipping_cost: Option<i64>,
    /// The card name when the price shown is a card-discount price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PricePoint {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<bson::DateTime>,
    pub price: i64,
}

/// Popularity from list position: the first product of page 1 ranks highest. The same list
/// gives the same numbers run after run.
pub fn sort_order(page: u32, position: u32) -> i64 {
    SORT_ORDER_TOP - (i64::from(page.saturating_sub(1)) * i64::from(LIST_COUNT) + i64::from(position))
}

/// A product title taken apart: `인텔 코어i5-12세대 12400F (엘더레이크) (정품)` gives the full
/// name `인텔 코어i5-12세대 12400F`, the tag `정품` and, for CPUs, the code name `엘더레이크`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TitleParts {
    pub full_name: String,
    pub tag: Option<String>,
    pub code_name: Option<String>,
}

/// Splits a title: the tag is the last `(...)`; with `code_name`, the first `(...)` is the
/// code name when the title has at least two groups (one group is always the tag).
pub fn split_title(title: &str, code_name: bool) -> TitleParts {
    let groups = paren_groups(title);
    let tag_group = groups.last().copied();
    let code_group = (code_name && groups.len() >= 2).then(|| groups[0]);
    let mut full_name = String::with_capacity(title.len());
    let mut cursor = 0;
    for (start, end) in [code_group, tag_group].into_iter().flatten() {
        full_name.push_str(&title[cursor..start]);
        cursor = end;
    }
    full_name.push_str(&title[cursor..]);
    let inner = |(start, end): (usize, usize)| title[start + 1..end - 1].trim().to_owned();
    TitleParts {
        full_name: full_name.split_whitespace().collect::<Vec<_>>().join(" "),
        tag: tag_group.map(inner).filter(|t| !t.is_empty()),
        code_name: code_group.map(inner).filter(|t| !t.is_empty()),
    }
}

/// Byte ranges (inclusive of the parentheses) of the top-level `(...)` groups.
fn paren_groups(title: &str) -> Vec<(usize, usize)> {
    let mut groups = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in title.char_indices() {
        match c {
            '(' => {
                if depth == 0 {
                    start = i;
                }
                depth += 1;
            }
            ')' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    groups.push((start, i + 1));
                }
            }
            _ => {}
        }
    }
    groups
}

/// '제조회사' values are stored without spaces or parentheses (`AMD (정품)` → `AMD정품`).
pub fn normalize_maker(value: &str) -> String {
    value.chars().filter(|c| !c.is_whitespace() && *c != '(' && *c != ')').collect()
}

/// In a cooler section a count suffix is dropped (`120mm x2` → `120mm`).
pub fn strip_count_suffix(value: &str) -> &str {
    let trimmed = value.trim_end();
    if let Some(at) = trimmed.rfind(['x', 'X']) {
        let digits = &trimmed[at + 1..];
        // `x86` alone is a value, not a count: something must stand before the suffix.
        if at > 0 && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            return trimmed[..at].trim_end();
        }
    }
    trimmed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_cpu_titles_into_name_code_and_tag() {
        let parts = split_title("인텔 코어i5-12세대 12400F (엘더레이크) (정품)", true);
        assert_eq!(parts.full_name, "인텔 코어i5-12세대 12400F");
        assert_eq!(parts.tag.as_deref(), Some("정품"));
        assert_eq!(parts.code_name.as_deref(), Some("엘더레이크"));
    }

    #[test]
    fn a_single_group_is_the_tag() {
        let parts = split_title("APPLE 2022 iPad Air 5세대 (256GB)", true);
        assert_eq!(parts.full_name, "APPLE 2022 iPad Air 5세대");
        assert_eq!(parts.tag.as_deref(), Some("256GB"));
        assert_eq!(parts.code_name, None);
        let plain = split_title("삼성전자 870 EVO", false);
        assert_eq!((plain.full_name.as_str(), plain.tag), ("삼성전자 870 EVO", None));
    }

    #[test]
    fn without_code_name_only_the_last_group_goes() {
        let parts = split_title("G.SKILL DDR5-6000 (16GB x2) (트라이던트)", false);
        assert_eq!(parts.full_name, "G.SKILL DDR5-6000 (16GB x2)");
        assert_eq!(parts.tag.as_deref(), Some("트라이던트"));
    }

    #[test]
    fn sort_order_falls_with_rank_across_pages() {
        assert_eq!(sort_order(1, 0), SORT_ORDER_TOP);
        assert!(sort_order(1, 89) > sort_order(2, 0));
        assert_eq!(sort_order(2, 0), SORT_ORDER_TOP - 90);
    }

    #[test]
    fn maker_and_count_suffix_rules() {
        assert_eq!(normalize_maker("AMD (정품)"), "AMD정품");
        assert_eq!(normalize_maker("쿨러 마스터"), "쿨러마스터");
        assert_eq!(strip_count_suffix("120mm x2"), "120mm");
        assert_eq!(strip_count_suffix("120mm X12 "), "120mm");
        assert_eq!(strip_count_suffix("x86"), "x86");
        assert_eq!(strip_count_suffix("4핀 PWM"), "4핀 PWM");
        assert_eq!(strip_count_suffix("box"), "box");
    }
}
