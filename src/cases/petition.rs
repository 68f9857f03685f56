//! Where an organization's RRM petition for a case stands (prepared, filed, the
//! review window), as both the organization and the authority see it. The
//! workflow that moves it is [`crate::advocacy::rrm`].

use chrono::{DateTime, Days, NaiveDate, Utc};
use sea_orm::ConnectionTrait;
use serde::Serialize;
use uuid::Uuid;

/// Days the U.S. Interagency Labor Committee has to review a filed petition.
pub const REVIEW_DAYS: u64 = 30;

/// Where a case's petition stands.
#[derive(Clone, Debug, Default, Serialize, utoipa::ToSchema)]
pub struct PetitionStatus {
    /// When the answers were last saved.
    pub answers_updated_at: Option<DateTime<Utc>>,
    /// When a draft was first exported.
    pub prepared_at: Option<DateTime<Utc>>,
    /// When the organization filed the petition with the U.S. (as it reported).
    pub filed_on: Option<NaiveDate>,
    /// The end of the ILC's 30-day review.
    pub review_due: Option<NaiveDate>,
    /// Days left in the review window (negative once it has passed).
    pub review_days_left: Option<i64>,
}

impl PetitionStatus {
    pub fn review_open(&self) -> bool {
        self.review_days_left.is_some_and(|d| d >= 0)
    }
}

pub async fn status(db: &impl ConnectionTrait, case_id: Uuid) -> anyhow::Result<PetitionStatus> {
    let Some(r) = crate::db::row(
        db,
        "SELECT updated_at, prepared_at, filed_on, answers_ct IS NOT NULL FROM rrm_petitions WHERE case_id = $1",
        vec![case_id.into()],
    )
    .await?
    else {
        return Ok(PetitionStatus::default());
    };
    let filed_on: Option<NaiveDate> = r.try_get_by_index(2)?;
    let has_answers: bool = r.try_get_by_index(3)?;
    let review_due = filed_on.and_then(|d| d.checked_add_days(Days::new(REVIEW_DAYS)));
    Ok(PetitionStatus {
        answers_updated_at: if has_answers {
            r.try_get_by_index(0)?
        } else {
            None
        },
        prepared_at: r.try_get_by_index(1)?,
        filed_on,
        review_due,
        review_days_left: review_due.map(|d| (d - Utc::now().date_naive()).num_days()),
    })
}
