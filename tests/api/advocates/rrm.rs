//! The RRM workflow end to end: a flagged case's questions answered, evidence
//! attached, the bilingual draft exported, the filing date and the review window.

use super::*;

/// A possible RRM case (sector, trade and date unknown) taken by its organization
/// through the workflow: the screening's questions answered, evidence attached, the
/// draft exported as HTML and ODT carrying every answer and naming only the member
/// who consented to it, the filing date recorded and the review window tracked.
async fn a_flagged_case_goes_through_the_rrm_workflow_to_an_exported_draft(backend: Backend) {
    let mut o = orgs(backend).await;
    let url = |p: &str| o.server.url(p);
    let body = json!({
        "workplace": {"employer": "Electrónica Fronteriza", "city": "Ciudad Juárez", "state": "MX-CHH", "workers": 2500},
        "violations": ["union_interference", "union_retaliation"],
        "narrative": "La empresa obligó a votar por el sindicato de protección.",
        "consent": consent(&["complaint"]),
        "workers_affected": 4,
        "members": [
            {"name": "Marta Consiente Nombrar", "worker_id": "E-1", "consent": consent(&["complaint", "petition"])},
            {"name": "Jorge Sin Permiso", "consent": consent(&["complaint", "authorities"])},
            {"name": "Ana Reservada", "phone": "656 123 4567", "consent": consent(&["complaint"])},
            {"consent": consent(&["complaint", "petition"])}
        ]
    });
    let created = file_as(&o, &o.a, &body).await;
    let case_ref = created["case_ref"].as_str().unwrap().to_owned();
    assert_eq!(created["routing"]["rrm"]["status"], "possible");
    let rrm = format!("/api/v1/cases/{case_ref}/rrm");

    let (status, view) = o.call("GET", &rrm, &o.a, None).await;
    assert_eq!(status, 200, "{view}");
    let asked: Vec<&str> = view["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["criterion"].as_str().unwrap())
        .collect();
    assert_eq!(
        asked,
        vec!["covered_sector", "trade_nexus", "after_2020_07_01"]
    );
    assert!(
        view["questions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|q| q["answered"] == false)
    );
    // Inspectors don't run the organization's petition.
    let (status, _) = o.call("GET", &rrm, &o.inspector, None).await;
    assert_eq!(status, 403);
    // Nothing filed before a draft was prepared.
    let (status, err) = o
        .call(
            "POST",
            &format!("{rrm}/filed"),
            &o.a,
            Some(&json!({"filed_on": "2026-11-20"})),
        )
        .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (409, Some("petition_not_prepared")),
        "{err}"
    );

    let answers = json!({
        "legal_name": "Electrónica Fronteriza S. de R.L. de C.V., filial de Border Electronics Inc. (EE. UU.)",
        "address": "Av. Tecnológico 1234, Parque Industrial Norte",
        "sector": "electronics",
        "goods": "Arneses y tarjetas para refrigeradores vendidos en EE. UU.",
        "trade_with_us": "yes",
        "trade_detail": "Exporta el 90% a Texas por el puente Zaragoza.",
        "union_history": "Contrato de protección con la CTM; el sindicato independiente SITEF pidió la constancia de representatividad.",
        "occurred_on": "2026-08-20",
        "timeline": "2026-08-18 asamblea; 2026-08-20 despido de 12 trabajadores; gerente de RR. HH. presente.",
        "remedies_tried": "Queja ante el CFCRL, folio 123/2026.",
        "remedy_sought": "Reinstalación con salarios caídos y una votación libre."
    });
    let req = o
        .http
        .put(url(&rrm))
        .bearer_auth(&o.a)
        .json(&answers)
        .send()
        .await
        .unwrap();
    assert_eq!(req.status().as_u16(), 200);
    let view: Value = req.json().await.unwrap();
    assert_eq!(view["screening"]["status"], "likely", "{view}");
    assert!(
        view["questions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|q| q["answered"] == true),
        "{view}"
    );
    let bad = o
        .http
        .put(url(&rrm))
        .bearer_auth(&o.a)
        .json(&json!({"trade_with_us": "perhaps"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 422);

    // Evidence: a PDF is taken (encrypted); an executable is not, whatever its name.
    let upload = |name: &'static str, bytes: Vec<u8>| {
        let form = reqwest::multipart::Form::new()
            .text("description", "Carta de despido de Marta")
            .part(
                "file",
                reqwest::multipart::Part::bytes(bytes).file_name(name),
            );
        o.http
            .post(url(&format!("{rrm}/evidence")))
            .bearer_auth(&o.a)
            .multipart(form)
            .send()
    };
    let pdf = b"%PDF-1.4\nCARTA-DE-DESPIDO-CONTENIDO-UNICO\n%%EOF".to_vec();
    let pdf_sha = buzon::crypto::sha256_hex(&pdf);
    let res = upload("carta.pdf", pdf).await.unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let evidence: Value = res.json().await.unwrap();
    assert_eq!(evidence["mime_type"], "application/pdf");
    let res = upload("foto.jpg", b"MZ\x90\0\x03\0\0\0\x04\0".to_vec())
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 422);
    let res = o
        .http
        .get(url(&format!(
            "{rrm}/evidence/{}",
            evidence["id"].as_str().unwrap()
        )))
        .bearer_auth(&o.a)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert!(res.bytes().await.unwrap().starts_with(b"%PDF-1.4\nCARTA"));

    // The printable draft: every answer, the organization, the consenting member
    // named, the others withheld and counted, the evidence listed; nothing missing.
    let res = o
        .http
        .post(url(&format!("{rrm}/petition")))
        .json(&json!({"format": "html"}))
        .bearer_auth(&o.a)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let html = res.text().await.unwrap();
    let unescaped = html.replace("&#x27;", "'").replace("&quot;", "\"");
    for want in [
        "Borrador de petición",
        "Draft Rapid Response Labor Mechanism",
        "Sindicato A",
        "Marta Consiente Nombrar",
        "E-1",
        "Electrónica Fronteriza S. de R.L.",
        "Av. Tecnológico 1234",
        "Arneses y tarjetas",
        "Exporta el 90%",
        "SITEF",
        "2026-08-20",
        "despido de 12 trabajadores",
        "folio 123/2026",
        "Reinstalación",
        "Carta de despido de Marta",
        evidence["sha256"].as_str().unwrap(),
        "Identity withheld of workers on record: 3",
        "La empresa obligó a votar",
    ] {
        assert!(unescaped.contains(want), "{want} missing from the draft");
    }
    for secret in ["Jorge Sin Permiso", "Ana Reservada", "6561234567"] {
        assert!(!html.contains(secret), "{secret} named without consent");
    }
    assert!(
        !html.contains("[MISSING") && !html.contains("[FALTA"),
        "every element filled"
    );

    // The same draft as OpenDocument text.
    let res = o
        .http
        .post(url(&format!("{rrm}/petition")))
        .json(&json!({"format": "odt"}))
        .bearer_auth(&o.a)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["content-type"],
        "application/vnd.oasis.opendocument.text"
    );
    let bytes = res.bytes().await.unwrap().to_vec();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(zip.by_index(0).unwrap().name().unwrap(), "mimetype");
    let mut content = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("content.xml").unwrap(), &mut content).unwrap();
    assert!(content.contains("Marta Consiente Nombrar") && content.contains("SITEF"));
    assert!(!content.contains("Jorge Sin Permiso") && !content.contains("Ana Reservada"));

    // Filed: the 30-day review runs from that day.
    let filed_on = (chrono::Utc::now().date_naive() - chrono::Days::new(2)).to_string();
    let (status, petition) = o
        .call(
            "POST",
            &format!("{rrm}/filed"),
            &o.a,
            Some(&json!({"filed_on": filed_on})),
        )
        .await;
    assert_eq!(status, 200, "{petition}");
    assert_eq!(petition["review_days_left"], 28);
    let (_, view) = o.call("GET", &rrm, &o.a, None).await;
    assert!(view["petition"]["prepared_at"].is_string());
    assert_eq!(view["petition"]["filed_on"], filed_on.as_str());
    let (status, _) = o
        .call(
            "POST",
            &format!("{rrm}/filed"),
            &o.a,
            Some(&json!({"filed_on": "2019-01-01"})),
        )
        .await;
    assert_eq!(status, 422);
    // The case records it for the authority too.
    let (_, case) = o
        .call(
            "GET",
            &format!("/api/v1/cases/{case_ref}"),
            &o.inspector,
            None,
        )
        .await;
    assert_eq!(case["petition"]["filed_on"], filed_on.as_str());
    assert_eq!(case["petition"]["review_days_left"], 28);

    // Evidence must be multipart, and within 10 MB.
    let res = o
        .http
        .post(url(&format!("{rrm}/evidence")))
        .bearer_auth(&o.a)
        .json(&json!({"file": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 415);
    let mut big = b"%PDF-1.4\n".to_vec();
    big.resize(10 * 1024 * 1024 + 1, b'a');
    let res = upload("grande.pdf", big).await.unwrap();
    assert_eq!(res.status().as_u16(), 413);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["error"]["code"], "payload_too_large");
    assert_eq!(
        o.server.count("SELECT COUNT(*) FROM case_evidence").await,
        1
    );
    let two = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"%PDF-1.4 a".to_vec()).file_name("a.pdf"),
        )
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"%PDF-1.4 b".to_vec()).file_name("b.pdf"),
        );
    let res = o
        .http
        .post(url(&format!("{rrm}/evidence")))
        .bearer_auth(&o.a)
        .multipart(two)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 422);
    assert_eq!(
        o.server.count("SELECT COUNT(*) FROM case_evidence").await,
        1
    );

    // Members' identities as their consent shares them: the authority reads Jorge
    // (consented to `authorities`), not Ana or Marta; the organization reads all.
    let reveal = |token: String| {
        let (http, url) = (
            o.http.clone(),
            url(&format!("/api/v1/cases/{case_ref}/reveal")),
        );
        async move {
            let (status, who) = call(
                &http,
                "POST",
                &url,
                Some(&token),
                Some(&json!({"reason": "revisar"})),
            )
            .await;
            assert_eq!(status, 200, "{who}");
            who["members"].as_array().unwrap().clone()
        }
    };
    let by_authority = reveal(o.inspector.clone()).await;
    assert_eq!(by_authority[1]["name"], "Jorge Sin Permiso");
    assert_eq!(
        (
            by_authority[2]["withheld"].as_bool(),
            by_authority[2]["name"].as_str(),
            by_authority[2]["phone"].as_str()
        ),
        (Some(true), None, None)
    );
    assert_eq!(
        (
            by_authority[0]["withheld"].as_bool(),
            by_authority[0]["name"].as_str()
        ),
        (Some(true), None)
    );
    let by_org = reveal(o.a.clone()).await;
    assert_eq!(by_org[2]["phone"], "+526561234567");
    assert_eq!(by_org[0]["name"], "Marta Consiente Nombrar");

    // Not flagged: no petition to prepare.
    let wages = file_as(&o, &o.a, &for_member("Otra Persona", &["unpaid_wages"])).await;
    let (status, err) = o
        .call(
            "GET",
            &format!("/api/v1/cases/{}/rrm", wages["case_ref"].as_str().unwrap()),
            &o.a,
            None,
        )
        .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (409, Some("not_rrm_candidate"))
    );

    let exports = o
        .server
        .count("SELECT COUNT(*) FROM audit_log WHERE action = 'export'")
        .await;
    assert_eq!(exports, 2);
    let places = o.server.everything_written();
    assert_none_in(
        &places,
        &[
            "CARTA-DE-DESPIDO-CONTENIDO-UNICO",
            "SITEF",
            "Marta Consiente",
            "Jorge Sin Permiso",
            "Carta de despido de Marta",
            "carta.pdf",
            // Nor the file's digest, which would find the case from the letter.
            &pdf_sha,
        ],
    );
}

on_both_backends!(a_flagged_case_goes_through_the_rrm_workflow_to_an_exported_draft);

/// Issue 30, finding 11: what an advocate typed reaches the Markdown draft as
/// words, never as an image that pings a tracker, a link or raw HTML.
#[tokio::test]
async fn the_markdown_draft_carries_no_live_markup() {
    let o = orgs(Backend::Sqlite).await;
    let body = json!({
        "workplace": {"employer": "Electrónica ![x](https://tracker.test/e.png)", "city": "Ciudad Juárez", "state": "MX-CHH", "workers": 2500},
        "violations": ["union_interference", "union_retaliation"],
        "narrative": "Nos obligaron a votar. ![x](https://tracker.test/p.png) <img src=x>",
        "consent": consent(&["complaint"]),
        "workers_affected": 4,
        "members": [{"consent": consent(&["complaint", "petition"])}]
    });
    let created = file_as(&o, &o.a, &body).await;
    let case_ref = created["case_ref"].as_str().unwrap().to_owned();
    let rrm = format!("/api/v1/cases/{case_ref}/rrm");
    let answers = json!({
        "legal_name": "Electrónica <script>alert(1)</script> S.A.",
        "sector": "electronics",
        "goods": "[clic](https://tracker.test/l) <https://tracker.test/a>",
        "trade_with_us": "yes",
        "occurred_on": "2026-08-20",
        "timeline": "2026-08-18 asamblea\n![x](https://tracker.test/t.png)\n<img src=x>",
        "remedy_sought": "www.tracker.test y https://tracker.test/q"
    });
    let res = o
        .http
        .put(o.server.url(&rrm))
        .bearer_auth(&o.a)
        .json(&answers)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let res = o
        .http
        .post(o.server.url(&format!("{rrm}/petition")))
        .bearer_auth(&o.a)
        .json(&json!({"format": "md"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/markdown")
    );
    let md = res.text().await.unwrap();
    assert!(md.contains("asamblea"), "the words are there: {md}");
    assert!(md.contains("tracker"), "the words are there: {md}");
    for live in ["![", "<img", "<script", "<https", "https://", "www.tracker"] {
        assert!(!md.contains(live), "{live:?} in the draft:\n{md}");
    }
    // A link's `](` only ever after an escaped `]`.
    assert!(
        md.match_indices("](").all(|(i, _)| md[..i].ends_with('\\')),
        "a live link in the draft:\n{md}"
    );
    assert!(!md.contains('<'), "no raw HTML at all:\n{md}");
}
