use sea_orm::entity::prelude::*;

/// A Message-ID (blind-indexed) known to belong to a case: the complainant's own
/// messages and our acknowledgements. A reply naming one in `In-Reply-To` or
/// `References` threads onto that case.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "email_threads")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub message_key: Vec<u8>,
    pub case_id: Uuid,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
