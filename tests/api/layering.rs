//! Layering: which top-level modules of `src/` may refer to which.
//!
//! Every `*.rs` file under `src/` is read and every path into the crate is found:
//! `use crate::…` (grouped or not), inline `crate::a::f(…)`, and `super::`/`self::`
//! paths resolved to where they land. Comments, strings and char literals are skipped.
//! `src/lib.rs` and `src/main.rs` are the crate roots and exempt. The rules:
//!
//! 1. Channel adapters (`channels`) know no console (`triage`, `advocacy`), no `http`
//!    and no `app`.
//! 2. `domain`, `crypto`, `routing` and `rights` are pure: they import only each
//!    other, and no database or HTTP crate (`sea_orm`, `sqlx`, `entity`, `axum`,
//!    `tower`, `hyper`…).
//! 3. Only `app` (start-up, the composition root) and `http` itself use `http`;
//!    nothing imports `app`.
//! 4. `triage` and `advocacy` never import each other.
//! 5. In `http`, the inspectors' console (`http::triage`) and the advocates' pages
//!    (`http::org`) never import each other.
//! 6. No cycle between top-level modules.
//!
//! A failing rule lists every violation, `src/file.rs:LINE: crate::path (rule: why)`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use Select::{AllBut, Crates, Modules, Under};

/// Which files a rule applies to (`from`), or which references it forbids (`to`).
#[derive(Clone, Copy)]
enum Select {
    /// These top-level modules.
    Modules(&'static [&'static str]),
    /// Every top-level module but these (the crate root itself never matches).
    AllBut(&'static [&'static str]),
    /// Everything at or below this module path.
    Under(&'static [&'static str]),
    /// Paths into one of these external crates (targets only).
    Crates(&'static [&'static str]),
}

struct Rule {
    /// The `#[test]` below that checks the rule.
    test: &'static str,
    from: Select,
    to: Select,
    reason: &'static str,
}

const PURE: &[&str] = &["domain", "crypto", "routing", "rights"];
const DB_AND_HTTP_CRATES: &[&str] = &[
    "sea_orm",
    "sqlx",
    "entity",
    "axum",
    "tower",
    "tower_http",
    "hyper",
];
const INDEPENDENT: &str = "triage and advocacy share services, not each other";
const PAGES: &str =
    "the inspectors' console and the advocates' pages share services, not each other";

const RULES: &[Rule] = &[
    Rule {
        test: "channels_import_no_console_or_http",
        from: Modules(&["channels"]),
        to: Modules(&["triage", "advocacy", "http", "app"]),
        reason: "channels hand drafts to intake; they know no console, HTTP layer or start-up",
    },
    Rule {
        test: "pure_modules_touch_no_database_or_http",
        from: Modules(PURE),
        to: AllBut(PURE),
        reason: "domain, crypto, routing and rights import only each other (no database, channel or HTTP)",
    },
    Rule {
        test: "pure_modules_touch_no_database_or_http",
        from: Modules(PURE),
        to: Crates(DB_AND_HTTP_CRATES),
        reason: "domain, crypto, routing and rights are pure: no database or HTTP crate",
    },
    Rule {
        test: "only_the_composition_root_imports_http",
        from: AllBut(&["http", "app"]),
        to: Modules(&["http"]),
        reason: "only app (start-up) mounts the HTTP layer",
    },
    Rule {
        test: "only_the_composition_root_imports_http",
        from: AllBut(&["app"]),
        to: Modules(&["app"]),
        reason: "app is the composition root: nothing imports it",
    },
    Rule {
        test: "triage_and_advocacy_are_independent",
        from: Modules(&["triage"]),
        to: Modules(&["advocacy"]),
        reason: INDEPENDENT,
    },
    Rule {
        test: "triage_and_advocacy_are_independent",
        from: Modules(&["advocacy"]),
        to: Modules(&["triage"]),
        reason: INDEPENDENT,
    },
    Rule {
        test: "console_and_org_pages_are_independent",
        from: Under(&["http", "triage"]),
        to: Under(&["http", "org"]),
        reason: PAGES,
    },
    Rule {
        test: "console_and_org_pages_are_independent",
        from: Under(&["http", "org"]),
        to: Under(&["http", "triage"]),
        reason: PAGES,
    },
];

const NO_CYCLE: &str = "top-level modules depend on each other in one direction only";

#[test]
fn channels_import_no_console_or_http() {
    check("channels_import_no_console_or_http");
}

#[test]
fn pure_modules_touch_no_database_or_http() {
    check("pure_modules_touch_no_database_or_http");
}

#[test]
fn only_the_composition_root_imports_http() {
    check("only_the_composition_root_imports_http");
}

#[test]
fn triage_and_advocacy_are_independent() {
    check("triage_and_advocacy_are_independent");
}

#[test]
fn console_and_org_pages_are_independent() {
    check("console_and_org_pages_are_independent");
}

#[test]
fn top_level_modules_form_no_cycle() {
    let scan = scan();
    // (from, to) -> (the first reference making that edge, how many do).
    let mut edges: BTreeMap<(&str, &str), (&Ref, usize)> = BTreeMap::new();
    for r in &scan.refs {
        if let Some(to) = scan.top(r).filter(|&to| to != r.module[0]) {
            edges.entry((&r.module[0], to)).or_insert((r, 0)).1 += 1;
        }
    }
    let reach: BTreeMap<&str, BTreeSet<&str>> = edges
        .keys()
        .map(|&(m, _)| (m, reachable(&edges, m)))
        .collect();
    // A module's strongly connected component: what it reaches that reaches it back
    // (empty when it is in no cycle, since self-edges are left out).
    let cycles: BTreeSet<BTreeSet<&str>> = reach
        .iter()
        .map(|(&m, to)| {
            to.iter()
                .copied()
                .filter(|o| reach.get(o).is_some_and(|r| r.contains(m)))
        })
        .map(Iterator::collect)
        .filter(|c: &BTreeSet<&str>| !c.is_empty())
        .collect();
    let mut report = Vec::new();
    for cycle in &cycles {
        let members: Vec<&str> = cycle.iter().copied().collect();
        report.push(format!("cycle between {}:", members.join(", ")));
        for (&(from, to), &(r, n)) in &edges {
            if cycle.contains(from) && cycle.contains(to) {
                let (file, line, path) = (&r.file, r.found.line, r.found.shown());
                let why = format!("{from} -> {to}, 1 of {n} references; {NO_CYCLE}");
                report.push(format!("  {file}:{line}: {path} (rule: {why})"));
            }
        }
    }
    assert!(report.is_empty(), "module cycles:\n{}", report.join("\n"));
}

/// Fails listing every reference that breaks a rule checked by `test`.
fn check(test: &str) {
    let scan = scan();
    let rules: Vec<&Rule> = RULES.iter().filter(|r| r.test == test).collect();
    assert!(!rules.is_empty(), "no rule in RULES names the test {test}");
    let mut violations = BTreeSet::new();
    for r in &scan.refs {
        for rule in rules.iter().filter(|rule| rule.from.has_file(&r.module)) {
            if rule.to.has_ref(r, scan) {
                let shown = format!("{} (rule: {})", r.found.shown(), rule.reason);
                violations.insert((r.file.as_str(), r.found.line, shown));
            }
        }
    }
    let lines: Vec<String> = violations
        .iter()
        .map(|(f, l, s)| format!("{f}:{l}: {s}"))
        .collect();
    assert!(
        lines.is_empty(),
        "{} layering violation(s):\n{}",
        lines.len(),
        lines.join("\n")
    );
}

impl Select {
    fn has_file(self, module: &[String]) -> bool {
        match self {
            Modules(m) => m.contains(&module[0].as_str()),
            AllBut(m) => !m.contains(&module[0].as_str()),
            Under(prefix) => starts_with(module, prefix),
            Crates(_) => false,
        }
    }

    fn has_ref(self, r: &Ref, scan: &Scan) -> bool {
        let (local, path) = (r.found.local, &r.found.path);
        match self {
            Modules(m) => scan.top(r).is_some_and(|t| m.contains(&t)),
            AllBut(m) => scan.top(r).is_some_and(|t| !m.contains(&t)),
            Under(prefix) => local && starts_with(path, prefix),
            Crates(c) => !local && c.contains(&path[0].as_str()),
        }
    }
}

fn starts_with(path: &[String], prefix: &[&str]) -> bool {
    path.len() >= prefix.len() && path.iter().zip(prefix).all(|(a, b)| a == b)
}

fn reachable<'a, V>(edges: &BTreeMap<(&'a str, &'a str), V>, from: &'a str) -> BTreeSet<&'a str> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![from];
    while let Some(node) = todo.pop() {
        for &(_, next) in edges.keys().filter(|(f, _)| *f == node) {
            if seen.insert(next) {
                todo.push(next);
            }
        }
    }
    seen
}

// ---- Scanning src/ -----------------------------------------------------------------

/// A path found in one file.
struct Ref {
    /// `src/a/b.rs`.
    file: String,
    /// The file's module path, e.g. `["channels", "web"]` for `src/channels/web/mod.rs`.
    module: Vec<String>,
    found: Found,
}

struct Scan {
    /// The first component of every file under `src/` but the crate roots.
    tops: BTreeSet<String>,
    refs: Vec<Ref>,
}

impl Scan {
    /// The top-level module a reference lands in; `None` for the crate root and for
    /// paths outside the crate.
    fn top(&self, r: &Ref) -> Option<&str> {
        let first = r.found.path.first().filter(|_| r.found.local)?;
        self.tops.get(first).map(String::as_str)
    }
}

fn scan() -> &'static Scan {
    static SCAN: OnceLock<Scan> = OnceLock::new();
    SCAN.get_or_init(|| {
        let src_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        rust_files(&src_dir, &mut files);
        files.sort();
        let (mut tops, mut refs) = (BTreeSet::new(), Vec::new());
        for path in &files {
            let rel = path.strip_prefix(&src_dir).unwrap();
            let module = module_path(rel);
            // lib.rs and main.rs (and src/bin/) are crate roots, exempt from the rules.
            if module == ["lib"] || module == ["main"] || module[0] == "bin" {
                continue;
            }
            tops.insert(module[0].clone());
            let text =
                fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let file = Path::new("src")
                .join(rel)
                .to_string_lossy()
                .replace('\\', "/");
            let here: Vec<&str> = module.iter().map(String::as_str).collect();
            for found in references(&text, &here) {
                refs.push(Ref {
                    file: file.clone(),
                    module: module.clone(),
                    found,
                });
            }
        }
        assert!(
            files.len() >= 20,
            "only {} .rs files in {}",
            files.len(),
            src_dir.display()
        );
        assert!(
            refs.iter().any(|r| r.found.local),
            "no crate:: reference in {}",
            src_dir.display()
        );
        Scan { tops, refs }
    })
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `channels/web/mod.rs` -> `["channels", "web"]`, `app.rs` -> `["app"]`.
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|c| c.to_string_lossy().into_owned())
        .collect();
    if let Some(last) = parts.last_mut() {
        *last = last.trim_end_matches(".rs").to_owned();
    }
    if parts.len() > 1 && parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

// ---- Parsing -----------------------------------------------------------------------

/// One path as written in the source.
struct Found {
    line: usize,
    /// True when the path starts with `crate`, `self` or `super`: `path` is then
    /// absolute inside the crate (`[]` is the crate root).
    local: bool,
    path: Vec<String>,
    /// As written, e.g. `super::super::x` (groups expanded).
    text: String,
}

impl Found {
    fn absolute(&self) -> String {
        match (self.local, self.path.is_empty()) {
            (true, true) => "crate".to_owned(),
            (true, false) => format!("crate::{}", self.path.join("::")),
            (false, _) => self.path.join("::"),
        }
    }

    fn shown(&self) -> String {
        let absolute = self.absolute();
        if absolute == self.text {
            absolute
        } else {
            format!("{absolute} (written {})", self.text)
        }
    }
}

#[derive(PartialEq)]
enum Tok {
    Ident(String),
    /// `::`
    Sep,
    Punct(char),
    /// A string, char or number literal.
    Lit,
}

struct Token {
    tok: Tok,
    line: usize,
}

/// Every path in `src`, a file at module path `module`; `super::` and `self::`
/// resolve from there, or from the inline `mod x { … }` they are in.
fn references(src: &str, module: &[&str]) -> Vec<Found> {
    let toks = tokenize(src);
    let tok = |k: usize| toks.get(k).map(|t| &t.tok);
    let (mut found, mut i, mut depth) = (Vec::new(), 0, 0_usize);
    let mut inline: Vec<(&str, usize)> = Vec::new(); // inline module, brace depth outside it
    while let Some(t) = tok(i) {
        match t {
            Tok::Punct('{') => depth += 1,
            Tok::Punct('}') => {
                depth = depth.saturating_sub(1);
                if inline.last().is_some_and(|&(_, d)| d == depth) {
                    inline.pop();
                }
            }
            Tok::Ident(m) if m == "mod" => {
                if let (Some(Tok::Ident(name)), Some(Tok::Punct('{'))) = (tok(i + 1), tok(i + 2)) {
                    inline.push((name, depth));
                }
            }
            Tok::Ident(_) if tok(i + 1) == Some(&Tok::Sep) && !continues_path(&toks, i) => {
                let mut leaves = Vec::new();
                i = use_tree(&toks, i, Vec::new(), &mut leaves);
                let here: Vec<&str> = module
                    .iter()
                    .copied()
                    .chain(inline.iter().map(|m| m.0))
                    .collect();
                found.extend(
                    leaves
                        .into_iter()
                        .filter_map(|(segs, line)| resolve(segs, line, &here)),
                );
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    found
}

/// Whether the identifier at `i` follows `a::` or `<T>::` (rather than a leading `::`).
fn continues_path(toks: &[Token], i: usize) -> bool {
    i >= 2
        && toks[i - 1].tok == Tok::Sep
        && match &toks[i - 2].tok {
            Tok::Ident(w) => w != "use",
            t => *t == Tok::Punct('>'),
        }
}

/// Parses `a::b::{c, d::*}` at `i`, pushing each leaf path (after `path`) with the
/// line of its last segment; returns the index after it. Stops at `::<` and `as`.
fn use_tree(
    toks: &[Token],
    mut i: usize,
    mut path: Vec<String>,
    out: &mut Vec<(Vec<String>, usize)>,
) -> usize {
    let tok = |k: usize| toks.get(k).map(|t| &t.tok);
    let mut line = 0;
    loop {
        match tok(i) {
            Some(Tok::Ident(w)) => path.push(w.clone()),
            Some(Tok::Punct('*')) => path.push("*".to_owned()),
            Some(Tok::Punct('{')) => {
                i += 1;
                while let Some(t) = tok(i) {
                    i = match t {
                        Tok::Punct('}') => return i + 1,
                        Tok::Ident(w) if w == "as" => i + 2,
                        Tok::Ident(_) | Tok::Punct('*' | '{') => {
                            use_tree(toks, i, path.clone(), out)
                        }
                        _ => i + 1,
                    };
                }
                return i;
            }
            _ => break,
        }
        (line, i) = (toks[i].line, i + 1);
        let more = matches!(tok(i + 1), Some(Tok::Ident(_) | Tok::Punct('*' | '{')));
        if path.last().is_some_and(|s| s == "*") || tok(i) != Some(&Tok::Sep) || !more {
            break;
        }
        i += 1;
    }
    if !path.is_empty() {
        out.push((path, line));
    }
    i
}

/// Resolves `crate::`, `self::` and `super::` paths written in module `here`; other
/// paths are kept as written. `None` when `super` climbs above the crate root.
fn resolve(mut segs: Vec<String>, line: usize, here: &[&str]) -> Option<Found> {
    if segs.len() > 1 && segs.last().is_some_and(|s| s == "self") {
        segs.pop(); // `a::{self}`
    }
    let text = segs.join("::");
    let local = matches!(segs[0].as_str(), "crate" | "self" | "super");
    let mut path: Vec<String> = match segs[0].as_str() {
        "self" | "super" => here.iter().map(|&s| s.to_owned()).collect(),
        _ => Vec::new(),
    };
    let mut k = usize::from(segs[0] == "crate");
    while let Some(s) = segs
        .get(k)
        .filter(|s| local && (*s == "self" || *s == "super"))
    {
        if s == "super" {
            path.pop()?;
        }
        k += 1;
    }
    path.extend(segs.drain(k..));
    Some(Found {
        line,
        local,
        path,
        text,
    })
}

fn tokenize(src: &str) -> Vec<Token> {
    let c: Vec<char> = src.chars().collect();
    let at = |k: usize| c.get(k).copied().unwrap_or('\0');
    let (mut toks, mut i, mut line, mut counted) = (Vec::new(), 0, 1, 0);
    while i < c.len() {
        let (end, tok) = match c[i] {
            '/' if at(i + 1) == '/' => (find(&c, i, '\n'), None),
            '/' if at(i + 1) == '*' => (block_comment_end(&c, i), None),
            '"' => (string_end(&c, i + 1), Some(Tok::Lit)),
            '\'' => quote_end(&c, i),
            ':' if at(i + 1) == ':' => (i + 2, Some(Tok::Sep)),
            x if x.is_whitespace() => (i + 1, None),
            x if x.is_ascii_digit() => (ident_end(&c, i), Some(Tok::Lit)),
            x if x.is_alphabetic() || x == '_' => word(&c, i),
            x => (i + 1, Some(Tok::Punct(x))),
        };
        if let Some(tok) = tok {
            line += c[counted..i].iter().filter(|&&x| x == '\n').count();
            counted = i;
            toks.push(Token { tok, line });
        }
        i = end;
    }
    toks
}

/// The index of the first `x` at or after `i`, or the end.
fn find(c: &[char], i: usize, x: char) -> usize {
    c.get(i..)
        .and_then(|r| r.iter().position(|&y| y == x))
        .map_or(c.len(), |p| i + p)
}

fn ident_end(c: &[char], i: usize) -> usize {
    i + c[i..]
        .iter()
        .take_while(|x| x.is_alphanumeric() || **x == '_')
        .count()
}

/// An identifier, raw identifier `r#x`, or prefixed literal `b"…"`, `br#"…"#`, `b'x'`.
fn word(c: &[char], i: usize) -> (usize, Option<Tok>) {
    let end = ident_end(c, i);
    let w: String = c[i..end].iter().collect();
    match (w.as_str(), c.get(end)) {
        ("b" | "c", Some('"')) => (string_end(c, end + 1), Some(Tok::Lit)),
        ("b", Some('\'')) => quote_end(c, end),
        ("r" | "br" | "cr", Some('"' | '#')) => match raw_string_end(c, end) {
            Some(e) => (e, Some(Tok::Lit)),
            None if w == "r" => {
                let e = ident_end(c, end + 1);
                (e, Some(Tok::Ident(c[end + 1..e].iter().collect())))
            }
            None => (end, Some(Tok::Ident(w))),
        },
        _ => (end, Some(Tok::Ident(w))),
    }
}

/// `i` is just past the opening `"`.
fn string_end(c: &[char], mut i: usize) -> usize {
    while let Some(&x) = c.get(i) {
        match x {
            '\\' => i += 2,
            '"' => return i + 1,
            _ => i += 1,
        }
    }
    c.len()
}

/// `i` is at the `#`s or `"` after `r`; `None` when it is not a raw string.
fn raw_string_end(c: &[char], i: usize) -> Option<usize> {
    let hashes = c[i..].iter().take_while(|&&x| x == '#').count();
    if c.get(i + hashes) != Some(&'"') {
        return None;
    }
    let close: Vec<char> = std::iter::once('"')
        .chain(std::iter::repeat_n('#', hashes))
        .collect();
    let body = i + hashes + 1;
    let at = c[body..].windows(close.len()).position(|w| w == close);
    Some(at.map_or(c.len(), |p| body + p + close.len()))
}

/// `i` is at a `'`: a char literal (`'x'`, `'\n'`, `'\u{..}'`) or a lifetime (no token).
fn quote_end(c: &[char], i: usize) -> (usize, Option<Tok>) {
    if c.get(i + 1) == Some(&'\\') {
        ((find(c, i + 3, '\'') + 1).min(c.len()), Some(Tok::Lit))
    } else if c.get(i + 2) == Some(&'\'') {
        (i + 3, Some(Tok::Lit))
    } else {
        (ident_end(c, i + 1).max(i + 1), None)
    }
}

/// `i` is at a `/*`; block comments nest.
fn block_comment_end(c: &[char], mut i: usize) -> usize {
    let mut depth = 0;
    while i < c.len() {
        match (c[i], c.get(i + 1)) {
            ('/', Some('*')) => (depth, i) = (depth + 1, i + 2),
            ('*', Some('/')) if depth == 1 => return i + 2,
            ('*', Some('/')) => (depth, i) = (depth - 1, i + 2),
            _ => i += 1,
        }
    }
    c.len()
}

// ---- The parser's own tests --------------------------------------------------------

/// The paths in `src`, written in module `module`, as `LINE path`, comma-separated.
fn found(src: &str, module: &[&str]) -> String {
    let found = references(src, module);
    let shown: Vec<String> = found
        .iter()
        .map(|f| format!("{} {}", f.line, f.absolute()))
        .collect();
    shown.join(", ")
}

#[test]
fn parser_expands_grouped_and_public_uses() {
    let src = "use crate::{a::b, c::d as e};\npub use crate::f::G;\npub(crate) use crate::h;";
    let want = "1 crate::a::b, 1 crate::c::d, 2 crate::f::G, 3 crate::h";
    assert_eq!(found(src, &["x"]), want);
}

#[test]
fn parser_expands_nested_groups_on_their_own_lines() {
    let src = "use crate::{\n    a::{self, b},\n    c::{d::{e, f}, *},\n};";
    let want = "2 crate::a, 2 crate::a::b, 3 crate::c::d::e, 3 crate::c::d::f, 3 crate::c::*";
    assert_eq!(found(src, &["x"]), want);
}

#[test]
fn parser_finds_inline_paths() {
    let src = "fn f() -> crate::a::T {\n    \
               crate::b::g::<crate::c::U>(crate::d::V { x: 1 }, $crate::e::m!())\n}";
    let want = "1 crate::a::T, 2 crate::b::g, 2 crate::c::U, 2 crate::d::V, 2 crate::e::m";
    assert_eq!(found(src, &["x"]), want);
}

#[test]
fn parser_ignores_comments_strings_and_chars() {
    let src = "//! See [`crate::a`].\n/// [crate::b]\n// crate::c\n\
               /* crate::d /* crate::e */ crate::f */\n\
               let s = \"crate::g \\\" crate::h\"; let q = '\"'; let e = '\\''; crate::i::j();\n\
               #[doc = \"crate::k\"] fn f<'a>(x: &'a str) { pub(crate) fn g() {} }";
    assert_eq!(found(src, &["x"]), "5 crate::i::j");
}

#[test]
fn parser_skips_raw_and_byte_strings() {
    let src = "let a = r#\"crate::a \"quoted\" crate::b\"#;\n\
               let b = br##\"crate::c\"#\"##; let c = b\"crate::d\";\n\
               let d = r\"crate::e\"; let e = b'\"'; let r#type = crate::f::g;";
    assert_eq!(found(src, &["x"]), "3 crate::f::g");
}

#[test]
fn parser_resolves_super_paths() {
    let src = "use super::super::x::y;\nuse super::{z, self::w};\n\
               super::super::super::top::f();\n\
               super::super::super::super::too_far(); self::me::T; pub(super) fn f() {}";
    let want = "1 crate::a::x::y, 2 crate::a::b::z, 2 crate::a::b::w, 3 crate::top::f, \
                4 crate::a::b::c::me::T";
    assert_eq!(found(src, &["a", "b", "c"]), want);
}

#[test]
fn parser_resolves_super_inside_inline_modules() {
    let src = "mod tests {\n    use super::*;\n    fn f() { super::super::db::x(); }\n}\n\
               fn g() { super::y(); }";
    assert_eq!(
        found(src, &["app"]),
        "2 crate::app::*, 3 crate::db::x, 5 crate::y"
    );
}

#[test]
fn parser_keeps_other_crates_as_written() {
    let src = "use sea_orm::{EntityTrait, prelude::Expr};\nlet r = ::axum::Router::new();\n\
               let v = Vec::<u8>::new(); crate::x::sea_orm::y();";
    let want = "1 sea_orm::EntityTrait, 1 sea_orm::prelude::Expr, 2 axum::Router::new, \
                3 Vec, 3 crate::x::sea_orm::y";
    assert_eq!(found(src, &["routing"]), want);
}
