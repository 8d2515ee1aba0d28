//! Where a truncated answer is cut, and whether it also lies about its length. Drawn from the
//! fault rng, so a fault seed reproduces the cuts of a request sequence.
//!
//! The mix: anywhere in the body, inside the last element, exactly before the end marker, a
//! few bytes into the end marker. The end marker is the final `</html>` of a page, or the final
//! closing tag of a fragment's outermost container (every fragment the sim serves is one
//! outermost `div`). Every cut removes at least one byte of that marker, so only the markup
//! shows the cut: a page no longer ends with `</html>`, and a fragment's outermost `div` is left
//! open (its `<div`/`</div>` counts no longer balance). A fragment cut right after an inner
//! `</div>` still ends with `</div>`: a suffix check alone does not see it.

use rand::Rng;
use serde::Serialize;

/// Share of truncated answers that announce the full Content-Length and then end early.
pub(crate) const SHORT_BODY_SHARE: f64 = 0.25;

/// Where the cut falls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CutMode {
    /// Uniformly anywhere from the first byte to inside the end marker (30%).
    Anywhere,
    /// 3 to 300 bytes before the end of the markup (30%).
    InsideLast,
    /// Exactly where the end marker starts (20%).
    BeforeEnd,
    /// 1 to len−1 bytes into the end marker, e.g. `</ht` (20%).
    IntoEnd,
}

impl CutMode {
    const WEIGHTS: [(CutMode, u32); 4] =
        [(CutMode::Anywhere, 30), (CutMode::InsideLast, 30), (CutMode::BeforeEnd, 20), (CutMode::IntoEnd, 20)];
}

/// One truncation, drawn before the body is rendered and applied to it afterwards.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Truncation {
    pub mode: CutMode,
    /// Uniform in [0, 1): the position within the mode's range.
    roll: f64,
    /// Announce the full Content-Length, send the cut body, then fail the body (the client sees
    /// a body error); otherwise Content-Length matches the cut body.
    pub short_body: bool,
}

/// What the request log records about a truncation.
#[derive(Debug, Clone, Serialize)]
pub struct TruncationLog {
    pub mode: CutMode,
    /// Bytes sent.
    pub at: usize,
    /// Bytes of the whole answer.
    pub of: usize,
    pub short_body: bool,
}

/// The end marker of a body: (start, length) of the final `</html>` or, for a fragment, of its
/// final closing tag; `None` when the body does not end with a closing tag.
pub(crate) fn end_marker(body: &str) -> Option<(usize, usize)> {
    let content = body.trim_end();
    if content.ends_with("</html>") {
        return Some((content.len() - "</html>".len(), "</html>".len()));
    }
    if !content.ends_with('>') {
        return None;
    }
    let at = content.rfind("</")?;
    Some((at, content.len() - at))
}

impl Truncation {
    /// Draws a truncation (three draws from `rng`).
    pub(crate) fn draw<R: Rng>(rng: &mut R) -> Self {
        let total: u32 = CutMode::WEIGHTS.iter().map(|(_, w)| w).sum();
        let mut pick = rng.gen_range(0..total);
        let mut mode = CutMode::Anywhere;
        for (m, w) in CutMode::WEIGHTS {
            if pick < w {
                mode = m;
                break;
            }
            pick -= w;
        }
        Self { mode, roll: rng.gen(), short_body: rng.gen_bool(SHORT_BODY_SHARE) }
    }

    /// The number of bytes of `body` to send: on a character boundary, at least 1, and short of
    /// the end marker's last byte. `None` when the body is too short to cut.
    pub(crate) fn cut_point(&self, body: &str) -> Option<usize> {
        let (marker_at, marker_len) = end_marker(body).unwrap_or((body.len().saturating_sub(1), 1));
        // The last byte that may be sent is one before the marker's final byte.
        let limit = marker_at + marker_len - 1;
        if limit == 0 {
            return None;
        }
        let span = |n: usize| (self.roll * n as f64) as usize;
        let at = match self.mode {
            CutMode::Anywhere => 1 + span(limit),
            CutMode::InsideLast => limit.saturating_sub(2 + span(298)),
            CutMode::BeforeEnd => marker_at,
            CutMode::IntoEnd => marker_at + 1 + span(marker_len.saturating_sub(1)),
        };
        let mut at = at.clamp(1, limit);
        while at > 0 && !body.is_char_boundary(at) {
            at -= 1;
        }
        (at > 0).then_some(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use std::collections::HashMap;

    fn page() -> String {
        let mut body = String::from("<!DOCTYPE html><html><head><title>다나와</title></head><body>\n");
        for i in 0..400 {
            body.push_str(&format!("<div class=\"row\"><span>인텔 코어 {i}</span></div>\n"));
        }
        body.push_str("</body>\n</html>\n");
        body
    }

    fn fragment() -> String {
        let mut body = String::from("<div class=\"diff_wrap\">\n");
        for i in 0..300 {
            body.push_str(&format!("<div class=\"diff_item\"><em class=\"prc_c\">{i},900</em>원</div>\n"));
        }
        body.push_str("</div>\n");
        body
    }

    fn balanced(text: &str) -> bool {
        text.matches("<div").count() == text.matches("</div>").count()
    }

    #[test]
    fn end_markers_of_pages_and_fragments() {
        let p = page();
        assert_eq!(&p[end_marker(&p).map(|(a, n)| a..a + n).unwrap()], "</html>");
        let f = fragment();
        assert!(balanced(&f));
        assert_eq!(&f[end_marker(&f).map(|(a, n)| a..a + n).unwrap()], "</div>");
        assert_eq!(end_marker("plain text"), None);
    }

    #[test]
    fn cuts_are_spread_cover_every_mode_and_stay_on_char_boundaries() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(99);
        for body in [page(), fragment()] {
            let (marker_at, _) = end_marker(&body).unwrap();
            let mut modes: HashMap<CutMode, usize> = HashMap::new();
            let mut points = std::collections::BTreeSet::new();
            let mut short = 0;
            let n = 4_000;
            for _ in 0..n {
                let t = Truncation::draw(&mut rng);
                let at = t.cut_point(&body).expect("a cut");
                assert!(body.is_char_boundary(at), "{at} is inside a character");
                assert!(at >= 1 && at < body.trim_end().len());
                let sent = &body[..at];
                if body.contains("</html>") {
                    assert!(!sent.trim_end().ends_with("</html>"), "a cut page never ends with </html>");
                } else {
                    assert!(!balanced(sent), "a cut fragment leaves its outermost div open");
                }
                match t.mode {
                    CutMode::BeforeEnd => assert_eq!(at, marker_at),
                    CutMode::IntoEnd => assert!(at > marker_at, "{at} into the marker at {marker_at}"),
                    CutMode::InsideLast => {
                        let back = body.trim_end().len() - at;
                        assert!((3..=303).contains(&back), "{back} bytes before the end");
                    }
                    CutMode::Anywhere => {}
                }
                *modes.entry(t.mode).or_insert(0) += 1;
                points.insert(at);
                short += usize::from(t.short_body);
            }
            for (mode, weight) in CutMode::WEIGHTS {
                let share = *modes.get(&mode).unwrap_or(&0) as f64 / n as f64;
                assert!((share - f64::from(weight) / 100.0).abs() < 0.03, "{mode:?}: {share}");
            }
            let short_share = short as f64 / n as f64;
            assert!((short_share - SHORT_BODY_SHARE).abs() < 0.03, "short bodies: {short_share}");
            assert!(points.len() > 1_000, "cut points are spread, {} distinct", points.len());
            assert!(points.iter().any(|&p| p < body.len() / 4) && points.iter().any(|&p| p > body.len() * 3 / 4));
            let into: Vec<&str> = points.iter().filter(|&&p| p > marker_at).map(|&p| &body[marker_at..p]).collect();
            assert!(into.iter().all(|s| !s.is_empty() && s.starts_with('<')), "{into:?}");
        }
    }

    #[test]
    fn the_same_rng_gives_the_same_cuts() {
        let body = page();
        let cuts = |seed| {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            (0..50).map(|_| Truncation::draw(&mut rng).cut_point(&body)).collect::<Vec<_>>()
        };
        assert_eq!(cuts(5), cuts(5));
        assert_ne!(cuts(5), cuts(6));
    }

    #[test]
    fn tiny_bodies() {
        let t = Truncation { mode: CutMode::Anywhere, roll: 0.99, short_body: false };
        assert_eq!(t.cut_point("x"), None);
        assert_eq!(t.cut_point("<p></p>"), Some(6));
        let into = Truncation { mode: CutMode::IntoEnd, roll: 0.0, short_body: false };
        assert_eq!(into.cut_point("<p>가</p>"), Some(7));
    }
}
