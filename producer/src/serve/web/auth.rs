//! Who may see the monitoring page and who may act on it: a read-only token and an admin token
//! (`EK_WEB_TOKEN`, `EK_WEB_ADMIN_TOKEN`, or their `*_FILE` variables), presented as a bearer
//! header or once through the login form, which sets a session cookie derived from the token
//! (never the token itself). Every request without a valid token gets 401 before any handler
//! runs; a cookie-authenticated POST also needs the form's CSRF value.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use sha2::{Digest, Sha256};

use super::layout;

/// The session cookie; its value is a keyed hash of the token, valid until the process ends.
pub const COOKIE: &str = "ek_session";

/// A token as configured: kept for comparison, hidden from every `Debug` and log line.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(Arc<str>);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

/// A token shorter than this is refused at start-up: it could be guessed.
pub const MIN_TOKEN_LEN: usize = 16;

#[derive(Debug, thiserror::Error)]
#[error("a web token needs at least {MIN_TOKEN_LEN} characters")]
pub struct ShortToken;

impl FromStr for Token {
    type Err = ShortToken;

    fn from_str(text: &str) -> Result<Self, ShortToken> {
        if text.chars().count() < MIN_TOKEN_LEN {
            return Err(ShortToken);
        }
        Ok(Self(text.into()))
    }
}

/// What a session may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Read,
    /// Read, and retry or purge dead letters.
    Admin,
}

/// The identity of one request, put into its extensions by [`require`].
#[derive(Debug, Clone)]
pub struct Session {
    pub role: Role,
    /// The CSRF value forms must carry (admin sessions only).
    pub csrf: Option<String>,
    /// Authenticated by the cookie (a browser): POSTs then need the CSRF value.
    by_cookie: bool,
}

impl Session {
    /// Whether this session may run an action that presented `csrf` (`None`: no form value).
    ///
    /// # Errors
    /// [`Refused`] for a read-only session or a missing or wrong CSRF value; nothing is done then.
    pub fn authorize_action(&self, csrf: Option<&str>) -> Result<(), Refused> {
        if self.role != Role::Admin {
            return Err(Refused::NotAdmin);
        }
        if self.by_cookie
            && !matches!((csrf, &self.csrf), (Some(got), Some(want)) if equal(got.as_bytes(), want.as_bytes()))
        {
            return Err(Refused::Csrf);
        }
        Ok(())
    }
}

/// Why an action was refused (403, nothing done).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("this action needs the admin token")]
    NotAdmin,
    #[error("missing or stale CSRF value: reload the page")]
    Csrf,
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        (StatusCode::FORBIDDEN, format!("{self}\n")).into_response()
    }
}

/// The configured tokens, as digests, and the process's random key for sessions and CSRF.
pub struct Auth {
    read: Option<[u8; 32]>,
    admin: Option<[u8; 32]>,
    key: [u8; 32],
}

impl Auth {
    pub fn new(read: Option<&Token>, admin: Option<&Token>) -> Self {
        Self {
            read: read.map(|t| digest(&[t.0.as_bytes()])),
            admin: admin.map(|t| digest(&[t.0.as_bytes()])),
            key: rand::random(),
        }
    }

    /// Whether any token is configured (without one the page refuses everyone).
    pub fn enabled(&self) -> bool {
        self.read.is_some() || self.admin.is_some()
    }

    /// The role a presented token grants.
    fn role_of_token(&self, token: &str) -> Option<Role> {
        let presented = digest(&[token.as_bytes()]);
        if self.admin.is_some_and(|d| equal(&d, &presented)) {
            return Some(Role::Admin);
        }
        self.read.is_some_and(|d| equal(&d, &presented)).then_some(Role::Read)
    }

    /// The session cookie value and CSRF value of a role: keyed hashes of its token digest.
    fn derived(&self, role: Role, purpose: &str) -> Option<String> {
        let token = match role {
            Role::Admin => self.admin?,
            Role::Read => self.read?,
        };
        Some(hex::encode(digest(&[&self.key, purpose.as_bytes(), &token])))
    }

    fn session(&self, role: Role, by_cookie: bool) -> Session {
        let csrf = (role == Role::Admin).then(|| self.derived(role, "csrf")).flatten();
        Session { role, csrf, by_cookie }
    }

    /// The session of a request: a bearer token, or the session cookie.
    pub fn identify(&self, headers: &HeaderMap) -> Option<Session> {
        let bearer =
            headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
        if let Some(token) = bearer {
            return self.role_of_token(token.trim()).map(|role| self.session(role, false));
        }
        let cookie = cookie(headers, COOKIE)?;
        [Role::Admin, Role::Read]
            .into_iter()
            .find(|role| self.derived(*role, "session").is_some_and(|want| equal(want.as_bytes(), cookie.as_bytes())))
            .map(|role| self.session(role, true))
    }
}

/// SHA-256 over the parts, in order.
fn digest(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// Compares in time independent of where the inputs differ (no timing hint to a guesser).
fn equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(name)?.strip_prefix('='))
}

/// Lets a request through with its [`Session`], or answers 401 (the login form) and does
/// nothing.
pub async fn require(State(auth): State<Arc<Auth>>, mut request: Request, next: Next) -> Response {
    match auth.identify(request.headers()) {
        Some(session) => {
            request.extensions_mut().insert(session);
            next.run(request).await
        }
        None => unauthorized(&auth, None),
    }
}

fn unauthorized(auth: &Auth, problem: Option<&str>) -> Response {
    let problem = problem.or((!auth.enabled()).then_some(
        "no token is configured (EK_WEB_TOKEN, EK_WEB_ADMIN_TOKEN or their _FILE variables): the page is closed",
    ));
    let mut response = (StatusCode::UNAUTHORIZED, layout::login(problem)).into_response();
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"electrokerot\""));
    response
}

#[derive(serde::Deserialize)]
pub struct LoginForm {
    token: String,
}

/// `POST /login`: a valid token sets the session cookie and goes to the overview.
pub async fn login(State(auth): State<Arc<Auth>>, Form(form): Form<LoginForm>) -> Response {
    let Some(value) = auth.role_of_token(form.token.trim()).and_then(|role| auth.derived(role, "session")) else {
        return unauthorized(&auth, Some("that token is not valid"));
    };
    // SameSite=Strict: no other site's page can make the browser send it (a second guard
    // after the CSRF value); HttpOnly: no script reads it.
    let cookie = format!("{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict");
    ([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response()
}

/// `POST /logout`: forgets the session cookie.
pub async fn logout() -> Response {
    let cookie = format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    ([(header::SET_COOKIE, cookie)], Redirect::to("/login")).into_response()
}

/// `GET /login`: the form (200; the pages themselves answer 401 with the same form).
pub async fn login_page() -> Response {
    layout::login(None).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: header::HeaderName, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).expect("header"));
        h
    }

    #[test]
    fn tokens_grant_their_role_and_sessions_never_carry_the_token() {
        let read: Token = "read-token-0123456789".parse().expect("token");
        let admin: Token = "admin-token-0123456789".parse().expect("token");
        let auth = Auth::new(Some(&read), Some(&admin));
        let bearer = |t: &str| auth.identify(&headers(header::AUTHORIZATION, &format!("Bearer {t}")));
        assert_eq!(bearer("read-token-0123456789").map(|s| s.role), Some(Role::Read));
        assert_eq!(bearer("admin-token-0123456789").map(|s| s.role), Some(Role::Admin));
        assert!(bearer("admin-token-012345678").is_none());
        let value = auth.derived(Role::Admin, "session").expect("cookie");
        assert!(!value.contains("admin-token"));
        let session = auth.identify(&headers(header::COOKIE, &format!("a=b; {COOKIE}={value}"))).expect("session");
        assert_eq!(session.role, Role::Admin);
        assert!(session.authorize_action(None).is_err(), "a cookie session needs the CSRF value");
        assert!(session.authorize_action(Some("nope")).is_err());
        assert!(session.authorize_action(session.csrf.as_deref()).is_ok());
        let reader = bearer("read-token-0123456789").expect("session");
        assert!(reader.authorize_action(None).is_err(), "read-only sessions never act");
        assert!(format!("{read:?}").contains("***") && !format!("{read:?}").contains("read-token"));
        assert!("short".parse::<Token>().is_err());
    }

    #[test]
    fn without_tokens_nobody_gets_in() {
        let auth = Auth::new(None, None);
        assert!(!auth.enabled());
        assert!(auth.identify(&headers(header::AUTHORIZATION, "Bearer ")).is_none());
        assert!(auth.identify(&headers(header::COOKIE, &format!("{COOKIE}="))).is_none());
    }
}
