//! The category page's search-option block: a checkbox per maker (`searchMakerRep{ID}`, value
//! the bare maker code) and per attribute value (`searchAttributeValueRep{ID}`, value the full
//! `CATE|GROUP|ID|OR`), in the legacy and in the Next.js (Tailwind) markup. DANAWA.md "Newer
//! evidence", attribute filters need the full checkbox value: the crawler reads it here.

use std::fmt::Write;

use super::esc;
use crate::catalogue::CategoryDef;

/// The legacy page's block (`#searchOptionListArea`, one `dl.spec_item` per group).
pub fn legacy(out: &mut String, d: &CategoryDef) {
    out.push_str("\t\t\t<div id=\"searchOptionListArea\" class=\"search_option_wrap\">\n\t\t\t<div class=\"search_option_list\">\n");
    out.push_str("\t\t\t\t<dl class=\"spec_item makerBrandItem\" id=\"searchMakerArea\">\n\t\t\t\t\t<dt class=\"item_dt\">제조사</dt>\n\t\t\t\t\t<dd class=\"item_dd\"><ul class=\"item_list\">\n");
    for maker in d.makers {
        let name = esc(maker.name);
        let _ = writeln!(
            out,
            "\t\t\t\t\t\t<li class=\"sub_item\"><input type=\"checkbox\" id=\"searchMakerRep{id}\" name=\"searchMaker\" class=\"input_check\" value=\"{id}\" data-text=\"{name}\"><label for=\"searchMakerRep{id}\" title=\"{name}\">{name}</label></li>",
            id = maker.code
        );
    }
    out.push_str("\t\t\t\t\t</ul></dd>\n\t\t\t\t</dl>\n");
    for group in d.attr_groups {
        let _ = write!(
            out,
            "\t\t\t\t<dl class=\"spec_item\" data-group=\"{}\">\n\t\t\t\t\t<dt class=\"item_dt\">{}</dt>\n\t\t\t\t\t<dd class=\"item_dd\"><ul class=\"item_list\">\n",
            group.id,
            esc(group.name)
        );
        for attr in group.values.iter().filter(|a| a.value != 0) {
            let name = esc(attr.name);
            let value = format!("{}|{}|{}|OR", d.list_code, group.id, attr.value);
            let _ = writeln!(
                out,
                "\t\t\t\t\t\t<li class=\"sub_item\"><input type=\"checkbox\" id=\"searchAttributeValueRep{id}\" name=\"searchAttributeValue\" class=\"input_check\" value=\"{value}\" data-text=\"{name}\"><label for=\"searchAttributeValueRep{id}\" title=\"{name}\">{name}</label></li>",
                id = attr.value
            );
        }
        out.push_str("\t\t\t\t\t</ul></dd>\n\t\t\t\t</dl>\n");
    }
    out.push_str("\t\t\t</div>\n\t\t\t</div>\n");
}

/// The Next.js page's block: React's server-rendered markup, self-closing inputs and the
/// attributes in another order (`value` before `id`), so only a real HTML parser reads both.
pub fn next_js(out: &mut String, d: &CategoryDef) {
    out.push_str("<section id=\"searchOption\" class=\"mb-4 rounded-lg border border-gray-200 bg-white\">");
    let row_start = |out: &mut String, title: &str| {
        let _ = write!(
            out,
            "<div class=\"flex border-b border-gray-100 last:border-b-0\"><div class=\"w-28 shrink-0 bg-gray-50 px-3 py-2 text-sm font-bold text-gray-800\">{}</div><ul class=\"flex flex-1 flex-wrap gap-x-5 gap-y-2 px-3 py-2\">",
            esc(title)
        );
    };
    let item = |out: &mut String, name: &str, field: &str, id: u32, value: &str| {
        let _ = write!(
            out,
            "<li class=\"flex items-center gap-1.5\"><input class=\"peer h-4 w-4 cursor-pointer accent-blue-600\" type=\"checkbox\" name=\"{field}\" value=\"{value}\" id=\"{field}Rep{id}\"/><label class=\"cursor-pointer text-sm text-gray-700 peer-checked:font-bold\" for=\"{field}Rep{id}\">{}</label></li>",
            esc(name)
        );
    };
    row_start(out, "제조사");
    for maker in d.makers {
        item(out, maker.name, "searchMaker", maker.code, &maker.code.to_string());
    }
    out.push_str("</ul></div>");
    for group in d.attr_groups {
        row_start(out, group.name);
        for attr in group.values.iter().filter(|a| a.value != 0) {
            let value = format!("{}|{}|{}|OR", d.list_code, group.id, attr.value);
            item(out, attr.name, "searchAttributeValue", attr.value, &value);
        }
        out.push_str("</ul></div>");
    }
    out.push_str("</section>");
}
