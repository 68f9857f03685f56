use super::*;
use crate::routing::{Rule, SectorRule};

fn rules() -> Rules {
    Rules::default_rules().unwrap()
}

fn directory() -> Directory {
    Directory::builtin().unwrap()
}

fn routed(d: &[Destination]) -> Vec<(String, Function, bool)> {
    d.iter()
        .map(|d| (d.authority.clone(), d.function, d.candidate))
        .collect()
}

/// For every topic and sample workplace, the guide lists exactly what `route`
/// returns for the same facts, in the same order, named as the directory names them.
fn assert_guide_follows(rules: &Rules) {
    let dir = directory();
    for lang in [Language::Es, Language::En] {
        let g = guide(rules, &dir, lang);
        assert_eq!(g.topics.len(), texts::TOPICS.len());
        for topic in &g.topics {
            assert!(!topic.goes_to.is_empty(), "{}", topic.id);
            for setting in &topic.goes_to {
                let decision = route(
                    rules,
                    &sample_facts(&topic.violations, setting.sector, setting.state),
                );
                let want: Vec<(String, Function, bool)> = decision
                    .referrals
                    .iter()
                    .map(|r| (r.authority.clone(), r.function, r.candidate))
                    .collect();
                assert_eq!(routed(&setting.destinations), want, "{}", topic.id);
                assert_eq!(
                    rules.sectors[&setting.sector].jurisdiction,
                    setting.jurisdiction
                );
                for d in &setting.destinations {
                    assert_eq!(d.next_step, d.function.next_step(lang));
                    if !d.authority.starts_with("state_") {
                        assert_eq!(d.name, dir.name(&d.authority, lang));
                    }
                }
            }
        }
    }
}

#[test]
fn every_topic_goes_where_routing_sends_it() {
    let rules = rules();
    assert_guide_follows(&rules);
    let g = guide(&rules, &directory(), Language::Es);
    let samples: Vec<(Jurisdiction, Sector)> = g.topics[0]
        .goes_to
        .iter()
        .map(|s| (s.jurisdiction, s.sector))
        .collect();
    assert_eq!(
        samples,
        [
            (Jurisdiction::Federal, Sector::Automotive),
            (Jurisdiction::Local, Sector::Electronics)
        ]
    );
    assert_eq!(g.rule_version, rules.version);
    // Union matters go to the CFCRL everywhere; wages go to the state's conciliation
    // centre only at a local workplace (what the shipped rules say).
    let topic = |id: &str| g.topics.iter().find(|t| t.id == id).unwrap();
    for s in &topic("sindicato").goes_to {
        assert!(s.destinations.iter().any(|d| d.authority == "cfcrl"));
    }
    let wages = topic("salario");
    assert!(
        wages.goes_to[1]
            .destinations
            .iter()
            .any(|d| d.authority == "state_ccl:MX-GUA" && d.function == Function::Conciliation)
    );
    assert!(
        !wages.goes_to[0]
            .destinations
            .iter()
            .any(|d| d.authority.starts_with("state_"))
    );
    assert!(
        topic("tmec")
            .goes_to
            .iter()
            .all(|s| s.destinations.iter().any(Destination::is_petition))
    );
}

#[test]
fn changing_a_rule_changes_the_guide() {
    let dir = directory();
    let before = guide(&rules(), &dir, Language::Es);
    let wages_before = &before.topics.iter().find(|t| t.id == "salario").unwrap();
    assert!(
        !wages_before.goes_to[0]
            .destinations
            .iter()
            .any(|d| d.authority == "stps_inspection")
    );

    // A new rule: unpaid wages are also inspected by STPS.
    let mut changed = rules();
    changed.rules.push(Rule {
        id: "wages-inspection".into(),
        jurisdiction: None,
        violations: [Violation::UnpaidWages].into_iter().collect(),
        refer: vec![(
            crate::routing::Authority::StpsInspection,
            Function::Inspection,
        )],
        basis: "test".into(),
    });
    // And car assembly becomes local: the federal example is another branch.
    changed.sectors.insert(
        Sector::Automotive,
        SectorRule {
            jurisdiction: Jurisdiction::Local,
            basis: "test".into(),
        },
    );
    changed.version = "test-1".into();
    assert_guide_follows(&changed);
    let after = guide(&changed, &dir, Language::Es);
    let wages = after.topics.iter().find(|t| t.id == "salario").unwrap();
    for s in &wages.goes_to {
        let stps = s
            .destinations
            .iter()
            .find(|d| d.authority == "stps_inspection")
            .unwrap();
        assert_eq!(stps.name, "Inspección Federal del Trabajo (STPS)");
        assert_eq!(stps.next_step, Function::Inspection.next_step(Language::Es));
    }
    assert_eq!(wages.goes_to[0].sector, Sector::AutoParts);
    assert!(wages.goes_to[0].heading.contains("Autopartes"));
    assert!(
        after
            .local_branches
            .contains(&Sector::Automotive.label(Language::Es))
    );
    assert!(
        !after
            .federal_branches
            .contains(&Sector::Automotive.label(Language::Es))
    );
    assert_eq!(after.rule_version, "test-1");
    // WhatsApp follows too.
    let wa = whatsapp_messages(&changed, &dir, Language::Es).join("\n");
    let topic = whatsapp_topic(&changed, &dir, Language::Es, "salario")
        .unwrap()
        .join("\n");
    assert!(
        topic.contains("Inspección Federal del Trabajo (STPS)"),
        "{topic}"
    );
    assert!(wa.contains("Autopartes"), "{wa}");
}

#[test]
fn state_bodies_are_described_for_any_state() {
    let g = guide(&rules(), &directory(), Language::Es);
    let names: Vec<&Destination> = g
        .topics
        .iter()
        .flat_map(|t| &t.goes_to)
        .flat_map(|s| &s.destinations)
        .filter(|d| d.authority.starts_with("state_"))
        .collect();
    assert!(!names.is_empty());
    for d in names {
        assert!(d.name.ends_with("de su estado"), "{}", d.name);
        assert!(!d.name.contains("Guanajuato"), "{}", d.name);
    }
    let en = guide(&rules(), &directory(), Language::En);
    let ccl = en
        .topics
        .iter()
        .flat_map(|t| &t.goes_to)
        .flat_map(|s| &s.destinations)
        .find(|d| d.authority.starts_with("state_ccl:"))
        .unwrap();
    assert_eq!(ccl.name, "Your state's Labor Conciliation Center");
}

#[test]
fn both_languages_have_every_topic_with_its_source() {
    let mut ids = std::collections::BTreeSet::new();
    let mut words = std::collections::BTreeSet::new();
    for t in texts::TOPICS {
        assert!(ids.insert(t.id), "{}", t.id);
        assert!(t.id.chars().all(|c| c.is_ascii_lowercase()), "{}", t.id);
        for w in t.word {
            assert!(words.insert(w), "{w}");
            assert_eq!(topic_for_word(w), Some(t.id));
        }
        assert_eq!(t.paragraphs[0].len(), t.paragraphs[1].len(), "{}", t.id);
        assert!(!t.paragraphs[0].is_empty() && !t.violations.is_empty());
        assert!(t.source.iter().all(|s| s.len() > 10), "{}", t.id);
    }
    let en = guide(&rules(), &directory(), Language::En);
    assert_eq!(en.topics[0].title, texts::TOPICS[0].title[1]);
    assert_eq!(en.labels.title, "Your rights at work");
    let es = guide(&rules(), &directory(), Language::Es);
    assert!(es.topics[0].paragraphs[0].starts_with("Usted tiene derecho"));
    assert!(es.topics[0].goes_to[0].heading.starts_with("Si la empresa"));
    assert!(
        en.topics[0].goes_to[0]
            .heading
            .starts_with("If the company")
    );
}

#[test]
fn topic_words_fold_case_accents_and_dashes() {
    assert_eq!(topic_for_word("sindicato"), Some("sindicato"));
    assert_eq!(topic_for_word("Union"), Some("sindicato"));
    assert_eq!(topic_for_word("T-MEC"), Some("tmec"));
    assert_eq!(topic_for_word("usmca"), Some("tmec"));
    assert_eq!(topic_for_word("Votación"), None);
    assert_eq!(topic_for_word("voto"), Some("votaciones"));
    assert_eq!(topic_for_word("4"), Some("salario"));
    assert_eq!(topic_for_word("hola"), None);
    assert_eq!(topic_for_word(""), None);
}

#[test]
fn whatsapp_messages_are_short_and_carry_the_whole_guide() {
    let rules = rules();
    let dir = directory();
    for lang in [Language::Es, Language::En] {
        let messages = whatsapp_messages(&rules, &dir, lang);
        assert!((2..=8).contains(&messages.len()), "{}", messages.len());
        for m in &messages {
            let n = m.chars().count();
            assert!(n > 0 && n < 1024, "{n} characters: {m}");
        }
        let all = messages.join("\n");
        let g = guide(&rules, &dir, lang);
        for t in &g.topics {
            assert!(all.contains(t.title), "{}", t.title);
            assert!(all.contains(t.paragraphs[0]), "{}", t.id);
            assert!(all.contains(t.source), "{}", t.id);
            assert!(all.contains(t.word), "{}", t.id);
            for d in t.goes_to.iter().flat_map(|s| &s.destinations) {
                assert!(all.contains(&d.name), "{}: {}", t.id, d.name);
            }
        }
        let last = messages.last().unwrap();
        let (keyword, file) = match lang {
            Language::Es => ("DERECHOS SINDICATO", "presentar una queja"),
            Language::En => ("RIGHTS UNION", "file a complaint"),
        };
        assert!(last.contains(keyword), "{last}");
        assert!(last.contains(file), "{last}");
    }
}

#[test]
fn a_whatsapp_topic_has_every_paragraph_and_next_step() {
    let rules = rules();
    let dir = directory();
    for lang in [Language::Es, Language::En] {
        let g = guide(&rules, &dir, lang);
        for t in &g.topics {
            let messages = whatsapp_topic(&rules, &dir, lang, t.id).unwrap();
            assert!(messages.iter().all(|m| m.chars().count() < 1024));
            let all = messages.join("\n");
            for p in &t.paragraphs {
                assert!(all.contains(p), "{}: {p}", t.id);
            }
            for d in t.goes_to.iter().flat_map(|s| &s.destinations) {
                assert!(
                    all.contains(&format!("{}: {}", d.name, d.next_step)),
                    "{}",
                    t.id
                );
            }
            assert!(all.contains(t.source));
        }
    }
    assert!(whatsapp_topic(&rules, &dir, Language::Es, "nada").is_none());
}

#[test]
fn long_blocks_are_split_between_lines() {
    let line = "x".repeat(600);
    let messages = pack(vec![
        vec!["intro".into()],
        vec!["head".into(), format!("{line}\n{line}\n{line}")],
        vec!["end".into()],
    ]);
    assert!(
        messages
            .iter()
            .all(|m| m.chars().count() <= WHATSAPP_MAX_CHARS)
    );
    assert_eq!(messages.concat().matches(&line).count(), 3);
    assert_eq!(messages[0], "intro", "a long group starts its own message");
    assert!(messages[1].starts_with("head\n\nxxx"));
    assert!(messages.last().unwrap().ends_with("end"));
}
