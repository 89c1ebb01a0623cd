//! `GET /api/v1/me`: the caller's member, tenant, role and scopes.

use shared::Scope;
use shared::api::{Me, MeTenant, MeUser};

use crate::auth::{Principal, ScopedRouter};
use crate::db::TenantTx;
use crate::error::{ApiError, AppJson};
use crate::state::AppState;

/// The routes of this module.
pub fn routes(state: AppState) -> ScopedRouter {
    ScopedRouter::new(state).get("/me", Scope::Read, me)
}

/// Answers who the caller is. The tenant is read inside the caller's own tenant transaction.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "me",
    responses(
        (status = 200, description = "Who the caller is.", body = Me),
    )
)]
async fn me(principal: Principal, mut tx: TenantTx) -> Result<AppJson<Me>, ApiError> {
    let tenant = super::current_tenant(&mut tx).await?;
    tx.commit().await?;
    Ok(AppJson(Me {
        user: MeUser {
            id: principal.member_id.to_string(),
            email: principal.email,
            name: principal.name,
        },
        tenant: MeTenant {
            id: tenant.id.to_string(),
            slug: tenant.slug,
            name: tenant.name,
            plan: tenant.plan,
        },
        role: principal.role,
        scopes: principal.scopes,
    }))
}
