"""Shared set-up of the fidelity suite: the stand-ins' addresses (from the Rust harness) and a browser walk
through the user pool's federated sign-in."""

import json
import os
import secrets
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlparse

import boto3
import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from botocore import UNSIGNED
from botocore.config import Config


@pytest.fixture(scope="session")
def settings():
    return json.loads(os.environ["FIDELITY_SETTINGS"])


class _Form(HTMLParser):
    """The first form of a page: its action and its input fields."""

    def __init__(self):
        super().__init__()
        self.action = None
        self.fields = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = attrs.get("action", "")
        elif tag == "input" and attrs.get("name") and attrs.get("type") == "hidden":
            self.fields[attrs["name"]] = attrs.get("value", "")


def walk_to_callback(browser, authorize_url, user, password):
    """Follows the browser from the pool's /oauth2/authorize through the IdP's login form back to the pool,
    and returns the pool's final redirect (to the app's callback), without following it."""
    to_idp = browser.get(authorize_url, allow_redirects=False)
    assert to_idp.status_code == 302, to_idp.text
    login_url = to_idp.headers["location"]
    page = browser.get(login_url)
    assert page.status_code == 200, page.text
    form = _Form()
    form.feed(page.text)
    fields = dict(form.fields, username=user, password=password)
    back = browser.post(urljoin(login_url, form.action), data=fields, allow_redirects=False)
    assert back.status_code == 302, back.text
    to_app = browser.get(back.headers["location"], allow_redirects=False)
    assert to_app.status_code == 302, to_app.text
    return to_app.headers["location"]


@pytest.fixture(scope="session")
def discovery(settings):
    # https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-tokens-verifying-a-jwt.html
    answer = requests.get(settings["issuer"] + "/.well-known/openid-configuration")
    assert answer.status_code == 200
    return answer.json()


def oauth_session(settings, redirect_uri=None):
    return OAuth2Session(
        client_id=settings["web_client_id"],
        client_secret=settings["web_client_secret"],
        redirect_uri=redirect_uri or settings["callback"],
        scope="openid email profile saas-api/read",
        code_challenge_method="S256",
    )


@pytest.fixture
def signed_in(settings, discovery):
    """A complete authorization code + PKCE sign-in by Authlib: (session, tokens, nonce)."""
    client = oauth_session(settings)
    verifier = secrets.token_urlsafe(48)
    nonce = secrets.token_urlsafe(16)
    url, state = client.create_authorization_url(
        discovery["authorization_endpoint"],
        code_verifier=verifier,
        nonce=nonce,
        identity_provider=settings["provider"],
    )
    callback = walk_to_callback(requests.Session(), url, settings["user"], settings["password"])
    assert parse_qs(urlparse(callback).query)["state"] == [state]
    tokens = client.fetch_token(
        discovery["token_endpoint"], authorization_response=callback, code_verifier=verifier
    )
    return client, tokens, nonce


def unsigned(service, settings, endpoint):
    return boto3.client(
        service,
        region_name=settings["region"],
        endpoint_url=endpoint,
        config=Config(signature_version=UNSIGNED),
    )
