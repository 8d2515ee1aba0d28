//! The spec table (`getProductDescription.ajax.php`): `table.spec_tbl` read into the
//! `details` of a part, `{ field: { value, type: section } }` (DESIGN.md §6).

use std::collections::BTreeMap;

use common::parts::{normalize_maker, strip_count_suffix, Detail};
use scraper::{ElementRef, Html};
use serde::Serialize;

use super::{selector, text_of, ParseError};

/// The section where the original crawler stopped: certification numbers, not specs.
const STOP_SECTION: &str = "인증";
/// The field whose value is stored without spaces or parentheses.
const MAKER_FIELD: &str = "제조회사";
/// Sections whose values lose a count suffix (`120mm x2`).
const COOLER_SECTION: &str = "쿨러";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SpecTable {
    /// Field name → value and section. A field that repeats keeps its last value, as the
    /// original crawler's object assignment did.
    pub details: BTreeMap<String, Detail>,
}

/// Reads a spec-table answer. A row with a single `th` starts a section (rows before the first
/// one have the section `""`); `th.tit` / `td.dsc` pairs are fields; empty cells are skipped;
/// reading stops at the `인증` section.
///
/// # Errors
/// [`ParseError::Missing`] for `table.spec_tbl` when the answer has no spec table.
pub fn parse_spec(html: &str) -> Result<SpecTable, ParseError> {
    let document = Html::parse_fragment(html);
    let table = document
        .select(selector!("table.spec_tbl"))
        .next()
        .ok_or(ParseError::Missing { selector: "table.spec_tbl" })?;
    let mut details = BTreeMap::new();
    let mut section = String::new();
    for row in table.select(selector!("tr")) {
        let cells: Vec<ElementRef<'_>> =
            row.child_elements().filter(|c| matches!(c.value().name(), "th" | "td")).collect();
        if let [only] = cells.as_slice() {
            if only.value().name() == "th" {
                section = text_of(*only);
                if section.contains(STOP_SECTION) {
                    break;
                }
                continue;
            }
        }
        for (field, value) in pairs(&cells) {
            if let Some(value) = clean_value(&field, &section, &value) {
                details.insert(field, Detail { value, section: section.clone() });
            }
        }
    }
    Ok(SpecTable { details })
}

/// Each `th` with the `td` after it, in row order, whether or not they carry the `tit` / `dsc`
/// classes (some answers' rows have none; DANAWA.md "Newer evidence", spec table); a `th`
/// without its `td` is dropped.
fn pairs(cells: &[ElementRef<'_>]) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut field: Option<String> = None;
    for cell in cells {
        let element = cell.value();
        if element.name() == "th" {
            field = Some(text_of(*cell));
        } else if element.name() == "td" {
            if let Some(name) = field.take() {
                pairs.push((name, text_of(*cell)));
            }
        }
    }
    pairs
}

/// The stored value, or `None` for an empty cell.
fn clean_value(field: &str, section: &str, value: &str) -> Option<String> {
    if field.is_empty() || value.is_empty() {
        return None;
    }
    let value = if field == MAKER_FIELD {
        normalize_maker(value)
    } else if section.contains(COOLER_SECTION) {
        strip_count_suffix(value).to_owned()
    } else {
        value.to_owned()
    };
    (!value.is_empty()).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = r#"<div class="prod_spec"><table class="spec_tbl"><tbody>
        <tr><th class="tit">제조회사</th><td class="dsc">쿨러 마스터 (Cooler Master)</td><th class="tit">등록년월</th><td class="dsc">2023년 04월</td></tr>
        <tr><th colspan="4" class="tit">쿨러 사양</th></tr>
        <tr><th class="tit">팬 크기</th><td class="dsc">120mm x2</td><th class="tit">빈칸</th><td class="dsc"> </td></tr>
        <tr><th class="tit">LED</th><td class="dsc">○</td><th class="tit"></th><td class="dsc"></td></tr>
        <tr><th colspan="4" class="tit">부가 기능</th></tr>
        <tr><th class="tit">소음</th><td class="dsc">25dBA x2</td></tr>
        <tr><th colspan="4" class="tit">KC 인증 정보</th></tr>
        <tr><th class="tit">인증번호</th><td class="dsc">R-R-XXX</td></tr>
    </tbody></table></div>"#;

    fn detail(value: &str, section: &str) -> Detail {
        Detail { value: value.into(), section: section.into() }
    }

    #[test]
    fn reads_sections_and_fields() {
        let spec = parse_spec(TABLE).expect("parses").details;
        assert_eq!(spec.get("제조회사"), Some(&detail("쿨러마스터CoolerMaster", "")));
        assert_eq!(spec.get("등록년월"), Some(&detail("2023년 04월", "")));
        assert_eq!(spec.get("팬 크기"), Some(&detail("120mm", "쿨러 사양")));
        assert_eq!(spec.get("LED"), Some(&detail("○", "쿨러 사양")));
        // Outside a cooler section the count stays.
        assert_eq!(spec.get("소음"), Some(&detail("25dBA x2", "부가 기능")));
    }

    #[test]
    fn skips_empty_cells_and_stops_at_certification() {
        let spec = parse_spec(TABLE).expect("parses").details;
        assert!(!spec.contains_key("빈칸"));
        assert!(!spec.contains_key(""));
        assert!(!spec.contains_key("인증번호"));
        assert_eq!(spec.len(), 5);
    }

    /// DANAWA.md "Newer evidence", spec table: rows whose cells carry no `tit`/`dsc` classes
    /// read the same (today's crawler found no field in them).
    #[test]
    fn rows_without_classes_pair_each_th_with_the_next_td() {
        let bare = TABLE.replace(" class=\"tit\"", "").replace(" class=\"dsc\"", "");
        assert!(!bare.contains("tit") && !bare.contains("dsc"));
        assert_eq!(parse_spec(&bare), parse_spec(TABLE));
    }

    #[test]
    fn a_missing_table_is_an_error() {
        assert_eq!(parse_spec("<div></div>"), Err(ParseError::Missing { selector: "table.spec_tbl" }));
        assert_eq!(parse_spec(r#"<table class="spec_tbl"></table>"#).map(|s| s.details.len()), Ok(0));
    }
}
