use sea_orm::entity::prelude::*;

/// Present only for cases filed with identity; an anonymous case has no row here.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "complainants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub case_id: Uuid,
    pub name_ct: Option<Vec<u8>>,
    pub phone_ct: Option<Vec<u8>>,
    pub phone_bidx: Option<Vec<u8>>,
    pub email_ct: Option<Vec<u8>>,
    pub email_bidx: Option<Vec<u8>>,
    pub worker_id_ct: Option<Vec<u8>>,
    /// The exact WhatsApp id a named worker wrote from (encrypted); notices go to it.
    pub wa_id_ct: Option<Vec<u8>>,
    /// The WhatsApp channel's blind index of that sender: their messages thread here.
    pub wa_sender_bidx: Option<Vec<u8>>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::case::Entity",
        from = "Column::CaseId",
        to = "super::case::Column::Id",
        on_delete = "Cascade"
    )]
    Case,
}

impl Related<super::case::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Case.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
