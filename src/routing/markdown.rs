//! Making text someone typed inert in Markdown (issue 30, finding 11): a worker's
//! or an advocate's words in the RRM petition draft must read as words wherever
//! the `.md` is rendered, never as an image that loads from a tracker, a link, raw
//! HTML or an autolink.

/// Characters that start or close an inline construct (emphasis, code, links,
/// images, strikethrough, tables, headings) or escape one: always backslash-escaped.
const INLINE: &[char] = &['\\', '`', '*', '_', '[', ']', '!', '~', '|', '#'];

/// `text` with Markdown punctuation backslash-escaped and `<`, `>`, `&` written as
/// entities, so that it renders as the same characters and nothing else: inline
/// punctuation always; `-`, `+`, `=` and an ordered list's `1.` / `1)` at the start
/// of a line (lists, setext headings); the `:` of `://` and the `.` of `www.`
/// (bare-URL autolinks). Other characters, line breaks included, are kept.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    // Where the current line starts in `out`, and whether only blanks came since.
    let mut line_from = 0;
    let mut at_line_start = true;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        rest = &rest[c.len_utf8()..];
        let line = &out[line_from..];
        let numbered =
            !line.trim_start().is_empty() && line.trim_start().chars().all(|d| d.is_ascii_digit());
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            c if INLINE.contains(&c) => {
                out.push('\\');
                out.push(c);
            }
            '-' | '+' | '=' if at_line_start => {
                out.push('\\');
                out.push(c);
            }
            '.' | ')' if numbered => {
                out.push('\\');
                out.push(c);
            }
            ':' if rest.starts_with("//") => out.push_str("\\:"),
            '.' if out.len() >= 3
                && out
                    .get(out.len() - 3..)
                    .is_some_and(|w| w.eq_ignore_ascii_case("www")) =>
            {
                out.push_str("\\.");
            }
            c => out.push(c),
        }
        if c == '\n' || c == '\r' {
            line_from = out.len();
            at_line_start = true;
        } else if !(c == ' ' || c == '\t') {
            at_line_start = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Reads escaped text back: backslash escapes and the three entities.
    fn unescape(text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(c) = rest.chars().next() {
            let entity = [("&lt;", '<'), ("&gt;", '>'), ("&amp;", '&')]
                .into_iter()
                .find(|(e, _)| rest.starts_with(e));
            if let Some((e, plain)) = entity {
                out.push(plain);
                rest = &rest[e.len()..];
            } else if c == '\\' {
                rest = &rest[1..];
                if let Some(next) = rest.chars().next() {
                    out.push(next);
                    rest = &rest[next.len_utf8()..];
                }
            } else {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
        out
    }

    /// Whether the character at byte `i` is preceded by an odd number of
    /// backslashes (so it is escaped).
    fn escaped_at(text: &str, i: usize) -> bool {
        text[..i].chars().rev().take_while(|c| *c == '\\').count() % 2 == 1
    }

    fn inert(out: &str) {
        assert!(!out.contains('<') && !out.contains('>'), "{out}");
        for (i, c) in out.char_indices() {
            if matches!(c, '[' | ']' | '!' | '`' | '*' | '_') {
                assert!(escaped_at(out, i), "unescaped {c:?} at {i} in {out:?}");
            }
        }
    }

    #[test]
    fn images_links_html_and_autolinks_come_out_inert() {
        let out = escape("![x](https://tracker.test/p.png) <img src=x> [a](b) <https://t.test>");
        inert(&out);
        assert_eq!(
            out,
            "\\!\\[x\\](https\\://tracker.test/p.png) &lt;img src=x&gt; \\[a\\](b) &lt;https\\://t.test&gt;"
        );
        assert_eq!(escape("visit www.tracker.test"), "visit www\\.tracker.test");
        assert_eq!(escape("Sindicato & Co"), "Sindicato &amp; Co");
        // A `](` someone typed keeps its characters, but its `]` is escaped and
        // closes no link text (a raw substring check on the output would wrongly
        // see "](" in the escaped "\\](").
        let out = escape("](");
        inert(&out);
        assert_eq!(out, "\\](");
    }

    #[test]
    fn block_markers_are_escaped_only_at_a_line_start() {
        assert_eq!(escape("- uno\n  + dos"), "\\- uno\n  \\+ dos");
        assert_eq!(escape("1. uno\n2) dos"), "1\\. uno\n2\\) dos");
        assert_eq!(escape("Título\n==="), "Título\n\\===");
        assert_eq!(escape("# Grande"), "\\# Grande");
        assert_eq!(
            escape("el 2024-04-10 a las 10:30, art. 1."),
            "el 2024-04-10 a las 10:30, art. 1."
        );
    }

    proptest! {
        #[test]
        fn nothing_typed_survives_as_markup(text in "[ -~\\n\\táéñ]{0,80}") {
            let out = escape(&text);
            inert(&out);
            prop_assert_eq!(unescape(&out), text);
        }

        #[test]
        fn any_text_at_all_reads_back_unchanged(text in any::<String>()) {
            let out = escape(&text);
            prop_assert!(!out.contains('<'));
            prop_assert_eq!(unescape(&out), text);
        }
    }
}
