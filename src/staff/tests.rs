use super::*;

#[test]
fn a_code_matches_its_step_and_its_neighbours_only() -> anyhow::Result<()> {
    let t = totp(vec![7u8; 20], "a@example.org")?;
    let now = 1_800_000_000u64;
    let code = t.generate(now);
    assert_eq!(matching_step(&t, &code, now), Some(60_000_000));
    assert_eq!(matching_step(&t, &code, now + 30), Some(60_000_000));
    assert_eq!(matching_step(&t, &code, now + 90), None);
    assert_eq!(matching_step(&t, "12345", now), None);
    assert_eq!(matching_step(&t, "abcdef", now), None);
    Ok(())
}

#[test]
fn roles_parse_and_gate() {
    for r in [
        Role::Admin,
        Role::Inspector,
        Role::Advocate,
        Role::Coordinator,
    ] {
        assert_eq!(Role::parse(r.code()), Some(r));
    }
    assert!(Role::Inspector.requires_totp() && !Role::Coordinator.works_cases());
    assert!(Role::parse("root").is_none());
}
