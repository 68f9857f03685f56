//! CSRF protection for the forms: a signed double-submit token.
//!
//! The browser holds a random value in an HttpOnly, SameSite=Strict cookie; each form
//! carries HMAC-SHA256(csrf key, that value). A POST passes when the form's token
//! matches the cookie's (constant-time) and the browser does not mark it cross-site
//! (`Sec-Fetch-Site`) nor name another origin (`Origin`, compared with `Host`). The key comes from the key file, so tokens survive restarts
//! and work across several instances; no server-side session is kept. Chosen over
//! `axum_csrf` because that crate's cookie encryption adds a key we would have to
//! manage separately, and this is the same construction in a few lines over the HMAC
//! we already use.

use axum::http::HeaderMap;
use axum::http::header::{COOKIE, HOST, ORIGIN, SET_COOKIE};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Over HTTPS the `__Host-` prefix makes browsers refuse the cookie unless it is
/// Secure, host-only and for `/`, so a sibling subdomain cannot plant one.
const COOKIE_NAME: &str = "buzon_csrf";
const HOST_COOKIE_NAME: &str = "__Host-buzon_csrf";

pub struct Csrf<'a> {
    pub key: &'a [u8; 32],
    pub secure_cookies: bool,
}

/// The token to embed in a form, and the cookie to set if the browser has none.
pub struct Issued {
    pub token: String,
    pub set_cookie: Option<String>,
}

impl Csrf<'_> {
    fn cookie_name(&self) -> &'static str {
        if self.secure_cookies {
            HOST_COOKIE_NAME
        } else {
            COOKIE_NAME
        }
    }

    fn sign(&self, value: &str) -> String {
        sign(self.key, "csrf", value)
    }

    /// Reuses the browser's cookie when it has a well-formed one.
    pub fn issue(&self, headers: &HeaderMap) -> Issued {
        match cookie_value(headers, self.cookie_name()) {
            Some(value) => Issued {
                token: self.sign(&value),
                set_cookie: None,
            },
            None => {
                let value = B64.encode(crate::crypto::random_bytes::<32>());
                let secure = if self.secure_cookies { "; Secure" } else { "" };
                let name = self.cookie_name();
                Issued {
                    token: self.sign(&value),
                    set_cookie: Some(format!(
                        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=86400{secure}"
                    )),
                }
            }
        }
    }

    /// Passes when the browser says the form came from this origin (or says
    /// nothing: older browsers) and the token matches the cookie.
    pub fn verify(&self, headers: &HeaderMap, token: Option<&str>) -> bool {
        match (cookie_value(headers, self.cookie_name()), token) {
            (Some(value), Some(token)) if same_origin(headers, self.secure_cookies) => {
                crate::crypto::ct_eq(self.sign(&value).as_bytes(), token.as_bytes())
            }
            _ => false,
        }
    }
}

/// A CSRF token: HMAC-SHA256(csrf key, `label` NUL `value`), URL-safe base64. The
/// label keeps the form tokens and the staff sessions' tokens apart.
pub(crate) fn sign(key: &[u8; 32], label: &str, value: &str) -> String {
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(label.as_bytes());
            mac.update(b"\0");
            mac.update(value.as_bytes());
            B64.encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

/// False when the browser marks the request cross-site (older browsers say nothing),
/// or names an `Origin` other than this server's: the scheme (https only when
/// `https_only`, the cookies being Secure), host and port of the `Host` header.
/// `Origin: null` (sandboxed frames, some redirects, `file:`) is refused.
pub(crate) fn same_origin(headers: &HeaderMap, https_only: bool) -> bool {
    headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.eq_ignore_ascii_case("same-origin") || v.eq_ignore_ascii_case("none"))
        && origin_matches(headers, https_only)
}

/// True without an `Origin` header (older browsers, same-origin GETs); otherwise
/// whether it is this server's own origin.
fn origin_matches(headers: &HeaderMap, https_only: bool) -> bool {
    let Some(origin) = headers.get(ORIGIN) else {
        return true;
    };
    let host = headers.get(HOST).and_then(|v| v.to_str().ok());
    let (Ok(origin), Some(host)) = (origin.to_str(), host) else {
        return false;
    };
    let (default, authority) = match origin.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("https") => (443, rest),
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") && !https_only => (80, rest),
        _ => return false,
    };
    match (host_port(authority, default), host_port(host, default)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// `host[:port]` (or `[v6]:port`) as lower-cased host and port, the default port
/// when none is given; `None` for anything else (a path, user info, a bad port).
fn host_port(authority: &str, default: u16) -> Option<(String, u16)> {
    if authority.is_empty() || authority.contains(['/', '@', '?', '#', ' ']) {
        return None;
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.is_empty() && (!h.contains(':') || h.ends_with(']')) => {
            (h, p.parse().ok()?)
        }
        _ => (authority, default),
    };
    Some((host.to_ascii_lowercase(), port))
}

/// A cookie's value when it is well formed: 32 random bytes in URL-safe base64.
pub(crate) fn cookie_value(headers: &HeaderMap, cookie_name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == cookie_name)
        .map(|(_, value)| value.to_string())
        .filter(|v| v.len() == 43 && B64.decode(v).is_ok())
}

/// Adds the cookie header when one was issued.
pub fn with_cookie(
    mut response: axum::response::Response,
    issued: &Issued,
) -> axum::response::Response {
    if let Some(cookie) = &issued.set_cookie
        && let Ok(value) = cookie.parse()
    {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(cookie: &str, site: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Ok(v) = cookie.parse() {
            h.insert(COOKIE, v);
        }
        if let Some(site) = site.and_then(|s| s.parse().ok()) {
            h.insert("sec-fetch-site", site);
        }
        h
    }

    #[test]
    fn the_token_matches_only_its_cookie_and_only_same_site() {
        let key = [5u8; 32];
        let csrf = Csrf {
            key: &key,
            secure_cookies: false,
        };
        let issued = csrf.issue(&HeaderMap::new());
        let cookie = issued.set_cookie.clone().unwrap_or_default();
        let pair = cookie.split(';').next().unwrap_or_default().to_string();
        assert!(csrf.verify(&headers(&pair, None), Some(&issued.token)));
        assert!(csrf.verify(&headers(&pair, Some("same-origin")), Some(&issued.token)));
        assert!(!csrf.verify(&headers(&pair, Some("cross-site")), Some(&issued.token)));
        assert!(!csrf.verify(&headers(&pair, Some("same-site")), Some(&issued.token)));
        assert!(!csrf.verify(&headers(&pair, None), Some("forged")));
        assert!(!csrf.verify(&HeaderMap::new(), Some(&issued.token)));
        let other = csrf.issue(&HeaderMap::new());
        assert!(!csrf.verify(&headers(&pair, None), Some(&other.token)));
        let reissued = csrf.issue(&headers(&pair, None));
        assert!(reissued.set_cookie.is_none());
        assert_eq!(reissued.token, issued.token);
    }

    fn with_origin(origin: &str, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Ok(v) = origin.parse() {
            h.insert(ORIGIN, v);
        }
        if let Ok(v) = host.parse() {
            h.insert(HOST, v);
        }
        h
    }

    #[test]
    fn only_this_servers_own_origin_passes() {
        for (origin, host) in [
            ("http://127.0.0.1:8080", "127.0.0.1:8080"),
            ("https://buzon.example.org", "buzon.example.org"),
            ("https://BUZON.example.org:443", "buzon.example.org"),
            ("http://buzon.example.org", "buzon.example.org:80"),
            ("http://[::1]:8080", "[::1]:8080"),
        ] {
            assert!(
                same_origin(&with_origin(origin, host), false),
                "{origin} {host}"
            );
        }
        for (origin, host) in [
            ("http://evil.test", "127.0.0.1:8080"),
            ("null", "127.0.0.1:8080"),
            ("http://127.0.0.1:8081", "127.0.0.1:8080"),
            ("http://127.0.0.1", "127.0.0.1:8080"),
            ("https://buzon.example.org", "buzon.example.org:80"),
            ("ftp://buzon.example.org", "buzon.example.org"),
            ("http://buzon.example.org.evil.test", "buzon.example.org"),
            ("http://user@buzon.example.org", "buzon.example.org"),
            ("http://buzon.example.org", ""),
        ] {
            assert!(
                !same_origin(&with_origin(origin, host), false),
                "{origin} {host}"
            );
        }
        // Secure cookies: https only.
        assert!(!same_origin(
            &with_origin("http://buzon.example.org", "buzon.example.org"),
            true
        ));
        assert!(same_origin(
            &with_origin("https://buzon.example.org", "buzon.example.org"),
            true
        ));
        // No Origin at all (older browsers): the token decides.
        assert!(same_origin(&HeaderMap::new(), true));
    }

    #[test]
    fn over_https_the_cookie_is_host_only_and_secure() {
        let key = [5u8; 32];
        let csrf = Csrf {
            key: &key,
            secure_cookies: true,
        };
        let cookie = csrf.issue(&HeaderMap::new()).set_cookie.unwrap();
        assert!(
            cookie.starts_with("__Host-buzon_csrf=") && cookie.ends_with("; Secure"),
            "{cookie}"
        );
        // A plain cookie of the same value is not accepted in its place.
        let value = cookie
            .split(';')
            .next()
            .unwrap()
            .trim_start_matches("__Host-");
        let token = csrf
            .issue(&headers(cookie.split(';').next().unwrap(), None))
            .token;
        assert!(!csrf.verify(&headers(value, None), Some(&token)));
    }
}
