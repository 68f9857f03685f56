//! The program indicators page on the same generated cases: the first computation
//! (which loads every case's facts into the cache), then median and p95 of the
//! page's work (the cache's refresh query, every table, protection, the HTML with
//! its charts) for a coordinator with a few filters.

use super::*;
use buzon::domain::Language;
use buzon::indicators::{self, Filters as IFilters, Month};

pub(super) struct Indicators {
    /// The first computation, loading the cache.
    pub cold: Duration,
    /// The process's RSS after the load, minus before it (KiB).
    pub cache_kib: u64,
    pub rows: Vec<(&'static str, Stats)>,
}

fn filters() -> Vec<(&'static str, IFilters)> {
    // The generated cases span December 2024 to November 2026.
    let all = IFilters {
        from: Month::parse("2024-12").unwrap(),
        to: Month::parse("2026-11").unwrap(),
        state: None,
        sector: None,
        channel: None,
    };
    vec![
        ("Coordinator, all cases, 24 months", all.clone()),
        (
            "Coordinator, last 6 months",
            IFilters {
                from: Month::parse("2026-06").unwrap(),
                ..all.clone()
            },
        ),
        (
            "Coordinator, state MX-GUA + sector auto_parts, 24 months",
            IFilters {
                state: Some(StateCode::parse("MX-GUA").unwrap()),
                sector: Some(Sector::AutoParts),
                ..all.clone()
            },
        ),
        (
            "Coordinator, channel whatsapp, 24 months",
            IFilters {
                channel: Some(Channel::WhatsApp),
                ..all
            },
        ),
    ]
}

pub(super) async fn measure_indicators(db: &DatabaseConnection, runs: usize) -> Indicators {
    let cache = indicators::Cache::default();
    let page = |f: IFilters| {
        let cache = &cache;
        async move {
            let r = indicators::report(cache, db, &f, 5, Language::Es, false)
                .await
                .unwrap();
            let html = indicators::render::html_fragment(&r);
            assert!(html.contains("intake_channel"));
            std::hint::black_box(html);
        }
    };
    let before = proc_status_kib("VmRSS:");
    let start = Instant::now();
    page(filters()[0].1.clone()).await;
    let cold = start.elapsed();
    let cache_kib = proc_status_kib("VmRSS:").saturating_sub(before);
    eprintln!(
        "  indicators: first computation (loads the cache) {:.1} s, +{} MiB",
        cold.as_secs_f64(),
        cache_kib / 1024
    );
    let mut rows = Vec::new();
    for (label, f) in filters() {
        for _ in 0..WARMUP {
            page(f.clone()).await;
        }
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            let start = Instant::now();
            page(f.clone()).await;
            times.push(start.elapsed());
        }
        times.sort();
        let p95 = (times.len() * 95).div_ceil(100).clamp(1, times.len()) - 1;
        let s = Stats {
            median: times[times.len() / 2],
            p95: times[p95],
        };
        eprintln!(
            "  {label}: {} / {} ms (median / p95)",
            ms(s.median),
            ms(s.p95)
        );
        rows.push((label, s));
    }
    Indicators {
        cold,
        cache_kib,
        rows,
    }
}
