//! A [`Report`] as Markdown, CSV, HTML (a fragment for the console page, or a whole
//! document for the report command) and SVG bar charts, all from the same protected
//! tables: a hidden count is "< min" everywhere, and a chart draws it as an
//! outlined bar of unknown height, never its value.

use super::{Cell, Family, Report, Table};
use crate::domain::Language;
use std::fmt::Write as _;

pub fn cell_text(c: &Cell, min: u64) -> String {
    match c {
        Cell::Count(n) => n.to_string(),
        Cell::Suppressed => format!("< {min}"),
        Cell::Value(v) if v.fract() == 0.0 => format!("{v:.0}"),
        Cell::Value(v) => format!("{v:.1}"),
        Cell::Empty => "—".into(),
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn total_label(lang: Language) -> &'static str {
    lang.pick("Total", "Total")
}

/// What the report covers, in one line.
pub fn scope_line(r: &Report) -> String {
    let lang = r.language;
    let mut s = format!(
        "{} {} – {}",
        lang.pick("Periodo:", "Period:"),
        r.filters.from.label(),
        r.filters.to.label()
    );
    if let Some(x) = r.filters.state {
        let _ = write!(s, " · {}", x.label(lang));
    }
    if let Some(x) = r.filters.sector {
        let _ = write!(s, " · {}", x.label(lang));
    }
    if let Some(x) = r.filters.channel {
        let _ = write!(s, " · {}", x.label(lang));
    }
    s
}

pub fn protection_line(r: &Report) -> String {
    let min = r.min_cell;
    r.language
        .pick(
            "Toda cifra menor que {min} se muestra como \"< {min}\", y se ocultan otras cifras donde los totales la dejarían calcular. Los casos diferidos cuya fecha no ha llegado no se cuentan.",
            "Every count under {min} is shown as \"< {min}\", and other counts are hidden where totals would let it be worked out. Deferred cases whose date has not come are not counted.",
        )
        .replace("{min}", &min.to_string())
}

fn held_line(r: &Report) -> Option<String> {
    r.held.as_ref().map(|c| {
        format!(
            "{} {}",
            r.language.pick(
                "Casos diferidos en espera de su fecha (solo se cuentan):",
                "Deferred cases waiting for their date (counted only):"
            ),
            cell_text(c, r.min_cell)
        )
    })
}

fn families(r: &Report) -> Vec<(Family, Vec<&Table>)> {
    let mut out: Vec<(Family, Vec<&Table>)> = Vec::new();
    for t in &r.tables {
        match out.iter_mut().find(|(f, _)| *f == t.family) {
            Some((_, ts)) => ts.push(t),
            None => out.push((t.family, vec![t])),
        }
    }
    out
}

fn headings(t: &Table, lang: Language) -> Vec<String> {
    let mut h = vec![String::new()];
    h.extend(t.columns.iter().cloned());
    if t.rows.iter().any(|r| r.total.is_some()) {
        h.push(total_label(lang).into());
    }
    h
}

fn lines(t: &Table, lang: Language, min: u64) -> Vec<Vec<String>> {
    let with_total = t.rows.iter().any(|r| r.total.is_some());
    let mut out = Vec::new();
    for row in t.rows.iter().chain(t.totals.iter()) {
        let mut line = vec![if row.key == "total" && row.label.is_empty() {
            total_label(lang).to_owned()
        } else {
            row.label.clone()
        }];
        line.extend(row.cells.iter().map(|c| cell_text(c, min)));
        if with_total {
            line.push(
                row.total
                    .as_ref()
                    .map_or_else(String::new, |c| cell_text(c, min)),
            );
        }
        out.push(line);
    }
    out
}

/// The report as Markdown, for pasting into a progress report; definitions last.
pub fn markdown(r: &Report) -> String {
    let lang = r.language;
    let mut s = format!(
        "# {}\n\n{}\n\n{}\n\n",
        lang.pick(
            "Indicadores del programa — Buzón",
            "Program indicators — Buzón"
        ),
        scope_line(r),
        protection_line(r)
    );
    if let Some(h) = held_line(r) {
        let _ = writeln!(s, "{h}\n");
    }
    for (family, tables) in families(r) {
        let _ = writeln!(s, "## {}\n", family.title(lang));
        for t in tables {
            let _ = writeln!(s, "### {}\n\n{}\n", t.title, t.definition);
            let h = headings(t, lang);
            let cell = |x: &str| x.replace('|', "\\|");
            let _ = writeln!(
                s,
                "| {} |",
                h.iter().map(|x| cell(x)).collect::<Vec<_>>().join(" | ")
            );
            let _ = writeln!(s, "|{}|", vec!["---"; h.len()].join("|"));
            for line in lines(t, lang, r.min_cell) {
                let _ = writeln!(
                    s,
                    "| {} |",
                    line.iter().map(|x| cell(x)).collect::<Vec<_>>().join(" | ")
                );
            }
            s.push('\n');
        }
    }
    let _ = writeln!(s, "## {}\n", lang.pick("Definiciones", "Definitions"));
    for t in &r.tables {
        let _ = writeln!(s, "- **{}** (`{}`): {}", t.title, t.id, t.definition);
    }
    s
}

/// The report as CSV, one line per figure: `table,row,label,column,value`
/// (`row` and `column` are `total` for totals; hidden counts read "< min").
pub fn csv(r: &Report) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(["table", "row", "label", "column", "value"]);
    for t in &r.tables {
        for row in t.rows.iter().chain(t.totals.iter()) {
            for (col, c) in t.columns.iter().zip(&row.cells) {
                let _ =
                    w.write_record([t.id, &row.key, &row.label, col, &cell_text(c, r.min_cell)]);
            }
            if let Some(c) = &row.total {
                let _ = w.write_record([
                    t.id,
                    &row.key,
                    &row.label,
                    "total",
                    &cell_text(c, r.min_cell),
                ]);
            }
        }
    }
    if let Some(c) = &r.held {
        let _ = w.write_record(["held", "held", "", "total", &cell_text(c, r.min_cell)]);
    }
    w.into_inner()
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_default()
}

/// A bar chart of the table's totals row (or its first row), one bar per column.
/// Hidden counts are outlined bars with "< min" over them.
pub fn svg(t: &Table, min: u64, lang: Language) -> Option<String> {
    let row = t.totals.as_ref().or(t.rows.first())?;
    if !t.chart || row.cells.is_empty() {
        return None;
    }
    let values: Vec<Option<f64>> = row
        .cells
        .iter()
        .map(|c| match c {
            Cell::Count(n) => Some(*n as f64),
            Cell::Value(v) => Some(*v),
            _ => None,
        })
        .collect();
    let max = values
        .iter()
        .flatten()
        .cloned()
        .fold(0.0, f64::max)
        .max(min as f64);
    let (w, h, pad) = (320.0, 140.0, 18.0);
    let step = (w - 2.0 * pad) / values.len() as f64;
    let bar = (step * 0.7).max(2.0);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" role=\"img\" class=\"chart\" aria-label=\"{}\"><title>{}</title>",
        esc(&t.title),
        esc(&t.title)
    );
    let base = h - pad;
    let _ = write!(
        s,
        "<line x1=\"{pad}\" y1=\"{base}\" x2=\"{}\" y2=\"{base}\" stroke=\"#555\"/>",
        w - pad
    );
    for (i, v) in values.iter().enumerate() {
        let x = pad + i as f64 * step + (step - bar) / 2.0;
        match v {
            Some(v) => {
                let bh = (v / max) * (h - 2.0 * pad - 10.0);
                let _ = write!(
                    s,
                    "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{bh:.1}\" fill=\"#2b6cb0\"><title>{}: {}</title></rect>",
                    base - bh,
                    esc(t.columns.get(i).map_or("", String::as_str)),
                    cell_text(&row.cells[i], min)
                );
            }
            None => {
                let bh = (min as f64 / max) * (h - 2.0 * pad - 10.0);
                let _ = write!(
                    s,
                    "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{bh:.1}\" fill=\"none\" stroke=\"#2b6cb0\" stroke-dasharray=\"2 2\" class=\"hidden-count\"><title>{}: &lt; {min}</title></rect>",
                    base - bh,
                    esc(t.columns.get(i).map_or("", String::as_str)),
                );
            }
        }
    }
    if let (Some(first), Some(last)) = (t.columns.first(), t.columns.last()) {
        let _ = write!(
            s,
            "<text x=\"{pad}\" y=\"{}\" font-size=\"10\">{}</text><text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\">{}</text>",
            h - 4.0,
            esc(first),
            w - pad,
            h - 4.0,
            esc(last)
        );
    }
    let _ = write!(
        s,
        "<text x=\"{pad}\" y=\"12\" font-size=\"10\">{} {}</text></svg>",
        lang.pick("máx.", "max"),
        cell_text(&Cell::Value(max), min)
    );
    Some(s)
}

/// The tables as HTML (escaped), grouped by family, each with its chart.
pub fn html_fragment(r: &Report) -> String {
    let lang = r.language;
    let mut s = String::new();
    if let Some(h) = held_line(r) {
        let _ = write!(s, "<p id=\"held\">{}</p>", esc(&h));
    }
    for (family, tables) in families(r) {
        let _ = write!(s, "<h2>{}</h2>", esc(family.title(lang)));
        for t in tables {
            let _ = write!(
                s,
                "<section class=\"indicator\" id=\"{}\"><h3>{}</h3><p class=\"hint\">{}</p>",
                t.id,
                esc(&t.title),
                esc(&t.definition)
            );
            if let Some(chart) = svg(t, r.min_cell, lang) {
                s.push_str(&chart);
            }
            s.push_str("<div class=\"scroll\"><table><thead><tr>");
            for h in headings(t, lang) {
                let _ = write!(s, "<th>{}</th>", esc(&h));
            }
            s.push_str("</tr></thead><tbody>");
            for line in lines(t, lang, r.min_cell) {
                s.push_str("<tr>");
                for (i, x) in line.iter().enumerate() {
                    let tag = if i == 0 { "th" } else { "td" };
                    let class = if x.starts_with("< ") {
                        " class=\"hidden-count\""
                    } else {
                        ""
                    };
                    let _ = write!(s, "<{tag}{class}>{}</{tag}>", esc(x));
                }
                s.push_str("</tr>");
            }
            s.push_str("</tbody></table></div></section>");
        }
    }
    let _ = write!(
        s,
        "<h2>{}</h2><dl>",
        esc(lang.pick("Definiciones", "Definitions"))
    );
    for t in &r.tables {
        let _ = write!(
            s,
            "<dt>{}</dt><dd>{}</dd>",
            esc(&t.title),
            esc(&t.definition)
        );
    }
    s.push_str("</dl>");
    s
}

/// The styles the fragment needs: served in `/static/buzon.css` for the page (the
/// console's CSP allows no inline style) and inlined in the report document.
pub const STYLE: &str = include_str!("../../static/indicators.css");

/// A whole HTML document (the report command's `--format html`).
pub fn html_document(r: &Report) -> String {
    let lang = r.language;
    format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title><style>body{{font-family:sans-serif;max-width:60rem;margin:1rem auto;padding:0 1rem}}{STYLE}</style></head><body><h1>{}</h1><p>{}</p><p>{}</p>{}</body></html>",
        lang.code(),
        esc(lang.pick("Indicadores del programa", "Program indicators")),
        esc(lang.pick(
            "Indicadores del programa — Buzón",
            "Program indicators — Buzón"
        )),
        esc(&scope_line(r)),
        esc(&protection_line(r)),
        html_fragment(r)
    )
}
