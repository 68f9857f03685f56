use super::*;

#[test]
fn member_lines_read_name_contact_and_id_or_a_dash_for_anonymous() {
    let c = ConsentIn::default();
    let m = member_lines(
        "Ana Ruiz; 477 123 4567; E-12\n\n  -  \nLuis; luis@example.org\n; ; 99",
        &c,
    );
    assert_eq!(m.len(), 4);
    assert_eq!(m[0].name.as_deref(), Some("Ana Ruiz"));
    assert_eq!(m[0].phone.as_deref(), Some("477 123 4567"));
    assert_eq!(m[0].worker_id.as_deref(), Some("E-12"));
    assert!(m[1].name.is_none() && m[1].phone.is_none() && m[1].email.is_none());
    assert_eq!(m[2].email.as_deref(), Some("luis@example.org"));
    assert!(m[2].phone.is_none());
    assert_eq!(
        (m[3].name.as_deref(), m[3].worker_id.as_deref()),
        (None, Some("99"))
    );
    assert!(m.iter().all(|m| m.consent.is_some()));
}

proptest::proptest! {
    #[test]
    fn member_lines_never_panic_and_give_one_member_per_filled_line(text in "(?s).{0,400}") {
        let m = member_lines(&text, &ConsentIn::default());
        proptest::prop_assert_eq!(m.len(), text.lines().filter(|l| !l.trim().is_empty()).count());
    }
}
