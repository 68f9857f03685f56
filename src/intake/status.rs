//! A receipt's way back in: the case it opens (the case's own receipt or one
//! member's), the case as its complainant sees it, and their follow-up messages.

use super::*;

impl Intake {
    /// Finds the case a receipt opens. Unknown lookups still cost one Argon2
    /// verification, so timing doesn't tell them apart from wrong secrets.
    ///
    /// A receipt is the case's own, or (complaints filed by an organization for a
    /// group) one member's: then the member's id comes with the case.
    async fn authenticate(
        &self,
        receipt: &Receipt,
    ) -> Result<(case::Model, Option<Uuid>), ReceiptError> {
        let row = case::Entity::find()
            .filter(case::Column::ReceiptLookup.eq(receipt.lookup.as_str()))
            .one(&self.db)
            .await
            .context("cannot look up receipt")?;
        let (row, stored, member) = match row {
            Some(row) => {
                let hash = row.receipt_hash.clone();
                (Some(row), Some(hash), None)
            }
            None => match crate::db::row(
                &self.db,
                "SELECT case_id, id, receipt_hash FROM case_members WHERE receipt_lookup = $1",
                vec![receipt.lookup.as_str().into()],
            )
            .await
            .context("cannot look up member receipt")?
            {
                Some(m) => {
                    let case_id: Uuid = m.try_get_by_index(0).context("member row")?;
                    let member: Uuid = m.try_get_by_index(1).context("member row")?;
                    let hash: Option<String> = m.try_get_by_index(2).context("member row")?;
                    let case = case::Entity::find_by_id(case_id)
                        .one(&self.db)
                        .await
                        .context("cannot load member's case")?;
                    (case, hash, Some(member))
                }
                None => (None, None, None),
            },
        };
        let secret = Zeroizing::new(receipt.secret().to_owned());
        let ok = self
            .with_hash_slot(move |hasher| hasher.verify(&secret, stored.as_deref()))
            .await?;
        match row {
            Some(row) if ok => Ok((row, member)),
            _ => Err(ReceiptError::NotFound),
        }
    }

    /// Status and messages for the holder of a receipt.
    pub async fn status(&self, receipt: &Receipt) -> Result<CaseView, ReceiptError> {
        let (case, member) = self.authenticate(receipt).await?;
        Ok(self.view(case, member).await?)
    }

    /// What a receipt shows: staff's and the organization's messages, and the
    /// messages written with this same receipt. A group member's messages are read
    /// by staff and the organization, never by the other members.
    async fn view(&self, case: case::Model, member: Option<Uuid>) -> anyhow::Result<CaseView> {
        let rows = case_message::Entity::find()
            .filter(case_message::Column::CaseId.eq(case.id))
            .order_by_asc(case_message::Column::CreatedAt)
            .all(&self.db)
            .await
            .context("cannot load messages")?;
        let mut messages = Vec::with_capacity(rows.len());
        for m in rows {
            // Staff's and the organization's messages are for every holder; a
            // complainant's message only for the receipt it was written with.
            if m.author == AUTHOR_COMPLAINANT && m.member_id != member {
                continue;
            }
            let body = self
                .keys
                .cipher
                .decrypt_string(message_aad(m.id), &m.body_ct)
                .with_context(|| format!("cannot decrypt message {}", m.id))?;
            messages.push(MessageView {
                from_staff: m.author != AUTHOR_COMPLAINANT,
                from_advocate: m.author == AUTHOR_ADVOCATE,
                body,
                created_at: m.created_at,
            });
        }
        let status = CaseStatus::parse(&case.status)
            .with_context(|| format!("case {} has unknown status", case.case_ref))?;
        let (outcome, legal_aid) = if status == CaseStatus::Closed {
            let outcome = case
                .outcome
                .as_deref()
                .and_then(crate::domain::Outcome::parse)
                .unwrap_or(crate::domain::Outcome::Other);
            (
                Some(outcome),
                referrals::legal_aid(&self.db, case.id).await?,
            )
        } else {
            (None, Vec::new())
        };
        Ok(CaseView {
            status,
            outcome,
            legal_aid,
            language: Language::parse(&case.language).unwrap_or_default(),
            routing: case
                .routing
                .and_then(|json| serde_json::from_value::<Decision>(json).ok()),
            held_until: case
                .hold_until
                .filter(|t| *t > crate::clock::now())
                .map(crate::clock::mexico_date),
            case_ref: case.case_ref,
            created_at: case.created_at,
            updated_at: case.updated_at,
            messages,
        })
    }

    /// Adds a follow-up message from the complainant. Answering a question moves the
    /// case from "information requested" back to "in review".
    pub async fn add_message(
        &self,
        receipt: &Receipt,
        body: &Text,
    ) -> Result<CaseView, ReceiptError> {
        let (case, member) = self.authenticate(receipt).await?;
        let status = CaseStatus::parse(&case.status).unwrap_or(CaseStatus::Received);
        if !status.accepts_messages() {
            return Err(ReceiptError::Closed(Box::new(
                self.view(case, member).await?,
            )));
        }
        let txn = self.db.begin().await.context("cannot begin transaction")?;
        let case = self
            .append_message_as(&txn, case.id, body, AUTHOR_COMPLAINANT, member)
            .await?;
        txn.commit().await.context("cannot commit message")?;
        tracing::info!(case_ref = %case.case_ref, "follow-up message added");
        Ok(self.view(case, member).await?)
    }

    /// The case (and group member) a receipt may add a message to, checked before
    /// the caller's transaction opens (the Argon2 check is slow, and on SQLite the
    /// transaction holds the one writing connection): then
    /// [`Intake::append_message_as`] in it. `Closed` for a closed case.
    pub async fn open_for_message(
        &self,
        receipt: &Receipt,
    ) -> Result<(Uuid, Option<Uuid>), ReceiptError> {
        let (case, member) = self.authenticate(receipt).await?;
        let status = CaseStatus::parse(&case.status).unwrap_or(CaseStatus::Received);
        if !status.accepts_messages() {
            return Err(ReceiptError::Closed(Box::new(
                self.view(case, member).await?,
            )));
        }
        Ok((case.id, member))
    }

    /// Adds a message from the complainant to a case inside the caller's transaction;
    /// answering a question moves the case from "information requested" back to
    /// "in review". The caller checked that the case accepts messages. The case as
    /// it is now.
    pub async fn append_message(
        &self,
        txn: &DatabaseTransaction,
        case_id: Uuid,
        body: &Text,
    ) -> anyhow::Result<case::Model> {
        self.append_message_as(txn, case_id, body, AUTHOR_COMPLAINANT, None)
            .await
    }

    /// [`Intake::append_message`] by a given author: the complainant, one member of
    /// a group (`member`), or the organization that filed the case
    /// ([`AUTHOR_ADVOCATE`]), which answers questions for its members.
    pub async fn append_message_as(
        &self,
        txn: &DatabaseTransaction,
        case_id: Uuid,
        body: &Text,
        author: &'static str,
        member: Option<Uuid>,
    ) -> anyhow::Result<case::Model> {
        let id = Uuid::new_v4();
        let now = Utc::now();
        let body_ct = self
            .keys
            .cipher
            .encrypt_str(message_aad(id), body.as_str())
            .context("cannot encrypt message")?;
        case_message::ActiveModel {
            id: Set(id),
            case_id: Set(case_id),
            author: Set(author.to_owned()),
            body_ct: Set(body_ct),
            created_at: Set(now),
            member_id: Set(member),
        }
        .insert(txn)
        .await
        .context("cannot insert message")?;
        // Decided by the row as it is now, not as the caller read it: staff may have
        // moved the case meanwhile (information requested -> in review is one of
        // `CaseStatus::next`'s moves).
        case::Entity::update_many()
            .col_expr(
                case::Column::Status,
                sea_orm::sea_query::Expr::value(CaseStatus::InReview.code()),
            )
            .filter(case::Column::Id.eq(case_id))
            .filter(case::Column::Status.eq(CaseStatus::InfoRequested.code()))
            .exec(txn)
            .await
            .context("cannot update case status")?;
        case::Entity::update_many()
            .col_expr(
                case::Column::UpdatedAt,
                sea_orm::sea_query::Expr::value(now),
            )
            .filter(case::Column::Id.eq(case_id))
            .exec(txn)
            .await
            .context("cannot update case")?;
        case::Entity::find_by_id(case_id)
            .one(txn)
            .await
            .context("cannot reload case")?
            .context("case vanished")
    }
}

pub fn message_aad(id: Uuid) -> Aad<'static> {
    Aad {
        table: "case_messages",
        column: "body_ct",
        row: id,
    }
}
