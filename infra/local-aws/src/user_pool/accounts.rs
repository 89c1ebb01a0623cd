//! What only the pool's own users have (the users an administrator creates, not federated ones): the password
//! as an Argon2id hash, the temporary password's expiry, the status Cognito reports (`FORCE_CHANGE_PASSWORD`,
//! `CONFIRMED`), whether the account is enabled, the authenticator app (TOTP) secret, the lockout after failed
//! attempts and the password reset code. Their attributes (`sub`, `email`, ...) live in the user directory
//! beside federated users', under the same user name.
//!
//! Cognito's behaviours reproduced here, from its developer guide: passwords checked against the pool's policy
//! with one reason reported ("Password must have uppercase characters"); after five failed sign-ins the user is
//! locked out for 2^(n-5) seconds (n the failures so far, attempts during a lockout not counted), up to about
//! 15 minutes, and 15 minutes without an attempt reset the count; TOTP codes of 6 digits over 30-second steps
//! (RFC 6238, SHA-1), accepted one step early or late, each step's code used once; a reset code valid for one
//! hour, superseded by the next one.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::Rng;
use rand::seq::SliceRandom;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, TOTP};

use crate::config::PasswordPolicy;

/// Failed attempts allowed before the first lockout.
const FREE_FAILURES: u32 = 5;
/// The longest lockout: "up to a maximum of approximately 15 minutes".
const MAX_LOCKOUT: Duration = Duration::from_secs(15 * 60);
/// Quiet time after which the failure count starts again.
const LOCKOUT_RESET: Duration = Duration::from_secs(15 * 60);
/// TOTP step.
const TOTP_STEP: u64 = 30;
/// Bytes of a generated TOTP secret (Cognito's secret codes are 52 base32 characters: 32 bytes).
const TOTP_SECRET_BYTES: usize = 32;
/// How long a password reset code works.
pub(crate) const RESET_CODE_VALIDITY: Duration = Duration::from_secs(3600);
/// Cognito's symbols: the ASCII punctuation characters.
const SYMBOLS: &str = "^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+-";

/// `UserStatusType` of a native user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UserStatus {
    /// Created by an administrator; must set a new password at the first sign-in.
    ForceChangePassword,
    /// Has a password of their own.
    Confirmed,
}

impl UserStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            UserStatus::ForceChangePassword => "FORCE_CHANGE_PASSWORD",
            UserStatus::Confirmed => "CONFIRMED",
        }
    }
}

/// A native user's credentials and state.
#[derive(Debug, Clone)]
pub(crate) struct Account {
    pub status: UserStatus,
    pub created: SystemTime,
    pub modified: SystemTime,
    /// The password's Argon2id hash (PHC string).
    password_hash: String,
    /// When the temporary password stops working (`FORCE_CHANGE_PASSWORD` only).
    temporary_until: Option<SystemTime>,
    /// The authenticator app, once associated.
    pub authenticator: Option<Authenticator>,
    password_lockout: Lockout,
    mfa_lockout: Lockout,
    reset: Option<ResetCode>,
}

/// An authenticator app's shared secret.
#[derive(Debug, Clone)]
pub(crate) struct Authenticator {
    secret: Vec<u8>,
    /// Whether a code proved the app holds the secret (`VerifySoftwareToken`); only then is it an MFA factor.
    pub verified: bool,
    /// The last step whose code was accepted: a code works once.
    last_step: Option<u64>,
}

/// Failed attempts and the lockout they cause.
#[derive(Debug, Clone, Default)]
struct Lockout {
    failures: u32,
    locked_until: Option<SystemTime>,
    last_attempt: Option<SystemTime>,
}

/// A password reset code: its hash, expiry and failed tries.
#[derive(Debug, Clone)]
struct ResetCode {
    digest: [u8; 32],
    expires: SystemTime,
}

/// Why a password or code was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Wrong password or code; counted.
    Wrong,
    /// Locked out: nothing was checked ("Password attempts exceeded").
    LockedOut,
    /// The temporary password is past its validity.
    TemporaryPasswordExpired,
    /// A code of a step already used.
    CodeReused,
    /// No code is pending, or it expired.
    Expired,
}

impl Account {
    /// A user an administrator creates with `temporary` as their first password.
    pub(crate) fn created_with_temporary_password(
        temporary: &str,
        validity: Duration,
        now: SystemTime,
    ) -> Result<Account, argon2::password_hash::Error> {
        Ok(Account {
            status: UserStatus::ForceChangePassword,
            created: now,
            modified: now,
            password_hash: hash_password(temporary)?,
            temporary_until: Some(now + validity),
            authenticator: None,
            password_lockout: Lockout::default(),
            mfa_lockout: Lockout::default(),
            reset: None,
        })
    }

    /// Gives the user a new temporary password (`AdminCreateUser` with `RESEND`).
    pub(crate) fn reset_temporary_password(
        &mut self,
        temporary: &str,
        validity: Duration,
        now: SystemTime,
    ) -> Result<(), argon2::password_hash::Error> {
        self.password_hash = hash_password(temporary)?;
        self.temporary_until = Some(now + validity);
        self.modified = now;
        Ok(())
    }

    /// Checks a sign-in's password, counting failures towards the lockout.
    pub(crate) fn check_password(
        &mut self,
        password: &str,
        now: SystemTime,
    ) -> Result<(), Refusal> {
        self.password_lockout.admit(now)?;
        if !verify_password(&self.password_hash, password) {
            self.password_lockout.fail(now);
            return Err(Refusal::Wrong);
        }
        self.password_lockout.succeed();
        if self.status == UserStatus::ForceChangePassword
            && self.temporary_until.is_some_and(|until| now > until)
        {
            return Err(Refusal::TemporaryPasswordExpired);
        }
        Ok(())
    }

    /// Sets the user's own password (after the temporary one, or with a reset code): the account is then
    /// `CONFIRMED`.
    pub(crate) fn set_password(
        &mut self,
        password: &str,
        now: SystemTime,
    ) -> Result<(), argon2::password_hash::Error> {
        self.password_hash = hash_password(password)?;
        self.temporary_until = None;
        self.status = UserStatus::Confirmed;
        self.reset = None;
        self.modified = now;
        Ok(())
    }

    /// Verifies the first code of a newly associated `secret` and makes it the user's factor
    /// (`VerifySoftwareToken`).
    pub(crate) fn verify_authenticator(
        &mut self,
        secret: &[u8],
        code: &str,
        now: SystemTime,
    ) -> Result<(), Refusal> {
        self.mfa_lockout.admit(now)?;
        let Some(step) = matching_step(secret, code, now) else {
            self.mfa_lockout.fail(now);
            return Err(Refusal::Wrong);
        };
        self.mfa_lockout.succeed();
        self.authenticator = Some(Authenticator {
            secret: secret.to_vec(),
            verified: true,
            last_step: Some(step),
        });
        self.modified = now;
        Ok(())
    }

    /// Whether the user has an authenticator app set up.
    pub(crate) fn has_authenticator(&self) -> bool {
        self.authenticator.as_ref().is_some_and(|a| a.verified)
    }

    /// Checks a sign-in's TOTP code: right for this step or the one before or after, and not of a step
    /// already used.
    pub(crate) fn check_code(&mut self, code: &str, now: SystemTime) -> Result<(), Refusal> {
        self.mfa_lockout.admit(now)?;
        let Some(authenticator) = self.authenticator.as_mut().filter(|a| a.verified) else {
            return Err(Refusal::Wrong);
        };
        let Some(step) = matching_step(&authenticator.secret, code, now) else {
            self.mfa_lockout.fail(now);
            return Err(Refusal::Wrong);
        };
        if authenticator.last_step.is_some_and(|last| step <= last) {
            return Err(Refusal::CodeReused);
        }
        authenticator.last_step = Some(step);
        self.mfa_lockout.succeed();
        Ok(())
    }

    /// A new six-digit password reset code, replacing any earlier one.
    pub(crate) fn new_reset_code(&mut self, now: SystemTime) -> String {
        let code = format!("{:06}", rand::thread_rng().gen_range(0..1_000_000));
        self.reset = Some(ResetCode {
            digest: Sha256::digest(code.as_bytes()).into(),
            expires: now + RESET_CODE_VALIDITY,
        });
        code
    }

    /// Checks a password reset code; a wrong one counts towards the lockout.
    pub(crate) fn check_reset_code(&mut self, code: &str, now: SystemTime) -> Result<(), Refusal> {
        self.password_lockout.admit(now)?;
        let Some(reset) = self.reset.as_ref().filter(|reset| now <= reset.expires) else {
            return Err(Refusal::Expired);
        };
        let digest: [u8; 32] = Sha256::digest(code.trim().as_bytes()).into();
        if !bool::from(digest.ct_eq(&reset.digest)) {
            self.password_lockout.fail(now);
            return Err(Refusal::Wrong);
        }
        Ok(())
    }
}

/// A fresh authenticator secret (`AssociateSoftwareToken`). It becomes the user's factor only once a code
/// proves an app holds it ([`Account::verify_authenticator`]); until then a factor already set up stays.
pub(crate) fn new_authenticator_secret() -> Vec<u8> {
    let mut secret = vec![0u8; TOTP_SECRET_BYTES];
    rand::thread_rng().fill(&mut secret[..]);
    secret
}

impl Lockout {
    /// Refuses an attempt during a lockout (not counted); forgets old failures after a quiet time.
    fn admit(&mut self, now: SystemTime) -> Result<(), Refusal> {
        if let Some(last) = self.last_attempt
            && now.duration_since(last).unwrap_or_default() >= LOCKOUT_RESET
        {
            *self = Lockout::default();
        }
        self.last_attempt = Some(now);
        if self.locked_until.is_some_and(|until| now < until) {
            return Err(Refusal::LockedOut);
        }
        Ok(())
    }

    fn fail(&mut self, now: SystemTime) {
        self.failures = self.failures.saturating_add(1);
        if self.failures >= FREE_FAILURES {
            let exponent = self.failures - FREE_FAILURES;
            let seconds = 1u64.checked_shl(exponent).unwrap_or(u64::MAX);
            self.locked_until = Some(now + Duration::from_secs(seconds).min(MAX_LOCKOUT));
        }
    }

    fn succeed(&mut self) {
        self.failures = 0;
        self.locked_until = None;
    }
}

/// The step whose code `code` is, among the current step and the ones before and after.
fn matching_step(secret: &[u8], code: &str, now: SystemTime) -> Option<u64> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let seconds = now.duration_since(UNIX_EPOCH).ok()?.as_secs();
    let current = seconds / TOTP_STEP;
    let totp = totp(secret, None, "");
    [
        current.checked_sub(1),
        Some(current),
        current.checked_add(1),
    ]
    .into_iter()
    .flatten()
    .find(|step| {
        let expected = totp.generate(step * TOTP_STEP);
        bool::from(expected.as_bytes().ct_eq(code.as_bytes()))
    })
}

/// RFC 6238 with Cognito's parameters: SHA-1, 6 digits, 30-second steps.
fn totp(secret: &[u8], issuer: Option<&str>, account: &str) -> TOTP {
    TOTP::new_unchecked(
        Algorithm::SHA1,
        6,
        1,
        TOTP_STEP,
        secret.to_vec(),
        issuer.map(str::to_owned),
        account.to_owned(),
    )
}

/// The secret as authenticator apps take it typed in: base32 without padding.
pub(crate) fn secret_base32(secret: &[u8]) -> String {
    base32_encode(secret)
}

/// The `otpauth://totp/<issuer>:<account>?secret=…&issuer=<issuer>` URI an authenticator app reads from the
/// QR code (a `:` in either name would end the label early, so it becomes a space).
pub(crate) fn otpauth_uri(secret: &[u8], issuer: &str, account: &str) -> String {
    totp(
        secret,
        Some(&issuer.replace(':', " ")),
        &account.replace(':', " "),
    )
    .get_url()
}

/// The code an authenticator app shows for `secret` at `at` (tests and the stand-in's own checks).
pub fn totp_code(secret_base32: &str, at: SystemTime) -> Option<String> {
    let secret = base32_decode(secret_base32)?;
    let seconds = at.duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(totp(&secret, None, "").generate(seconds))
}

/// RFC 4648 base32 without padding, as authenticator apps read secrets.
fn base32_encode(bytes: &[u8]) -> String {
    totp_rs::Secret::Raw(bytes.to_vec())
        .to_encoded()
        .to_string()
}

fn base32_decode(text: &str) -> Option<Vec<u8>> {
    totp_rs::Secret::Encoded(text.trim().to_ascii_uppercase())
        .to_bytes()
        .ok()
}

/// The password's Argon2id hash with a fresh salt.
fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// The first rule of `policy` that `password` breaks, in Cognito's words ("Password not long enough").
pub(crate) fn policy_violation(policy: &PasswordPolicy, password: &str) -> Option<&'static str> {
    let has = |test: fn(char) -> bool| password.chars().any(test);
    // A space counts as a symbol, but not at either end (where Cognito refuses the password outright).
    let inner_space = password.trim_matches(' ').contains(' ');
    if password.chars().count() < policy.minimum_length {
        Some("Password not long enough")
    } else if password.starts_with(' ') || password.ends_with(' ') {
        Some("Password must not begin or end with a space")
    } else if policy.require_uppercase && !has(|c| c.is_ascii_uppercase()) {
        Some("Password must have uppercase characters")
    } else if policy.require_lowercase && !has(|c| c.is_ascii_lowercase()) {
        Some("Password must have lowercase characters")
    } else if policy.require_numbers && !has(|c| c.is_ascii_digit()) {
        Some("Password must have numeric characters")
    } else if policy.require_symbols && !has(|c| SYMBOLS.contains(c)) && !inner_space {
        Some("Password must have symbol characters")
    } else {
        None
    }
}

/// A temporary password that satisfies `policy`: what `AdminCreateUser` generates when it is given none.
pub(crate) fn generate_temporary_password(policy: &PasswordPolicy) -> String {
    const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const DIGITS: &[u8] = b"23456789";
    const SYMBOL: &[u8] = b"!#%+-=?@^_";
    let mut rng = rand::thread_rng();
    let pick =
        |set: &[u8], rng: &mut rand::rngs::ThreadRng| char::from(set[rng.gen_range(0..set.len())]);
    let mut chars: Vec<char> = vec![
        pick(UPPER, &mut rng),
        pick(LOWER, &mut rng),
        pick(DIGITS, &mut rng),
        pick(SYMBOL, &mut rng),
    ];
    let all: Vec<u8> = [LOWER, UPPER, DIGITS, SYMBOL].concat();
    while chars.len() < policy.minimum_length.max(12) {
        chars.push(pick(&all, &mut rng));
    }
    // Shuffled, so that the kinds are not always in the same places.
    chars.shuffle(&mut rng);
    chars.into_iter().collect()
}

/// The native accounts of one pool, by user name.
pub(crate) struct Accounts {
    accounts: Mutex<HashMap<String, Account>>,
    /// A hash no password matches, checked when a sign-in names no account, so that it takes as long as one
    /// that does.
    decoy: OnceLock<String>,
}

impl Accounts {
    pub(crate) fn new() -> Accounts {
        Accounts {
            accounts: Mutex::new(HashMap::new()),
            decoy: OnceLock::new(),
        }
    }

    /// Checks `password` against a hash nothing matches: the time a wrong password costs.
    pub(crate) fn spend_a_password_check(&self, password: &str) {
        let decoy = self.decoy.get_or_init(|| {
            let mut random = [0u8; 32];
            rand::thread_rng().fill(&mut random);
            hash_password(&secret_base32(&random)).unwrap_or_default()
        });
        let _never = verify_password(decoy, password);
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Account>> {
        // Each critical section leaves whole entries behind, so a poisoned map is still consistent.
        self.accounts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn get(&self, username: &str) -> Option<Account> {
        self.lock().get(username).cloned()
    }

    pub(crate) fn insert(&self, username: &str, account: Account) {
        self.lock().insert(username.to_owned(), account);
    }

    /// Changes the account under the lock; `None` when there is none.
    pub(crate) fn update<T>(
        &self,
        username: &str,
        change: impl FnOnce(&mut Account) -> T,
    ) -> Option<T> {
        self.lock().get_mut(username).map(change)
    }

    pub(crate) fn remove(&self, username: &str) -> Option<Account> {
        self.lock().remove(username)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An account just invited at `at` with the temporary password `Temporary-Pass1`, valid a minute.
    fn invited(at: SystemTime) -> Account {
        Account::created_with_temporary_password(TEMPORARY, Duration::from_secs(60), at).unwrap()
    }

    const TEMPORARY: &str = "Temporary-Pass1";

    fn policy() -> PasswordPolicy {
        PasswordPolicy {
            minimum_length: 12,
            require_uppercase: true,
            require_lowercase: true,
            require_numbers: true,
            require_symbols: true,
            temporary_password_validity_days: 7,
        }
    }

    #[test]
    fn the_policy_reports_the_first_rule_broken_in_cognitos_words() {
        let policy = policy();
        for (password, reason) in [
            ("Sh0rt!", Some("Password not long enough")),
            (
                "lowercase-only-1",
                Some("Password must have uppercase characters"),
            ),
            (
                "UPPERCASE-ONLY-1",
                Some("Password must have lowercase characters"),
            ),
            (
                "No-Digits-Here!",
                Some("Password must have numeric characters"),
            ),
            (
                "NoSymbols12345",
                Some("Password must have symbol characters"),
            ),
            ("With Space 12345", None),
            (
                " Leading-Space1A",
                Some("Password must not begin or end with a space"),
            ),
            ("Correct-Horse-9", None),
        ] {
            assert_eq!(policy_violation(&policy, password), reason, "{password}");
        }
    }

    #[test]
    fn generated_temporary_passwords_satisfy_the_policy() {
        let policy = policy();
        for _ in 0..200 {
            let password = generate_temporary_password(&policy);
            assert_eq!(policy_violation(&policy, &password), None, "{password}");
        }
    }

    #[test]
    fn five_failures_lock_the_account_out_for_doubling_times_and_a_success_clears_them() {
        let start = SystemTime::now();
        let mut account = invited(start);
        account.set_password("Right-Password-1", start).unwrap();
        for _ in 0..4 {
            assert_eq!(account.check_password("wrong", start), Err(Refusal::Wrong));
        }
        // The fifth failure locks for 1 s, the sixth for 2 s.
        assert_eq!(account.check_password("wrong", start), Err(Refusal::Wrong));
        assert_eq!(
            account.check_password("Right-Password-1", start),
            Err(Refusal::LockedOut),
            "even the right password, during a lockout"
        );
        let later = start + Duration::from_secs(1);
        assert_eq!(account.check_password("wrong", later), Err(Refusal::Wrong));
        assert_eq!(
            account.check_password("Right-Password-1", later + Duration::from_millis(1999)),
            Err(Refusal::LockedOut)
        );
        assert_eq!(
            account.check_password("Right-Password-1", later + Duration::from_secs(2)),
            Ok(())
        );
        assert_eq!(account.password_lockout.failures, 0);
    }

    #[test]
    fn the_lockout_is_at_most_about_fifteen_minutes_and_quiet_time_forgets_it() {
        let mut lockout = Lockout::default();
        let now = SystemTime::now();
        for _ in 0..40 {
            lockout.fail(now);
        }
        assert_eq!(lockout.locked_until, Some(now + MAX_LOCKOUT));
        lockout.last_attempt = Some(now);
        assert_eq!(lockout.admit(now + LOCKOUT_RESET), Ok(()));
        assert_eq!(lockout.failures, 0);
    }

    #[test]
    fn a_temporary_password_past_its_validity_is_refused_even_when_right() {
        let start = SystemTime::now();
        let mut account = invited(start);
        assert_eq!(account.check_password("Temporary-Pass1", start), Ok(()));
        assert_eq!(
            account.check_password("Temporary-Pass1", start + Duration::from_secs(61)),
            Err(Refusal::TemporaryPasswordExpired)
        );
    }

    #[test]
    fn totp_codes_work_one_step_early_or_late_and_once() {
        let start = SystemTime::now();
        let mut account = invited(start);
        let secret = new_authenticator_secret();
        let encoded = secret_base32(&secret);
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let code = |at: SystemTime| totp_code(&encoded, at).unwrap();
        assert_eq!(
            account.verify_authenticator(&secret, "000000x", now),
            Err(Refusal::Wrong)
        );
        account
            .verify_authenticator(&secret, &code(now), now)
            .unwrap();
        assert!(account.has_authenticator());
        // The set-up code's step is used: the same code cannot sign in.
        assert_eq!(
            account.check_code(&code(now), now),
            Err(Refusal::CodeReused)
        );
        let next = now + Duration::from_secs(30);
        assert_eq!(
            account.check_code(&code(next), now),
            Ok(()),
            "one step late"
        );
        assert_eq!(
            account.check_code(&code(next), next),
            Err(Refusal::CodeReused)
        );
        let far = next + Duration::from_secs(90);
        assert_eq!(
            account.check_code(&code(far), next),
            Err(Refusal::Wrong),
            "three steps away"
        );
    }

    #[test]
    fn a_reset_code_works_for_an_hour_and_only_the_latest_one() {
        let start = SystemTime::now();
        let mut account = invited(start);
        assert_eq!(
            account.check_reset_code("123456", start),
            Err(Refusal::Expired)
        );
        let first = account.new_reset_code(start);
        let second = account.new_reset_code(start);
        if first != second {
            assert_eq!(account.check_reset_code(&first, start), Err(Refusal::Wrong));
        }
        assert_eq!(account.check_reset_code(&second, start), Ok(()));
        assert_eq!(
            account.check_reset_code(
                &second,
                start + RESET_CODE_VALIDITY + Duration::from_secs(1)
            ),
            Err(Refusal::Expired)
        );
    }

    #[test]
    fn passwords_are_stored_as_argon2id_hashes() {
        let account = invited(SystemTime::now());
        assert!(
            account.password_hash.starts_with("$argon2id$"),
            "{}",
            account.password_hash
        );
        assert!(!account.password_hash.contains("Temporary-Pass1"));
    }

    #[test]
    fn the_otpauth_uri_names_the_issuer_and_account_and_carries_the_secret() {
        let uri = otpauth_uri(
            b"12345678901234567890",
            "saas-reference-operators",
            "ops@example.com",
        );
        let parsed = url::Url::parse(&uri).unwrap();
        assert_eq!(parsed.scheme(), "otpauth");
        assert_eq!(parsed.host_str(), Some("totp"));
        assert!(
            parsed.path().contains("saas-reference-operators")
                && parsed.path().contains("ops%40example.com"),
            "{uri}"
        );
        let query: HashMap<String, String> = parsed.query_pairs().into_owned().collect();
        assert_eq!(query["secret"], "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(query["issuer"], "saas-reference-operators");
        // RFC 6238's test vector for SHA-1 at T = 59 s: 94287082, of which six digits are shown.
        assert_eq!(
            totp_code(
                "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
                UNIX_EPOCH + Duration::from_secs(59)
            )
            .as_deref(),
            Some("287082")
        );
    }
}
