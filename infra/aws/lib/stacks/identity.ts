// Sign-in and upload credentials: the Cognito user pool (domain, resource server, app clients and custom
// attributes of `infra/config/user-pool.json`), the pre-token-generation trigger Lambda, the identity
// pool of `infra/config/identity-pool.json` with the upload role of `infra/policies`, and the platform
// operators' own pool of `infra/config/operator-pool.json` with the operator administrators' policy.

import { Aws, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';

import type { Artifacts } from '../artifacts';
import type { DeploymentConfig } from '../config';
import { acknowledgeObjectWildcards, limitCdkProviderLogs, suppress, suppressCdkProviders } from '../nag';
import {
  type AppClientSpec,
  CONSOLE_CLIENT,
  type IdentityPoolSpec,
  type OperatorPoolSpec,
  type UserPoolSpec,
  WEB_CLIENT,
  renderPolicyFile,
} from '../sources';
import { APP_LOGIN, DATABASE_NAME, DATABASE_PORT, type DataStack } from './data';
import type { StorageStack } from './storage';

/** What the identity stack needs. */
export interface IdentityStackProps extends StackProps {
  readonly config: DeploymentConfig;
  readonly artifacts: Artifacts;
  readonly userPool: UserPoolSpec;
  readonly operatorPool: OperatorPoolSpec;
  readonly identityPool: IdentityPoolSpec;
  readonly data: DataStack;
  readonly storage: StorageStack;
}

/** Cognito gives up on a trigger attempt after 5 seconds: a longer function timeout would only waste time. */
export const COGNITO_TRIGGER_LIMIT_SECONDS = 5;

/** The trigger's timeout from `user-pool.json`, refused past Cognito's limit. */
function triggerTimeout(seconds: number): Duration {
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > COGNITO_TRIGGER_LIMIT_SECONDS) {
    throw new Error(
      `infra/config/user-pool.json: pre_token_generation.timeout_seconds must be a whole number from 1 to ${COGNITO_TRIGGER_LIMIT_SECONDS}, not ${seconds}`,
    );
  }
  return Duration.seconds(seconds);
}

/** User pool, app clients, trigger, identity pool and upload role. */
export class IdentityStack extends Stack {
  readonly userPool: cognito.UserPool;
  /** The app clients of `user-pool.json`, by name. */
  readonly clients: Record<string, cognito.UserPoolClient>;
  /** The web client's generated secret, copied into Secrets Manager for the backend's task. */
  readonly webClientSecret: secretsmanager.Secret;
  /** `https://<prefix>.auth.<region>.amazoncognito.com` or `https://<custom domain>`. */
  readonly authDomainUrl: string;
  /** The pre-token-generation trigger. */
  readonly trigger: lambda.Function;
  /** The identity pool's id (`<region>:<uuid>`). */
  readonly identityPoolId: string;
  /** The identity pool's authenticated role (the upload role). */
  readonly uploadRole: iam.CfnRole;
  /** The platform operators' own pool: native accounts, MFA by authenticator app required. */
  readonly operatorPool: cognito.UserPool;
  /** `https://<operator_auth_prefix>.auth.<region>.amazoncognito.com`: the operators' pool's own domain. */
  readonly operatorAuthDomainUrl: string;
  /** The console client, through which the backend signs operators in. */
  readonly consoleClient: cognito.UserPoolClient;
  /** The console client's generated secret, copied into Secrets Manager for the backend's task. */
  readonly consoleClientSecret: secretsmanager.Secret;
  /** The operators' pool's resource server, whose `<id>/operate` scope every console route requires. */
  readonly operatorResourceServerId: string;

  constructor(scope: Construct, id: string, props: IdentityStackProps) {
    super(scope, id, props);
    const { config, userPool: spec } = props;

    this.userPool = new cognito.UserPool(this, 'UserPool', {
      userPoolName: `${spec.pool_name}-${config.env}`,
      // Pre-token-generation events of version 2 (access-token claims and scopes) need Essentials or Plus.
      featurePlan: cognito.FeaturePlan.ESSENTIALS,
      selfSignUpEnabled: false,
      signInCaseSensitive: spec.sign_in_case_sensitive,
      // Users come from their organisations' identity providers; a local user an operator might add must
      // still use a strong password and TOTP, and cannot recover the account by itself.
      mfa: cognito.Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false },
      passwordPolicy: {
        minLength: 14,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
      },
      accountRecovery: cognito.AccountRecovery.NONE,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const cfnPool = this.userPool.node.defaultChild as cognito.CfnUserPool;
    cfnPool.schema = spec.custom_attributes.map((attribute) => ({
      name: attribute.name,
      attributeDataType: attribute.type,
      mutable: attribute.mutable,
      developerOnlyAttribute: attribute.developer_only,
    }));

    if (config.authDomain.kind === 'prefix') {
      this.userPool.addDomain('Domain', { cognitoDomain: { domainPrefix: config.authDomain.prefix } });
      this.authDomainUrl = `https://${config.authDomain.prefix}.auth.${config.region}.amazoncognito.com`;
    } else {
      const domain = this.userPool.addDomain('Domain', {
        customDomain: {
          domainName: config.authDomain.domainName,
          certificate: acm.Certificate.fromCertificateArn(this, 'AuthCertificate', config.authDomain.certificateArn),
        },
      });
      this.authDomainUrl = `https://${config.authDomain.domainName}`;
      new CfnOutput(this, 'AuthDomainAliasTarget', {
        value: domain.cloudFrontEndpoint,
        description: `Point ${config.authDomain.domainName} at this CloudFront host name (an alias or CNAME record)`,
      });
    }

    const resourceServer = this.userPool.addResourceServer('ResourceServer', {
      identifier: spec.resource_server.identifier,
      userPoolResourceServerName: spec.resource_server.name,
      scopes: spec.resource_server.scopes.map(
        (scope) => new cognito.ResourceServerScope({ scopeName: scope.name, scopeDescription: scope.description }),
      ),
    });

    this.clients = {};
    for (const [name, client] of Object.entries(spec.app_clients)) {
      this.clients[name] = this.addAppClient(name, client, config.appDomain);
      // Custom scopes are plain strings here: the client must wait for the resource server that defines them.
      this.clients[name].node.addDependency(resourceServer);
    }
    const webClient = this.clients[WEB_CLIENT];
    this.webClientSecret = new secretsmanager.Secret(this, 'WebClientSecret', {
      description: `The secret of the user pool's ${WEB_CLIENT} app client (COGNITO_CLIENT_SECRET of the backend)`,
      secretStringValue: webClient.userPoolClientSecret,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.trigger = this.addTrigger(props, spec);

    const identity = this.addIdentityPool(props);
    this.identityPoolId = identity.identityPoolId;
    this.uploadRole = identity.uploadRole;

    const operators = this.addOperatorPool(config, props.operatorPool);
    this.operatorPool = operators.pool;
    this.operatorAuthDomainUrl = `https://${config.operatorAuthPrefix}.auth.${config.region}.amazoncognito.com`;
    this.operatorResourceServerId = props.operatorPool.resource_server.identifier;
    // `loadOperatorPool` refuses a file without it.
    this.consoleClient = operators.clients[CONSOLE_CLIENT];
    this.consoleClientSecret = new secretsmanager.Secret(this, 'ConsoleClientSecret', {
      description: `The secret of the operators' pool's ${CONSOLE_CLIENT} app client (OPERATOR_COGNITO_CLIENT_SECRET of the backend)`,
      secretStringValue: this.consoleClient.userPoolClientSecret,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    new CfnOutput(this, 'UserPoolId', {
      value: this.userPool.userPoolId,
      description: 'The user pool (deletion-protected and retained when the stack is deleted)',
    });
    new CfnOutput(this, 'IdentityPoolId', { value: this.identityPoolId });
    for (const [name, client] of Object.entries(this.clients)) {
      new CfnOutput(this, `AppClient${pascal(name)}Id`, { value: client.userPoolClientId, description: `The ${name} app client` });
    }

    suppress(this.userPool, [
      {
        id: 'AwsSolutions-COG8',
        reason:
          "Threat protection needs the Plus feature plan, priced per active user; users sign in at their own organisation's " +
          'identity provider, which applies its own risk checks',
      },
    ]);
    for (const secret of [this.webClientSecret, this.consoleClientSecret]) {
      suppress(secret, [
        {
          id: 'AwsSolutions-SMG4',
          reason: 'A copy of the app client secret Cognito generated; Secrets Manager cannot rotate it',
        },
      ]);
    }
    suppressCdkProviders(this);
    limitCdkProviderLogs(this, config.logRetentionDays);
  }

  /**
   * The platform operators' pool of `operator-pool.json`: accounts an administrator creates (no self sign-up),
   * sign-in by email address, a strong password, MFA by authenticator app required, recovery by email, and
   * Cognito's threat protection enforced (the Plus plan: operators are few, and the accounts that can change
   * every tenant deserve it). Its console client signs operators in at `/operator/auth/callback`. The
   * operator administrators' managed policy (`operator-admin-permissions.json`) is for the people or pipeline
   * that run `backend operators`; the backend's own role gets nothing on this pool.
   */
  private addOperatorPool(
    config: DeploymentConfig,
    spec: OperatorPoolSpec,
  ): { pool: cognito.UserPool; clients: Record<string, cognito.UserPoolClient> } {
    const native = spec.native_users;
    const policy = native.password_policy;
    const byEmail = native.username_attributes.includes('email');
    const pool = new cognito.UserPool(this, 'OperatorPool', {
      userPoolName: `${spec.pool_name}-${config.env}`,
      featurePlan: cognito.FeaturePlan.PLUS,
      standardThreatProtectionMode: cognito.StandardThreatProtectionMode.FULL_FUNCTION,
      selfSignUpEnabled: !native.allow_admin_create_user_only,
      signInAliases: { email: byEmail, username: !byEmail },
      autoVerify: { email: true },
      signInCaseSensitive: spec.sign_in_case_sensitive,
      mfa: cognito.Mfa.REQUIRED,
      mfaSecondFactor: { otp: native.software_token_mfa, sms: false },
      passwordPolicy: {
        minLength: policy.minimum_length,
        requireLowercase: policy.require_lowercase,
        requireUppercase: policy.require_uppercase,
        requireDigits: policy.require_numbers,
        requireSymbols: policy.require_symbols,
        tempPasswordValidity: Duration.days(policy.temporary_password_validity_days),
      },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      userInvitation: {
        emailSubject: native.invitation.email_subject,
        emailBody: native.invitation.email_message,
      },
      userVerification: {
        emailSubject: native.password_reset.email_subject,
        emailBody: native.password_reset.email_message,
        emailStyle: cognito.VerificationEmailStyle.CODE,
      },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    pool.addDomain('OperatorDomain', { cognitoDomain: { domainPrefix: config.operatorAuthPrefix } });
    const resourceServer = pool.addResourceServer('OperatorResourceServer', {
      identifier: spec.resource_server.identifier,
      userPoolResourceServerName: spec.resource_server.name,
      scopes: spec.resource_server.scopes.map(
        (scope) => new cognito.ResourceServerScope({ scopeName: scope.name, scopeDescription: scope.description }),
      ),
    });
    const clients: Record<string, cognito.UserPoolClient> = {};
    for (const [name, client] of Object.entries(spec.app_clients)) {
      const created = pool.addClient(`Operator${pascal(name)}Client`, {
        userPoolClientName: name,
        generateSecret: client.generate_secret,
        oAuth: {
          flows: { authorizationCodeGrant: true },
          scopes: client.allowed_oauth_scopes.map((scope) => cognito.OAuthScope.custom(scope)),
          callbackUrls: [`https://${config.appDomain}/operator/auth/callback`],
          logoutUrls: [`https://${config.appDomain}/operator`],
        },
        supportedIdentityProviders: [cognito.UserPoolClientIdentityProvider.COGNITO],
        enableTokenRevocation: client.enable_token_revocation,
        preventUserExistenceErrors: client.prevent_user_existence_errors,
        accessTokenValidity: Duration.minutes(client.access_token_validity_minutes),
        idTokenValidity: Duration.minutes(client.id_token_validity_minutes),
        refreshTokenValidity: Duration.days(client.refresh_token_validity_days),
      });
      const cfn = created.node.defaultChild as cognito.CfnUserPoolClient;
      cfn.allowedOAuthScopes = client.allowed_oauth_scopes;
      cfn.explicitAuthFlows = client.explicit_auth_flows;
      cfn.readAttributes = client.read_attributes;
      cfn.writeAttributes = client.write_attributes;
      created.node.addDependency(resourceServer);
      new CfnOutput(this, `Operator${pascal(name)}ClientId`, {
        value: created.userPoolClientId,
        description: `The operators' pool's ${name} app client`,
      });
      clients[name] = created;
    }
    const administrators = new iam.ManagedPolicy(this, 'OperatorAdministrators', {
      description: "Operator administrators (who run `backend operators`): the operators' pool's accounts, nothing else",
      document: iam.PolicyDocument.fromJson(
        renderPolicyFile('operator-admin-permissions.json', { OPERATORS_POOL_ARN: pool.userPoolArn }),
      ),
    });
    new CfnOutput(this, 'OperatorUserPoolId', {
      value: pool.userPoolId,
      description: "The operators' pool (OPERATOR_USER_POOL_ID of `backend operators`; deletion-protected and retained)",
    });
    new CfnOutput(this, 'OperatorAdministratorsPolicyArn', {
      value: administrators.managedPolicyArn,
      description: 'Attach to the role or group of the people or pipeline that run `backend operators`',
    });
    return { pool, clients };
  }

  /** One app client of `user-pool.json`: its flows, scopes, attributes, token lifetimes and protections. */
  private addAppClient(name: string, spec: AppClientSpec, appDomain: string): cognito.UserPoolClient {
    const known = ['code', 'client_credentials'];
    const unknown = spec.allowed_oauth_flows.filter((flow) => !known.includes(flow));
    if (unknown.length > 0) {
      throw new Error(`infra/config/user-pool.json: app client "${name}" has OAuth flows ${unknown.join(', ')}; only ${known.join(' and ')} are deployed`);
    }
    const code = spec.allowed_oauth_flows.includes('code');
    const client = this.userPool.addClient(`${pascal(name)}Client`, {
      userPoolClientName: name,
      generateSecret: spec.generate_secret,
      oAuth: {
        flows: { authorizationCodeGrant: code, clientCredentials: spec.allowed_oauth_flows.includes('client_credentials') },
        scopes: spec.allowed_oauth_scopes.map((scope) => cognito.OAuthScope.custom(scope)),
        // The sign-in's callback, and the self-serve SSO set-up's test sign-in.
        callbackUrls: code
          ? [`https://${appDomain}/auth/callback`, `https://${appDomain}/setup/auth/callback`]
          : undefined,
        logoutUrls: code ? [`https://${appDomain}/`] : undefined,
      },
      enableTokenRevocation: spec.enable_token_revocation,
      preventUserExistenceErrors: spec.prevent_user_existence_errors,
      accessTokenValidity: Duration.minutes(spec.access_token_validity_minutes),
      idTokenValidity: Duration.minutes(spec.id_token_validity_minutes),
      refreshTokenValidity: Duration.days(spec.refresh_token_validity_days),
    });
    // The lists go to CloudFormation exactly as the file has them (the L2 construct would add `openid` next to
    // `email`, and leaves out an empty auth-flow list, which Cognito would read as its three defaults).
    const cfn = client.node.defaultChild as cognito.CfnUserPoolClient;
    cfn.allowedOAuthScopes = spec.allowed_oauth_scopes;
    cfn.explicitAuthFlows = spec.explicit_auth_flows;
    cfn.readAttributes = spec.read_attributes;
    cfn.writeAttributes = spec.write_attributes;
    // The identity providers a client supports are runtime data: the backend creates each tenant's provider
    // through the Cognito API and sets this list from its database. The template does not claim it.
    cfn.supportedIdentityProviders = undefined;
    return client;
  }

  /**
   * The pre-token-generation trigger (event version 2): the backend's `pre-token-generation` executable on
   * `provided.al2023`, in the isolated subnets, logging in to Postgres through RDS Proxy with an IAM token
   * signed by its own role. Its environment names no user pool or client id: the pool names the function, so
   * the function cannot name the pool (a CloudFormation cycle); the invoke permission's source ARN pins it.
   */
  private addTrigger(props: IdentityStackProps, spec: UserPoolSpec): lambda.Function {
    const { config, data, artifacts } = props;
    const securityGroup = new ec2.SecurityGroup(this, 'TriggerSecurityGroup', {
      vpc: data.vpc,
      description: 'Pre-token-generation trigger: Postgres to RDS Proxy only',
      allowAllOutbound: false,
    });
    securityGroup.addEgressRule(data.proxySecurityGroup, ec2.Port.tcp(DATABASE_PORT), 'to RDS Proxy');
    // Created in this stack (the rule's peer's), so that the data stack never depends on this one.
    data.proxySecurityGroup.addIngressRule(securityGroup, ec2.Port.tcp(DATABASE_PORT), 'from the trigger', true);

    const logGroup = new logs.LogGroup(this, 'TriggerLogs', {
      retention: config.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new iam.Role(this, 'TriggerRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'The pre-token-generation trigger: its own logs, its VPC interfaces, and the app login through RDS Proxy',
      inlinePolicies: {
        trigger: new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({
              sid: 'OwnLogs',
              actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
              resources: [logGroup.logGroupArn],
            }),
            new iam.PolicyStatement({
              sid: 'VpcNetworkInterfaces',
              actions: [
                'ec2:CreateNetworkInterface',
                'ec2:DescribeNetworkInterfaces',
                'ec2:DescribeSubnets',
                'ec2:DeleteNetworkInterface',
                'ec2:AssignPrivateIpAddresses',
                'ec2:UnassignPrivateIpAddresses',
              ],
              resources: ['*'],
            }),
            new iam.PolicyStatement({
              sid: 'AppLoginThroughProxy',
              actions: ['rds-db:connect'],
              resources: [`arn:${Aws.PARTITION}:rds-db:${Aws.REGION}:${Aws.ACCOUNT_ID}:dbuser:${data.proxyResourceId}/${APP_LOGIN}`],
            }),
          ],
        }),
      },
    });

    const trigger = new lambda.Function(this, 'PreTokenGeneration', {
      description: 'Cognito pre-token-generation trigger (event version 2): tenant, role and scopes from Postgres',
      runtime: lambda.Runtime.PROVIDED_AL2023,
      architecture: lambda.Architecture.X86_64,
      handler: 'bootstrap',
      code: lambda.Code.fromAsset(artifacts.lambdaDir),
      role,
      logGroup,
      timeout: triggerTimeout(spec.pre_token_generation.timeout_seconds),
      memorySize: spec.pre_token_generation.memory_size_mb,
      vpc: data.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroups: [securityGroup],
      environment: {
        DATABASE_URL: `postgres://${APP_LOGIN}@${data.proxy.endpoint}:${DATABASE_PORT}/${DATABASE_NAME}?sslmode=verify-full`,
        DATABASE_IAM_AUTH: 'true',
        RESOURCE_SERVER_ID: spec.resource_server.identifier,
      },
    });

    const version = spec.pre_token_generation.lambda_version;
    const lambdaVersion = (cognito.LambdaVersion as Record<string, cognito.LambdaVersion>)[version];
    if (lambdaVersion === undefined || version === 'V1_0') {
      // Version 1 events cannot change access tokens, which is where the tenant and the scopes go.
      throw new Error(`infra/config/user-pool.json: pre_token_generation.lambda_version ${version} is not a version 2 or later event`);
    }
    this.userPool.addTrigger(cognito.UserPoolOperation.PRE_TOKEN_GENERATION_CONFIG, trigger, lambdaVersion);

    suppress(role, [
      {
        id: 'AwsSolutions-IAM5',
        reason:
          'Lambda creates and deletes the network interfaces of a function in a VPC with these actions, which take no ' +
          'narrower resource (the same actions as the AWSLambdaVPCAccessExecutionRole managed policy); log streams ' +
          'are named by Lambda under the function\'s own log group',
        appliesTo: ['Resource::*'],
      },
    ]);
    return trigger;
  }

  /**
   * The identity pool: the web client's ID tokens only (checked server-side), no unauthenticated identities,
   * no classic flow, the principal tags of `identity-pool.json` (not the defaults), and the upload role from
   * `upload-role-trust.json` and `upload-role-permissions.json`.
   */
  private addIdentityPool(props: IdentityStackProps): { identityPoolId: string; uploadRole: iam.CfnRole } {
    const { config, identityPool: spec, storage } = props;
    if (spec.allow_unauthenticated_identities || spec.allow_classic_flow) {
      throw new Error('infra/config/identity-pool.json turns on unauthenticated identities or the classic flow; this deployment refuses both');
    }
    const pool = new cognito.CfnIdentityPool(this, 'IdentityPool', {
      identityPoolName: `${spec.identity_pool_name}-${config.env}`,
      allowUnauthenticatedIdentities: spec.allow_unauthenticated_identities,
      allowClassicFlow: spec.allow_classic_flow,
      cognitoIdentityProviders: spec.cognito_identity_providers.map((provider) => {
        const client = this.clients[provider.app_client];
        if (client === undefined) {
          throw new Error(`infra/config/identity-pool.json names app client "${provider.app_client}", which user-pool.json lacks`);
        }
        return {
          clientId: client.userPoolClientId,
          providerName: this.userPool.userPoolProviderName,
          serverSideTokenCheck: provider.server_side_token_check,
        };
      }),
    });
    new cognito.CfnIdentityPoolPrincipalTag(this, 'PrincipalTags', {
      identityPoolId: pool.ref,
      identityProviderName: this.userPool.userPoolProviderName,
      principalTags: spec.principal_tags,
      useDefaults: false,
    });
    const permissions = renderPolicyFile('upload-role-permissions.json', { BUCKET_NAME: storage.uploadBucketName });
    const uploadRole = new iam.CfnRole(this, 'UploadRole', {
      description: "Browser upload credentials from the identity pool: only the user's own <tenant>/<user>/uploads/ prefix",
      assumeRolePolicyDocument: renderPolicyFile('upload-role-trust.json', { IDENTITY_POOL_ID: pool.ref }),
      policies: [{ policyName: 'upload-role-permissions', policyDocument: permissions }],
      maxSessionDuration: 3600,
    });
    new cognito.CfnIdentityPoolRoleAttachment(this, 'IdentityPoolRoles', {
      identityPoolId: pool.ref,
      roles: { authenticated: uploadRole.attrArn },
    });
    acknowledgeObjectWildcards(
      uploadRole,
      permissions,
      storage.uploadBucketName,
      "The wildcard is the object name under the caller's own <tenant_id>/<user_id>/uploads/ prefix, fixed by the " +
        'session tags the identity pool sets from the ID token (infra/policies/README.md)',
    );
    return { identityPoolId: pool.ref, uploadRole };
  }
}

/** `machine` → `Machine`, `web-app` → `WebApp`: construct ids and output names. */
export function pascal(name: string): string {
  return name
    .split(/[^A-Za-z0-9]+/)
    .filter((part) => part !== '')
    .map((part) => part[0].toUpperCase() + part.slice(1))
    .join('');
}
