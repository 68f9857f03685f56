//! Organizations (unions, worker centres): the advocates' employer in Buzón.
//! `buzon org add NAME`; staff accounts with the advocate role belong to one.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde::Serialize;
use uuid::Uuid;

pub const MAX_ORG_NAME: usize = 120;

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Organization {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum OrgError {
    #[error("the organization's name must be 1 to {MAX_ORG_NAME} characters")]
    Name,
    #[error("an organization with that name already exists")]
    Exists,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// Adds an organization (`buzon org add NAME`). Names are unique, compared as typed
/// after trimming.
pub async fn add_org(db: &DatabaseConnection, name: &str) -> Result<Organization, OrgError> {
    let name = crate::domain::clean_text(name).unwrap_or_default();
    if name.is_empty() || name.chars().count() > MAX_ORG_NAME || name.contains('\n') {
        return Err(OrgError::Name);
    }
    if org_by_name(db, &name).await?.is_some() {
        return Err(OrgError::Exists);
    }
    let org = Organization {
        id: Uuid::new_v4(),
        name,
        created_at: Utc::now(),
    };
    crate::db::exec(
        db,
        "INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3)",
        vec![
            org.id.into(),
            org.name.clone().into(),
            org.created_at.into(),
        ],
    )
    .await
    .map_err(|e| {
        if crate::db::is_unique_violation(&e) {
            OrgError::Exists
        } else {
            OrgError::Other(e)
        }
    })?;
    Ok(org)
}

fn org_row(r: &sea_orm::QueryResult) -> Result<Organization, sea_orm::DbErr> {
    Ok(Organization {
        id: r.try_get_by_index(0)?,
        name: r.try_get_by_index(1)?,
        created_at: r.try_get_by_index(2)?,
    })
}

pub async fn orgs(db: &DatabaseConnection) -> anyhow::Result<Vec<Organization>> {
    crate::db::all(
        db,
        "SELECT id, name, created_at FROM organizations ORDER BY name",
        vec![],
        org_row,
    )
    .await
}

pub async fn org_by_name(
    db: &impl ConnectionTrait,
    name: &str,
) -> anyhow::Result<Option<Organization>> {
    let Some(r) = crate::db::row(
        db,
        "SELECT id, name, created_at FROM organizations WHERE name = $1",
        vec![name.trim().into()],
    )
    .await?
    else {
        return Ok(None);
    };
    Ok(Some(org_row(&r)?))
}

pub async fn org_name(db: &impl ConnectionTrait, id: Uuid) -> anyhow::Result<Option<String>> {
    Ok(crate::db::row(
        db,
        "SELECT name FROM organizations WHERE id = $1",
        vec![id.into()],
    )
    .await?
    .map(|r| r.try_get_by_index(0))
    .transpose()?)
}
