//! The tenant's list of revoked sign-ins (`revoked_sign_ins`), by the `origin_jti` that every token of one
//! sign-in carries. The check runs with the membership check ([`super::members::get_with_sign_in_revoked`]).

use sqlx::PgConnection;
use time::OffsetDateTime;

use super::TenantId;

/// Records the sign-in `origin_jti` of `tenant` as revoked until `expires_at` (when no token of it can be
/// presented any more), and purges the tenant's entries that have expired, so the list holds only sign-ins
/// whose tokens could still work. Recording a sign-in again keeps the later expiry.
pub async fn revoke_sign_in(
    conn: &mut PgConnection,
    tenant: TenantId,
    origin_jti: &str,
    expires_at: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query("delete from revoked_sign_ins where tenant_id = $1 and expires_at <= now()")
        .bind(tenant)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "insert into revoked_sign_ins (tenant_id, origin_jti, expires_at) values ($1, $2, $3) \
         on conflict (tenant_id, origin_jti) do update \
         set expires_at = greatest(revoked_sign_ins.expires_at, excluded.expires_at)",
    )
    .bind(tenant)
    .bind(origin_jti)
    .bind(expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
