//! The queue's order, filters and keyset pages, and the status transitions.

use super::*;

/// The case references of a queue page, in order.
fn refs(v: &Value) -> Vec<String> {
    v["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|i| i["case_ref"].as_str().unwrap().to_owned())
        .collect()
}

/// Every page of `GET /api/v1/cases?{query}`, cursor after cursor: the references
/// in the order they came.
async fn every_page(
    server: &TestServer,
    http: &reqwest::Client,
    token: &str,
    query: &str,
) -> Vec<String> {
    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let q = match &next {
            Some(c) => format!("{query}&cursor={c}"),
            None => query.to_owned(),
        };
        let url = server.url(&format!("/api/v1/cases?{q}"));
        let (st, page) = call(http, "GET", &url, Some(token), None).await;
        assert_eq!(st, 200, "{page}");
        seen.extend(refs(&page));
        match page["next"].as_str() {
            Some(c) => next = Some(c.to_owned()),
            None => return seen,
        }
    }
}

async fn queue_order_filters_and_pages(backend: Backend) {
    let server = TestServer::spawn_with(backend, options()).await;
    let http = client();
    let admin = add_staff(&server, "admin@buzon.test", "admin", &[]).await;
    // Filed oldest first; expected order by priority, then age.
    let plain_old = file(
        &server,
        &http,
        &local_case("MX-GUA", "A", &["unpaid_wages"], None),
    )
    .await;
    let big = file(
        &server,
        &http,
        &local_case("MX-GUA", "B", &["unpaid_wages"], Some(6000)),
    )
    .await;
    let retaliation = file(
        &server,
        &http,
        &local_case("MX-JAL", "C", &["union_retaliation"], Some(10)),
    )
    .await;
    let mut federal = local_case(
        "MX-GUA",
        "D",
        &["unpaid_wages", "union_interference"],
        Some(300),
    );
    federal["workplace"]["sector"] = json!("auto_parts");
    federal["workplace"]["trade_with_us"] = json!("yes");
    let rrm = file(&server, &http, &federal).await;
    let plain_new = file(
        &server,
        &http,
        &local_case("MX-GUA", "E", &["unpaid_wages"], None),
    )
    .await;
    let url = |q: &str| server.url(&format!("/api/v1/cases?{q}"));
    let (_, q) = call(&http, "GET", &url(""), Some(&admin), None).await;
    assert_eq!(
        refs(&q),
        vec![
            retaliation.clone(),
            rrm.clone(),
            big.clone(),
            plain_old.clone(),
            plain_new.clone()
        ],
        "{q}"
    );
    assert!(q["order"].as_str().unwrap().contains("retaliation"));
    // Filters.
    let (_, q) = call(&http, "GET", &url("state=MX-JAL"), Some(&admin), None).await;
    assert_eq!(refs(&q), vec![retaliation.as_str()]);
    let (_, q) = call(&http, "GET", &url("sector=auto_parts"), Some(&admin), None).await;
    assert_eq!(refs(&q), vec![rrm.as_str()]);
    let (_, q) = call(
        &http,
        "GET",
        &url("rrm=unlikely&state=MX-GUA"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(
        refs(&q),
        vec![big.clone(), plain_old.clone(), plain_new.clone()]
    );
    let (_, q) = call(&http, "GET", &url("channel=web"), Some(&admin), None).await;
    assert!(refs(&q).is_empty());
    let today = chrono::Utc::now().date_naive();
    let (_, q) = call(
        &http,
        "GET",
        &url(&format!("from={today}&to={today}&channel=api")),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(refs(&q).len(), 5);
    let (_, q) = call(
        &http,
        "GET",
        &url(&format!("to={}", today.pred_opt().unwrap())),
        Some(&admin),
        None,
    )
    .await;
    assert!(refs(&q).is_empty());
    // Status: closed cases leave the default (open) queue.
    call(
        &http,
        "POST",
        &server.url(&format!("/api/v1/cases/{plain_old}/status")),
        Some(&admin),
        Some(&json!({"status": "closed", "outcome": "unfounded"})),
    )
    .await;
    let (_, q) = call(&http, "GET", &url(""), Some(&admin), None).await;
    assert!(!refs(&q).contains(&plain_old));
    let (_, q) = call(&http, "GET", &url("status=closed"), Some(&admin), None).await;
    assert_eq!(refs(&q), vec![plain_old.as_str()]);
    // Assigned to me.
    call(
        &http,
        "POST",
        &server.url(&format!("/api/v1/cases/{big}/assign")),
        Some(&admin),
        Some(&json!({"staff_id": "me"})),
    )
    .await;
    let (_, q) = call(&http, "GET", &url("assigned=me"), Some(&admin), None).await;
    assert_eq!(refs(&q), vec![big.as_str()]);
    // Keyset pages of two: the same order, nothing twice, nothing skipped.
    let seen = every_page(&server, &http, &admin, "status=all&limit=2").await;
    assert_eq!(
        seen,
        vec![retaliation, rrm, big, plain_old, plain_new.clone()]
    );
    // Corrected facts route the case again and move it in the queue (the JSON
    // routing column written on both back ends).
    let (st, routing) = call(
        &http,
        "POST",
        &server.url(&format!("/api/v1/cases/{plain_new}/facts")),
        Some(&admin),
        Some(
            &json!({"state": "MX-GUA", "sector": "auto_parts", "trade_with_us": "yes",
                     "workers": 2000, "violations": ["union_retaliation"]}),
        ),
    )
    .await;
    assert_eq!(st, 200, "{routing}");
    assert_eq!(routing["jurisdiction"]["status"], "federal");
    let (_, q) = call(&http, "GET", &url(""), Some(&admin), None).await;
    assert_eq!(refs(&q)[0], plain_new, "{q}");
    let (_, case) = call(
        &http,
        "GET",
        &server.url(&format!("/api/v1/cases/{plain_new}")),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(
        case["routing"]["rrm"]["status"], "possible",
        "no date yet: {case}"
    );
    assert!(
        !case["referrals"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["authority"] == "state_ccl:MX-GUA" && r["state"] == "active"),
        "{case}"
    );
    // Bad filters are named.
    for (q, field) in [
        ("status=lost", "status"),
        ("from=-5000-01-01", "from"),
        ("limit=abc", "query"),
        ("state=MX-XXX", "state"),
        ("from=yesterday", "from"),
        ("cursor=%%%", "cursor"),
        ("limit=0", "limit"),
        ("rrm=maybe", "rrm"),
    ] {
        let (st, body) = call(&http, "GET", &url(q), Some(&admin), None).await;
        assert_eq!(
            (st, body["error"]["field"].as_str()),
            (422, Some(field)),
            "{q}: {body}"
        );
    }
}

async fn status_moves_only_along_allowed_transitions(backend: Backend) {
    let f = fixture(backend).await;
    let s = &f.server;
    let st = |to: &str| {
        if to == "closed" {
            json!({"status": to, "outcome": "remedied"})
        } else {
            json!({"status": to})
        }
    };
    let post = |to: &'static str| {
        let url = s.url(&format!("/api/v1/cases/{}/status", f.gua_case));
        let http = f.http.clone();
        let token = f.gua.clone();
        async move { call(&http, "POST", &url, Some(&token), Some(&st(to))).await }
    };
    assert_eq!(
        post("referred").await.1["error"]["code"],
        "invalid_transition"
    );
    assert_eq!(post("nonsense").await.1["error"]["field"], "status");
    assert_eq!(post("in_review").await.0, 200);
    assert_eq!(post("referred").await.0, 200);
    // Closing needs how the case ended; another move refuses one.
    let close_without = call(
        &f.http,
        "POST",
        &s.url(&format!("/api/v1/cases/{}/status", f.gua_case)),
        Some(&f.gua),
        Some(&json!({"status": "closed"})),
    )
    .await;
    assert_eq!(
        (
            close_without.0,
            close_without.1["error"]["code"].as_str(),
            close_without.1["error"]["field"].as_str()
        ),
        (422, Some("missing_field"), Some("outcome"))
    );
    let bad = call(
        &f.http,
        "POST",
        &s.url(&format!("/api/v1/cases/{}/status", f.gua_case)),
        Some(&f.gua),
        Some(&json!({"status": "closed", "outcome": "solved-ish"})),
    )
    .await;
    assert_eq!(
        (bad.0, bad.1["error"]["field"].as_str()),
        (422, Some("outcome"))
    );
    assert_eq!(post("closed").await.0, 200);
    assert_eq!(post("referred").await.0, 409);
    // Each move is on the record, in order.
    let (_, log) = call(
        &f.http,
        "GET",
        &s.url("/api/v1/audit"),
        Some(&f.admin),
        None,
    )
    .await;
    let details: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "status")
        .map(|r| r["detail"].as_str().unwrap())
        .collect();
    assert_eq!(
        details,
        vec![
            "referred -> closed (remedied)",
            "in_review -> referred",
            "received -> in_review"
        ]
    );
}

/// An inspector's queue is read from their referrals (the copies of the case's and
/// workplace's columns that migration 10's triggers keep): filters, order and pages
/// must follow every write that changes them, and a case referred to two of an
/// inspector's authorities is listed once.
async fn inspector_queue_follows_every_change(backend: Backend) {
    let server = TestServer::spawn_with(backend, options()).await;
    let http = client();
    let admin = add_staff(&server, "admin@buzon.test", "admin", &[]).await;
    add_staff(
        &server,
        "gua@buzon.test",
        "inspector",
        &["--authority", "state_ccl:MX-GUA"],
    )
    .await;
    let (gua, _) = token(&server, "gua@buzon.test").await;
    add_staff(
        &server,
        "both@buzon.test",
        "inspector",
        &["--authority", "state_ccl:MX-GUA", "--authority", "cfcrl"],
    )
    .await;
    let (both, _) = token(&server, "both@buzon.test").await;
    add_staff(
        &server,
        "cf@buzon.test",
        "inspector",
        &["--authority", "cfcrl"],
    )
    .await;
    let (cf, _) = token(&server, "cf@buzon.test").await;
    let wages = file(
        &server,
        &http,
        &local_case("MX-GUA", "A", &["unpaid_wages"], None),
    )
    .await;
    let retaliation = file(
        &server,
        &http,
        &local_case("MX-GUA", "B", &["union_retaliation"], Some(10)),
    )
    .await;
    file(
        &server,
        &http,
        &local_case("MX-JAL", "C", &["unpaid_wages"], None),
    )
    .await;
    let mut federal = local_case("MX-GUA", "D", &["unpaid_wages"], Some(300));
    federal["workplace"]["sector"] = json!("auto_parts");
    let federal = file(&server, &http, &federal).await;
    let list = |who: &str, q: &str| {
        let (http, who, url) = (
            http.clone(),
            who.to_owned(),
            server.url(&format!("/api/v1/cases?{q}")),
        );
        async move {
            let (st, body) = call(&http, "GET", &url, Some(&who), None).await;
            assert_eq!(st, 200, "{url}: {body}");
            refs(&body)
        }
    };
    let post = |path: String, body: Value| {
        let (http, admin, url) = (http.clone(), admin.clone(), server.url(&path));
        async move {
            let (st, out) = call(&http, "POST", &url, Some(&admin), Some(&body)).await;
            assert!((200..300).contains(&st), "{url}: {st} {out}");
        }
    };
    // Scope, order and the filters read off the referral.
    assert_eq!(list(&gua, "").await, [retaliation.clone(), wages.clone()]);
    assert_eq!(list(&gua, "state=MX-GUA&channel=api").await.len(), 2);
    assert!(list(&gua, "channel=web").await.is_empty());
    assert!(list(&gua, "state=MX-JAL").await.is_empty());
    assert!(list(&gua, "sector=auto_parts").await.is_empty());
    assert_eq!(
        list(&gua, "state=MX-GUA&violation=union_retaliation").await,
        [retaliation.as_str()]
    );
    assert_eq!(list(&gua, "violation=unpaid_wages").await, [wages.as_str()]);
    let (st, body) = call(
        &http,
        "GET",
        &server.url("/api/v1/cases?violation=theft"),
        Some(&gua),
        None,
    )
    .await;
    assert_eq!(
        (st, body["error"]["field"].as_str()),
        (422, Some("violation"))
    );
    let today = chrono::Utc::now().date_naive();
    assert_eq!(
        list(&gua, &format!("from={today}&to={today}")).await.len(),
        2
    );
    assert!(
        list(&gua, &format!("to={}", today.pred_opt().unwrap()))
            .await
            .is_empty()
    );
    // Corrected facts: a new sector (the workplace's copy) and a new priority (the
    // case's copy) move the case within the queue and between its filters.
    post(
        format!("/api/v1/cases/{wages}/facts"),
        json!({"state": "MX-GUA", "sector": "call_center", "trade_with_us": "no",
               "workers": 5000, "violations": ["union_retaliation", "unpaid_wages"]}),
    )
    .await;
    assert_eq!(list(&gua, "").await, [wages.clone(), retaliation.clone()]);
    assert_eq!(list(&gua, "sector=call_center").await, [wages.as_str()]);
    assert_eq!(
        list(&gua, "sector=other_services").await,
        [retaliation.as_str()]
    );
    // A status change (the case's copy): closed cases leave the open queue.
    post(
        format!("/api/v1/cases/{wages}/status"),
        json!({"status": "closed", "outcome": "unfounded"}),
    )
    .await;
    assert_eq!(list(&gua, "").await, [retaliation.as_str()]);
    assert_eq!(list(&gua, "status=closed").await, [wages.as_str()]);
    assert_eq!(
        list(&gua, "status=all&sector=call_center").await,
        [wages.as_str()]
    );
    // Two of an inspector's authorities: each case once, in one order, pages included.
    assert_eq!(
        list(&both, "").await,
        [retaliation.clone(), federal.clone()]
    );
    post(
        format!("/api/v1/cases/{retaliation}/referrals"),
        json!({"authority": "cfcrl", "reason": "también federal"}),
    )
    .await;
    assert_eq!(
        list(&both, "").await,
        [retaliation.clone(), federal.clone()]
    );
    assert_eq!(list(&gua, "").await, [retaliation.as_str()]);
    let seen = every_page(&server, &http, &both, "status=all&limit=1").await;
    assert_eq!(seen, [wages.clone(), retaliation.clone(), federal.clone()]);
    // A withdrawn referral leaves the queue: the GUA inspector refers it on.
    let (st, out) = call(
        &http,
        "POST",
        &server.url(&format!("/api/v1/cases/{retaliation}/referrals")),
        Some(&gua),
        Some(&json!({"authority": "state_ccl:MX-JAL", "reason": "otro estado"})),
    )
    .await;
    assert!((200..300).contains(&st), "{st} {out}");
    assert!(list(&gua, "").await.is_empty());
    assert_eq!(
        list(&both, "").await,
        [retaliation.clone(), federal.clone()]
    );
    // Facts corrected under a referral made by hand (which routing leaves in place):
    // its copies follow the workplace's update and the case's new priority.
    assert_eq!(list(&cf, "").await, [retaliation.clone(), federal.clone()]);
    post(
        format!("/api/v1/cases/{retaliation}/facts"),
        json!({"state": "MX-GUA", "sector": "call_center", "trade_with_us": "no",
               "violations": ["unpaid_wages"]}),
    )
    .await;
    assert_eq!(list(&cf, "").await, [federal.clone(), retaliation.clone()]);
    assert_eq!(list(&cf, "sector=call_center").await, [retaliation]);
    assert_eq!(list(&cf, "sector=auto_parts").await, [federal]);
}

/// Referrals stored before migration 10 get their copies from their cases and
/// workplaces when it runs (down to before it, then up again).
async fn referrals_stored_before_the_copies_get_them(backend: Backend) {
    use migration::MigratorTrait;
    let mut server = TestServer::spawn_with(backend, options()).await;
    let http = client();
    file(
        &server,
        &http,
        &local_case("MX-GUA", "A", &["unpaid_wages"], None),
    )
    .await;
    let mut federal = local_case("MX-JAL", "B", &["union_retaliation"], Some(300));
    federal["workplace"]["sector"] = json!("auto_parts");
    file(&server, &http, &federal).await;
    server.terminate();
    let db = server.db().await;
    let after = migration::Migrator::migrations()
        .iter()
        .rev()
        .take_while(|m| !m.name().contains("referral_queue"))
        .count();
    migration::Migrator::down(&db, Some(u32::try_from(after + 1).unwrap()))
        .await
        .unwrap();
    migration::Migrator::up(&db, None).await.unwrap();
    db.close().await.ok();
    let all = server.count("SELECT COUNT(*) FROM case_referrals").await;
    let equal = server
        .count(
            "SELECT COUNT(*) FROM case_referrals r JOIN cases c ON c.id = r.case_id \
             JOIN workplaces w ON w.case_id = r.case_id WHERE r.case_priority = c.priority \
             AND r.case_created_at = c.created_at AND r.case_status = c.status \
             AND r.case_channel = c.channel AND r.workplace_state = w.state \
             AND r.workplace_sector = w.sector",
        )
        .await;
    assert!(all >= 2, "{all} referrals");
    assert_eq!(equal, all);
}

crate::on_both_backends!(
    queue_order_filters_and_pages,
    inspector_queue_follows_every_change,
    referrals_stored_before_the_copies_get_them,
    status_moves_only_along_allowed_transitions
);
