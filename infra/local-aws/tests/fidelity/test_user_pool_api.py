"""The user-pool API (`cognito-idp`, awsJson 1.1 with SigV4) through boto3, with the backend's key."""

import boto3
import pytest
from botocore.exceptions import ClientError


@pytest.fixture
def cognito(settings):
    return boto3.client(
        "cognito-idp",
        region_name=settings["region"],
        endpoint_url=settings["user_pool_endpoint"],
        aws_access_key_id=settings["backend_access_key"],
        aws_secret_access_key=settings["backend_secret_key"],
    )


def test_providers_and_clients_are_described_as_the_service_model_says(settings, cognito):
    # https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ListIdentityProviders.html
    listed = cognito.list_identity_providers(UserPoolId=settings["user_pool_id"])
    names = [p["ProviderName"] for p in listed["Providers"]]
    assert settings["provider"] in names
    described = cognito.describe_identity_provider(
        UserPoolId=settings["user_pool_id"], ProviderName=settings["provider"]
    )["IdentityProvider"]
    assert described["ProviderType"] == "OIDC"
    assert described["ProviderDetails"]["attributes_request_method"] in ("GET", "POST")
    client = cognito.describe_user_pool_client(
        UserPoolId=settings["user_pool_id"], ClientId=settings["web_client_id"]
    )["UserPoolClient"]
    assert client["ClientId"] == settings["web_client_id"]
    assert settings["provider"] in client["SupportedIdentityProviders"]


def test_errors_carry_the_service_models_types(settings, cognito):
    # https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_DescribeIdentityProvider.html#API_DescribeIdentityProvider_Errors
    with pytest.raises(ClientError) as missing:
        cognito.describe_identity_provider(UserPoolId=settings["user_pool_id"], ProviderName="no-such-idp")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as invalid:
        cognito.list_identity_providers(UserPoolId=settings["user_pool_id"], MaxResults=61)
    assert invalid.value.response["Error"]["Code"] == "InvalidParameterException"
    # Another pool is outside the backend's policy.
    with pytest.raises(ClientError) as denied:
        cognito.list_identity_providers(UserPoolId=settings["region"] + "_OtherPool1")
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"


def test_a_wrong_secret_is_an_invalid_signature(settings):
    wrong = boto3.client(
        "cognito-idp",
        region_name=settings["region"],
        endpoint_url=settings["user_pool_endpoint"],
        aws_access_key_id=settings["backend_access_key"],
        aws_secret_access_key="x" * 40,
    )
    with pytest.raises(ClientError) as refused:
        wrong.list_identity_providers(UserPoolId=settings["user_pool_id"])
    assert refused.value.response["Error"]["Code"] == "InvalidSignatureException"
