//! The files Buzón keeps as evidence, on every channel (WhatsApp and e-mail share
//! this one list), and how a file's type is decided: from its bytes when they say
//! (the `infer` crate reads magic numbers), else from the type it was sent with,
//! read forgivingly (phones and old mail programs send `image/jpg`,
//! `application/pdf name=x.pdf`, `audio/x-wav`), else from its file name.
//!
//! A file whose bytes are a known type outside the list (a program, an archive) is
//! refused whatever it claims to be. Pure: no I/O.

/// One kind of evidence: its canonical media type, what a worker would call it, and
/// the file name endings that name it.
pub struct Kind {
    pub mime: &'static str,
    pub what: &'static str,
    pub extensions: &'static [&'static str],
}

/// Every file kept as evidence (the README's table is this list).
pub const ALLOWED: &[Kind] = &[
    kind("image/jpeg", "photo (JPEG)", &["jpg", "jpeg", "jfif"]),
    kind("image/png", "image (PNG)", &["png"]),
    kind("image/webp", "image (WebP)", &["webp"]),
    kind("image/gif", "image (GIF)", &["gif"]),
    kind("image/bmp", "image (BMP)", &["bmp"]),
    kind("image/heic", "photo (iPhone HEIC)", &["heic"]),
    kind("image/heif", "photo (HEIF)", &["heif"]),
    kind(
        "audio/ogg",
        "voice note (Ogg/Opus)",
        &["ogg", "opus", "oga"],
    ),
    kind("audio/mpeg", "audio (MP3)", &["mp3"]),
    kind("audio/mp4", "audio (M4A)", &["m4a"]),
    kind("audio/aac", "audio (AAC)", &["aac"]),
    kind("audio/amr", "voice note (AMR)", &["amr"]),
    kind("audio/3gpp", "voice note (3GP)", &[]),
    kind("audio/wav", "audio (WAV)", &["wav"]),
    kind("audio/basic", "audio (Sun/NeXT .au)", &["au", "snd"]),
    kind("video/mp4", "video (MP4)", &["mp4", "m4v"]),
    kind("video/3gpp", "video (3GP)", &["3gp"]),
    kind("video/quicktime", "video (iPhone MOV)", &["mov"]),
    kind("application/pdf", "PDF", &["pdf"]),
    kind("application/msword", "Word (.doc)", &["doc"]),
    kind(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "Word (.docx)",
        &["docx"],
    ),
    kind(
        "application/vnd.oasis.opendocument.text",
        "OpenDocument text (.odt)",
        &["odt"],
    ),
    kind("application/vnd.ms-excel", "Excel (.xls)", &["xls"]),
    kind(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "Excel (.xlsx)",
        &["xlsx"],
    ),
    kind(
        "application/vnd.oasis.opendocument.spreadsheet",
        "OpenDocument spreadsheet (.ods)",
        &["ods"],
    ),
    kind("text/plain", "text (.txt)", &["txt"]),
    kind("text/csv", "table (.csv)", &["csv"]),
    kind("message/rfc822", "a forwarded e-mail (.eml)", &["eml"]),
];

const fn kind(mime: &'static str, what: &'static str, extensions: &'static [&'static str]) -> Kind {
    Kind {
        mime,
        what,
        extensions,
    }
}

/// Other names the same types go by (mislabels phones and mail programs send, and
/// the names `infer` gives).
const ALIASES: &[(&str, &str)] = &[
    ("image/jpg", "image/jpeg"),
    ("image/pjpeg", "image/jpeg"),
    ("image/x-png", "image/png"),
    ("image/x-bmp", "image/bmp"),
    ("image/x-ms-bmp", "image/bmp"),
    ("image/heic-sequence", "image/heic"),
    ("image/heif-sequence", "image/heif"),
    ("audio/opus", "audio/ogg"),
    ("audio/x-ogg", "audio/ogg"),
    ("application/ogg", "audio/ogg"),
    ("audio/mp3", "audio/mpeg"),
    ("audio/x-mp3", "audio/mpeg"),
    ("audio/mpeg3", "audio/mpeg"),
    ("audio/x-mpeg", "audio/mpeg"),
    ("audio/m4a", "audio/mp4"),
    ("audio/x-m4a", "audio/mp4"),
    ("audio/x-aac", "audio/aac"),
    ("audio/amr-nb", "audio/amr"),
    ("audio/x-wav", "audio/wav"),
    ("audio/wave", "audio/wav"),
    ("audio/vnd.wave", "audio/wav"),
    ("audio/x-au", "audio/basic"),
    ("video/x-m4v", "video/mp4"),
    ("video/3gp", "video/3gpp"),
    ("application/x-pdf", "application/pdf"),
    ("application/acrobat", "application/pdf"),
    ("application/vnd.ms-word", "application/msword"),
    ("application/x-msexcel", "application/vnd.ms-excel"),
    ("application/excel", "application/vnd.ms-excel"),
    ("application/x-excel", "application/vnd.ms-excel"),
    ("text/x-csv", "text/csv"),
    ("application/csv", "text/csv"),
];

/// Types whose bytes `infer` names only as a container: the declared type or the
/// file name says which document it is.
const CONTAINERS: &[&str] = &["application/zip", "application/x-ole-storage"];

/// A declared media type as a plain `type/subtype`: lower-cased, parameters cut off
/// at the first `;` or white space (`application/pdf name=x.pdf`), aliases mapped.
pub fn normalize(declared: &str) -> String {
    let bare = declared
        .split([';', ' ', '\t', '\r', '\n'])
        .find(|s| !s.is_empty())
        .unwrap_or("")
        .trim_matches(['"', ','])
        .to_ascii_lowercase();
    ALIASES
        .iter()
        .find(|(alias, _)| *alias == bare)
        .map_or(bare, |(_, canonical)| (*canonical).to_owned())
}

fn allowed(mime: &str) -> Option<&'static str> {
    ALLOWED.iter().find(|k| k.mime == mime).map(|k| k.mime)
}

fn by_name(name: &str) -> Option<&'static str> {
    let ext = name.rsplit_once('.')?.1.trim().to_ascii_lowercase();
    ALLOWED
        .iter()
        .find(|k| k.extensions.contains(&ext.as_str()))
        .map(|k| k.mime)
}

/// The type a file is kept as, or `None` when it is refused. `bytes` is `None` when
/// only the announcement is known (a WhatsApp media id before download): then the
/// declared type decides.
pub fn kept_type(declared: &str, name: Option<&str>, bytes: Option<&[u8]>) -> Option<&'static str> {
    let declared = normalize(declared);
    let stated = || {
        allowed(&declared).or_else(|| {
            // A generic label says nothing: the name decides.
            matches!(
                declared.as_str(),
                "application/octet-stream" | "" | "application/x-unknown"
            )
            .then(|| name.and_then(by_name))
            .flatten()
        })
    };
    let Some(bytes) = bytes else {
        return stated();
    };
    match infer::get(bytes).map(|t| normalize(t.mime_type())) {
        Some(sniffed) if CONTAINERS.contains(&sniffed.as_str()) => {
            // An Office file is a zip or an OLE store: the label or name says which;
            // a plain archive is not evidence.
            stated().filter(|m| is_office(m))
        }
        Some(sniffed) => allowed(&sniffed),
        None => stated(),
    }
}

fn is_office(mime: &str) -> bool {
    mime.starts_with("application/vnd.") || mime == "application/msword"
}

/// The declared type, normalized, when it is on the list (no bytes looked at): what
/// a channel checks before it fetches a file.
pub fn accepted_media_type(declared: &str) -> Option<String> {
    kept_type(declared, None, None).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0];
    const PDF: &[u8] = b"%PDF-1.4\n1 0 obj";
    const EXE: &[u8] = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00";

    #[test]
    fn mislabels_phones_send_are_understood() {
        assert_eq!(kept_type("image/jpg", None, None), Some("image/jpeg"));
        assert_eq!(
            kept_type("IMAGE/JPG; name=a.jpg", None, None),
            Some("image/jpeg")
        );
        assert_eq!(kept_type("audio/basic", None, None), Some("audio/basic"));
        assert_eq!(
            kept_type("application/pdf name=acta.pdf", None, None),
            Some("application/pdf")
        );
        assert_eq!(
            kept_type("audio/ogg; codecs=opus", None, None),
            Some("audio/ogg")
        );
        assert_eq!(
            kept_type(
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                None,
                None
            ),
            Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        );
        assert_eq!(kept_type("application/x-msdownload", None, None), None);
    }

    #[test]
    fn bytes_decide_over_the_label() {
        // A JPEG sent as a generic file, or labelled as something else.
        assert_eq!(
            kept_type("application/octet-stream", None, Some(JPEG)),
            Some("image/jpeg")
        );
        assert_eq!(kept_type("image/png", None, Some(JPEG)), Some("image/jpeg"));
        assert_eq!(
            kept_type("text/plain", None, Some(PDF)),
            Some("application/pdf")
        );
        // A program is refused whatever it claims.
        assert_eq!(kept_type("image/jpeg", Some("foto.jpg"), Some(EXE)), None);
        // No magic number (text): the label, then the name.
        assert_eq!(
            kept_type("text/plain", None, Some(b"hola")),
            Some("text/plain")
        );
        assert_eq!(
            kept_type(
                "application/octet-stream",
                Some("lista.CSV"),
                Some(b"a,b\n1,2")
            ),
            Some("text/csv")
        );
        assert_eq!(
            kept_type("application/octet-stream", Some("x.bin"), Some(b"\x01\x02")),
            None
        );
    }

    #[test]
    fn a_plain_zip_is_not_an_office_file() {
        let zip = b"PK\x03\x04\x14\x00\x00\x00\x08\x00somefile.txt";
        assert_eq!(kept_type("application/zip", Some("x.zip"), Some(zip)), None);
        assert_eq!(
            kept_type("application/octet-stream", Some("nomina.xlsx"), Some(zip)),
            Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        );
    }

    #[test]
    fn every_alias_and_extension_leads_into_the_list() {
        for (_, canonical) in ALIASES {
            assert!(allowed(canonical).is_some(), "{canonical}");
        }
        for k in ALLOWED {
            for ext in k.extensions {
                assert_eq!(by_name(&format!("f.{ext}")), Some(k.mime));
            }
        }
    }
}
