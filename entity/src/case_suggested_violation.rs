use sea_orm::entity::prelude::*;

/// A violation a machine read into the complaint's text (e-mail keywords): a hint
/// for triage, never a finding. Confirmed violations live in `case_violations`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "case_suggested_violations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub case_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub violation: String,
    /// What suggested it (`keywords`).
    pub source: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
