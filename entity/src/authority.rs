use sea_orm::entity::prelude::*;

/// A body cases are referred to (`cfcrl`, `state_ccl:MX-GUA`, ...).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "authorities")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub code: String,
    pub name_es: String,
    pub name_en: String,
    /// False while the official name is not confirmed by a source.
    pub name_confirmed: bool,
    pub phone: String,
    pub email: String,
    pub address: String,
    pub website: String,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
