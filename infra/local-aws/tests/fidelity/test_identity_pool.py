"""The identity pool through boto3's `cognito-identity` client (the operations are unsigned on AWS)."""

import datetime
import re

import pytest
from botocore.exceptions import ClientError

from conftest import unsigned


def logins(settings, token):
    return {f"cognito-idp.{settings['region']}.amazonaws.com/{settings['user_pool_id']}": token}


@pytest.fixture
def identity(settings):
    return unsigned("cognito-identity", settings, settings["identity_pool_endpoint"])


def test_an_id_token_gets_an_identity_and_one_hour_credentials(settings, identity, signed_in):
    _, tokens, _ = signed_in
    # https://docs.aws.amazon.com/cognitoidentity/latest/APIReference/API_GetId.html
    answer = identity.get_id(
        IdentityPoolId=settings["identity_pool_id"], Logins=logins(settings, tokens["id_token"])
    )
    identity_id = answer["IdentityId"]
    assert re.fullmatch(re.escape(settings["region"]) + r":[0-9a-f-]{36}", identity_id)
    # https://docs.aws.amazon.com/cognitoidentity/latest/APIReference/API_GetCredentialsForIdentity.html
    answer = identity.get_credentials_for_identity(
        IdentityId=identity_id, Logins=logins(settings, tokens["id_token"])
    )
    credentials = answer["Credentials"]
    assert credentials["AccessKeyId"].startswith("ASIA")
    assert credentials["SecretKey"] and credentials["SessionToken"]
    left = credentials["Expiration"] - datetime.datetime.now(datetime.timezone.utc)
    assert datetime.timedelta(minutes=59) < left <= datetime.timedelta(hours=1)


def test_bad_tokens_and_unknown_pools_get_the_documented_errors(settings, identity):
    # https://docs.aws.amazon.com/cognitoidentity/latest/APIReference/API_GetId.html#API_GetId_Errors
    with pytest.raises(ClientError) as refused:
        identity.get_id(IdentityPoolId=settings["identity_pool_id"], Logins=logins(settings, "not.a.token"))
    assert refused.value.response["Error"]["Code"] == "NotAuthorizedException"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as refused:
        identity.get_id(
            IdentityPoolId=settings["region"] + ":00000000-0000-4000-8000-000000000000",
            Logins=logins(settings, settings["tagged_id_token"]),
        )
    assert refused.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_a_signed_out_users_token_gets_no_credentials(settings, identity, signed_in):
    client, tokens, _ = signed_in
    answer = identity.get_id(
        IdentityPoolId=settings["identity_pool_id"], Logins=logins(settings, tokens["id_token"])
    )
    client.revoke_token(settings["auth_domain"] + "/oauth2/revoke", token=tokens["refresh_token"])
    # https://docs.aws.amazon.com/cognitoidentity/latest/APIReference/API_CognitoIdentityProvider.html
    # (ServerSideTokenCheck: "If the user is signed out or deleted, the identity pool will return a 400 Not
    # Authorized error.")
    with pytest.raises(ClientError) as refused:
        identity.get_credentials_for_identity(
            IdentityId=answer["IdentityId"], Logins=logins(settings, tokens["id_token"])
        )
    assert refused.value.response["Error"]["Code"] == "NotAuthorizedException"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
