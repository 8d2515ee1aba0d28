//! The page shell (navigation, embedded stylesheet and script, security headers) and the
//! small formatting helpers every page shares.

use std::time::Duration;

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};

use super::auth::Session;

pub const CSS: &str = include_str!("assets/app.css");
pub const JS: &str = include_str!("assets/app.js");

/// Only this process's own assets: no inline script can run, nothing is fetched elsewhere,
/// no other site may frame the page (its buttons retry and purge).
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Which page the navigation marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Overview,
    Streams,
    DeadLetters,
    Parts,
}

const TABS: [(Tab, &str, &str); 4] = [
    (Tab::Overview, "/", "Overview"),
    (Tab::Streams, "/streams", "Streams"),
    (Tab::DeadLetters, "/dead-letters", "Dead letters"),
    (Tab::Parts, "/parts", "Parts"),
];

/// A whole page around `body`.
pub fn page(tab: Tab, session: &Session, title: &str, body: Markup) -> Response {
    let role = match session.role {
        super::auth::Role::Admin => "admin",
        super::auth::Role::Read => "read-only",
    };
    secure(html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · electrokerot" }
                link rel="stylesheet" href="/assets/app.css";
                script src="/assets/app.js" defer {}
            }
            body {
                header {
                    span.brand { "electrokerot" }
                    @for (t, href, label) in TABS {
                        a.on[t == tab] href=(href) { (label) }
                    }
                    form.inline method="post" action="/logout" {
                        span.muted { (role) " " }
                        button type="submit" { "log out" }
                    }
                }
                main { (body) }
            }
        }
    })
}

/// The login form (the body of every 401).
pub fn login(problem: Option<&str>) -> Response {
    secure(html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "log in · electrokerot" }
                link rel="stylesheet" href="/assets/app.css";
            }
            body {
                main.login {
                    section {
                        h1 { "electrokerot monitoring" }
                        @if let Some(problem) = problem { p.error { (problem) } }
                        form method="post" action="/login" {
                            label for="token" { "Token (read-only or admin)" }
                            input #token type="password" name="token" autocomplete="current-password" required;
                            button type="submit" { "log in" }
                        }
                        p.muted { "Scripts may send " code { "Authorization: Bearer <token>" } " instead." }
                    }
                }
            }
        }
    })
}

/// A fragment for the live refresh (no shell).
pub fn fragment(markup: Markup) -> Response {
    secure(markup)
}

fn secure(markup: Markup) -> Response {
    let mut response = markup.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    // What the page shows is live and private: never kept by a cache.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /assets/app.css` and `/assets/app.js`.
pub fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "max-age=3600")], body).into_response()
}

/// `1h 2m 3s`, whole seconds.
pub fn duration(secs: f64) -> String {
    if !secs.is_finite() || secs < 0.0 {
        return "–".to_owned();
    }
    humantime::format_duration(Duration::from_secs(secs.round() as u64)).to_string()
}

/// An age or idle time in milliseconds, as `duration`.
pub fn ms(ms: u64) -> String {
    duration(ms as f64 / 1000.0)
}

/// `1.5 MiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A timestamp as RFC 3339 in UTC, to the second.
pub fn time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%SZ").to_string()
}

/// A rate with one decimal.
pub fn per_sec(rate: f64) -> String {
    format!("{rate:.1}/s")
}

/// Text cut to `max` characters with an ellipsis.
pub fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_format_for_people() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(3 * 1024 * 1024 / 2), "1.5 MiB");
        assert_eq!(duration(61.4), "1m 1s");
        assert_eq!(duration(f64::NAN), "–");
        assert_eq!(cut("가나다라", 3), "가나…");
    }
}
