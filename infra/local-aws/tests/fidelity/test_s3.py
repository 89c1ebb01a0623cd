"""S3 through boto3, with the identity pool's short-lived credentials of the upload role and with the
backend's own key."""

import hashlib

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import unsigned
from test_identity_pool import logins


def s3_client(settings, access_key, secret_key, session_token=None):
    return boto3.client(
        "s3",
        region_name=settings["region"],
        endpoint_url=settings["s3_endpoint"],
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        aws_session_token=session_token,
        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
    )


@pytest.fixture(scope="module")
def uploader(settings):
    """The upload role's session for the harness's user, and its own prefix."""
    identity = unsigned("cognito-identity", settings, settings["identity_pool_endpoint"])
    token = settings["tagged_id_token"]
    identity_id = identity.get_id(IdentityPoolId=settings["identity_pool_id"], Logins=logins(settings, token))[
        "IdentityId"
    ]
    credentials = identity.get_credentials_for_identity(IdentityId=identity_id, Logins=logins(settings, token))[
        "Credentials"
    ]
    client = s3_client(
        settings, credentials["AccessKeyId"], credentials["SecretKey"], credentials["SessionToken"]
    )
    return client, f"{settings['tenant_id']}/{settings['user_sub']}/uploads/", credentials


def code(error):
    return error.value.response["Error"]["Code"]


def status(error):
    return error.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_put_get_head_and_list_under_the_users_own_prefix(settings, uploader):
    s3, prefix, _ = uploader
    body = b"quarterly numbers\n"
    # https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html
    put = s3.put_object(Bucket=settings["bucket"], Key=prefix + "report.txt", Body=body, ContentType="text/plain")
    assert put["ETag"] == '"' + hashlib.md5(body).hexdigest() + '"'
    got = s3.get_object(Bucket=settings["bucket"], Key=prefix + "report.txt")
    assert got["Body"].read() == body
    head = s3.head_object(Bucket=settings["bucket"], Key=prefix + "report.txt")
    assert head["ContentLength"] == len(body) and head["ContentType"] == "text/plain"
    # https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
    listed = s3.list_objects_v2(Bucket=settings["bucket"], Prefix=prefix)
    assert [o["Key"] for o in listed["Contents"]] == [prefix + "report.txt"]


def test_outside_the_prefix_everything_is_access_denied(settings, uploader):
    s3, prefix, _ = uploader
    other = f"{settings['tenant_id']}/someone-else/uploads/x.txt"
    with pytest.raises(ClientError) as denied:
        s3.put_object(Bucket=settings["bucket"], Key=other, Body=b"x")
    assert (code(denied), status(denied)) == ("AccessDenied", 403)
    with pytest.raises(ClientError) as denied:
        s3.list_objects_v2(Bucket=settings["bucket"], Prefix=settings["tenant_id"] + "/")
    assert code(denied) == "AccessDenied"


def test_a_missing_key_is_404_only_where_the_caller_may_list(settings, uploader):
    s3, prefix, _ = uploader
    # https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html (Permissions: without
    # s3:ListBucket, 403 instead of 404)
    with pytest.raises(ClientError) as missing:
        s3.head_object(Bucket=settings["bucket"], Key=prefix + "never-uploaded.txt")
    assert status(missing) == 404
    with pytest.raises(ClientError) as missing:
        s3.get_object(Bucket=settings["bucket"], Key=prefix + "never-uploaded.txt")
    assert code(missing) == "NoSuchKey"
    with pytest.raises(ClientError) as hidden:
        s3.head_object(Bucket=settings["bucket"], Key="another-tenant/u/uploads/never-uploaded.txt")
    assert status(hidden) == 403


def test_a_multipart_upload_gets_s3s_multipart_etag(settings, uploader):
    s3, prefix, _ = uploader
    key = prefix + "big.bin"
    parts = [b"a" * (5 * 1024 * 1024), b"b" * 1024]
    # https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html
    upload = s3.create_multipart_upload(Bucket=settings["bucket"], Key=key)
    etags = []
    for number, part in enumerate(parts, start=1):
        answer = s3.upload_part(
            Bucket=settings["bucket"], Key=key, UploadId=upload["UploadId"], PartNumber=number, Body=part
        )
        etags.append(answer["ETag"])
    done = s3.complete_multipart_upload(
        Bucket=settings["bucket"],
        Key=key,
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"ETag": e, "PartNumber": n} for n, e in enumerate(etags, start=1)]},
    )
    digests = b"".join(hashlib.md5(p).digest() for p in parts)
    assert done["ETag"] == f'"{hashlib.md5(digests).hexdigest()}-2"'


def test_presigned_urls_work_within_a_week_and_not_beyond(settings, uploader):
    s3, prefix, _ = uploader
    s3.put_object(Bucket=settings["bucket"], Key=prefix + "shared.txt", Body=b"hello")
    # https://docs.aws.amazon.com/AmazonS3/latest/userguide/ShareObjectPreSignedURL.html
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": settings["bucket"], "Key": prefix + "shared.txt"}, ExpiresIn=300
    )
    answer = requests.get(url)
    assert (answer.status_code, answer.content) == (200, b"hello")
    # https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html (X-Amz-Expires: 1 to 604800)
    too_long = s3.generate_presigned_url(
        "get_object", Params={"Bucket": settings["bucket"], "Key": prefix + "shared.txt"}, ExpiresIn=604801
    )
    answer = requests.get(too_long)
    assert answer.status_code == 400
    assert "<Code>AuthorizationQueryParametersError</Code>" in answer.text


def test_a_wrong_secret_is_signature_does_not_match_with_what_s3_computed(settings, uploader):
    _, prefix, credentials = uploader
    wrong = s3_client(settings, credentials["AccessKeyId"], "x" * 40, credentials["SessionToken"])
    # https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
    with pytest.raises(ClientError) as refused:
        wrong.get_object(Bucket=settings["bucket"], Key=prefix + "report.txt")
    assert (code(refused), status(refused)) == ("SignatureDoesNotMatch", 403)
    error = refused.value.response["Error"]
    assert error["AWSAccessKeyId"] == credentials["AccessKeyId"]
    assert error["StringToSign"].startswith("AWS4-HMAC-SHA256\n")
    assert "CanonicalRequest" in error


def test_a_session_key_without_its_token_is_an_unknown_key(settings, uploader):
    _, prefix, credentials = uploader
    tokenless = s3_client(settings, credentials["AccessKeyId"], credentials["SecretKey"])
    with pytest.raises(ClientError) as refused:
        tokenless.get_object(Bucket=settings["bucket"], Key=prefix + "report.txt")
    assert (code(refused), status(refused)) == ("InvalidAccessKeyId", 403)


def test_the_backends_key_lists_the_upload_bucket_so_a_missing_key_is_404(settings):
    backend = s3_client(settings, settings["backend_access_key"], settings["backend_secret_key"])
    with pytest.raises(ClientError) as missing:
        backend.head_object(Bucket=settings["bucket"], Key="t/u/uploads/never-uploaded.txt")
    assert status(missing) == 404
    with pytest.raises(ClientError) as denied:
        backend.put_object(Bucket=settings["bucket"], Key="t/u/uploads/x.txt", Body=b"x")
    assert code(denied) == "AccessDenied"
