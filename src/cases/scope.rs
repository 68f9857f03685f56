//! Who may see which cases, and finding one case within that scope.

use super::*;

/// Which cases a member may see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    All,
    /// Cases with an active referral to one of these authorities.
    Authorities(Vec<String>),
    /// Cases this organization filed (advocates: read, answer, petition; no
    /// inspector actions, no internal notes).
    Org(Uuid),
}

impl Scope {
    /// `None`: the role does not work cases.
    pub fn of(member: &Member) -> Option<Self> {
        match member.role {
            Role::Admin => Some(Self::All),
            Role::Inspector => Some(Self::Authorities(member.authorities.clone())),
            Role::Advocate | Role::Coordinator => None,
        }
    }

    /// The cases a member may read: [`Scope::of`], and for an advocate their
    /// organization's cases. `None`: the role reads no case.
    pub fn reading(member: &Member) -> Option<Self> {
        match member.role {
            Role::Advocate => member.org_id().map(Self::Org),
            _ => Self::of(member),
        }
    }

    pub fn is_org(&self) -> bool {
        matches!(self, Self::Org(_))
    }

    /// ` AND ...` restricting alias `c` to the scope; binds after `values`. Every
    /// scope leaves out deferred cases whose day has not come (nobody, admins
    /// included, opens or acts on one before; see [`not_held`]).
    pub(crate) fn sql(&self, values: &mut Vec<Value>) -> String {
        let held = not_held(values);
        held + &self.scope_sql(values)
    }

    pub(super) fn scope_sql(&self, values: &mut Vec<Value>) -> String {
        match self {
            Self::All => String::new(),
            Self::Authorities(list) => {
                let mut marks = Vec::new();
                for a in list {
                    values.push(a.as_str().into());
                    marks.push(format!("${}", values.len()));
                }
                if marks.is_empty() {
                    return " AND 1 = 0".into();
                }
                format!(
                    " AND EXISTS (SELECT 1 FROM case_referrals r WHERE r.case_id = c.id \
                     AND r.state = 'active' AND r.authority IN ({}))",
                    marks.join(", ")
                )
            }
            Self::Org(org) => {
                values.push((*org).into());
                format!(" AND c.org_id = ${}", values.len())
            }
        }
    }
}

/// ` AND ...` leaving out, from alias `c`, the cases deferred past the clock's now
/// (deferred filing: stored and receipted, but out of every queue, indicator and
/// outgoing message until the worker's date).
pub(crate) fn not_held(values: &mut Vec<Value>) -> String {
    values.push(crate::clock::now().into());
    format!(
        " AND (c.hold_until IS NULL OR c.hold_until <= ${})",
        values.len()
    )
}

/// The case's row, if it exists and is in scope. References are matched exactly
/// (upper-cased); anything else is "not found".
pub async fn find(
    db: &impl ConnectionTrait,
    scope: &Scope,
    case_ref: &str,
) -> anyhow::Result<Option<entity::case::Model>> {
    let case_ref = case_ref.trim().to_ascii_uppercase();
    let well_formed = case_ref.len() <= 16
        && case_ref.starts_with("BZ-")
        && case_ref
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !well_formed {
        return Ok(None);
    }
    let mut values: Vec<Value> = vec![case_ref.into()];
    let sql = format!(
        "SELECT c.* FROM cases c WHERE c.case_ref = $1{}",
        scope.sql(&mut values)
    );
    use sea_orm::EntityTrait;
    let stmt = sea_orm::Statement::from_sql_and_values(db.get_database_backend(), sql, values);
    Ok(entity::case::Entity::find()
        .from_raw_sql(stmt)
        .one(db)
        .await?)
}
