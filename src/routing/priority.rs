//! The queue's priority: a pure function of a case's facts, stored on the case so the
//! queue is one indexed scan. Higher first; equal priorities oldest first (age).
//!
//! The score is three digits, each a factor the console explains:
//! - hundreds: retaliation risk, 1 when the worker was punished or fired for union
//!   activity (`union_retaliation`), is being pressured or threatened over a union
//!   (`union_coercion`), or was dismissed (`unjust_dismissal`) in a case that also
//!   reports interference with the union;
//! - tens: the RRM screening, 2 likely, 1 possible, 0 unlikely or not screened;
//! - units: how many workers the facility has, by band (0 unknown, 1: 1–49,
//!   2: 50–249, 3: 250–999, 4: 1 000–4 999, 5: 5 000 or more).

use crate::domain::{Language, Violation};
use crate::routing::RrmStatus;

/// The facts priority looks at.
pub struct Facts<'a> {
    pub violations: &'a [Violation],
    pub rrm: Option<RrmStatus>,
    pub workers: Option<u32>,
}

/// One factor of the score, for the explanation on screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Breakdown {
    pub retaliation: bool,
    pub rrm: u8,
    pub workers_band: u8,
}

impl Breakdown {
    pub fn score(self) -> i32 {
        i32::from(self.retaliation) * 100 + i32::from(self.rrm) * 10 + i32::from(self.workers_band)
    }

    /// The stored score taken apart again.
    pub fn of_score(score: i32) -> Self {
        let score = score.clamp(0, 199);
        Self {
            retaliation: score >= 100,
            rrm: u8::try_from((score % 100) / 10).unwrap_or(0),
            workers_band: u8::try_from(score % 10).unwrap_or(0),
        }
    }

    /// Why the case sits where it does, in the console's words.
    pub fn explain(self, lang: Language) -> Vec<&'static str> {
        let es = lang == Language::Es;
        let mut out = Vec::new();
        if self.retaliation {
            out.push(if es {
                "Riesgo de represalia (despido o amenazas por actividad sindical)"
            } else {
                "Retaliation risk (dismissal or threats for union activity)"
            });
        }
        match self.rrm {
            2 => out.push(if es { "MLRR: probable" } else { "RRM: likely" }),
            1 => out.push(if es { "MLRR: posible" } else { "RRM: possible" }),
            _ => {}
        }
        out.push(match (self.workers_band, es) {
            (0, true) => "Trabajadores: no se sabe",
            (0, false) => "Workers: unknown",
            (1, true) => "Trabajadores: menos de 50",
            (1, false) => "Workers: under 50",
            (2, true) => "Trabajadores: 50 a 249",
            (2, false) => "Workers: 50 to 249",
            (3, true) => "Trabajadores: 250 a 999",
            (3, false) => "Workers: 250 to 999",
            (4, true) => "Trabajadores: 1 000 a 4 999",
            (4, false) => "Workers: 1,000 to 4,999",
            (_, true) => "Trabajadores: 5 000 o más",
            (_, false) => "Workers: 5,000 or more",
        });
        out
    }
}

pub fn breakdown(facts: &Facts<'_>) -> Breakdown {
    let has = |v: Violation| facts.violations.contains(&v);
    let union_trouble = has(Violation::UnionInterference)
        || has(Violation::UnionAccessDenied)
        || has(Violation::RefusalToBargain)
        || has(Violation::ProtectionContract);
    let retaliation = has(Violation::UnionRetaliation)
        || has(Violation::UnionCoercion)
        || (has(Violation::UnjustDismissal) && union_trouble);
    let rrm = match facts.rrm {
        Some(RrmStatus::Likely) => 2,
        Some(RrmStatus::Possible) => 1,
        _ => 0,
    };
    let workers_band = match facts.workers {
        None | Some(0) => 0,
        Some(1..=49) => 1,
        Some(50..=249) => 2,
        Some(250..=999) => 3,
        Some(1000..=4999) => 4,
        Some(_) => 5,
    };
    Breakdown {
        retaliation,
        rrm,
        workers_band,
    }
}

pub fn score(facts: &Facts<'_>) -> i32 {
    breakdown(facts).score()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn facts(v: &[Violation], rrm: Option<RrmStatus>, workers: Option<u32>) -> i32 {
        score(&Facts {
            violations: v,
            rrm,
            workers,
        })
    }

    #[test]
    fn retaliation_outranks_rrm_which_outranks_size() {
        let retaliation = facts(&[Violation::UnionRetaliation], None, Some(3));
        let rrm = facts(
            &[Violation::UnpaidWages],
            Some(RrmStatus::Likely),
            Some(9000),
        );
        let big = facts(&[Violation::UnpaidWages], None, Some(9000));
        assert!(retaliation > rrm && rrm > big, "{retaliation} {rrm} {big}");
        assert_eq!(facts(&[Violation::UnpaidWages], None, None), 0);
        // A dismissal alone is not union retaliation; with union interference it is.
        assert_eq!(facts(&[Violation::UnjustDismissal], None, None), 0);
        assert_eq!(
            facts(
                &[Violation::UnjustDismissal, Violation::UnionInterference],
                None,
                None
            ),
            100
        );
        assert_eq!(
            facts(
                &[Violation::UnionCoercion],
                Some(RrmStatus::Possible),
                Some(300)
            ),
            113
        );
    }

    proptest! {
        #[test]
        fn score_round_trips_through_its_breakdown(
            r in any::<bool>(), rrm in 0u8..3, band in 0u8..6
        ) {
            let b = Breakdown { retaliation: r, rrm, workers_band: band };
            prop_assert_eq!(Breakdown::of_score(b.score()), b);
        }

        #[test]
        fn more_workers_never_lowers_priority(a in 0u32..100_000, b in 0u32..100_000) {
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(facts(&[], None, Some(lo)) <= facts(&[], None, Some(hi)));
        }
    }
}
