//! The platform's list of revoked operator sign-ins (`operator_revoked_sign_ins`), by the `origin_jti` that
//! every token of one sign-in carries. Operators belong to no tenant, so this runs on the pool, outside any
//! tenant transaction.

use sqlx::PgPool;
use time::OffsetDateTime;

/// Records the operator sign-in `origin_jti` as revoked until `expires_at` (when no token of it can be
/// presented any more), and purges the entries that have expired. Recording a sign-in again keeps the later
/// expiry. One transaction.
pub async fn revoke(
    pool: &PgPool,
    origin_jti: &str,
    expires_at: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query!("DELETE FROM operator_revoked_sign_ins WHERE expires_at <= now()")
        .execute(&mut *tx)
        .await?;
    sqlx::query!(
        "INSERT INTO operator_revoked_sign_ins (origin_jti, expires_at) VALUES ($1, $2)
         ON CONFLICT (origin_jti) DO UPDATE
         SET expires_at = greatest(operator_revoked_sign_ins.expires_at, excluded.expires_at)",
        origin_jti,
        expires_at
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// Whether the operator sign-in `origin_jti` has been revoked.
pub async fn is_revoked(pool: &PgPool, origin_jti: &str) -> Result<bool, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT EXISTS (SELECT 1 FROM operator_revoked_sign_ins
                          WHERE origin_jti = $1 AND expires_at > now()) AS "revoked!""#,
        origin_jti
    )
    .fetch_one(pool)
    .await?;
    Ok(row.revoked)
}
