//! Parsers for every answer the crawler receives from Danawa: pure functions from the
//! answer's text to typed structs, with no I/O and no panics on any input.
//!
//! One module per answer: [`bootstrap`] (legacy list page), [`list`] (list fragment),
//! [`product`] (product page), [`spec`] (spec table), [`shops`] (price-compare shop list);
//! [`assemble`] combines the last three into a [`common::messages::ProductInfo`].

pub mod assemble;
pub mod bootstrap;
pub mod list;
pub mod product;
pub mod script;
pub mod shops;
pub mod spec;

use scraper::ElementRef;

/// Why an answer could not be parsed. Each variant names the selector (or script value) that
/// found nothing, so an operator can see at once which part of the markup changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("nothing matched `{selector}`")]
    Missing { selector: &'static str },
    #[error("`{selector}` holds {value:?}, expected {expected}")]
    Invalid { selector: &'static str, value: String, expected: &'static str },
}

/// A CSS selector compiled once. The selectors are constants, so a bad one is a programming
/// error that every test touching the parser would reveal.
macro_rules! selector {
    ($css:literal) => {{
        static SELECTOR: std::sync::LazyLock<scraper::Selector> = std::sync::LazyLock::new(|| {
            #[allow(clippy::expect_used)]
            scraper::Selector::parse($css).expect(concat!("valid selector ", $css))
        });
        &*SELECTOR
    }};
}
pub(crate) use selector;

/// The element's text with runs of whitespace collapsed to one space.
pub(crate) fn text_of(element: ElementRef<'_>) -> String {
    collapse_whitespace(&element.text().collect::<String>())
}

pub(crate) fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `Some(text)` unless it is empty.
pub(crate) fn non_empty(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

/// A won amount as Danawa writes it (`1,089,990`, `3,000원`, `23000`): the digits of the first
/// number in the text. `None` when there is no number or it does not fit.
pub(crate) fn parse_amount(text: &str) -> Option<i64> {
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let digits: String =
        text[start..].chars().take_while(|c| c.is_ascii_digit() || *c == ',').filter(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_the_first_number() {
        assert_eq!(parse_amount("1,089,990"), Some(1_089_990));
        assert_eq!(parse_amount("배송비 3,000원"), Some(3000));
        assert_eq!(parse_amount(" 23000 "), Some(23000));
        assert_eq!(parse_amount("무료배송"), None);
        assert_eq!(parse_amount("99999999999999999999999"), None);
    }

    #[test]
    fn whitespace_collapses() {
        assert_eq!(collapse_whitespace("  a \n\t b  "), "a b");
    }
}
