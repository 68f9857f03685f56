use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "cases")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub case_ref: String,
    #[sea_orm(unique)]
    pub receipt_lookup: String,
    pub receipt_hash: String,
    pub channel: String,
    pub status: String,
    pub language: String,
    pub anonymous: bool,
    pub narrative_ct: Vec<u8>,
    pub occurred_on: Option<Date>,
    pub rule_version: Option<String>,
    pub routing: Option<Json>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Queue order (higher first); see `buzon::routing::priority`.
    pub priority: Option<i32>,
    /// `likely`, `possible`, `unlikely`; `None` while not routed.
    pub rrm_status: Option<String>,
    pub assigned_to: Option<Uuid>,
    pub duplicate_of: Option<Uuid>,
    /// The organization that filed it; `None` when a worker filed directly.
    pub org_id: Option<Uuid>,
    /// The advocate who filed it.
    pub filed_by: Option<Uuid>,
    /// Collective complaints: how many workers it is for.
    pub workers_affected: Option<i32>,
    /// When the identifying data was erased (retention).
    pub purged_at: Option<DateTimeUtc>,
    /// Deferred filing: in no queue, indicator or outgoing message before this.
    pub hold_until: Option<DateTimeUtc>,
    /// How the case ended (`buzon::domain::Outcome`), recorded when closing.
    pub outcome: Option<String>,
    /// When staff first acted on it (not read: acted).
    pub first_action_at: Option<DateTimeUtc>,
    /// When it was first referred.
    pub referred_at: Option<DateTimeUtc>,
    /// When it was last closed; `None` while open.
    pub closed_at: Option<DateTimeUtc>,
    /// A bit per status it has ever had (`buzon::domain::CaseStatus::bit`).
    pub reached: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_one = "super::complainant::Entity")]
    Complainant,
    #[sea_orm(has_one = "super::workplace::Entity")]
    Workplace,
    #[sea_orm(has_many = "super::case_violation::Entity")]
    CaseViolation,
    #[sea_orm(has_many = "super::case_message::Entity")]
    CaseMessage,
}

impl Related<super::complainant::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Complainant.def()
    }
}

impl Related<super::workplace::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Workplace.def()
    }
}

impl Related<super::case_violation::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::CaseViolation.def()
    }
}

impl Related<super::case_message::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::CaseMessage.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
