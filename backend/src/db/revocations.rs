//! The tenant's list of revoked sign-ins (`revoked_sign_ins`), by the `origin_jti` that every token of one
//! sign-in carries. The check runs with the membership check ([`super::members::get_with_sign_in_revoked`]).

use time::OffsetDateTime;

use super::TenantTx;

/// Records the sign-in `origin_jti` of the transaction's tenant as revoked until `expires_at` (when no token
/// of it can be presented any more), and purges the tenant's entries that have expired, so the list holds
/// only sign-ins whose tokens could still work. Recording a sign-in again keeps the later expiry.
pub async fn revoke_sign_in(
    tx: &mut TenantTx,
    origin_jti: &str,
    expires_at: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    let tenant = tx.tenant_id();
    sqlx::query!(
        "DELETE FROM revoked_sign_ins WHERE tenant_id = $1 AND expires_at <= now()",
        tenant.0
    )
    .execute(tx.conn())
    .await?;
    sqlx::query!(
        "INSERT INTO revoked_sign_ins (tenant_id, origin_jti, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (tenant_id, origin_jti) DO UPDATE
         SET expires_at = greatest(revoked_sign_ins.expires_at, excluded.expires_at)",
        tenant.0,
        origin_jti,
        expires_at
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}
