//! `/readyz`: ready while the database answers, with what waits in the queues and
//! where the rate limits live (`degraded` while their Redis is unreachable).

use crate::channels::{email, whatsapp};
use crate::http::AppState;
use crate::ratelimit::StoreHealth;
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
    let limits = state.limiters.health();
    let degraded = limits == StoreHealth::Redis { up: false };
    axum::Json(serde_json::json!({
        // Still ready (200): every instance shares the one Redis, and taking them all
        // out of the balancer would lose complaints too.
        "status": if degraded { "degraded" } else { "ready" },
        "rate_limits": rate_limits(limits),
        "outbox": outbox,
        "whatsapp": state.whatsapp.as_ref().map(|_| inbox),
        "email": mail,
    }))
    .into_response()
}

/// Where the rate limits live and, with Redis, whether it answers.
fn rate_limits(health: StoreHealth) -> serde_json::Value {
    match health {
        StoreHealth::Memory => serde_json::json!({"store": "memory", "state": "ok"}),
        StoreHealth::Redis { up: true } => serde_json::json!({"store": "redis", "state": "ok"}),
        StoreHealth::Redis { up: false } => serde_json::json!({
            "store": "redis",
            "state": "unreachable",
            "degraded": true,
            "detail": "redis unreachable: failing closed for login and receipt look-ups \
                       (503 limits_unavailable), open for webhooks, intake and other requests \
                       (per-instance limits)",
        }),
    }
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
        // Set aside because working them stopped the process on every claim.
        "inbox_crashed": crate::outbox::crashed::<wa_inbox::Entity>(db, &whatsapp::worker::INBOX_CLAIMS).await?,
        "attachments_crashed": crate::outbox::crashed::<entity::attachment::Entity>(db, &whatsapp::worker::MEDIA_CLAIMS).await?,
    }))
}
