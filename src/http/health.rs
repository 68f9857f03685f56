//! `/readyz`: ready while the database answers, with what waits in the queues.

use crate::channels::{email, whatsapp};
use crate::http::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sea_orm::DatabaseConnection;

/// Ready while the database answers; the body tells what waits in the queues
/// (dead-lettered outbox messages need an operator).
pub async fn readyz(State(state): State<AppState>) -> Response {
    let db = state.intake.reads();
    if let Err(e) = db.ping().await {
        tracing::warn!(error = %e, "database not reachable");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({"status": "unavailable", "database": "unreachable"})),
        )
            .into_response();
    }
    let outbox = crate::outbox::health(db).await.ok();
    let inbox = whatsapp_inbox_health(db).await.ok();
    let mail = match &state.email {
        Some(_) => email::worker::health(db).await.ok(),
        None => None,
    };
    if outbox.as_ref().is_some_and(|o| o.dead > 0) {
        tracing::warn!(
            dead = outbox.as_ref().map_or(0, |o| o.dead),
            "outbox holds dead-lettered messages"
        );
    }
    axum::Json(serde_json::json!({
        "status": "ready",
        "outbox": outbox,
        "whatsapp": state.whatsapp.as_ref().map(|_| inbox),
        "email": mail,
    }))
    .into_response()
}

async fn whatsapp_inbox_health(db: &DatabaseConnection) -> anyhow::Result<serde_json::Value> {
    use entity::wa_inbox;
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let count = |state: &'static str| {
        wa_inbox::Entity::find()
            .filter(wa_inbox::Column::State.eq(state))
            .count(db)
    };
    let attachments_failed = entity::attachment::Entity::find()
        .filter(entity::attachment::Column::State.is_in([whatsapp::FAILED, "rejected"]))
        .filter(entity::attachment::Column::Channel.eq(whatsapp::worker::CHANNEL))
        .count(db)
        .await?;
    Ok(serde_json::json!({
        "inbox_pending": count(whatsapp::PENDING).await?,
        "inbox_failed": count(whatsapp::FAILED).await?,
        "attachments_failed": attachments_failed,
    }))
}
