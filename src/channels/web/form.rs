//! Strict `application/x-www-form-urlencoded` decoding: invalid UTF-8 is refused
//! (`invalid_encoding`) instead of being replaced, and the number of fields is capped.

use crate::domain::{ErrorCode, Language};

const MAX_FIELDS: usize = 100;

#[derive(Default)]
pub struct FormFields(Vec<(String, String)>);

impl FormFields {
    pub fn parse(body: &[u8]) -> Result<Self, ErrorCode> {
        let mut fields = Vec::new();
        for pair in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
            if fields.len() == MAX_FIELDS {
                return Err(ErrorCode::TooManyValues);
            }
            let mut kv = pair.splitn(2, |b| *b == b'=');
            let key = decode(kv.next().unwrap_or_default())?;
            let value = decode(kv.next().unwrap_or_default())?;
            fields.push((key, value));
        }
        Ok(Self(fields))
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name` (checkbox groups).
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub fn owned(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_owned)
    }
}

fn decode(raw: &[u8]) -> Result<String, ErrorCode> {
    let plus_as_space: Vec<u8> = raw
        .iter()
        .map(|b| if *b == b'+' { b' ' } else { *b })
        .collect();
    percent_encoding::percent_decode(&plus_as_space)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| ErrorCode::InvalidEncoding)
}

/// The fields of a form body and the page language (the form's `lang`, else `lang`).
pub fn parse_fields(bytes: &[u8], lang: Language) -> Result<(FormFields, Language), ErrorCode> {
    let fields = FormFields::parse(bytes)?;
    let lang = fields.get("lang").and_then(Language::parse).unwrap_or(lang);
    Ok((fields, lang))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_plus_percent_and_repeated_keys() {
        let f = FormFields::parse(b"name=Ana+L%C3%B3pez&v=a&v=b&empty=&flag");
        let f = f.ok();
        assert_eq!(f.as_ref().and_then(|f| f.get("name")), Some("Ana López"));
        assert_eq!(
            f.as_ref().map(|f| f.all("v")),
            Some(vec!["a".to_string(), "b".to_string()])
        );
        assert_eq!(f.as_ref().and_then(|f| f.get("flag")), Some(""));
    }

    #[test]
    fn invalid_utf8_is_refused() {
        assert_eq!(
            FormFields::parse(b"name=%FF%FE").err(),
            Some(ErrorCode::InvalidEncoding)
        );
        assert_eq!(
            FormFields::parse(b"name=\xff").err(),
            Some(ErrorCode::InvalidEncoding)
        );
    }

    #[test]
    fn too_many_fields_are_refused() {
        let body = "a=1&".repeat(101);
        assert_eq!(
            FormFields::parse(body.as_bytes()).err(),
            Some(ErrorCode::TooManyValues)
        );
    }
}
