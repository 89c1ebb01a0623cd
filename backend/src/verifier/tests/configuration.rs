//! The verifier's configuration.

use super::*;

#[test]
fn defaults_match_the_contract() {
    let config = VerifierConfig::default();

    assert!(config.issuers.is_empty());
    assert_eq!(config.jwks_refetch_penalty, Duration::from_secs(10));
    assert_eq!(config.leeway, Duration::from_secs(5));
    assert_eq!(config.fetch_timeout, Duration::from_secs(3));
    assert_eq!(config.token_cache_capacity, 10_000);
}

#[test]
fn setup_rejects_configurations_that_could_never_accept_a_token() {
    let issuer = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123";
    let with_issuers = |issuers: Vec<IssuerConfig>| {
        AccessTokenVerifier::new(VerifierConfig {
            issuers,
            ..VerifierConfig::default()
        })
    };

    assert!(matches!(
        with_issuers(vec![]),
        Err(VerifierSetupError::NoIssuers)
    ));
    assert!(matches!(
        with_issuers(vec![IssuerConfig::cognito(issuer, Vec::<String>::new())]),
        Err(VerifierSetupError::NoClientIds { .. })
    ));
    assert!(matches!(
        with_issuers(vec![
            IssuerConfig::cognito(issuer, [WEB_CLIENT]),
            IssuerConfig::cognito(issuer, [MACHINE_CLIENT]),
        ]),
        Err(VerifierSetupError::DuplicateIssuer { .. })
    ));
    assert!(matches!(
        with_issuers(vec![IssuerConfig::cognito(
            "eu-west-1_AbC123",
            [WEB_CLIENT]
        )]),
        Err(VerifierSetupError::IssuerNotAUrl { .. })
    ));
    let mut file_jwks = IssuerConfig::cognito(issuer, [WEB_CLIENT]);
    file_jwks.jwks_uri = Some("file:///etc/jwks.json".parse().unwrap());
    assert!(matches!(
        with_issuers(vec![file_jwks]),
        Err(VerifierSetupError::InvalidJwksUri { .. })
    ));
    let lenient = AccessTokenVerifier::new(VerifierConfig {
        issuers: vec![IssuerConfig::cognito(issuer, [WEB_CLIENT])],
        leeway: Duration::from_secs(301),
        ..VerifierConfig::default()
    });
    assert!(matches!(
        lenient,
        Err(VerifierSetupError::LeewayTooLarge { max_secs: 300 })
    ));
    assert!(with_issuers(vec![IssuerConfig::cognito(issuer, [WEB_CLIENT])]).is_ok());
}

#[test]
fn unavailable_is_reported_only_for_jwks_outages() {
    assert!(VerifyError::JwksUnavailable(JwksFetchError::RecentFailure).is_unavailable());
    assert!(VerifyError::JwksUnavailable(JwksFetchError::Status(500)).is_unavailable());
    for error in [
        VerifyError::UnknownKid,
        VerifyError::UnknownIssuer,
        VerifyError::InvalidSignature,
        VerifyError::Expired,
        VerifyError::NotThreeParts,
    ] {
        assert!(!error.is_unavailable(), "{error:?}");
    }
}
