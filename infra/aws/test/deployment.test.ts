// The synthesized templates of the example environment hold exactly what the infra/ files and the OpenAPI
// document say: user pool, app clients, trigger, identity pool, roles, bucket rules and API routes.

import * as fs from 'fs';

import { Match } from 'aws-cdk-lib/assertions';

import { artifactsFromEnv } from '../lib/artifacts';
import { loadConfig } from '../lib/config';
import { stackNames } from '../lib/deployment';
import { WEB_CLIENT, loadUserPool, resourceServerScopes } from '../lib/sources';
import { bucketNames } from '../lib/stacks/storage';
import {
  type Templates,
  exampleDeployment,
  infraFile,
  only,
  resolvedIn,
  routeDifferences,
  templates,
  unrender,
} from './support';

const config = loadConfig('example');
const deployment = exampleDeployment();
const t: Templates = templates(deployment);
const userPool = infraFile('config/user-pool.json');
const operatorPool = infraFile('config/operator-pool.json');
const identityPool = infraFile('config/identity-pool.json');
const openapi = JSON.parse(fs.readFileSync(artifactsFromEnv().openapi, 'utf8'));
const appOrigin = `https://${config.appDomain}`;
const buckets = bucketNames(config);

describe('stacks', () => {
  test('the stacks carry the names cargo xtask destroy deletes', () => {
    expect([deployment.data, deployment.storage, deployment.identity, deployment.application].map((s) => s.stackName)).toEqual(
      Object.values(stackNames('example')),
    );
    expect(Object.values(stackNames('example'))).toEqual([
      'saas-example-data',
      'saas-example-storage',
      'saas-example-identity',
      'saas-example-app',
    ]);
  });
});

/** The tenants' user pool (the identity stack also holds the operators' pool). */
const tenantsPool = () =>
  only(t.identity, 'AWS::Cognito::UserPool', (p) => p.UserPoolName === `${userPool.pool_name}-${config.env}`);
/** The operators' pool. */
const operatorsPool = () =>
  only(t.identity, 'AWS::Cognito::UserPool', (p) => p.UserPoolName === `${operatorPool.pool_name}-${config.env}`);
/** Whether a resource's `UserPoolId` is the pool with logical id `poolId`. */
const ofPool = (poolId: string) => (p: any) => p.UserPoolId?.Ref === poolId;

describe('user pool', () => {
  const pool = tenantsPool;

  test('is on the Essentials plan, admits no self sign-up, ignores case in user names, and is protected', () => {
    const resource = pool();
    expect(resource.Properties.UserPoolTier).toBe('ESSENTIALS');
    expect(resource.Properties.AdminCreateUserConfig).toEqual({ AllowAdminCreateUserOnly: true });
    expect(resource.Properties.UsernameConfiguration).toEqual({ CaseSensitive: false });
    expect(resource.Properties.DeletionProtection).toBe('ACTIVE');
    expect(resource.DeletionPolicy).toBe('Retain');
  });

  test('has exactly the custom attributes of user-pool.json', () => {
    expect(pool().Properties.Schema).toEqual(
      userPool.custom_attributes.map((attribute: any) => ({
        Name: attribute.name,
        AttributeDataType: attribute.type,
        Mutable: attribute.mutable,
        DeveloperOnlyAttribute: attribute.developer_only,
      })),
    );
  });

  test('has the resource server and scopes of user-pool.json', () => {
    const server = only(t.identity, 'AWS::Cognito::UserPoolResourceServer', ofPool(pool().logicalId));
    expect(server.Properties.Identifier).toBe(userPool.resource_server.identifier);
    expect(server.Properties.Name).toBe(userPool.resource_server.name);
    expect(server.Properties.Scopes).toEqual(
      userPool.resource_server.scopes.map((scope: any) => ({ ScopeName: scope.name, ScopeDescription: scope.description })),
    );
  });

  test('has the domain prefix of the configuration', () => {
    expect(only(t.identity, 'AWS::Cognito::UserPoolDomain', ofPool(pool().logicalId)).Properties.Domain).toBe(
      config.authDomain.kind === 'prefix' ? config.authDomain.prefix : undefined,
    );
  });

  test('has exactly the app clients of user-pool.json, with their flows, scopes, attributes and lifetimes', () => {
    const clients = t.identity.findResources('AWS::Cognito::UserPoolClient', {
      Properties: { UserPoolId: { Ref: pool().logicalId } },
    });
    expect(Object.values(clients).map((client: any) => client.Properties.ClientName).sort()).toEqual(
      Object.keys(userPool.app_clients).sort(),
    );
    for (const [name, spec] of Object.entries<any>(userPool.app_clients)) {
      const client = only(t.identity, 'AWS::Cognito::UserPoolClient', (p) => p.ClientName === name).Properties;
      const code = spec.allowed_oauth_flows.includes('code');
      expect({ name, ...client }).toMatchObject({
        name,
        GenerateSecret: spec.generate_secret,
        AllowedOAuthFlows: spec.allowed_oauth_flows,
        AllowedOAuthFlowsUserPoolClient: true,
        AllowedOAuthScopes: spec.allowed_oauth_scopes,
        ExplicitAuthFlows: spec.explicit_auth_flows,
        ReadAttributes: spec.read_attributes,
        WriteAttributes: spec.write_attributes,
        EnableTokenRevocation: spec.enable_token_revocation,
        PreventUserExistenceErrors: spec.prevent_user_existence_errors ? 'ENABLED' : 'LEGACY',
        AccessTokenValidity: spec.access_token_validity_minutes,
        IdTokenValidity: spec.id_token_validity_minutes,
        RefreshTokenValidity: spec.refresh_token_validity_days * 24 * 60,
        TokenValidityUnits: { AccessToken: 'minutes', IdToken: 'minutes', RefreshToken: 'minutes' },
      });
      expect(client.CallbackURLs).toEqual(
        code ? [`${appOrigin}/auth/callback`, `${appOrigin}/setup/auth/callback`] : undefined,
      );
      expect(client.LogoutURLs).toEqual(code ? [`${appOrigin}/`] : undefined);
      // Runtime data owned by the backend's reconciler: the template must not claim it.
      expect(client.SupportedIdentityProviders).toBeUndefined();
      expect(client.AllowedOAuthScopes).not.toContain('aws.cognito.signin.user.admin');
    }
  });

  test('calls the trigger with the event version of user-pool.json', () => {
    const trigger = only(t.identity, 'AWS::Lambda::Function', (p) => p.Runtime === 'provided.al2023');
    expect(pool().Properties.LambdaConfig).toEqual({
      PreTokenGenerationConfig: {
        LambdaArn: { 'Fn::GetAtt': [trigger.logicalId, 'Arn'] },
        LambdaVersion: userPool.pre_token_generation.lambda_version,
      },
    });
  });
});

describe('operators pool', () => {
  const native = operatorPool.native_users;

  test('admits no self sign-up, signs in by email, requires MFA by authenticator app, enforces threat protection', () => {
    const properties = operatorsPool().Properties;
    expect(properties.UserPoolTier).toBe('PLUS');
    expect(properties.UserPoolAddOns).toEqual({ AdvancedSecurityMode: 'ENFORCED' });
    expect(properties.AdminCreateUserConfig).toMatchObject({ AllowAdminCreateUserOnly: true });
    expect(properties.UsernameAttributes).toEqual(['email']);
    expect(properties.MfaConfiguration).toBe('ON');
    expect(properties.EnabledMfas).toEqual(['SOFTWARE_TOKEN_MFA']);
    expect(properties.Policies.PasswordPolicy).toEqual({
      MinimumLength: native.password_policy.minimum_length,
      RequireLowercase: native.password_policy.require_lowercase,
      RequireUppercase: native.password_policy.require_uppercase,
      RequireNumbers: native.password_policy.require_numbers,
      RequireSymbols: native.password_policy.require_symbols,
      TemporaryPasswordValidityDays: native.password_policy.temporary_password_validity_days,
    });
    expect(properties.AccountRecoverySetting).toEqual({ RecoveryMechanisms: [{ Name: 'verified_email', Priority: 1 }] });
    expect(properties.AdminCreateUserConfig.InviteMessageTemplate).toMatchObject({
      EmailSubject: native.invitation.email_subject,
      EmailMessage: native.invitation.email_message,
    });
    expect(properties.DeletionProtection).toBe('ACTIVE');
    expect(operatorsPool().DeletionPolicy).toBe('Retain');
  });

  test('has its own domain, its resource server, and the console client signing operators in at /operator', () => {
    const id = operatorsPool().logicalId;
    expect(only(t.identity, 'AWS::Cognito::UserPoolDomain', ofPool(id)).Properties.Domain).toBe(config.operatorAuthPrefix);
    expect(only(t.identity, 'AWS::Cognito::UserPoolResourceServer', ofPool(id)).Properties.Identifier).toBe(
      operatorPool.resource_server.identifier,
    );
    const console = only(t.identity, 'AWS::Cognito::UserPoolClient', ofPool(id)).Properties;
    const spec = operatorPool.app_clients.console;
    expect(console).toMatchObject({
      ClientName: 'console',
      GenerateSecret: true,
      AllowedOAuthFlows: ['code'],
      AllowedOAuthScopes: spec.allowed_oauth_scopes,
      SupportedIdentityProviders: ['COGNITO'],
      CallbackURLs: [`${appOrigin}/operator/auth/callback`],
      LogoutURLs: [`${appOrigin}/operator`],
      PreventUserExistenceErrors: 'ENABLED',
    });
  });

  test('gets managed by the operator administrators’ policy, which is the file of infra/policies on this pool only', () => {
    const policy = only(t.identity, 'AWS::IAM::ManagedPolicy').Properties.PolicyDocument;
    const arn = { 'Fn::GetAtt': [operatorsPool().logicalId, 'Arn'] };
    expect(unrender(policy, {}, [[arn, '@@OPERATORS_POOL_ARN@@']])).toEqual(infraFile('policies/operator-admin-permissions.json'));
  });
});

describe('pre-token-generation trigger', () => {
  const trigger = () => only(t.identity, 'AWS::Lambda::Function', (p) => p.Runtime === 'provided.al2023');

  test('runs the bootstrap executable on provided.al2023 x86_64 within Cognito’s 5 seconds, in the isolated subnets', () => {
    const properties = trigger().Properties;
    expect(properties.Handler).toBe('bootstrap');
    expect(properties.Architectures).toEqual(['x86_64']);
    expect(properties.Timeout).toBeLessThanOrEqual(5);
    expect(properties.VpcConfig.SubnetIds).toHaveLength(2);
  });

  test('has the timeout and memory of user-pool.json, which the local Lambda stand-in runs it with too', () => {
    const spec = loadUserPool().pre_token_generation;
    expect(trigger().Properties.Timeout).toBe(spec.timeout_seconds);
    expect(trigger().Properties.MemorySize).toBe(spec.memory_size_mb);
  });

  test('logs in through RDS Proxy with IAM and no password, and is told no pool or client id', () => {
    const variables = resolvedIn(deployment.identity, trigger().Properties.Environment.Variables) as Record<string, any>;
    expect(Object.keys(variables).sort()).toEqual(['DATABASE_IAM_AUTH', 'DATABASE_URL', 'RESOURCE_SERVER_ID']);
    expect(variables.DATABASE_IAM_AUTH).toBe('true');
    expect(variables.RESOURCE_SERVER_ID).toBe(userPool.resource_server.identifier);
    const url = variables.DATABASE_URL['Fn::Join'][1];
    expect(url[0]).toBe('postgres://saas_api@');
    expect(resolvedIn(deployment.identity, deployment.data.proxy.endpoint)).toEqual(url[1]);
    expect(url[2]).toBe(':5432/saas?sslmode=verify-full');
  });

  test('may be invoked by Cognito for this user pool only', () => {
    const permission = only(t.identity, 'AWS::Lambda::Permission');
    expect(permission.Properties).toEqual({
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [trigger().logicalId, 'Arn'] },
      Principal: 'cognito-idp.amazonaws.com',
      SourceArn: { 'Fn::GetAtt': [tenantsPool().logicalId, 'Arn'] },
    });
  });

  test('has a role that writes its own logs, manages its network interfaces and connects as the app login, nothing else', () => {
    const roleRef = trigger().Properties.Role['Fn::GetAtt'][0];
    const role = t.identity.findResources('AWS::IAM::Role')[roleRef];
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect(Object.keys(t.identity.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleRef }] } }))).toEqual([]);
    const logGroupId = trigger().Properties.LoggingConfig.LogGroup.Ref;
    expect(role.Properties.Policies).toHaveLength(1);
    expect(role.Properties.Policies[0].PolicyDocument.Statement).toEqual([
      {
        Sid: 'OwnLogs',
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: { 'Fn::GetAtt': [logGroupId, 'Arn'] },
      },
      {
        Sid: 'VpcNetworkInterfaces',
        Effect: 'Allow',
        Action: [
          'ec2:AssignPrivateIpAddresses',
          'ec2:CreateNetworkInterface',
          'ec2:DeleteNetworkInterface',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeSubnets',
          'ec2:UnassignPrivateIpAddresses',
        ],
        Resource: '*',
      },
      {
        Sid: 'AppLoginThroughProxy',
        Effect: 'Allow',
        Action: 'rds-db:connect',
        Resource: {
          'Fn::Join': [
            '',
            [
              'arn:',
              { Ref: 'AWS::Partition' },
              ':rds-db:',
              { Ref: 'AWS::Region' },
              ':',
              { Ref: 'AWS::AccountId' },
              ':dbuser:',
              { 'Fn::GetStackOutput': { StackName: 'saas-example-data', OutputName: 'ProxyResourceId', Region: config.region } },
              '/saas_api',
            ],
          ],
        },
      },
    ]);
    // The output it reads is the proxy's resource id, cut from the proxy's ARN in the data stack.
    const proxy = only(t.data, 'AWS::RDS::DBProxy');
    expect(t.data.findOutputs('ProxyResourceId').ProxyResourceId.Value).toEqual({
      'Fn::Select': [6, { 'Fn::Split': [':', { 'Fn::GetAtt': [proxy.logicalId, 'DBProxyArn'] }] }],
    });
  });
});

describe('identity pool', () => {
  test('accepts only the web client’s ID tokens, checked server-side, with no unauthenticated or classic access', () => {
    const pool = only(t.identity, 'AWS::Cognito::IdentityPool').Properties;
    expect(pool.AllowUnauthenticatedIdentities).toBe(false);
    expect(pool.AllowClassicFlow).toBe(false);
    const clients = t.identity.findResources('AWS::Cognito::UserPoolClient');
    expect(pool.CognitoIdentityProviders).toEqual(
      identityPool.cognito_identity_providers.map((provider: any) => ({
        ClientId: {
          Ref: Object.entries<any>(clients).find(([, client]) => client.Properties.ClientName === provider.app_client)![0],
        },
        ProviderName: { 'Fn::GetAtt': [tenantsPool().logicalId, 'ProviderName'] },
        ServerSideTokenCheck: provider.server_side_token_check,
      })),
    );
  });

  test('maps exactly the principal tags of identity-pool.json, not the defaults', () => {
    const tags = only(t.identity, 'AWS::Cognito::IdentityPoolPrincipalTag').Properties;
    expect(tags.PrincipalTags).toEqual(identityPool.principal_tags);
    expect(tags.UseDefaults).toBe(false);
  });

  test('gives authenticated identities the upload role, whose policies are the files of infra/policies', () => {
    const role = only(t.identity, 'AWS::IAM::Role', (p) => JSON.stringify(p).includes('cognito-identity.amazonaws.com'));
    const attachment = only(t.identity, 'AWS::Cognito::IdentityPoolRoleAttachment').Properties;
    expect(attachment.Roles).toEqual({ authenticated: { 'Fn::GetAtt': [role.logicalId, 'Arn'] } });
    const poolRef = { Ref: only(t.identity, 'AWS::Cognito::IdentityPool').logicalId };
    expect(unrender(role.Properties.AssumeRolePolicyDocument, {}, [[poolRef, '@@IDENTITY_POOL_ID@@']])).toEqual(
      infraFile('policies/upload-role-trust.json'),
    );
    expect(role.Properties.Policies).toHaveLength(1);
    expect(unrender(role.Properties.Policies[0].PolicyDocument, { [buckets.uploads]: '@@BUCKET_NAME@@' })).toEqual(
      infraFile('policies/upload-role-permissions.json'),
    );
  });
});

/** Public access blocked, bucket-owner-enforced, SSE-S3, retained when the stack goes. */
function expectPrivateRetainedBucket(resource: any): void {
  expect(resource.Properties.PublicAccessBlockConfiguration).toEqual({
    BlockPublicAcls: true,
    BlockPublicPolicy: true,
    IgnorePublicAcls: true,
    RestrictPublicBuckets: true,
  });
  expect(resource.Properties.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
  expect(resource.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault).toEqual({
    SSEAlgorithm: 'AES256',
  });
  expect(resource.DeletionPolicy).toBe('Retain');
}

/** The bucket's policy denies every request made without TLS. */
function expectTlsOnly(bucketLogicalId: string): void {
  const policy = only(t.storage, 'AWS::S3::BucketPolicy', (p) => p.Bucket.Ref === bucketLogicalId);
  expect(policy.Properties.PolicyDocument.Statement).toEqual(
    expect.arrayContaining([
      expect.objectContaining({
        Effect: 'Deny',
        Action: 's3:*',
        Principal: { AWS: '*' },
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    ]),
  );
}

describe('upload bucket', () => {
  const bucket = () => only(t.storage, 'AWS::S3::Bucket', (p) => p.BucketName === buckets.uploads);

  test('has the CORS rules of bucket-cors.json for the app origin', () => {
    const rules = bucket().Properties.CorsConfiguration.CorsRules.map((rule: any) => ({
      ID: rule.Id,
      AllowedOrigins: rule.AllowedOrigins.map((origin: string) => (origin === appOrigin ? '@@APP_ORIGIN@@' : origin)),
      AllowedMethods: rule.AllowedMethods,
      AllowedHeaders: rule.AllowedHeaders,
      ExposeHeaders: rule.ExposedHeaders,
      MaxAgeSeconds: rule.MaxAge,
    }));
    expect({ CORSRules: rules }).toEqual(infraFile('policies/bucket-cors.json'));
  });

  test('has the lifecycle rules of bucket-lifecycle.json', () => {
    const rules = bucket().Properties.LifecycleConfiguration.Rules.map((rule: any) => ({
      ID: rule.Id,
      Status: rule.Status,
      Filter: { Prefix: rule.Prefix ?? '' },
      ...(rule.ExpirationInDays === undefined ? {} : { Expiration: { Days: rule.ExpirationInDays } }),
      ...(rule.AbortIncompleteMultipartUpload === undefined
        ? {}
        : { AbortIncompleteMultipartUpload: { DaysAfterInitiation: rule.AbortIncompleteMultipartUpload.DaysAfterInitiation } }),
    }));
    expect({ Rules: rules }).toEqual(infraFile('policies/bucket-lifecycle.json'));
  });

  test('blocks public access, enforces bucket ownership, encrypts at rest and is retained', () => {
    expectPrivateRetainedBucket(bucket());
  });

  test('refuses requests without TLS', () => {
    expectTlsOnly(bucket().logicalId);
  });
});

describe('files bucket', () => {
  const bucket = () => only(t.storage, 'AWS::S3::Bucket', (p) => p.BucketName === buckets.files);

  test('is private, encrypted, retained, TLS only, and has neither CORS nor lifecycle rules', () => {
    const resource = bucket();
    expectPrivateRetainedBucket(resource);
    expectTlsOnly(resource.logicalId);
    expect(resource.Properties.CorsConfiguration).toBeUndefined();
    expect(resource.Properties.LifecycleConfiguration).toBeUndefined();
  });

  test('is named by no role but the backend service\'s task role', () => {
    expect(JSON.stringify(t.identity.toJSON())).not.toContain(buckets.files);
    const roles = Object.entries(t.application.findResources('AWS::IAM::Role'))
      .filter(([, role]) => JSON.stringify(role).includes(buckets.files))
      .map(([id]) => id);
    expect(roles).toHaveLength(1);
    expect(roles[0]).toMatch(/^BackendTaskRole/);
  });
});

describe('database', () => {
  test('is Aurora PostgreSQL Serverless v2, encrypted, with IAM authentication, deletion-protected, snapshotted on deletion', () => {
    const cluster = only(t.data, 'AWS::RDS::DBCluster');
    expect(cluster.Properties).toMatchObject({
      Engine: 'aurora-postgresql',
      StorageEncrypted: true,
      EnableIAMDatabaseAuthentication: true,
      DeletionProtection: true,
      ServerlessV2ScalingConfiguration: { MinCapacity: config.database.minAcu, MaxCapacity: config.database.maxAcu },
    });
    expect(cluster.DeletionPolicy).toBe('Snapshot');
    expect(only(t.data, 'AWS::RDS::DBInstance').Properties.DBInstanceClass).toBe('db.serverless');
  });

  test('has a proxy that requires TLS and IAM authentication and logs in with the app login’s secret', () => {
    const proxy = only(t.data, 'AWS::RDS::DBProxy').Properties;
    expect(proxy.RequireTLS).toBe(true);
    const login = only(t.data, 'AWS::SecretsManager::Secret', (p) =>
      JSON.stringify(p.GenerateSecretString ?? {}).includes('saas_api'),
    );
    expect(proxy.Auth).toEqual([{ AuthScheme: 'SECRETS', IAMAuth: 'REQUIRED', SecretArn: { Ref: login.logicalId } }]);
    expect(login.DeletionPolicy).toBe('Retain');
  });
});

describe('backend service', () => {
  const container = (command: string) => {
    const task = only(t.application, 'AWS::ECS::TaskDefinition', (p) => p.ContainerDefinitions[0].Command[0] === command);
    return { task, container: task.Properties.ContainerDefinitions[0] };
  };
  const environment = (definition: any) =>
    Object.fromEntries(definition.Environment.map((variable: any) => [variable.Name, variable.Value]));

  test('is configured as backend serve reads it, with secrets from Secrets Manager and no AWS keys', () => {
    const { container: serve } = container('serve');
    const variables = environment(serve);
    expect(Object.keys(variables).sort()).toEqual(
      [
        'API_CLIENT_IDS',
        'AWS_REGION',
        'BIND_ADDR',
        'COGNITO_AUTH_DOMAIN',
        'COGNITO_CLIENT_ID',
        'COGNITO_IDP_ENDPOINT',
        'COGNITO_ISSUER',
        'DATABASE_MAX_CONNECTIONS',
        'DATABASE_URL',
        'IDENTITY_POOL_ENDPOINT',
        'IDENTITY_POOL_ID',
        'PUBLIC_URL',
        'RESOURCE_SERVER_ID',
        'RUST_LOG',
        'S3_ENDPOINT',
        'TRUST_X_FORWARDED_FOR',
        'TRUSTED_PROXY_CIDRS',
        'UPLOAD_BUCKET',
        'FILES_BUCKET',
        'WEB_DIST_DIR',
        'OPERATOR_COGNITO_ISSUER',
        'OPERATOR_COGNITO_AUTH_DOMAIN',
        'OPERATOR_COGNITO_CLIENT_ID',
        'OPERATOR_RESOURCE_SERVER_ID',
      ].sort(),
    );
    expect(variables).toMatchObject({
      BIND_ADDR: '0.0.0.0:8080',
      PUBLIC_URL: appOrigin,
      COGNITO_AUTH_DOMAIN: `https://${config.authDomain.kind === 'prefix' ? config.authDomain.prefix : ''}.auth.${config.region}.amazoncognito.com`,
      RESOURCE_SERVER_ID: userPool.resource_server.identifier,
      AWS_REGION: config.region,
      IDENTITY_POOL_ENDPOINT: 'aws',
      UPLOAD_BUCKET: buckets.uploads,
      FILES_BUCKET: buckets.files,
      S3_ENDPOINT: 'aws',
      COGNITO_IDP_ENDPOINT: 'aws',
      TRUST_X_FORWARDED_FOR: 'true',
      WEB_DIST_DIR: '/app/web',
      RUST_LOG: 'info',
    });
    const app = deployment.application;
    const identity = deployment.identity;
    expect(variables.COGNITO_ISSUER).toEqual(
      resolvedIn(app, `https://cognito-idp.${config.region}.amazonaws.com/${identity.userPool.userPoolId}`),
    );
    expect(variables.COGNITO_CLIENT_ID).toEqual(resolvedIn(app, identity.clients[WEB_CLIENT].userPoolClientId));
    // The operators' console: its own pool, domain and client, never the tenants'.
    expect(variables.OPERATOR_COGNITO_ISSUER).toEqual(
      resolvedIn(app, `https://cognito-idp.${config.region}.amazonaws.com/${identity.operatorPool.userPoolId}`),
    );
    expect(variables.OPERATOR_COGNITO_AUTH_DOMAIN).toEqual(
      `https://${config.operatorAuthPrefix}.auth.${config.region}.amazoncognito.com`,
    );
    expect(variables.OPERATOR_COGNITO_CLIENT_ID).toEqual(resolvedIn(app, identity.consoleClient.userPoolClientId));
    expect(variables.OPERATOR_RESOURCE_SERVER_ID).toEqual(operatorPool.resource_server.identifier);
    expect(variables.TRUSTED_PROXY_CIDRS).toEqual(resolvedIn(app, deployment.data.vpc.vpcCidrBlock));
    const apiClients = Object.keys(userPool.app_clients).filter((name) => name !== WEB_CLIENT);
    expect(variables.API_CLIENT_IDS).toEqual(
      resolvedIn(app, apiClients.map((name) => identity.clients[name].userPoolClientId).join(',')),
    );
    expect(variables.IDENTITY_POOL_ID).toEqual(resolvedIn(app, identity.identityPoolId));
    expect(JSON.stringify(variables.DATABASE_URL)).not.toContain(':password');
    expect(serve.Secrets.map((secret: any) => secret.Name).sort()).toEqual(
      ['COGNITO_CLIENT_SECRET', 'DATABASE_PASSWORD', 'OPERATOR_COGNITO_CLIENT_SECRET', 'SESSION_ENCRYPTION_KEY'],
    );
    expect(JSON.stringify(serve)).not.toMatch(/AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|S3_ACCESS_KEY_ID/);
  });

  test('generates a session key of 64 characters without punctuation', () => {
    const key = only(t.application, 'AWS::SecretsManager::Secret');
    expect(key.Properties.GenerateSecretString).toEqual({ PasswordLength: 64, ExcludePunctuation: true, IncludeSpace: false });
  });

  test('has a task role made of the backend storage and Cognito policies of infra/policies', () => {
    const { task } = container('serve');
    const roleId = task.Properties.TaskRoleArn['Fn::GetAtt'][0];
    const role = t.application.findResources('AWS::IAM::Role')[roleId];
    const poolArn = resolvedIn(deployment.application, deployment.identity.userPool.userPoolArn);
    const policies = Object.fromEntries(
      role.Properties.Policies.map((policy: any) => [
        policy.PolicyName,
        unrender(
          policy.PolicyDocument,
          { [buckets.uploads]: '@@BUCKET_NAME@@', [buckets.files]: '@@FILES_BUCKET_NAME@@' },
          [[poolArn, '@@USER_POOL_ARN@@']],
        ),
      ]),
    );
    expect(policies).toEqual({
      'backend-storage-permissions': infraFile('policies/backend-storage-permissions.json'),
      'backend-cognito-permissions': infraFile('policies/backend-cognito-permissions.json'),
    });
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  });

  test('runs reconcile-idps with the Cognito policy only, and migrate with the owner and login passwords', () => {
    const { task: reconcile, container: reconcileContainer } = container('reconcile-idps');
    const role = t.application.findResources('AWS::IAM::Role')[reconcile.Properties.TaskRoleArn['Fn::GetAtt'][0]];
    expect(role.Properties.Policies.map((policy: any) => policy.PolicyName)).toEqual(['backend-cognito-permissions']);
    expect(environment(reconcileContainer)).toEqual(environment(container('serve').container));

    const { container: migrate } = container('migrate');
    expect(Object.keys(environment(migrate)).sort()).toEqual(['DATABASE_OWNER_URL', 'DATABASE_URL', 'RUST_LOG']);
    expect(migrate.Secrets.map((secret: any) => secret.Name).sort()).toEqual(['DATABASE_OWNER_PASSWORD', 'DATABASE_PASSWORD']);
    expect(t.application.findOutputs('MigrateCommand').MigrateCommand.Value['Fn::Join'][1][0]).toMatch(/^aws ecs run-task /);
  });

  test('sits behind an HTTPS load balancer that redirects HTTP, checks /healthz and logs access', () => {
    t.application.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 443,
      Protocol: 'HTTPS',
      Certificates: [{ CertificateArn: config.certificateArn }],
    });
    t.application.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 80,
      DefaultActions: [Match.objectLike({ Type: 'redirect', RedirectConfig: Match.objectLike({ Protocol: 'HTTPS', Port: '443' }) })],
    });
    t.application.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', { HealthCheckPath: '/healthz', Port: 8080 });
    t.application.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      LoadBalancerAttributes: Match.arrayWith([
        { Key: 'access_logs.s3.enabled', Value: 'true' },
        { Key: 'access_logs.s3.bucket', Value: resolvedIn(deployment.application, deployment.storage.logs.bucketName) },
      ]),
    });
  });

  test('keeps every log group for the configured number of days', () => {
    for (const template of Object.values(t)) {
      for (const group of Object.values<any>(template.findResources('AWS::Logs::LogGroup'))) {
        expect(group.Properties.RetentionInDays).toBe(config.logRetentionDays);
      }
    }
  });
});

describe('HTTP API', () => {
  test('routes exactly the operations of the OpenAPI document, each with the scope it requires', () => {
    expect(routeDifferences(t.application, openapi)).toEqual([]);
  });

  // The document's first operation, and a scope of the resource server other than the one it demands.
  const [firstPath, firstItem] = Object.entries<any>(openapi.paths)[0];
  const [firstMethod, firstOperation] = Object.entries<any>(firstItem)[0];
  const firstScope: string = firstOperation.security.find((requirement: any) => 'bearer' in requirement).bearer[0];
  const otherScope = resourceServerScopes(loadUserPool()).find((scope) => scope !== firstScope)!;
  const firstRoute = `${firstMethod.toUpperCase()} ${firstPath}`;

  test('the route comparison catches a route whose scope differs from the document', () => {
    const changed = JSON.parse(JSON.stringify(openapi));
    const operation = changed.paths[firstPath][firstMethod];
    operation.security = operation.security.map((requirement: any) =>
      'bearer' in requirement ? { bearer: [otherScope] } : requirement,
    );
    expect(routeDifferences(t.application, changed)).toEqual([
      `${firstRoute}: scopes ["${firstScope}"], the document says ${otherScope}`,
    ]);
  });

  test('the route comparison catches an operation that is not routed and a route the document lacks', () => {
    const changed = JSON.parse(JSON.stringify(openapi));
    changed.paths['/api/v1/not-deployed'] = { get: { security: [{ bearer: [firstScope] }] } };
    delete changed.paths[firstPath];
    const removed = Object.keys(firstItem).map((method) => `${method.toUpperCase()} ${firstPath}: routed, but not in the document`);
    expect(routeDifferences(t.application, changed)).toEqual(['GET /api/v1/not-deployed: not routed', ...removed]);
  });

  test('checks user-pool access tokens of every app client', () => {
    const authorizer = only(t.application, 'AWS::ApiGatewayV2::Authorizer').Properties;
    const app = deployment.application;
    expect(authorizer.AuthorizerType).toBe('JWT');
    expect(authorizer.JwtConfiguration).toEqual({
      Issuer: resolvedIn(app, `https://cognito-idp.${config.region}.amazonaws.com/${deployment.identity.userPool.userPoolId}`),
      Audience: Object.values(deployment.identity.clients).map((client) => resolvedIn(app, client.userPoolClientId)),
    });
  });

  test('sends every route to the load balancer’s HTTPS listener through the VPC link', () => {
    const integration = only(t.application, 'AWS::ApiGatewayV2::Integration').Properties;
    const listener = only(t.application, 'AWS::ElasticLoadBalancingV2::Listener', (p) => p.Port === 443);
    expect(integration).toMatchObject({
      ConnectionType: 'VPC_LINK',
      IntegrationType: 'HTTP_PROXY',
      IntegrationUri: { Ref: listener.logicalId },
      TlsConfig: { ServerNameToVerify: config.appDomain },
    });
  });
});

describe('alarms', () => {
  test('watch 5xx answers of the load balancer, the backend and the API, and the trigger’s errors and throttles', () => {
    const metrics = Object.values<any>(t.application.findResources('AWS::CloudWatch::Alarm')).map(
      (alarm) => `${alarm.Properties.Namespace}/${alarm.Properties.MetricName}`,
    );
    expect(metrics.sort()).toEqual(
      [
        'AWS/ApplicationELB/HTTPCode_ELB_5XX_Count',
        'AWS/ApplicationELB/HTTPCode_Target_5XX_Count',
        'AWS/ApiGateway/5xx',
        'AWS/Lambda/Errors',
        'AWS/Lambda/Throttles',
      ].sort(),
    );
    for (const alarm of Object.values<any>(t.application.findResources('AWS::CloudWatch::Alarm'))) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: only(t.application, 'AWS::SNS::Topic').logicalId }]);
    }
  });
});
