//! What the receiving relay said about a message: its spam verdict and the sender
//! authentication it recorded. Buzón does not check SPF, DKIM or DMARC itself (that
//! needs DNS at receive time and the relay already did it); it reads the results.
//!
//! **Spam.** A verdict in the headers is honoured: `X-Spam-Flag: YES`,
//! `X-Spam-Status: Yes, …` (SpamAssassin), `X-Spam: yes`, `X-Spamd-Result:
//! default: True […]` and `X-Rspamd-Action` other than `no action` / `greylist`
//! (rspamd), `X-Forefront-Antispam-Report` with `SFV:SPM` (Microsoft). Forging a
//! "yes" only hurts the forger, so any such header counts. The GTUBE test string
//! counts too. Spam is held for a person, never answered.
//!
//! **Authentication.** `Authentication-Results` (RFC 8601) is read from one header
//! only: the top-most one written by the configured `authserv-id`
//! (`BUZON_EMAIL_AUTHSERV_ID`, the relay's name), or, when none is configured, the
//! top-most header (the last hop adds its own on top; anything below may have been
//! written by the sender). The sender is *unauthenticated* when that header says
//! `dmarc=fail`, `spf=fail`, or `dkim=fail` with no `dkim=pass` beside it (a second
//! signature that verifies is enough). `softfail`, `neutral`, `none`, `temperror`
//! and `permerror` are not failures. An unauthenticated message still becomes a
//! case or a follow-up (a worker's complaint is never thrown away), but nothing is
//! sent to its sender: the address may be forged, and answering would send a
//! stranger a receipt to someone else's complaint or backscatter.
//! Pure: no I/O.

use mail_parser::Message;

/// The sender authentication the relay recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Auth {
    /// No result that fails (or no header at all).
    NotFailed,
    /// SPF, DKIM or DMARC failed: no mail goes to this sender.
    Failed,
}

/// The SpamAssassin test string (GTUBE): a message carrying it is spam by definition.
const GTUBE: &str = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";

/// True when a relay's verdict in the headers (or the GTUBE string in `body`) says
/// spam.
pub fn is_spam(msg: &Message<'_>, body: &str) -> bool {
    let values = |name: &'static str| {
        msg.header_values(name)
            .filter_map(|v| v.as_text())
            .map(|v| v.trim().to_ascii_lowercase())
    };
    let flag = values("X-Spam-Flag").any(|v| v.starts_with("yes"));
    let status = values("X-Spam-Status").any(|v| v.starts_with("yes"));
    let plain = values("X-Spam").any(|v| v.starts_with("yes") || v == "true");
    let spamd = values("X-Spamd-Result").any(|v| {
        v.split_once(':')
            .map(|(_, rest)| rest.trim_start())
            .is_some_and(|rest| rest.starts_with("true"))
    });
    let action = values("X-Rspamd-Action").any(|v| {
        matches!(
            v.as_str(),
            "reject" | "add header" | "add_header" | "rewrite subject" | "rewrite_subject"
        )
    });
    let microsoft = values("X-Forefront-Antispam-Report").any(|v| v.contains("sfv:spm"));
    flag || status || plain || spamd || action || microsoft || body.contains(GTUBE)
}

/// The authentication verdict of the trusted `Authentication-Results` header (see
/// the module's documentation). `authserv_id`: the relay's name, when configured.
pub fn authentication(msg: &Message<'_>, authserv_id: Option<&str>) -> Auth {
    let mut headers = msg
        .header_values("Authentication-Results")
        .filter_map(|v| v.as_text());
    let trusted = match authserv_id {
        Some(id) => headers
            .filter_map(parse)
            .find(|r| r.authserv_id.eq_ignore_ascii_case(id)),
        None => headers.next().and_then(parse),
    };
    match trusted {
        Some(results) if results.failed() => Auth::Failed,
        _ => Auth::NotFailed,
    }
}

/// One `Authentication-Results` header, reduced to what is decided on.
#[derive(Debug, PartialEq, Eq)]
struct Results {
    authserv_id: String,
    /// (method, result), lower-cased: `("spf", "pass")`.
    methods: Vec<(String, String)>,
}

impl Results {
    fn failed(&self) -> bool {
        let has = |method: &str, result: &str| {
            self.methods.iter().any(|(m, r)| m == method && r == result)
        };
        has("dmarc", "fail") || has("spf", "fail") || (has("dkim", "fail") && !has("dkim", "pass"))
    }
}

/// Parses `authserv-id [version] ; method=result [reason] [props] ; …` (RFC 8601
/// §2.2), comments removed. `None` when there is no authserv-id.
fn parse(header: &str) -> Option<Results> {
    let text = without_comments(header);
    let mut items = text.split(';');
    let authserv_id = items
        .next()?
        .split_whitespace()
        .next()?
        .to_ascii_lowercase();
    let methods = items
        .filter_map(|item| {
            let (method, rest) = item.trim().split_once('=')?;
            let method = method.trim().split('/').next()?.trim().to_ascii_lowercase();
            let result = rest.split_whitespace().next()?.to_ascii_lowercase();
            Some((method, result))
        })
        .collect();
    Some(Results {
        authserv_id,
        methods,
    })
}

/// The text without `(comments)` (nested, with `\` escapes) and without quoted
/// strings' special meaning lost: a `;` inside quotes is kept out of splitting.
fn without_comments(header: &str) -> String {
    let mut out = String::with_capacity(header.len());
    let (mut depth, mut quoted, mut escaped) = (0u32, false, false);
    for c in header.chars() {
        if escaped {
            escaped = false;
            if depth == 0 {
                out.push(c);
            }
            continue;
        }
        match c {
            '\\' => escaped = true,
            '"' if depth == 0 => {
                quoted = !quoted;
                out.push(c);
            }
            '(' if !quoted => depth = depth.saturating_add(1),
            ')' if !quoted && depth > 0 => depth -= 1,
            ';' if quoted => out.push(','),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use mail_parser::MessageParser;

    fn msg(headers: &str) -> Message<'static> {
        let raw =
            format!("From: rosa@example.org\r\nSubject: Queja\r\n{headers}\r\nMe despidieron.\r\n");
        let raw: &'static str = Box::leak(raw.into_boxed_str());
        MessageParser::new().parse(raw).expect("parsed")
    }

    #[test]
    fn relay_spam_verdicts_are_honoured() {
        let spam = [
            "X-Spam-Flag: YES\r\n",
            "X-Spam-Status: Yes, score=7.3 required=5.0 tests=BAYES_99,HTML_MESSAGE\r\n\tautolearn=no\r\n",
            "X-Spam: Yes\r\n",
            "X-Spamd-Result: default: True [15.10 / 15.00];\r\n\tGTUBE(15.00)[];\r\n",
            "X-Rspamd-Action: add header\r\n",
            "X-Rspamd-Action: reject\r\n",
            "X-Forefront-Antispam-Report: CIP:1.2.3.4;CTRY:;LANG:en;SCL:9;SRV:;IPV:NLI;SFV:SPM;\r\n",
        ];
        for h in spam {
            assert!(is_spam(&msg(h), ""), "{h}");
        }
        let ham = [
            "X-Spam-Flag: NO\r\n",
            "X-Spam-Status: No, score=-1.9 required=5.0\r\n",
            "X-Spamd-Result: default: False [1.20 / 15.00];\r\n",
            "X-Rspamd-Action: no action\r\n",
            "X-Forefront-Antispam-Report: CIP:1.2.3.4;SFV:NSPM;\r\n",
            "",
        ];
        for h in ham {
            assert!(!is_spam(&msg(h), "Me despidieron."), "{h}");
        }
        assert!(is_spam(&msg(""), &format!("hola {GTUBE}")));
    }

    #[test]
    fn failed_spf_dkim_or_dmarc_is_unauthenticated() {
        let failed = [
            "Authentication-Results: mx.relay.example;\r\n spf=fail (sender IP is 203.0.113.9) smtp.mailfrom=example.org;\r\n dkim=none;\r\n dmarc=fail action=none header.from=example.org\r\n",
            "Authentication-Results: mx.relay.example; spf=fail smtp.mailfrom=example.org\r\n",
            "Authentication-Results: mx.relay.example; dkim=fail header.d=example.org; spf=softfail\r\n",
            "Authentication-Results: mx.relay.example 1; dmarc=fail (p=reject dis=none) header.from=example.org\r\n",
        ];
        for h in failed {
            assert_eq!(authentication(&msg(h), None), Auth::Failed, "{h}");
        }
        let fine = [
            "Authentication-Results: mx.google.com;\r\n       spf=pass (google.com: domain of rosa@example.org designates 1.2.3.4 as permitted sender) smtp.mailfrom=rosa@example.org;\r\n       dkim=pass header.i=@example.org\r\n",
            "Authentication-Results: mx.relay.example; spf=softfail smtp.mailfrom=example.org\r\n",
            "Authentication-Results: mx.relay.example; spf=neutral; dkim=none; dmarc=none\r\n",
            // One signature broke (a list footer), another verifies.
            "Authentication-Results: mx.relay.example; dkim=fail header.d=list.example; dkim=pass header.d=example.org\r\n",
            "Authentication-Results: mx.relay.example; none\r\n",
            // A comment that merely says "fail".
            "Authentication-Results: mx.relay.example; spf=pass (not a fail; really) smtp.mailfrom=x\r\n",
            "",
        ];
        for h in fine {
            assert_eq!(authentication(&msg(h), None), Auth::NotFailed, "{h}");
        }
    }

    #[test]
    fn only_the_trusted_header_counts() {
        // The sender wrote a "pass" below the relay's "fail": the top-most counts.
        let forged_below = "Authentication-Results: mx.relay.example; spf=fail smtp.mailfrom=example.org\r\n\
                            Authentication-Results: mx.relay.example; spf=pass smtp.mailfrom=example.org\r\n";
        assert_eq!(authentication(&msg(forged_below), None), Auth::Failed);
        // The same with the relay's authserv-id configured: the sender's copy of the
        // relay's name below the relay's own header is not read.
        assert_eq!(
            authentication(&msg(forged_below), Some("mx.relay.example")),
            Auth::Failed
        );
        // With the relay's authserv-id configured, another host's header is ignored
        // even when it is on top.
        let other_on_top = "Authentication-Results: evil.example; spf=pass\r\n\
                            Authentication-Results: MX.Relay.Example; dmarc=fail header.from=example.org\r\n";
        assert_eq!(
            authentication(&msg(other_on_top), Some("mx.relay.example")),
            Auth::Failed
        );
        let only_other = "Authentication-Results: evil.example; spf=fail\r\n";
        assert_eq!(
            authentication(&msg(only_other), Some("mx.relay.example")),
            Auth::NotFailed
        );
    }

    #[test]
    fn header_grammar() {
        let r = parse(
            "mx.example.org 1; auth=pass (cram-md5) smtp.auth=sender@example.net; spf=pass smtp.mailfrom=example.net",
        );
        assert_eq!(
            r,
            Some(Results {
                authserv_id: "mx.example.org".into(),
                methods: vec![
                    ("auth".into(), "pass".into()),
                    ("spf".into(), "pass".into())
                ],
            })
        );
        assert_eq!(parse("  "), None);
        let quoted = parse("mx.example; dkim=pass header.b=\"a;b\"; spf=fail").unwrap();
        assert_eq!(quoted.methods.len(), 2);
    }
}
