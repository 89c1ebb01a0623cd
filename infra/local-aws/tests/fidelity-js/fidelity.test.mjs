// The stand-ins driven by the AWS SDK for JavaScript v3 (the SDK the web app's kind of client uses) and
// openid-client (a certified OpenID Connect relying party), each case next to the AWS documentation address
// of the answer it expects. Run by tests/local_aws/fidelity.rs with node's own test runner.

import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { test } from "node:test";

import {
  CognitoIdentityClient,
  GetCredentialsForIdentityCommand,
  GetIdCommand,
} from "@aws-sdk/client-cognito-identity";
import {
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import * as oidc from "openid-client";

const settings = JSON.parse(process.env.FIDELITY_SETTINGS);

/** The pool's Logins key. */
const loginsKey = `cognito-idp.${settings.region}.amazonaws.com/${settings.user_pool_id}`;

/** The first form of a page: its action and hidden fields. */
function form(html) {
  const action = html.match(/<form[^>]*action="([^"]*)"/)[1].replaceAll("&amp;", "&");
  const fields = {};
  for (const [tag] of html.matchAll(/<input[^>]*type="hidden"[^>]*>/g)) {
    const name = tag.match(/name="([^"]*)"/)[1];
    const value = (tag.match(/value="([^"]*)"/) ?? [null, ""])[1].replaceAll("&amp;", "&");
    fields[name] = value;
  }
  return { action, fields };
}

/** Walks a browser from /oauth2/authorize through the IdP's form back to the pool; returns the redirect to
 * the app, not followed. Cookies are carried by hand (the pool's XSRF-TOKEN binds the sign-in). */
async function walkToCallback(authorizeUrl) {
  const cookies = new Map();
  const keep = (response) => {
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(";");
      const at = pair.indexOf("=");
      cookies.set(pair.slice(0, at), pair.slice(at + 1));
    }
  };
  const send = async (url, init = {}) => {
    const headers = { ...(init.headers ?? {}) };
    if (cookies.size > 0) {
      headers.cookie = [...cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    }
    const response = await fetch(url, { ...init, headers, redirect: "manual" });
    keep(response);
    return response;
  };
  const toIdp = await send(authorizeUrl);
  assert.equal(toIdp.status, 302);
  const loginUrl = toIdp.headers.get("location");
  const page = await send(loginUrl);
  assert.equal(page.status, 200);
  const { action, fields } = form(await page.text());
  const back = await send(new URL(action, loginUrl), {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ ...fields, username: settings.user, password: settings.password }),
  });
  assert.equal(back.status, 302);
  const toApp = await send(back.headers.get("location"));
  assert.equal(toApp.status, 302);
  return new URL(toApp.headers.get("location"));
}

async function discovered() {
  // https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-userpools-server-contract-reference.html
  return oidc.discovery(
    new URL(settings.issuer),
    settings.web_client_id,
    undefined,
    oidc.ClientSecretBasic(settings.web_client_secret),
    // The stand-ins listen on plain http on 127.0.0.1.
    { execute: [oidc.allowInsecureRequests] },
  );
}

/** A complete authorization code + PKCE sign-in by openid-client. */
async function signIn(config) {
  const verifier = oidc.randomPKCECodeVerifier();
  const nonce = oidc.randomNonce();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: settings.callback,
    scope: "openid email profile saas-api/read",
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    nonce,
    state,
    identity_provider: settings.provider,
  });
  const callback = await walkToCallback(url);
  // openid-client checks the ID token's signature, iss, aud, exp, iat and nonce, and the state.
  return oidc.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier,
    expectedNonce: nonce,
    expectedState: state,
    idTokenExpected: true,
  });
}

test("openid-client signs in with code and PKCE, reads userInfo, refreshes and revokes", async () => {
  const config = await discovered();
  const tokens = await signIn(config);
  const claims = tokens.claims();
  // https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-id-token.html
  assert.equal(claims.token_use, "id");
  assert.equal(claims["cognito:username"], claims["cognito:username"].toLowerCase());
  // https://docs.aws.amazon.com/cognito/latest/developerguide/userinfo-endpoint.html
  const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
  assert.equal(info.email, settings.user);
  assert.equal(info.email_verified, "true", "Cognito answers email_verified as a string");
  // https://docs.aws.amazon.com/cognito/latest/developerguide/token-endpoint.html (refresh_token grant)
  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token);
  assert.notEqual(refreshed.access_token, tokens.access_token);
  // https://docs.aws.amazon.com/cognito/latest/developerguide/revocation-endpoint.html
  await oidc.tokenRevocation(config, tokens.refresh_token);
  await assert.rejects(oidc.refreshTokenGrant(config, tokens.refresh_token), (error) => {
    assert.equal(error.error, "invalid_grant");
    return true;
  });
});

test("the JavaScript SDK gets credentials from the identity pool and uses them on S3", async () => {
  const identity = new CognitoIdentityClient({
    region: settings.region,
    endpoint: settings.identity_pool_endpoint,
  });
  const logins = { [loginsKey]: settings.tagged_id_token };
  // https://docs.aws.amazon.com/cognitoidentity/latest/APIReference/API_GetId.html
  const { IdentityId } = await identity.send(
    new GetIdCommand({ IdentityPoolId: settings.identity_pool_id, Logins: logins }),
  );
  assert.match(IdentityId, new RegExp(`^${settings.region}:[0-9a-f-]{36}$`));
  // https://docs.aws.amazon.com/cognitoidentity/latest/APIReference/API_GetCredentialsForIdentity.html
  const { Credentials } = await identity.send(
    new GetCredentialsForIdentityCommand({ IdentityId, Logins: logins }),
  );
  assert.ok(Credentials.AccessKeyId.startsWith("ASIA"));
  assert.ok(Credentials.Expiration instanceof Date);

  const s3 = new S3Client({
    region: settings.region,
    endpoint: settings.s3_endpoint,
    forcePathStyle: true,
    credentials: {
      accessKeyId: Credentials.AccessKeyId,
      secretAccessKey: Credentials.SecretKey,
      sessionToken: Credentials.SessionToken,
    },
  });
  const prefix = `${settings.tenant_id}/${settings.user_sub}/uploads/`;
  const body = `from javascript ${randomBytes(4).toString("hex")}`;
  // https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html
  const put = await s3.send(
    new PutObjectCommand({ Bucket: settings.bucket, Key: `${prefix}js.txt`, Body: body }),
  );
  assert.equal(put.ETag, `"${createHash("md5").update(body).digest("hex")}"`);
  const got = await s3.send(new GetObjectCommand({ Bucket: settings.bucket, Key: `${prefix}js.txt` }));
  assert.equal(await got.Body.transformToString(), body);
  // https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html (404 needs s3:ListBucket)
  await assert.rejects(
    s3.send(new HeadObjectCommand({ Bucket: settings.bucket, Key: `${prefix}missing.txt` })),
    (error) => {
      assert.equal(error.$metadata.httpStatusCode, 404);
      return true;
    },
  );
  await assert.rejects(
    s3.send(new PutObjectCommand({ Bucket: settings.bucket, Key: "other-tenant/u/uploads/x", Body: "x" })),
    (error) => {
      assert.equal(error.name, "AccessDenied");
      assert.equal(error.$metadata.httpStatusCode, 403);
      return true;
    },
  );
  // https://docs.aws.amazon.com/AmazonS3/latest/userguide/ShareObjectPreSignedURL.html
  const url = await getSignedUrl(
    s3,
    new GetObjectCommand({ Bucket: settings.bucket, Key: `${prefix}js.txt` }),
    { expiresIn: 300 },
  );
  const download = await fetch(url);
  assert.equal(download.status, 200);
  assert.equal(await download.text(), body);
});

test("the identity pool refuses a token that is not the pool's with NotAuthorizedException", async () => {
  const identity = new CognitoIdentityClient({
    region: settings.region,
    endpoint: settings.identity_pool_endpoint,
  });
  // https://docs.aws.amazon.com/cognitoidentity/latest/APIReference/API_GetId.html#API_GetId_Errors
  await assert.rejects(
    identity.send(
      new GetIdCommand({ IdentityPoolId: settings.identity_pool_id, Logins: { [loginsKey]: "not.a.token" } }),
    ),
    (error) => {
      assert.equal(error.name, "NotAuthorizedException");
      assert.equal(error.$metadata.httpStatusCode, 400);
      return true;
    },
  );
});
