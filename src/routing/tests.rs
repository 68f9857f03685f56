use super::*;
use proptest::prelude::*;

fn rules() -> Rules {
    Rules::default_rules().unwrap()
}

fn facts(sector: Sector, state: StateCode, violations: &[Violation]) -> CaseFacts {
    CaseFacts {
        state,
        sector,
        trade_with_us: TradeNexus::Yes,
        workers: Some(500),
        violations: violations.iter().copied().collect(),
        occurred_on: NaiveDate::from_ymd_opt(2025, 3, 14),
    }
}

fn targets(d: &Decision) -> Vec<(String, Function)> {
    d.referrals
        .iter()
        .map(|r| (r.authority.clone(), r.function))
        .collect()
}

fn has(d: &Decision, authority: &str, function: Function) -> bool {
    targets(d).contains(&(authority.to_string(), function))
}

#[test]
fn the_shipped_rules_load() {
    assert!(!rules().version.is_empty());
}

/// Safety and health, training and contratos-ley are federal matters even at a
/// local-jurisdiction employer (LFT art. 527 last paragraph).
#[test]
fn federal_subject_matters_stay_federal_at_local_employers() {
    for v in [
        Violation::SafetyHealth,
        Violation::Training,
        Violation::ContratoLeyNotApplied,
    ] {
        let d = route(&rules(), &facts(Sector::Electronics, StateCode::Jal, &[v]));
        assert!(
            has(&d, "cfcrl", Function::Conciliation),
            "{v}: {:?}",
            targets(&d)
        );
        assert!(has(&d, "profedet", Function::LegalAid), "{v}");
        assert!(has(&d, "stps_inspection", Function::Inspection), "{v}");
        assert!(
            !d.referrals
                .iter()
                .any(|r| r.authority.starts_with("state_")),
            "{v}: {:?}",
            targets(&d)
        );
    }
}

/// Every branch of LFT art. 527 fr. I that the taxonomy names: a dismissal goes to
/// federal conciliation (CFCRL) and PROFEDET, never to the state.
#[test]
fn every_art_527_branch_is_federal() {
    let federal = [
        Sector::Automotive,
        Sector::AutoParts,
        Sector::ElectricPower,
        Sector::SteelMetals,
        Sector::Mining,
        Sector::RubberTires,
        Sector::ChemicalPharma,
        Sector::Glass,
        Sector::CementLime,
        Sector::Textile,
        Sector::FoodPackaged,
        Sector::Banking,
        Sector::Hydrocarbons,
        Sector::OtherFederal,
    ];
    for sector in federal {
        let d = route(
            &rules(),
            &facts(sector, StateCode::Gua, &[Violation::UnjustDismissal]),
        );
        assert_eq!(d.jurisdiction.status, Jurisdiction::Federal, "{sector}");
        assert!(
            d.jurisdiction.basis.contains("527"),
            "{sector}: {}",
            d.jurisdiction.basis
        );
        assert!(
            has(&d, "cfcrl", Function::Conciliation),
            "{sector}: {:?}",
            targets(&d)
        );
        assert!(has(&d, "profedet", Function::LegalAid), "{sector}");
        assert!(
            !d.referrals
                .iter()
                .any(|r| r.authority.starts_with("state_")),
            "{sector}"
        );
        assert!(d.referrals.iter().all(|r| !r.candidate), "{sector}");
    }
}

#[test]
fn local_branches_go_to_the_states_own_bodies() {
    for (sector, state) in [
        (Sector::Electronics, StateCode::Chh),
        (Sector::Aerospace, StateCode::Que),
        (Sector::CallCenter, StateCode::Nle),
        (Sector::Plastics, StateCode::Jal),
        (Sector::OtherServices, StateCode::Cmx),
    ] {
        let d = route(
            &rules(),
            &facts(
                sector,
                state,
                &[Violation::UnpaidWages, Violation::ExcessiveHours],
            ),
        );
        assert_eq!(d.jurisdiction.status, Jurisdiction::Local, "{sector}");
        let code = state.code();
        assert!(
            has(&d, &format!("state_ccl:{code}"), Function::Conciliation),
            "{sector}"
        );
        assert!(
            has(&d, &format!("state_prodet:{code}"), Function::LegalAid),
            "{sector}"
        );
        assert!(
            has(&d, &format!("state_labor:{code}"), Function::Inspection),
            "{sector}"
        );
        assert!(!has(&d, "cfcrl", Function::Conciliation), "{sector}");
    }
}

#[test]
fn safety_and_training_are_federal_inspection_everywhere() {
    for sector in [Sector::Electronics, Sector::AutoParts, Sector::Unknown] {
        for v in [Violation::SafetyHealth, Violation::Training] {
            let d = route(&rules(), &facts(sector, StateCode::Son, &[v]));
            let r = d
                .referrals
                .iter()
                .find(|r| r.authority == "stps_inspection")
                .unwrap_or_else(|| panic!("{sector} {v}: {:?}", targets(&d)));
            assert_eq!(r.rule, "safety-training-federal-inspection");
            assert!(!r.candidate);
        }
    }
}

#[test]
fn union_matters_go_to_the_cfcrl_in_every_sector() {
    for sector in Sector::ALL {
        let d = route(
            &rules(),
            &facts(*sector, StateCode::Pue, &[Violation::ProtectionContract]),
        );
        assert!(has(&d, "cfcrl", Function::Registration), "{sector}");
    }
}

/// The example: dismissal for union activity at a local electronics plant.
#[test]
fn a_union_dismissal_at_a_local_plant_gets_several_referrals_and_an_rrm_flag() {
    let d = route(
        &rules(),
        &facts(
            Sector::Electronics,
            StateCode::Chh,
            &[Violation::UnionRetaliation],
        ),
    );
    assert!(
        has(&d, "state_ccl:MX-CHH", Function::Conciliation),
        "{:?}",
        targets(&d)
    );
    assert!(has(&d, "cfcrl", Function::Registration));
    assert!(has(&d, "us_ilc_rrm", Function::Petition));
    assert_eq!(d.rrm.status, RrmStatus::Likely);
    for r in &d.referrals {
        assert!(
            !r.rule.is_empty() && !r.basis.is_empty() && !r.facts.is_empty(),
            "{r:?}"
        );
    }
}

#[test]
fn ambiguous_and_unknown_branches_name_both_candidates() {
    for sector in [Sector::Garment, Sector::Agriculture, Sector::Unknown] {
        let d = route(
            &rules(),
            &facts(sector, StateCode::Pue, &[Violation::UnjustDismissal]),
        );
        assert!(matches!(
            d.jurisdiction.status,
            Jurisdiction::Ambiguous | Jurisdiction::Unknown
        ));
        assert!(has(&d, "cfcrl", Function::Conciliation), "{sector}");
        assert!(
            has(&d, "state_ccl:MX-PUE", Function::Conciliation),
            "{sector}"
        );
        assert!(
            d.referrals
                .iter()
                .filter(|r| r.function == Function::Conciliation)
                .all(|r| r.candidate)
        );
    }
}

#[test]
fn rrm_matrix() {
    let r = rules();
    let foa = [Violation::UnionCoercion];
    // Agriculture is not a covered sector.
    let d = route(&r, &facts(Sector::Agriculture, StateCode::Son, &foa));
    assert_eq!(d.rrm.status, RrmStatus::Unlikely);
    assert!(d.rrm.not_met.contains(&Criterion::CoveredSector));
    // Unknown trade nexus: possible, never unlikely, and a question to ask.
    let mut f = facts(Sector::AutoParts, StateCode::Gua, &foa);
    f.trade_with_us = TradeNexus::Unknown;
    let d = route(&r, &f);
    assert_eq!(d.rrm.status, RrmStatus::Possible);
    assert_eq!(d.rrm.missing, vec![Criterion::TradeNexus]);
    // Before USMCA: marked as such.
    let mut f = facts(Sector::AutoParts, StateCode::Gua, &foa);
    f.occurred_on = NaiveDate::from_ymd_opt(2019, 5, 1);
    let d = route(&r, &f);
    assert_eq!(d.rrm.status, RrmStatus::Unlikely);
    assert_eq!(d.rrm.not_met, vec![Criterion::AfterEntryIntoForce]);
    // No date: possible.
    let mut f = facts(Sector::Mining, StateCode::Zac, &foa);
    f.occurred_on = None;
    assert_eq!(route(&r, &f).rrm.status, RrmStatus::Possible);
    // An individual wage claim with no freedom-of-association fact.
    let d = route(
        &r,
        &facts(Sector::AutoParts, StateCode::Gua, &[Violation::UnpaidWages]),
    );
    assert_eq!(d.rrm.status, RrmStatus::Unlikely);
    assert_eq!(d.rrm.not_met, vec![Criterion::DenialOfRights]);
    assert!(!has(&d, "us_ilc_rrm", Function::Petition));
    // Unknown sector: possible.
    let d = route(&r, &facts(Sector::Unknown, StateCode::Gua, &foa));
    assert_eq!(d.rrm.status, RrmStatus::Possible);
    // Everything known and met.
    assert_eq!(
        route(&r, &facts(Sector::CallCenter, StateCode::Jal, &foa))
            .rrm
            .status,
        RrmStatus::Likely
    );
}

#[test]
fn a_rule_naming_an_unknown_code_is_refused_with_its_line() {
    let bad_sector = DEFAULT_RULES.replacen("code = \"aerospace\"", "code = \"spaceships\"", 1);
    let err = Rules::parse(&bad_sector, "test.toml")
        .unwrap_err()
        .to_string();
    let line = DEFAULT_RULES
        .lines()
        .position(|l| l.contains("code = \"aerospace\""))
        .unwrap()
        + 1;
    assert!(
        err.contains(&format!("line {line}: unknown sector \"spaceships\"")),
        "{err}"
    );
    assert!(err.contains("test.toml"), "{err}");

    let bad_violation = DEFAULT_RULES.replacen(
        "\"safety_health\", \"training\"]",
        "\"safety_health\", \"trainig\"]",
        1,
    );
    let line = bad_violation
        .lines()
        .position(|l| l.contains("\"trainig\""))
        .unwrap()
        + 1;
    let err = Rules::parse(&bad_violation, "t").unwrap_err().to_string();
    assert!(
        err.contains(&format!("line {line}: unknown violation \"trainig\"")),
        "{err}"
    );

    let bad_authority = DEFAULT_RULES.replacen(
        "authority = \"stps_inspection\"",
        "authority = \"ministry\"",
        1,
    );
    let line = bad_authority
        .lines()
        .position(|l| l.contains("\"ministry\""))
        .unwrap()
        + 1;
    let err = Rules::parse(&bad_authority, "t").unwrap_err().to_string();
    assert!(
        err.contains(&format!("line {line}: unknown authority \"ministry\"")),
        "{err}"
    );

    let err = Rules::parse("version = ", "t").unwrap_err().to_string();
    assert!(err.contains("line 1"), "{err}");
}

fn any_facts() -> impl Strategy<Value = CaseFacts> {
    (
        prop::sample::select(Sector::ALL),
        prop::sample::select(StateCode::ALL),
        prop::sample::select(TradeNexus::ALL),
        prop::collection::btree_set(prop::sample::select(Violation::ALL), 1..6),
        prop::option::of(0i64..30_000),
        prop::option::of(1u32..100_000),
    )
        .prop_map(
            |(sector, state, trade, violations, days, workers)| CaseFacts {
                state,
                sector,
                trade_with_us: trade,
                workers,
                violations,
                occurred_on: days.and_then(|d| {
                    NaiveDate::from_ymd_opt(1990, 1, 1)
                        .and_then(|s| s.checked_add_signed(chrono::Duration::days(d)))
                }),
            },
        )
}

proptest! {
    #[test]
    fn every_case_gets_at_least_one_explained_referral(f in any_facts()) {
        let d = route(&rules(), &f);
        prop_assert!(!d.referrals.is_empty());
        for r in &d.referrals {
            prop_assert!(!r.rule.is_empty() && !r.basis.is_empty());
        }
    }

    /// Forgetting a fact (sector, trade, date) never turns a case into `unlikely`.
    #[test]
    fn not_knowing_a_fact_never_makes_a_case_unlikely(f in any_facts()) {
        let r = rules();
        let before = route(&r, &f).rrm.status;
        let forgotten = [
            CaseFacts { sector: Sector::Unknown, ..f.clone() },
            CaseFacts { trade_with_us: TradeNexus::Unknown, ..f.clone() },
            CaseFacts { occurred_on: None, ..f.clone() },
        ];
        for g in forgotten {
            let after = route(&r, &g).rrm.status;
            prop_assert!(before == RrmStatus::Unlikely || after != RrmStatus::Unlikely, "{:?} -> {:?}", before, after);
        }
    }
}
