// The files under `infra/config` and `infra/policies` that the local stand-ins read too: the one source of
// truth for the user pool, the identity pool, the IAM policies and the bucket's rules. Nothing here restates
// their values; it reads them, fills in the deployment's placeholders and translates shapes where
// CloudFormation names a field differently from the API the file is written for.

import * as fs from 'fs';
import * as path from 'path';

import { INFRA_DIR } from './paths';

/** One app client of `user-pool.json`. */
export interface AppClientSpec {
  readonly generate_secret: boolean;
  readonly allowed_oauth_flows: string[];
  readonly allowed_oauth_scopes: string[];
  readonly explicit_auth_flows: string[];
  readonly read_attributes: string[];
  readonly write_attributes: string[];
  readonly enable_token_revocation: boolean;
  readonly prevent_user_existence_errors: boolean;
  readonly access_token_validity_minutes: number;
  readonly id_token_validity_minutes: number;
  readonly refresh_token_validity_days: number;
}

/** A custom attribute of `user-pool.json` (`custom:<name>` in tokens and client attribute lists). */
export interface CustomAttributeSpec {
  readonly name: string;
  readonly type: 'String' | 'Number';
  readonly mutable: boolean;
  readonly developer_only: boolean;
}

/** `infra/config/user-pool.json`. */
export interface UserPoolSpec {
  /** The local stand-in's region; a deployment uses its own configuration's region. */
  readonly region: string;
  readonly pool_name: string;
  readonly resource_server: {
    readonly identifier: string;
    readonly name: string;
    readonly scopes: { readonly name: string; readonly description: string }[];
  };
  readonly custom_attributes: CustomAttributeSpec[];
  readonly app_clients: Record<string, AppClientSpec>;
  /** Whether user names are case-sensitive; when not, Cognito lower-cases federated user names. */
  readonly sign_in_case_sensitive: boolean;
  readonly pre_token_generation: {
    readonly lambda_version: string;
    readonly timeout_seconds: number;
    readonly memory_size_mb: number;
  };
  /** Local stand-in only: Cognito's authorization codes always live five minutes. */
  readonly authorization_code_validity_seconds: number;
}

/** `infra/config/identity-pool.json`. */
export interface IdentityPoolSpec {
  readonly identity_pool_name: string;
  readonly allow_unauthenticated_identities: boolean;
  readonly allow_classic_flow: boolean;
  readonly cognito_identity_providers: { readonly app_client: string; readonly server_side_token_check: boolean }[];
  readonly principal_tags: Record<string, string>;
  /** The local stand-in's role and bucket names; a deployment lets CloudFormation name both. */
  readonly authenticated_role: { readonly name: string; readonly bucket: string };
}

/**
 * The app client the backend signs users in with (the confidential web client). Every other client of
 * `user-pool.json` is an API client whose access tokens the API accepts as bearer tokens.
 */
export const WEB_CLIENT = 'web';

/** Reads `infra/config/user-pool.json`. */
export function loadUserPool(infraDir: string = INFRA_DIR): UserPoolSpec {
  const spec = readJson(path.join(infraDir, 'config', 'user-pool.json')) as UserPoolSpec;
  if (!(WEB_CLIENT in spec.app_clients)) {
    throw new Error(`infra/config/user-pool.json has no app client "${WEB_CLIENT}", the client the backend signs users in with`);
  }
  for (const [name, client] of Object.entries(spec.app_clients)) {
    if (client.allowed_oauth_scopes.includes('aws.cognito.signin.user.admin')) {
      // With it a user could rewrite their own writable attributes (custom:idp_groups among them).
      throw new Error(`infra/config/user-pool.json: app client "${name}" allows aws.cognito.signin.user.admin`);
    }
  }
  return spec;
}

/** `native_users` of a pool's file: how the pool's own (not federated) users sign in. */
export interface NativeUsersSpec {
  readonly username_attributes: string[];
  readonly allow_admin_create_user_only: boolean;
  readonly mfa: 'OFF' | 'OPTIONAL' | 'ON';
  readonly software_token_mfa: boolean;
  readonly password_policy: {
    readonly minimum_length: number;
    readonly require_uppercase: boolean;
    readonly require_lowercase: boolean;
    readonly require_numbers: boolean;
    readonly require_symbols: boolean;
    readonly temporary_password_validity_days: number;
  };
  readonly invitation: { readonly email_subject: string; readonly email_message: string };
  readonly password_reset: { readonly email_subject: string; readonly email_message: string };
}

/** `infra/config/operator-pool.json`: the platform operators' own pool. */
export interface OperatorPoolSpec {
  readonly region: string;
  readonly pool_name: string;
  readonly sign_in_case_sensitive: boolean;
  readonly resource_server: UserPoolSpec['resource_server'];
  readonly app_clients: Record<string, AppClientSpec>;
  readonly native_users: NativeUsersSpec;
}

/** The operators' pool's client the backend signs operators in with. */
export const CONSOLE_CLIENT = 'console';

/**
 * Reads `infra/config/operator-pool.json`, refusing what the operators' pool must never be: open to self
 * sign-up, without MFA by authenticator app, or with a client that lets users rewrite their own attributes.
 */
export function loadOperatorPool(infraDir: string = INFRA_DIR): OperatorPoolSpec {
  const source = 'infra/config/operator-pool.json';
  const spec = readJson(path.join(infraDir, 'config', 'operator-pool.json')) as OperatorPoolSpec;
  if (!(CONSOLE_CLIENT in spec.app_clients)) {
    throw new Error(`${source} has no app client "${CONSOLE_CLIENT}", the client the backend signs operators in with`);
  }
  const native = spec.native_users;
  if (!native.allow_admin_create_user_only || native.mfa !== 'ON' || !native.software_token_mfa) {
    throw new Error(`${source}: operators are created by an administrator only and must use MFA by authenticator app`);
  }
  for (const [name, client] of Object.entries(spec.app_clients)) {
    if (client.allowed_oauth_scopes.includes('aws.cognito.signin.user.admin')) {
      throw new Error(`${source}: app client "${name}" allows aws.cognito.signin.user.admin`);
    }
  }
  return spec;
}

/** Reads `infra/config/identity-pool.json`. */
export function loadIdentityPool(infraDir: string = INFRA_DIR): IdentityPoolSpec {
  return readJson(path.join(infraDir, 'config', 'identity-pool.json')) as IdentityPoolSpec;
}

/** The resource-server scopes of `user-pool.json` as tokens carry them: `<identifier>/<scope>`. */
export function resourceServerScopes(pool: UserPoolSpec): string[] {
  return pool.resource_server.scopes.map((scope) => `${pool.resource_server.identifier}/${scope.name}`);
}

/** The values that replace the `@@NAME@@` placeholders of `infra/policies` (see its README). */
export interface PlaceholderValues {
  readonly BUCKET_NAME?: string;
  readonly FILES_BUCKET_NAME?: string;
  readonly IDENTITY_POOL_ID?: string;
  readonly USER_POOL_ARN?: string;
  readonly OPERATORS_POOL_ARN?: string;
  /** Every origin the app is served from; an `AllowedOrigins` entry `@@APP_ORIGIN@@` becomes all of them. */
  readonly APP_ORIGIN?: string[];
}

/**
 * Reads `infra/policies/<file>` and fills in its placeholders by plain text replacement inside string values
 * (values may be CDK tokens). A placeholder without a value, or one left behind, is an error: `@` can never
 * match anything in IAM, so a forgotten placeholder would silently deny or, worse, look deployed.
 */
export function renderPolicyFile(file: string, values: PlaceholderValues, infraDir: string = INFRA_DIR): any {
  const source = path.join(infraDir, 'policies', file);
  return fillPlaceholders(readJson(source), values, `infra/policies/${file}`);
}

/** Fills in the placeholders of an already parsed policy file (see [`renderPolicyFile`]). */
export function fillPlaceholders(document: unknown, values: PlaceholderValues, source: string): any {
  const fill = (value: unknown, where: string): unknown => {
    if (typeof value === 'string') {
      return value.replace(/@@([A-Z_]+)@@/g, (_, name: string) => {
        const replacement = (values as Record<string, unknown>)[name];
        if (typeof replacement !== 'string') {
          throw new Error(`${source}: ${where} holds @@${name}@@, which this deployment does not fill in as text`);
        }
        return replacement;
      });
    }
    if (Array.isArray(value)) {
      return value.flatMap((item, index) => {
        // `@@APP_ORIGIN@@` stands for a list: as a whole entry it becomes one entry per origin.
        if (item === '@@APP_ORIGIN@@') {
          if (values.APP_ORIGIN === undefined || values.APP_ORIGIN.length === 0) {
            throw new Error(`${source}: ${where}[${index}] is @@APP_ORIGIN@@, and no origin was given`);
          }
          return values.APP_ORIGIN;
        }
        return [fill(item, `${where}[${index}]`)];
      });
    }
    if (typeof value === 'object' && value !== null) {
      return Object.fromEntries(
        Object.entries(value).map(([key, item]) => [key, fill(item, where === '' ? key : `${where}.${key}`)]),
      );
    }
    return value;
  };
  const filled = fill(document, '');
  const leftover = JSON.stringify(filled).match(/@@[A-Za-z_]*@@/);
  if (leftover !== null) {
    throw new Error(`${source}: placeholder ${leftover[0]} left after filling in`);
  }
  return filled;
}

/** A CORS rule as CloudFormation's `AWS::S3::Bucket CorsRule` names its fields. */
export interface CfnCorsRule {
  id?: string;
  allowedOrigins: string[];
  allowedMethods: string[];
  allowedHeaders?: string[];
  exposedHeaders?: string[];
  maxAge?: number;
}

/**
 * Translates `bucket-cors.json` (the `PutBucketCors` shape: `ID`, `ExposeHeaders`, `MaxAgeSeconds`) into
 * CloudFormation's (`Id`, `ExposedHeaders`, `MaxAge`). A field this does not know is refused rather than
 * dropped.
 */
export function corsRules(document: any, source = 'infra/policies/bucket-cors.json'): CfnCorsRule[] {
  const rules = expectArray(document?.CORSRules, `${source}: CORSRules`);
  return rules.map((rule: any, index: number) => {
    const where = `${source}: CORSRules[${index}]`;
    refuseUnknown(rule, ['ID', 'AllowedOrigins', 'AllowedMethods', 'AllowedHeaders', 'ExposeHeaders', 'MaxAgeSeconds'], where);
    return dropUndefined({
      id: rule.ID,
      allowedOrigins: expectArray(rule.AllowedOrigins, `${where}.AllowedOrigins`),
      allowedMethods: expectArray(rule.AllowedMethods, `${where}.AllowedMethods`),
      allowedHeaders: rule.AllowedHeaders,
      exposedHeaders: rule.ExposeHeaders,
      maxAge: rule.MaxAgeSeconds,
    });
  });
}

/** A lifecycle rule as CloudFormation's `AWS::S3::Bucket Rule` names its fields (the ones translated). */
export interface CfnLifecycleRule {
  id?: string;
  status: string;
  prefix?: string;
  abortIncompleteMultipartUpload?: { daysAfterInitiation: number };
  expirationInDays?: number;
}

/**
 * Translates `bucket-lifecycle.json` (the `PutBucketLifecycleConfiguration` shape) into CloudFormation's rule
 * shape: `Filter.Prefix` becomes `Prefix` (left out when empty: the whole bucket), `Expiration.Days` becomes
 * `ExpirationInDays`. Other fields are refused, so that a rule added to the file is never half-deployed.
 */
export function lifecycleRules(document: any, source = 'infra/policies/bucket-lifecycle.json'): CfnLifecycleRule[] {
  const rules = expectArray(document?.Rules, `${source}: Rules`);
  return rules.map((rule: any, index: number) => {
    const where = `${source}: Rules[${index}]`;
    refuseUnknown(rule, ['ID', 'Status', 'Filter', 'AbortIncompleteMultipartUpload', 'Expiration'], where);
    if (rule.Filter !== undefined) {
      refuseUnknown(rule.Filter, ['Prefix'], `${where}.Filter`);
    }
    if (rule.Expiration !== undefined) {
      refuseUnknown(rule.Expiration, ['Days'], `${where}.Expiration`);
    }
    if (rule.AbortIncompleteMultipartUpload !== undefined) {
      refuseUnknown(rule.AbortIncompleteMultipartUpload, ['DaysAfterInitiation'], `${where}.AbortIncompleteMultipartUpload`);
    }
    if (rule.Status !== 'Enabled' && rule.Status !== 'Disabled') {
      throw new Error(`${where}.Status must be Enabled or Disabled`);
    }
    const prefix: string | undefined = rule.Filter?.Prefix;
    return dropUndefined({
      id: rule.ID,
      status: rule.Status,
      prefix: prefix === '' ? undefined : prefix,
      abortIncompleteMultipartUpload:
        rule.AbortIncompleteMultipartUpload === undefined
          ? undefined
          : { daysAfterInitiation: rule.AbortIncompleteMultipartUpload.DaysAfterInitiation },
      expirationInDays: rule.Expiration?.Days,
    });
  });
}

function readJson(file: string): any {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`reading ${file}: ${(error as Error).message}`);
  }
}

function expectArray(value: unknown, where: string): any[] {
  if (!Array.isArray(value)) {
    throw new Error(`${where} must be a list`);
  }
  return value;
}

function refuseUnknown(object: any, known: string[], where: string): void {
  if (typeof object !== 'object' || object === null) {
    throw new Error(`${where} must be an object`);
  }
  const unknown = Object.keys(object).filter((key) => !known.includes(key));
  if (unknown.length > 0) {
    throw new Error(
      `${where}: ${unknown.join(', ')} not translated to CloudFormation (infra/aws/lib/sources.ts knows ${known.join(', ')})`,
    );
  }
}

function dropUndefined<T extends object>(object: T): T {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as T;
}
