"""The user pool as an OpenID Connect provider, driven by Authlib's generic client."""

import base64
import json
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from authlib.oidc.core import CodeIDToken

from conftest import oauth_session


def header(token):
    part = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_discovery_names_the_pools_endpoints_and_rs256(settings, discovery):
    # https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-userpools-server-contract-reference.html
    assert discovery["issuer"] == settings["issuer"]
    assert discovery["jwks_uri"] == settings["issuer"] + "/.well-known/jwks.json"
    assert discovery["authorization_endpoint"] == settings["auth_domain"] + "/oauth2/authorize"
    assert discovery["token_endpoint"] == settings["auth_domain"] + "/oauth2/token"
    assert discovery["userinfo_endpoint"] == settings["auth_domain"] + "/oauth2/userInfo"
    assert discovery["id_token_signing_alg_values_supported"] == ["RS256"]
    assert set(discovery["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
    }


def test_the_code_flow_with_pkce_ends_in_tokens_a_generic_client_validates(settings, discovery, signed_in):
    _, tokens, nonce = signed_in
    # https://docs.aws.amazon.com/cognito/latest/developerguide/token-endpoint.html
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 3600
    assert tokens["refresh_token"]
    keys = JsonWebKey.import_key_set(requests.get(discovery["jwks_uri"]).json())
    # https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-id-token.html
    # Authlib checks the signature, iss, aud, exp, iat, nonce and the at_hash of the access token.
    claims = jwt.decode(
        tokens["id_token"],
        keys,
        claims_cls=CodeIDToken,
        claims_options={"iss": {"essential": True, "value": settings["issuer"]}},
        claims_params={
            "nonce": nonce,
            "client_id": settings["web_client_id"],
            "access_token": tokens["access_token"],
        },
    )
    claims.validate()
    assert claims["token_use"] == "id"
    assert claims["at_hash"]
    assert claims["event_id"]
    assert claims["cognito:username"].startswith(settings["provider"] + "_")
    assert claims["cognito:username"] == claims["cognito:username"].lower()
    identity = claims["identities"][0]
    assert identity["providerName"] == settings["provider"]
    assert identity["providerType"] == "OIDC"
    assert identity["primary"] == "true" and isinstance(identity["dateCreated"], str)
    assert claims["email_verified"] is True
    # https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-access-token.html
    access = jwt.decode(tokens["access_token"], keys)
    access.validate()
    assert access["token_use"] == "access"
    assert access["client_id"] == settings["web_client_id"]
    assert access["version"] == 2
    assert access["event_id"] == claims["event_id"]
    assert access["origin_jti"] == claims["origin_jti"]
    assert "saas-api/read" in access["scope"].split()
    # The header carries kid and alg only, and the two tokens are signed with different keys.
    assert set(header(tokens["id_token"])) == {"kid", "alg"}
    assert set(header(tokens["access_token"])) == {"kid", "alg"}
    assert header(tokens["id_token"])["kid"] != header(tokens["access_token"])["kid"]


def test_user_info_answers_attribute_strings(settings, discovery, signed_in):
    client, tokens, _ = signed_in
    # https://docs.aws.amazon.com/cognito/latest/developerguide/userinfo-endpoint.html
    # "Amazon Cognito returns the values for email_verified and phone_number_verified as strings."
    info = client.get(discovery["userinfo_endpoint"]).json()
    assert info["email"] == settings["user"]
    assert info["email_verified"] == "true"
    assert info["username"] == info["username"].lower()
    assert isinstance(info["identities"], str)


def test_refresh_then_revoke_ends_the_sign_in(settings, discovery, signed_in):
    client, tokens, _ = signed_in
    # https://docs.aws.amazon.com/cognito/latest/developerguide/token-endpoint.html (refresh_token grant)
    refreshed = client.refresh_token(discovery["token_endpoint"], refresh_token=tokens["refresh_token"])
    assert refreshed["access_token"] != tokens["access_token"]
    assert refreshed["id_token"]
    # https://docs.aws.amazon.com/cognito/latest/developerguide/revocation-endpoint.html
    revoked = client.revoke_token(
        settings["auth_domain"] + "/oauth2/revoke", token=tokens["refresh_token"]
    )
    assert revoked.status_code == 200
    with pytest.raises(OAuthError) as refused:
        client.refresh_token(discovery["token_endpoint"], refresh_token=tokens["refresh_token"])
    assert refused.value.error == "invalid_grant"
    answer = requests.get(
        discovery["userinfo_endpoint"],
        headers={"Authorization": "Bearer " + refreshed["access_token"]},
    )
    assert answer.status_code == 401


def test_client_credentials_with_the_secret_in_the_body(settings, discovery):
    # https://docs.aws.amazon.com/cognito/latest/developerguide/token-endpoint.html (client_credentials;
    # the secret in an Authorization header or in the request body)
    machine = OAuth2Session(
        client_id=settings["machine_client_id"],
        client_secret=settings["machine_client_secret"],
        token_endpoint_auth_method="client_secret_post",
        scope="saas-api/read",
    )
    tokens = machine.fetch_token(discovery["token_endpoint"], grant_type="client_credentials")
    assert tokens["token_type"] == "Bearer"
    assert "id_token" not in tokens and "refresh_token" not in tokens
    keys = JsonWebKey.import_key_set(requests.get(discovery["jwks_uri"]).json())
    access = jwt.decode(tokens["access_token"], keys)
    assert access["scope"] == "saas-api/read"
    assert access["sub"] == settings["machine_client_id"]


def test_a_wrong_client_secret_is_invalid_client(settings, discovery):
    wrong = OAuth2Session(
        client_id=settings["machine_client_id"],
        client_secret="not-the-secret",
        scope="saas-api/read",
    )
    with pytest.raises(OAuthError) as refused:
        wrong.fetch_token(discovery["token_endpoint"], grant_type="client_credentials")
    # https://docs.aws.amazon.com/cognito/latest/developerguide/token-endpoint.html (error responses)
    assert refused.value.error == "invalid_client"


def test_an_unregistered_redirect_uri_never_goes_back_to_it(settings, discovery):
    client = oauth_session(settings, redirect_uri="https://evil.example/callback")
    url, _ = client.create_authorization_url(
        discovery["authorization_endpoint"], code_verifier="v" * 64, nonce="n"
    )
    answer = requests.get(url, allow_redirects=False)
    location = answer.headers.get("location", "")
    assert not location.startswith("https://evil.example")
    # Cognito's own error page: /error?error=redirect_mismatch&client_id=<id> (observed, not documented).
    assert urlparse(location).path == "/error"
    assert parse_qs(urlparse(location).query)["error"] == ["redirect_mismatch"]
