//! Is an answer whole? Checked before any parser sees it: a cut answer parses into fewer shops,
//! spec rows or products than the site has, and nothing after the cut would say so (DESIGN.md
//! §4.7, "never silently wrong"). Each answer kind has an end the real answer always carries:
//! `</html>` on pages, the outermost container closed on fragments, and on the list fragment
//! `#totalProductCount` and the pager too. The body length against `Content-Length` or the
//! chunked end is checked by the HTTP client while it reads (a short body is a body error).

use serde::{Deserialize, Serialize};

/// The five answers the crawler reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AnswerKind {
    /// The category page (`/list/?cate=N`), legacy or Next.js template.
    CategoryPage,
    /// `getProductList.ajax.php`.
    ListFragment,
    /// `/info/?pcode=N`, or the short "service ended" answer.
    ProductPage,
    /// `getProductDescription.ajax.php`.
    SpecTable,
    /// `getAllPriceCompareMallList.ajax.php`.
    ShopList,
    /// `robots.txt`: plain text, with no end to check.
    Robots,
}

impl AnswerKind {
    /// The label of metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CategoryPage => "category",
            Self::ListFragment => "list",
            Self::ProductPage => "product",
            Self::SpecTable => "spec",
            Self::ShopList => "shops",
            Self::Robots => "robots",
        }
    }

    /// Whether the job that asked for this answer sends another request once it has it (a
    /// category page leads to its list request, a product page to its spec table and shop
    /// list, robots.txt to the request it was read for).
    pub fn leads_on(self) -> bool {
        matches!(self, Self::CategoryPage | Self::ProductPage | Self::Robots)
    }
}

/// What an answer lacks at its end.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("incomplete {} answer: {missing}", kind.as_str())]
pub struct Incomplete {
    pub kind: AnswerKind,
    /// What the real answer always has and this one does not.
    pub missing: &'static str,
}

/// Checks that `body` is a whole answer of `kind`.
///
/// # Errors
/// [`Incomplete`] naming the end marker that is missing.
pub fn check(kind: AnswerKind, body: &str) -> Result<(), Incomplete> {
    let missing = |missing| Err(Incomplete { kind, missing });
    match kind {
        AnswerKind::Robots => Ok(()),
        AnswerKind::CategoryPage => ends_with_html(body).map_or_else(|| missing("`</html>` at the end"), Ok),
        AnswerKind::ProductPage => {
            // The "service ended" answer is a meta tag and one script, with no `<html>` at all.
            if body.contains("<meta name=\"robots\" content=\"none\"") && !body.contains("<html") {
                return if body.trim_end().ends_with("</script>") { Ok(()) } else { missing("`</script>` at the end") };
            }
            ends_with_html(body).map_or_else(|| missing("`</html>` at the end"), Ok)
        }
        AnswerKind::ListFragment => {
            if !outer_element_closed(body) {
                return missing("the closing tag of the outer `div.main_prodlist`");
            }
            if !body.contains("id=\"totalProductCount\"") {
                return missing("`input#totalProductCount`");
            }
            if !body.contains("num_nav_wrap") {
                return missing("the pager `div.num_nav_wrap`");
            }
            Ok(())
        }
        AnswerKind::SpecTable => {
            if !outer_element_closed(body) {
                return missing("the closing tag of the outer container");
            }
            if !body.contains("</table>") {
                return missing("`</table>` of `table.spec_tbl`");
            }
            Ok(())
        }
        AnswerKind::ShopList => {
            if outer_element_closed(body) {
                Ok(())
            } else {
                missing("the closing tag of the outer container")
            }
        }
    }
}

/// `Some(())` when the page ends with `</html>` (case and trailing white space aside).
fn ends_with_html(body: &str) -> Option<()> {
    let tail = body.trim_end();
    let start = tail.len().checked_sub("</html>".len())?;
    tail.get(start..).filter(|end| end.eq_ignore_ascii_case("</html>")).map(|_| ())
}

/// Whether the first element of a fragment is closed by its own end tag: opening and closing
/// tags of that element's name are counted from it on (comments and script bodies passed over)
/// until the count returns to zero. A cut anywhere inside it leaves the count above zero.
fn outer_element_closed(body: &str) -> bool {
    let mut tags = Tags { text: body, at: 0 };
    let Some(first) = tags.next_tag() else { return false };
    if first.closing || first.self_closing {
        return false;
    }
    let name = first.name;
    let mut depth = 1usize;
    while let Some(tag) = tags.next_tag() {
        if !tag.name.eq_ignore_ascii_case(name) || tag.self_closing {
            continue;
        }
        if tag.closing {
            depth -= 1;
            if depth == 0 {
                return true;
            }
        } else {
            depth += 1;
        }
    }
    false
}

struct Tag<'a> {
    name: &'a str,
    closing: bool,
    self_closing: bool,
}

/// A minimal scan over the tags of an HTML text, enough to pair a container's tags.
struct Tags<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Tags<'a> {
    fn next_tag(&mut self) -> Option<Tag<'a>> {
        loop {
            let rest = self.text.get(self.at..)?;
            let open = rest.find('<')?;
            let start = self.at + open;
            let after = self.text.get(start + 1..)?;
            if after.starts_with("!--") {
                self.at = start + 4 + after.get(3..)?.find("-->").map_or(after.len(), |end| end + 3);
                continue;
            }
            let close = after.find('>')?;
            let inner = &after[..close];
            self.at = start + 1 + close + 1;
            let (closing, inner) = match inner.strip_prefix('/') {
                Some(rest) => (true, rest),
                None => (false, inner),
            };
            let name_len = inner.find(|c: char| c.is_ascii_whitespace() || c == '/').unwrap_or(inner.len());
            let name = &inner[..name_len];
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric()) {
                continue; // `<!DOCTYPE`, `<?xml`, a stray `<` in text
            }
            let self_closing = inner.ends_with('/') || is_void(name);
            if !closing && (name.eq_ignore_ascii_case("script") || name.eq_ignore_ascii_case("style")) {
                // Their bodies are not markup: a `"<div>"` inside a script string is no tag.
                let end = format!("</{}", name.to_ascii_lowercase());
                let lower = self.text.get(self.at..)?.to_ascii_lowercase();
                self.at += lower.find(&end)?;
            }
            return Some(Tag { name, closing, self_closing });
        }
    }
}

/// Elements that never have an end tag.
fn is_void(name: &str) -> bool {
    const VOID: [&str; 14] =
        ["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"];
    VOID.iter().any(|v| v.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str = r#"<div class="main_prodlist main_prodlist_list">
<ul class="product_list"><li class="prod_item" id="productItem1"><div class="prod_info"><img src="x"><br></div></li></ul>
<div class="prod_num_nav"><div class="num_nav_wrap"><a class="num now_on">1</a></div></div>
<input type="hidden" id="totalProductCount" value="1">
</div>
"#;

    /// Every cut of a whole answer is caught, whatever the cut point: the property the sim's
    /// random `--truncate` tests.
    fn every_cut_is_caught(kind: AnswerKind, whole: &str) {
        assert_eq!(check(kind, whole), Ok(()), "the whole answer");
        let end = whole.trim_end().len();
        for cut in (0..end).filter(|&i| whole.is_char_boundary(i)) {
            assert!(check(kind, &whole[..cut]).is_err(), "{kind:?} cut at {cut}: {:?}", &whole[..cut]);
        }
    }

    #[test]
    fn list_fragments_cut_anywhere_are_incomplete() {
        every_cut_is_caught(AnswerKind::ListFragment, LIST);
        let no_pager = LIST.replace("num_nav_wrap", "other");
        assert_eq!(
            check(AnswerKind::ListFragment, &no_pager).map_err(|e| e.missing),
            Err("the pager `div.num_nav_wrap`")
        );
    }

    #[test]
    fn spec_tables_and_shop_lists_need_their_container_closed() {
        let spec =
            "<div class=\"prod_spec\"><table class=\"spec_tbl\"><tr><th>a</th><td>b</td></tr></table><p>x</p></div>";
        every_cut_is_caught(AnswerKind::SpecTable, spec);
        let shops = "<div id=\"defaultMallList\"><div id=\"OpenMarketMallListDiv\"><div class=\"diff_item\"><em class=\"prc_c\">1</em></div></div></div>\n";
        every_cut_is_caught(AnswerKind::ShopList, shops);
    }

    #[test]
    fn pages_end_with_html() {
        let page =
            "<!DOCTYPE html><html><head><script>var a = '<div>';</script></head><body><div>x</div></body></html>\n";
        every_cut_is_caught(AnswerKind::ProductPage, page);
        every_cut_is_caught(AnswerKind::CategoryPage, page);
        assert_eq!(check(AnswerKind::CategoryPage, "<html><body></body></HTML>  \n"), Ok(()));
    }

    #[test]
    fn the_service_ended_answer_is_whole_without_html() {
        let ended = r#"<meta name="robots" content="none" /><script type="text/javascript">alert("가격비교 서비스가 종료된 상품입니다.");location.replace("https://www.danawa.com");</script>"#;
        every_cut_is_caught(AnswerKind::ProductPage, ended);
    }

    #[test]
    fn script_strings_and_comments_are_not_tags() {
        let fragment = "<div><!-- </div> --><script>var s = \"</div>\";</script><span>a</span></div>";
        assert!(outer_element_closed(fragment));
        assert!(!outer_element_closed("<div><!-- </div> --><script>var s = \"</div>\";</script>"));
        assert!(!outer_element_closed("<div><div></div>"));
        assert!(outer_element_closed("<DIV class=x><div></div></Div>"));
        assert!(!outer_element_closed(""));
        assert!(!outer_element_closed("plain text"));
    }
}
