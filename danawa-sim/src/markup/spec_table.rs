//! The spec table `getProductDescription.ajax.php` answers: `table.spec_tbl`, a one-`th` row
//! per section, two `th.tit`/`td.dsc` pairs per data row (an odd field padded with an empty
//! pair, as the site does), `○` for yes, `인증` last. Some answers carry no `tit`/`dsc` classes
//! at all (DANAWA.md "Newer evidence": spec table), so a crawler pairs each `th` with the `td`
//! after it.

use std::fmt::Write;

use super::esc;
use crate::catalogue::specs::Section;

/// Renders the spec table fragment; `classless` leaves the cells without `tit`/`dsc`.
pub fn render(title: &str, sections: &[Section], classless: bool) -> String {
    let (th, td) = if classless { ("", "") } else { (" class=\"tit\"", " class=\"dsc\"") };
    let mut out = String::with_capacity(4_000);
    let _ = write!(
        out,
        "<div class=\"prod_spec\">\n<table class=\"spec_tbl\" summary=\"{t} 상세 스펙\">\n<caption>{t} 상세 스펙</caption>\n\
         <colgroup><col style=\"width:18%\"><col style=\"width:32%\"><col style=\"width:18%\"><col style=\"width:32%\"></colgroup>\n<tbody>\n",
        t = esc(title)
    );
    for section in sections {
        let _ = writeln!(out, "<tr>\n<th scope=\"colgroup\" colspan=\"4\"{th}>{}</th>\n</tr>", esc(section.name));
        for pair in section.fields.chunks(2) {
            out.push_str("<tr>\n");
            for (field, value) in pair {
                // Values come with the white space the site leaves around them.
                let _ = writeln!(
                    out,
                    "<th scope=\"row\"{th}>{}</th>\n<td{td}>\n\t\t\t\t{}\t\t\t</td>",
                    esc(field),
                    esc(value)
                );
            }
            if pair.len() == 1 {
                let _ = writeln!(out, "<th scope=\"row\"{th}></th>\n<td{td}></td>");
            }
            out.push_str("</tr>\n");
        }
    }
    out.push_str(
        "</tbody>\n</table>\n<p class=\"spec_notice\">제조사 사정에 따라 사양이 변경될 수 있습니다.</p>\n</div>\n",
    );
    out
}
