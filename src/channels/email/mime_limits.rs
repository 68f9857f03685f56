//! Bounds on a message's MIME structure, so no e-mail can crash the process or
//! make it build a huge structure. Pure: no I/O, nothing logged.
//!
//! mail-parser reads nesting with a stack of its own, but the message it builds is
//! a tree: about 60 000 nested `message/rfc822` parts (1.9 MB) overflowed a worker
//! thread's stack when that tree was copied and dropped (SIGABRT, not a panic), and
//! it bounds only nesting inside *encoded* message parts. So, before mail-parser
//! sees the bytes, [`scan`] counts what could become parts, containers and header
//! fields (a line scan, linear, no allocation beyond a short buffer) and refuses
//! anything beyond the limits; after parsing, [`check`] walks the tree without
//! recursion and bounds the depth that encoded parts (which the scan cannot read)
//! could add. Parsing itself runs on a thread with a stack sized for the deepest
//! tree a message under the size limit can build (`worker::parse_bounded`), so the
//! depth check is a limit, not the only thing between a message and a crash.
//!
//! A message over any limit is held for a person (outcome `too_complex`), never
//! parsed further and never lost.

use mail_parser::{Message, PartType};

/// `multipart/*` and `message/*` parts: every level of nesting needs one.
pub const MAX_CONTAINERS: usize = 64;
/// Parts of any kind (header blocks).
pub const MAX_PARTS: usize = 1_000;
/// Header fields over all parts.
pub const MAX_HEADER_FIELDS: usize = 10_000;
/// Messages nested in messages, encoded ones included (checked after parsing).
pub const MAX_DEPTH: usize = 16;

/// Which limit a message went over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TooComplex {
    Containers,
    Parts,
    HeaderFields,
    Depth,
}

impl TooComplex {
    pub fn code(self) -> &'static str {
        match self {
            Self::Containers => "too_many_containers",
            Self::Parts => "too_many_parts",
            Self::HeaderFields => "too_many_header_fields",
            Self::Depth => "nested_too_deep",
        }
    }
}

/// What the scan counted (upper bounds of what mail-parser would build).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub containers: usize,
    pub parts: usize,
    pub header_fields: usize,
    /// Bytes mail-parser would copy for messages nested in encoded parts.
    pub copied: usize,
}

/// The header field being read, as far as the scan cares.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    ContentType,
    TransferEncoding,
    Other,
}

/// A content transfer encoding mail-parser decodes before parsing a nested message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    Base64,
    QuotedPrintable,
}

/// One header block's facts.
#[derive(Default)]
struct Block {
    message: bool,
    encoding: Option<Encoding>,
}

/// Longest header value the scan keeps to classify (`multipart/...`, `base64`).
const VALUE_PREFIX: usize = 64;

/// Counts, on the raw bytes, every header block (the top one, one after each line
/// that could be a boundary once a multipart was declared, and the headers of an
/// unencoded nested message), every header field in them and every `multipart/*` or
/// `message/*` content type; refuses at the first limit passed. Over-counts rather
/// than under-counts: a body line that merely looks like a boundary starts a block.
///
/// An encoded (base64, quoted-printable) `message/*` part is decoded and scanned
/// too, as mail-parser parses it (three levels deep at most); its counts add to the
/// message's. mail-parser also copies such a part's decoded bytes once per message
/// nested in it, so those copies are bounded too ([`MAX_COPIED_BYTES`]).
pub fn scan(raw: &[u8]) -> Result<Counts, TooComplex> {
    let mut counts = Counts {
        parts: 1,
        ..Counts::default()
    };
    scan_level(raw, ENCODED_LEVELS, &mut counts)?;
    Ok(counts)
}

/// Encoded message parts mail-parser parses inside one another (its
/// `MAX_NESTED_ENCODED`); deeper ones stay opaque bytes.
const ENCODED_LEVELS: usize = 3;

/// Bytes mail-parser may copy for the messages nested in encoded parts.
pub const MAX_COPIED_BYTES: usize = 64 * 1024 * 1024;

fn scan_level(raw: &[u8], levels: usize, counts: &mut Counts) -> Result<(), TooComplex> {
    let mut in_header = true;
    let mut multipart_seen = false;
    let mut block = Block::default();
    let mut field = Field::Other;
    let mut value: Vec<u8> = Vec::with_capacity(VALUE_PREFIX);
    // The body of an encoded message part being collected, to be decoded.
    let mut encoded: Option<(Encoding, Vec<u8>)> = None;
    for line in raw.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if !in_header {
            let boundary = multipart_seen && line.starts_with(b"--");
            if let Some((how, body)) = encoded.as_mut() {
                if !boundary {
                    body.extend_from_slice(line);
                    if *how == Encoding::QuotedPrintable {
                        body.push(b'\n');
                    }
                    continue;
                }
                let (how, body) = (*how, std::mem::take(body));
                encoded = None;
                scan_encoded(how, &body, levels, counts)?;
            }
            if boundary {
                in_header = true;
                block = Block::default();
                counts.parts += 1;
                if counts.parts > MAX_PARTS {
                    return Err(TooComplex::Parts);
                }
            }
            continue;
        }
        if line.first().is_some_and(|&b| b == b' ' || b == b'\t') {
            push_prefix(&mut value, line);
            continue;
        }
        finish(field, &value, &mut block, counts, &mut multipart_seen)?;
        field = Field::Other;
        value.clear();
        if line.is_empty() {
            // The end of a header block; an unencoded nested message's own headers
            // follow at once, an encoded one's are read once decoded.
            in_header = block.message && block.encoding.is_none();
            if in_header {
                counts.parts += 1;
                if counts.parts > MAX_PARTS {
                    return Err(TooComplex::Parts);
                }
            } else if block.message
                && levels > 0
                && let Some(how) = block.encoding
            {
                encoded = Some((how, Vec::new()));
            }
            block = Block::default();
            continue;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            // Not a header field: mail-parser reads the rest as body.
            in_header = false;
            block = Block::default();
            continue;
        };
        counts.header_fields += 1;
        if counts.header_fields > MAX_HEADER_FIELDS {
            return Err(TooComplex::HeaderFields);
        }
        let name = line[..colon].trim_ascii();
        field = if name.eq_ignore_ascii_case(b"content-type") {
            Field::ContentType
        } else if name.eq_ignore_ascii_case(b"content-transfer-encoding") {
            Field::TransferEncoding
        } else {
            Field::Other
        };
        if field != Field::Other {
            push_prefix(&mut value, &line[colon + 1..]);
        }
    }
    finish(field, &value, &mut block, counts, &mut multipart_seen)?;
    if let Some((how, body)) = encoded {
        scan_encoded(how, &body, levels, counts)?;
    }
    Ok(())
}

/// Decodes an encoded message part as leniently as mail-parser does and scans it;
/// bounds what mail-parser would copy for the messages nested in it.
fn scan_encoded(
    how: Encoding,
    body: &[u8],
    levels: usize,
    counts: &mut Counts,
) -> Result<(), TooComplex> {
    let decoded = match how {
        Encoding::Base64 => decode_base64(body),
        Encoding::QuotedPrintable => decode_quoted_printable(body),
    };
    let before = counts.containers;
    scan_level(&decoded, levels - 1, counts)?;
    let nested = counts.containers - before;
    counts.copied = counts
        .copied
        .saturating_add(nested.saturating_mul(decoded.len()));
    if counts.copied > MAX_COPIED_BYTES {
        return Err(TooComplex::Containers);
    }
    Ok(())
}

/// Base64 the way mail readers take it: anything outside the alphabet skipped, a
/// dangling character dropped.
fn decode_base64(body: &[u8]) -> Vec<u8> {
    use base64::Engine;
    let mut clean: Vec<u8> = body
        .iter()
        .copied()
        .filter(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/')
        .collect();
    if clean.len() % 4 == 1 {
        clean.pop();
    }
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(&clean)
        .unwrap_or_default()
}

/// Quoted-printable: `=XX` decoded, soft line breaks (`=` at a line's end) joined,
/// anything malformed kept as it is.
fn decode_quoted_printable(body: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while let Some(&b) = body.get(i) {
        if b != b'=' {
            out.push(b);
            i += 1;
            continue;
        }
        match (body.get(i + 1), body.get(i + 2)) {
            (Some(b'\n'), _) => i += 2,
            (Some(b'\r'), Some(b'\n')) => i += 3,
            (Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                let v = hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0);
                out.push(u8::try_from(v).unwrap_or(b'?'));
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

fn push_prefix(value: &mut Vec<u8>, more: &[u8]) {
    let room = VALUE_PREFIX.saturating_sub(value.len());
    value.extend(more.iter().take(room));
}

/// Classifies a finished `Content-Type` or `Content-Transfer-Encoding` field.
fn finish(
    field: Field,
    value: &[u8],
    block: &mut Block,
    counts: &mut Counts,
    multipart_seen: &mut bool,
) -> Result<(), TooComplex> {
    let value = value.trim_ascii().to_ascii_lowercase();
    match field {
        Field::ContentType => {
            let multipart = value.starts_with(b"multipart/");
            let message = value.starts_with(b"message/");
            if multipart || message {
                counts.containers += 1;
                if counts.containers > MAX_CONTAINERS {
                    return Err(TooComplex::Containers);
                }
            }
            *multipart_seen |= multipart;
            block.message |= message;
        }
        Field::TransferEncoding => {
            if value.starts_with(b"base64") {
                block.encoding = Some(Encoding::Base64);
            } else if value.starts_with(b"quoted-printable") {
                block.encoding = Some(Encoding::QuotedPrintable);
            }
        }
        Field::Other => {}
    }
    Ok(())
}

/// Walks a parsed message without recursion: nested messages (encoded ones
/// included, which [`scan`] could not see into), parts and header fields in all.
pub fn check(msg: &Message<'_>) -> Result<(), TooComplex> {
    let mut stack: Vec<(&Message<'_>, usize)> = vec![(msg, 1)];
    let (mut parts, mut fields) = (0usize, 0usize);
    while let Some((message, depth)) = stack.pop() {
        if depth > MAX_DEPTH {
            return Err(TooComplex::Depth);
        }
        for part in &message.parts {
            parts += 1;
            fields += part.headers.len();
            if parts > MAX_PARTS {
                return Err(TooComplex::Parts);
            }
            if fields > MAX_HEADER_FIELDS {
                return Err(TooComplex::HeaderFields);
            }
            if let PartType::Message(inner) = &part.body {
                stack.push((inner, depth + 1));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mail_parser::MessageParser;

    const HEAD: &str = "From: a@example.org\r\nSubject: x\r\nMessage-ID: <n@example.org>\r\n";

    /// `levels` message/rfc822 parts, each nothing but its Content-Type.
    pub(crate) fn nested(levels: usize) -> Vec<u8> {
        let mut raw = HEAD.as_bytes().to_vec();
        for _ in 0..levels {
            raw.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\n");
        }
        raw.extend_from_slice(b"Subject: inner\r\n\r\nhola\r\n");
        raw
    }

    #[test]
    fn ordinary_mail_passes() {
        let raw = format!(
            "{HEAD}MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
             preamble\r\n--b\r\nContent-Type: text/plain\r\n\r\nhola\r\n-- \r\nfirma\r\n\
             --b\r\nContent-Type: message/rfc822\r\n\r\nFrom: c@example.org\r\nSubject: fwd\r\n\r\n\
             reenviado\r\n--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n\
             JVBERi0xLjQK\r\n--b--\r\n"
        );
        let counts = scan(raw.as_bytes()).unwrap();
        assert_eq!(counts.containers, 2);
        assert!(counts.parts >= 4, "{counts:?}");
        let msg = MessageParser::new().parse(raw.as_bytes()).unwrap();
        assert_eq!(check(&msg), Ok(()));
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        assert!(scan(&nested(MAX_CONTAINERS)).is_ok());
        assert_eq!(
            scan(&nested(MAX_CONTAINERS + 1)),
            Err(TooComplex::Containers)
        );
        assert_eq!(scan(&nested(60_000)), Err(TooComplex::Containers));
    }

    #[test]
    fn folded_and_oddly_spaced_content_types_count() {
        let mut raw = HEAD.as_bytes().to_vec();
        for _ in 0..=MAX_CONTAINERS {
            raw.extend_from_slice(b"content-TYPE :\r\n\tMessage/RFC822\r\n\r\n");
        }
        assert_eq!(scan(&raw), Err(TooComplex::Containers));
    }

    #[test]
    fn header_floods_are_refused() {
        let mut raw = HEAD.as_bytes().to_vec();
        for i in 0..=MAX_HEADER_FIELDS {
            raw.extend_from_slice(format!("X-{i}: y\r\n").as_bytes());
        }
        assert_eq!(scan(&raw), Err(TooComplex::HeaderFields));
    }

    #[test]
    fn part_floods_are_refused() {
        let mut raw =
            format!("{HEAD}Content-Type: multipart/mixed; boundary=b\r\n\r\n").into_bytes();
        for _ in 0..=MAX_PARTS {
            raw.extend_from_slice(b"--b\r\n\r\nx\r\n");
        }
        assert_eq!(scan(&raw), Err(TooComplex::Parts));
    }

    #[test]
    fn base64_attachments_are_not_read_as_headers() {
        let mut raw = format!(
            "{HEAD}Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        )
        .into_bytes();
        for _ in 0..(MAX_HEADER_FIELDS * 2) {
            raw.extend_from_slice(b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=\r\n");
        }
        assert!(scan(&raw).is_ok());
    }

    /// Nesting inside an encoded message part is scanned once decoded, and the
    /// depth is checked again after parsing.
    #[test]
    fn nesting_inside_an_encoded_part_is_caught_after_parsing() {
        use base64::Engine;
        let inner = nested(MAX_DEPTH + 4);
        let encoded = base64::engine::general_purpose::STANDARD.encode(&inner);
        let raw = format!(
            "{HEAD}Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n{encoded}\r\n"
        );
        assert_eq!(
            scan(raw.as_bytes()).map(|_| ()),
            Ok(()),
            "within the containers' limit"
        );
        let msg = MessageParser::new().parse(raw.as_bytes()).unwrap();
        assert_eq!(
            check(&msg),
            Err(TooComplex::Depth),
            "but too deep once parsed"
        );
        let deeper = base64::engine::general_purpose::STANDARD.encode(nested(MAX_CONTAINERS + 1));
        let raw = format!(
            "{HEAD}Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n{deeper}\r\n"
        );
        assert_eq!(
            scan(raw.as_bytes()),
            Err(TooComplex::Containers),
            "seen through base64"
        );
        let qp = String::from_utf8(nested(MAX_CONTAINERS + 1))
            .unwrap()
            .replace("Content-Type", "Content=2DType");
        let raw = format!(
            "{HEAD}Content-Type: message/rfc822\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{qp}"
        );
        assert_eq!(
            scan(raw.as_bytes()),
            Err(TooComplex::Containers),
            "seen through quoted-printable"
        );
    }

    proptest::proptest! {
        /// Whatever the bytes, the scan ends and never panics.
        #[test]
        fn scan_takes_anything(raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..4096)) {
            let _ = scan(&raw);
        }
    }
}
