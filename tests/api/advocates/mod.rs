//! Advocates against the real server: organizations see only their own cases (and
//! nothing of workers' or other organizations'), inspectors see advocate-filed cases
//! like any other, a collective complaint of forty members keeps every name out of
//! the database and gives each member a working receipt, and a flagged case goes
//! through the RRM workflow to an exported draft that names only those who consented.

mod rrm;

use crate::helpers::*;
use crate::on_both_backends;
use crate::triage::{add_staff, call, options};
use serde_json::{Value, json};

pub fn consent(uses: &[&str]) -> Value {
    json!({"given_by": "member", "method": "written", "date": "2026-11-01", "uses": uses})
}

/// One member's complaint, as an advocate files it.
pub fn for_member(name: &str, violations: &[&str]) -> Value {
    json!({
        "language": "es",
        "complainant": {"name": name, "phone": "477 555 0101", "worker_id": "A-77"},
        "workplace": {"employer": "Arneses del Bajío", "city": "Silao", "state": "MX-GUA",
                      "sector": "auto_parts", "trade_with_us": "yes", "workers": 900},
        "violations": violations,
        "narrative": "Lo despidieron después de la asamblea del sindicato independiente.",
        "occurred_on": "2026-10-02",
        "consent": consent(&["complaint", "contact", "authorities"])
    })
}

pub struct Orgs {
    pub server: TestServer,
    pub http: reqwest::Client,
    pub a: String,
    pub b: String,
    pub inspector: String,
}

pub async fn orgs(backend: Backend) -> Orgs {
    let server = TestServer::spawn_with(backend, options()).await;
    let http = client();
    let a = add_staff(
        &server,
        "a@sindicato.test",
        "advocate",
        &["--org", "Sindicato A"],
    )
    .await;
    let b = add_staff(&server, "b@centro.test", "advocate", &["--org", "Centro B"]).await;
    let inspector = add_staff(
        &server,
        "gua@buzon.test",
        "inspector",
        &["--authority", "state_ccl:MX-GUA", "--authority", "cfcrl"],
    )
    .await;
    Orgs {
        server,
        http,
        a,
        b,
        inspector,
    }
}

impl Orgs {
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        call(
            &self.http,
            method,
            &self.server.url(path),
            Some(token),
            body,
        )
        .await
    }
}

pub async fn file_as(o: &Orgs, token: &str, body: &Value) -> Value {
    let (status, created) = o
        .call("POST", "/api/v1/complaints", token, Some(body))
        .await;
    assert_eq!(status, 201, "{created}");
    created
}

fn refs(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["case_ref"].as_str().unwrap().to_owned())
        .collect()
}

/// Who sees what: organization A, organization B, a worker's own complaint, and the
/// inspector whose jurisdiction all of them are in.
async fn organizations_see_only_their_own_cases(backend: Backend) {
    let o = orgs(backend).await;
    let url = |p: &str| o.server.url(p);
    let mine = file_as(
        &o,
        &o.a,
        &for_member("Rosa Medina Ortiz", &["union_retaliation"]),
    )
    .await;
    assert_eq!(mine["organization"], "Sindicato A");
    assert!(
        mine["members"].as_array().is_none(),
        "one member: the case's receipt is theirs"
    );
    let a_ref = mine["case_ref"].as_str().unwrap().to_owned();
    let theirs = file_as(&o, &o.b, &for_member("Luis Campos", &["unpaid_wages"])).await;
    let b_ref = theirs["case_ref"].as_str().unwrap().to_owned();
    let worker = crate::triage::file(
        &o.server,
        &o.http,
        &crate::triage::local_case("MX-GUA", "Irma Sola", &["unpaid_wages"], None),
    )
    .await;

    // A lists only its own case; B's and the worker's are "no such case" everywhere.
    let (status, list) = o.call("GET", "/api/v1/cases", &o.a, None).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(refs(&list), vec![a_ref.clone()]);
    let (_, list) = o.call("GET", "/api/v1/cases", &o.b, None).await;
    assert_eq!(refs(&list), vec![b_ref.clone()]);
    for other in [&b_ref, &worker] {
        for (method, path, body) in [
            ("GET", format!("/api/v1/cases/{other}"), None),
            (
                "POST",
                format!("/api/v1/cases/{other}/messages"),
                Some(json!({"message": "hola"})),
            ),
            (
                "POST",
                format!("/api/v1/cases/{other}/reveal"),
                Some(json!({"reason": "ver"})),
            ),
            ("GET", format!("/api/v1/cases/{other}/rrm"), None),
            (
                "POST",
                format!("/api/v1/cases/{other}/rrm/petition"),
                Some(json!({"format": "html"})),
            ),
        ] {
            let (status, body) = o.call(method, &path, &o.a, body.as_ref()).await;
            assert_eq!(
                (status, body["error"]["code"].as_str()),
                (404, Some("case_not_found")),
                "{method} {path}"
            );
        }
    }
    // Inspector actions are not an advocate's, even on their own case.
    for (path, body) in [
        ("status", json!({"status": "in_review"})),
        ("notes", json!({"body": "nota"})),
        ("questions", json!({"body": "¿cuándo?"})),
        ("assign", json!({"staff_id": "me"})),
    ] {
        let (status, _) = o
            .call(
                "POST",
                &format!("/api/v1/cases/{a_ref}/{path}"),
                &o.a,
                Some(&body),
            )
            .await;
        assert_eq!(status, 403, "{path}");
    }
    let (status, _) = o.call("GET", "/api/v1/audit", &o.a, None).await;
    assert_eq!(status, 403);

    // The inspector's queue has all three, the advocate-filed ones as any other.
    let (_, queue) = o.call("GET", "/api/v1/cases", &o.inspector, None).await;
    let queued = refs(&queue);
    for r in [&a_ref, &b_ref, &worker] {
        assert!(queued.contains(r), "{r} in {queued:?}");
    }
    let (_, case) = o
        .call("GET", &format!("/api/v1/cases/{a_ref}"), &o.inspector, None)
        .await;
    assert_eq!(case["filed_by_org"], "Sindicato A");
    assert_eq!(case["members"][0]["named"], true);
    assert_eq!(case["members"][0]["consent_method"], "written");
    assert!(!case.to_string().contains("Rosa"), "masked: {case}");
    let (status, who) = o
        .call(
            "POST",
            &format!("/api/v1/cases/{a_ref}/reveal"),
            &o.inspector,
            Some(&json!({"reason": "citar"})),
        )
        .await;
    assert_eq!(status, 200, "{who}");
    assert_eq!(who["members"][0]["name"], "Rosa Medina Ortiz");
    assert_eq!(who["members"][0]["worker_id"], "A-77");

    // The inspector's note and assignment stay the authority's; a question reaches
    // the organization, which answers it.
    for (path, body) in [
        ("notes", json!({"body": "Nota interna de la autoridad"})),
        ("assign", json!({"staff_id": "me"})),
        ("questions", json!({"body": "¿Cuántos fueron despedidos?"})),
    ] {
        let (status, body) = o
            .call(
                "POST",
                &format!("/api/v1/cases/{a_ref}/{path}"),
                &o.inspector,
                Some(&body),
            )
            .await;
        assert!(status < 300, "{path}: {body}");
    }
    let (_, list) = o.call("GET", "/api/v1/cases", &o.a, None).await;
    assert_eq!(list["items"][0]["status"], "info_requested");
    assert!(list["items"][0]["assigned_to"].is_null());
    let (_, case) = o
        .call("GET", &format!("/api/v1/cases/{a_ref}"), &o.a, None)
        .await;
    assert_eq!(case["notes"], json!([]), "{case}");
    assert!(case["assigned_to"].is_null());
    assert!(case.to_string().contains("¿Cuántos fueron despedidos?"));
    let (status, answered) = o
        .call(
            "POST",
            &format!("/api/v1/cases/{a_ref}/messages"),
            &o.a,
            Some(&json!({"message": "Fueron doce."})),
        )
        .await;
    assert_eq!(status, 201, "{answered}");
    assert_eq!(answered["status"], "in_review");
    let (_, case) = o
        .call("GET", &format!("/api/v1/cases/{a_ref}"), &o.inspector, None)
        .await;
    let last = case["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["author"].as_str(), last["body"].as_str()),
        (Some("advocate"), Some("Fueron doce."))
    );
    // The member's receipt shows the question and the organization's answer.
    let (status, seen) = post_json(
        &o.http,
        &url("/api/v1/status"),
        &json!({"receipt": mine["receipt"]}),
    )
    .await;
    assert_eq!(status, 200, "{seen}");
    let froms: Vec<&str> = seen["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["from"].as_str().unwrap())
        .collect();
    assert_eq!(froms, vec!["staff", "advocate"]);

    // Filing for others needs an advocate's token, and consent.
    let body = for_member("Sin Token", &["unpaid_wages"]);
    let (status, err) = post_json(&o.http, &url("/api/v1/complaints"), &body).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
    let (status, err) = o
        .call("POST", "/api/v1/complaints", &o.inspector, Some(&body))
        .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
    let (status, err) = o
        .call("POST", "/api/v1/complaints", "bzt_forged", Some(&body))
        .await;
    assert_eq!(status, 401, "{err}");
    for (consent, field) in [
        (Value::Null, "consent"),
        (consent(&["contact"]), "consent.uses"),
        (
            json!({"given_by": "member", "method": "telepathy", "date": "2026-11-01", "uses": ["complaint"]}),
            "consent.method",
        ),
        (
            json!({"given_by": "member", "method": "verbal", "date": "2099-01-01", "uses": ["complaint"]}),
            "consent.date",
        ),
    ] {
        let mut body = body.clone();
        body["consent"] = consent;
        let (status, err) = o
            .call("POST", "/api/v1/complaints", &o.a, Some(&body))
            .await;
        assert_eq!(
            (status, err["error"]["field"].as_str()),
            (422, Some(field)),
            "{err}"
        );
    }
    let mut group = body.clone();
    group["workers_affected"] = json!(1);
    let (status, err) = o
        .call("POST", "/api/v1/complaints", &o.a, Some(&group))
        .await;
    assert_eq!(
        (status, err["error"]["field"].as_str()),
        (422, Some("complainant")),
        "{err}"
    );
    group.as_object_mut().unwrap().remove("complainant");
    let (status, err) = o
        .call("POST", "/api/v1/complaints", &o.a, Some(&group))
        .await;
    assert_eq!(
        (status, err["error"]["field"].as_str()),
        (422, Some("workers_affected")),
        "{err}"
    );
    group["workers_affected"] = json!(3);
    group["members"] =
        json!([{"name": "Uno", "consent": consent(&["complaint"])}, {"name": "Dos"}]);
    let (status, err) = o
        .call("POST", "/api/v1/complaints", &o.a, Some(&group))
        .await;
    assert_eq!(
        (
            status,
            err["error"]["code"].as_str(),
            err["error"]["field"].as_str()
        ),
        (422, Some("consent_required"), Some("members[1].consent")),
        "{err}"
    );

    // Every filing is on the audit record with the consent it rests on.
    let filings = o.server.count("SELECT COUNT(*) FROM audit_log WHERE action = 'file_on_behalf' AND detail LIKE '%consent_method=written%'").await;
    assert_eq!(filings, 2);
}

on_both_backends!(organizations_see_only_their_own_cases);

/// Forty workers, twenty-five named with their consent and fifteen anonymous: one
/// case, forty receipts, and no name anywhere in the database or the logs.
async fn a_collective_complaint_of_forty_members(backend: Backend) {
    let mut o = orgs(backend).await;
    let name = |i: usize| format!("Colectivo Nombre{i:02} Apellido");
    let members: Vec<Value> = (0..40)
        .map(|i| {
            if i < 25 {
                json!({"name": name(i), "phone": format!("477 555 {:04}", 1000 + i),
                       "consent": consent(&["complaint", "petition"])})
            } else {
                json!({"consent": {"given_by": "representative", "method": "verbal",
                                   "date": "2026-11-02", "uses": ["complaint"]}})
            }
        })
        .collect();
    let body = json!({
        "workplace": {"employer": "Maquila Colectiva", "state": "MX-GUA", "sector": "auto_parts",
                      "trade_with_us": "yes", "workers": 400},
        "violations": ["union_retaliation", "unjust_dismissal"],
        "narrative": "Despidieron a cuarenta compañeros tras la votación.",
        "occurred_on": "2026-09-15",
        "consent": {"given_by": "representative", "method": "written", "date": "2026-11-02", "uses": ["complaint"]},
        "workers_affected": 40,
        "members": members
    });
    let created = file_as(&o, &o.a, &body).await;
    let receipts = created["members"].as_array().unwrap().clone();
    assert_eq!(receipts.len(), 40);
    assert_eq!(receipts[0]["named"], true);
    assert_eq!(receipts[39]["named"], false);
    let case_ref = created["case_ref"].as_str().unwrap().to_owned();

    // One case in the inspector's queue, with the workers it is for.
    let (_, queue) = o.call("GET", "/api/v1/cases", &o.inspector, None).await;
    let item = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["case_ref"] == case_ref.as_str())
        .unwrap()
        .clone();
    assert_eq!(item["workers_affected"], 40);
    let (_, case) = o
        .call(
            "GET",
            &format!("/api/v1/cases/{case_ref}"),
            &o.inspector,
            None,
        )
        .await;
    assert_eq!(case["members"].as_array().unwrap().len(), 40);
    assert_eq!(
        case["members"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["named"] == true)
            .count(),
        25
    );

    // Each named member's receipt opens the case on its own; a member's message is
    // theirs, staff's and the organization's, not the other members'.
    for i in [0usize, 12, 24] {
        let (status, seen) = post_json(
            &o.http,
            &o.server.url("/api/v1/status"),
            &json!({"receipt": receipts[i]["receipt"]}),
        )
        .await;
        assert_eq!(
            (status, seen["case_ref"].as_str()),
            (200, Some(case_ref.as_str())),
            "{seen}"
        );
    }
    let (status, _) = post_json(
        &o.http,
        &o.server.url("/api/v1/status/messages"),
        &json!({"receipt": receipts[3]["receipt"], "message": "Tengo la carta de despido."}),
    )
    .await;
    assert_eq!(status, 201);
    let messages = |receipt: &Value| {
        let (http, url, receipt) = (
            o.http.clone(),
            o.server.url("/api/v1/status"),
            receipt.clone(),
        );
        async move {
            let (_, seen) = post_json(&http, &url, &json!({"receipt": receipt})).await;
            seen["messages"].as_array().unwrap().len()
        }
    };
    assert_eq!(messages(&receipts[3]["receipt"]).await, 1);
    assert_eq!(messages(&receipts[4]["receipt"]).await, 0);
    assert_eq!(messages(&created["receipt"]).await, 0);
    let (_, case) = o
        .call("GET", &format!("/api/v1/cases/{case_ref}"), &o.a, None)
        .await;
    assert!(case.to_string().contains("Tengo la carta de despido."));
    // A wrong receipt is still just "not found".
    let mut wrong = receipts[5]["receipt"].as_str().unwrap().to_owned();
    wrong.replace_range(
        wrong.len() - 1..,
        if wrong.ends_with('A') { "B" } else { "A" },
    );
    let (status, _) = post_json(
        &o.http,
        &o.server.url("/api/v1/status"),
        &json!({"receipt": wrong}),
    )
    .await;
    assert_eq!(status, 404);

    let mut needles: Vec<String> = (0..25).map(name).collect();
    needles.extend((0..25).map(|i| format!("{}", 4_775_551_000_i64 + i)));
    let places = o.server.everything_written();
    let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
    assert_none_in(&places, &needles);
}

on_both_backends!(a_collective_complaint_of_forty_members);

/// Before organizations were rows, `staff.org` held a name: the migration makes a row
/// of each name and points its advocates at it (ids stored as each back end stores
/// them: `buzon staff list` finds the name again by id).
async fn organizations_named_before_they_were_rows_become_rows(backend: Backend) {
    use migration::MigratorTrait;
    let mut server = TestServer::spawn_with(backend, options()).await;
    add_staff(
        &server,
        "vieja@sindicato.test",
        "advocate",
        &["--org", "Temporal"],
    )
    .await;
    server.terminate();
    let db = server.db().await;
    // Back to before the advocates migration (and the ones after it).
    let after = migration::Migrator::migrations()
        .iter()
        .rev()
        .take_while(|m| !m.name().contains("create_advocates"))
        .count();
    migration::Migrator::down(&db, Some(u32::try_from(after + 1).unwrap()))
        .await
        .unwrap();
    let exec = |sql: &'static str| {
        let db = &db;
        async move {
            sea_orm::ConnectionTrait::execute_unprepared(db, sql)
                .await
                .unwrap();
        }
    };
    // Down: the advocate's organization is a name again.
    let named: String = one_row(&db, "SELECT org FROM staff")
        .await
        .try_get_by_index(0)
        .unwrap();
    assert_eq!(named, "Temporal");
    exec("UPDATE staff SET org = 'Sindicato Viejo'").await;
    migration::Migrator::up(&db, None).await.unwrap();
    let org_id: String = one_row(&db, "SELECT org FROM staff")
        .await
        .try_get_by_index(0)
        .unwrap();
    let name: String = one_row(&db, "SELECT name FROM organizations")
        .await
        .try_get_by_index(0)
        .unwrap();
    assert_eq!(name, "Sindicato Viejo");
    assert_eq!(uuid::Uuid::parse_str(&org_id).unwrap().get_version_num(), 4);
    db.close().await.ok();
    let (ok, list) = server.run(&["staff", "list"], "");
    assert!(
        ok && list.contains("vieja@sindicato.test\tadvocate\t\tSindicato Viejo"),
        "{list}"
    );
    let (ok, orgs) = server.run(&["org", "list"], "");
    assert!(
        ok && orgs.contains(&format!("{org_id}\tSindicato Viejo")),
        "{orgs}"
    );
    // A name is one organization.
    let (ok, _) = server.run(&["org", "add", "Sindicato Viejo"], "");
    assert!(!ok);
}

on_both_backends!(organizations_named_before_they_were_rows_become_rows);

/// A group filed on the organization's form: members one per line, one consent
/// record for each, a slip with its own receipt per member; a mistake comes back
/// on the form with its field and nothing is stored.
#[tokio::test]
async fn a_group_is_filed_on_the_form_and_each_member_gets_a_slip() {
    let o = orgs(Backend::Sqlite).await;
    let http = client();
    crate::triage_login::first_sign_in(&o.server, &http, "a@sindicato.test").await;
    let page = get_text(&http, &o.server.url("/org/file?lang=en")).await;
    let csrf = csrf_token(&page);
    let form = |members: &str, workers: &str| {
        vec![
            ("csrf", csrf.clone()),
            ("lang", "en".to_owned()),
            ("kind", "collective".to_owned()),
            ("workers_affected", workers.to_owned()),
            ("members", members.to_owned()),
            ("consent_given_by", "member".to_owned()),
            ("consent_method", "written".to_owned()),
            ("consent_date", "2026-11-20".to_owned()),
            ("consent_uses", "complaint".to_owned()),
            ("consent_uses", "authorities".to_owned()),
            ("employer", "Empacadora del Norte".to_owned()),
            ("state", "MX-SON".to_owned()),
            ("sector", "food_packaged".to_owned()),
            ("violations", "union_coercion".to_owned()),
            (
                "narrative",
                "Nos obligaron a firmar la afiliación al sindicato de la empresa.".to_owned(),
            ),
        ]
    };
    let submit = |workers: &'static str| {
        let request = http.post(o.server.url("/org/file")).form(&form(
            "Lupita Form; 662 111 2233; N-1\n-\nRamón Form; ramon@example.org",
            workers,
        ));
        async move { request.send().await.unwrap() }
    };
    // Three listed, but the group is said to be two: refused, nothing stored.
    let res = submit("2").await;
    assert_eq!(res.status().as_u16(), 422);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("workers_affected") && page.contains("Lupita Form"),
        "the form comes back filled"
    );
    assert_eq!(o.server.count("SELECT COUNT(*) FROM cases").await, 0);

    let res = submit("25").await;
    assert_eq!(res.status().as_u16(), 201);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let page = res.text().await.unwrap();
    let slips: Vec<String> = regex::Regex::new(r#"class="mono member-receipt">([0-9A-Z-]+)<"#)
        .unwrap()
        .captures_iter(&page)
        .map(|c| c[1].to_owned())
        .collect();
    assert_eq!(slips.len(), 3, "{page}");
    assert!(page.contains("Lupita Form") && page.contains("(anonymous)"));
    let case_ref = regex::Regex::new(r#"id="case-ref">(BZ-[0-9A-Z]+)<"#)
        .unwrap()
        .captures(&page)
        .unwrap()[1]
        .to_owned();
    for slip in &slips {
        let (status, seen) = post_json(
            &http,
            &o.server.url("/api/v1/status"),
            &json!({"receipt": slip}),
        )
        .await;
        assert_eq!(
            (status, seen["case_ref"].as_str()),
            (200, Some(case_ref.as_str()))
        );
    }
    let (_, case) = o
        .call(
            "GET",
            &format!("/api/v1/cases/{case_ref}"),
            &o.inspector,
            None,
        )
        .await;
    assert_eq!(case["workers_affected"], 25);
    assert_eq!(case["channel"], "web");
    let named: Vec<bool> = case["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["named"].as_bool().unwrap())
        .collect();
    assert_eq!(named, vec![true, false, true]);
    // The organization's list shows it; the member's e-mail went in encrypted.
    let list = get_text(&http, &o.server.url("/org?lang=en")).await;
    assert!(
        list.contains(&case_ref) && list.contains("25 (collective)"),
        "{list}"
    );
    let (_, who) = o
        .call(
            "POST",
            &format!("/api/v1/cases/{case_ref}/reveal"),
            &o.a,
            Some(&json!({"reason": "comprobar"})),
        )
        .await;
    assert_eq!(who["members"][2]["email"], "ramon@example.org");
}
