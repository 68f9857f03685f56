use sea_orm::entity::prelude::*;

/// The employer and facility a case is about. Employer name and city are free text a
/// worker typed, so they are encrypted; the employer also gets a blind index so cases
/// about the same employer can be grouped without decrypting.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "workplaces")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub case_id: Uuid,
    pub employer_ct: Vec<u8>,
    pub employer_bidx: Vec<u8>,
    pub city_ct: Option<Vec<u8>>,
    pub state: String,
    pub sector: String,
    pub trade_with_us: String,
    pub workers: Option<i32>,
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
