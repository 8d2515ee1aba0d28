//! Small fixed answers: robots.txt, the discontinued-product page, the block page.

/// prod.danawa.com's robots.txt as far as DANAWA.md knows it: the AJAX endpoints the list and
/// spec data come from are disallowed.
pub const ROBOTS_TXT: &str = "User-agent: *\nDisallow: /info/ajax/\nDisallow: /list/ajax/\nDisallow: /api/\n";

/// The exact answer the real site gives for a discontinued product
/// (`danawa-pages/danawa_expired_31162997.html`).
pub const EXPIRED_PAGE: &str = "<meta name=\"robots\" content=\"none\" /><script type=\"text/javascript\">alert(\"가격비교 서비스가 종료된 상품입니다.\");location.replace(\"https://www.danawa.com\");</script>";

/// Marker text of the block page; DANAWA.md lists it among the texts crawlers look for.
pub const BLOCK_MARKER: &str = "비정상적인 접근";

/// A block page (no real one was ever captured): a 200 with the marker texts.
pub fn block_page() -> String {
    format!(
        "<!DOCTYPE html><html lang=\"ko\"><head><meta charset=\"utf-8\"><title>다나와</title></head>\
         <body><div class=\"error_wrap\"><h2>{BLOCK_MARKER}이 감지되었습니다.</h2>\
         <p>접속이 차단되었습니다. 잠시 후 다시 이용해 주세요.</p></div></body></html>"
    )
}
