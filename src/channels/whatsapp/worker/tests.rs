use super::*;

#[test]
fn stored_messages_become_inputs() {
    let text = serde_json::json!({"from": "1", "id": "w", "timestamp": "1", "type": "text", "text": {"body": "hola"}});
    assert_eq!(to_input(&text), Input::Text("hola".into()));
    let tap = serde_json::json!({"from": "1", "id": "w", "timestamp": "1", "type": "interactive",
        "interactive": {"type": "list_reply", "list_reply": {"id": "sector:mining", "title": "Mina"}}});
    assert_eq!(to_input(&tap), Input::Choice("sector:mining".into()));
    let voice = serde_json::json!({"from": "1", "id": "w", "timestamp": "1", "type": "audio",
        "audio": {"id": "123", "mime_type": "audio/ogg; codecs=opus", "sha256": "ab", "voice": true}});
    assert!(
        matches!(to_input(&voice), Input::Media(m) if m.id == "123" && m.sha256.as_deref() == Some("ab"))
    );
    for odd in [
        serde_json::json!({"from": "1", "id": "w", "timestamp": "1", "type": "sticker", "sticker": {"id": "1", "mime_type": "image/webp", "sha256": "x"}}),
        serde_json::json!({"from": "1", "id": "w", "timestamp": "1", "type": "hologram"}),
        serde_json::json!({"from": "1", "id": "w", "timestamp": "1", "type": "text", "text": {"body": 5}}),
        serde_json::json!({"from": "1", "id": "w", "timestamp": "1", "type": "text"}),
    ] {
        assert_eq!(to_input(&odd), Input::Unsupported);
    }
}
