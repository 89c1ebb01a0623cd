// The deployment's own settings: one file per environment, `infra/aws/config/<env>.json`, checked field by field
// so that a mistake is reported by name before CloudFormation sees it.

import * as fs from 'fs';
import * as path from 'path';

import { CONFIG_DIR } from './paths';

/** How the user pool's hosted domain is named. */
export type AuthDomain =
  /** `https://<prefix>.auth.<region>.amazoncognito.com`: nothing to set up besides a free prefix. */
  | { kind: 'prefix'; prefix: string }
  /** Your own host name, served through CloudFront with a certificate from us-east-1. */
  | { kind: 'custom'; domainName: string; certificateArn: string };

/** One environment's deployment settings, as read from `config/<env>.json`. */
export interface DeploymentConfig {
  /** The environment's name: the file name without `.json`, part of every stack name. */
  readonly env: string;
  /** The AWS account id (12 digits). */
  readonly account: string;
  /** The region everything is deployed to. */
  readonly region: string;
  /** The two availability zones of the VPC (named in the file so that synthesis needs no AWS lookup). */
  readonly availabilityZones: [string, string];
  /** The host name browsers use (`app.example.com`); the app's origin is `https://<appDomain>`. */
  readonly appDomain: string;
  /** The ACM certificate for `appDomain` in `region`, served by the load balancer. */
  readonly certificateArn: string;
  /** The user pool's hosted domain. */
  readonly authDomain: AuthDomain;
  /** The operators' user pool's hosted domain prefix: `https://<prefix>.auth.<region>.amazoncognito.com`. */
  readonly operatorAuthPrefix: string;
  /** The backend service's size. */
  readonly backend: { readonly cpu: number; readonly memoryMiB: number; readonly desiredCount: number };
  /** Aurora Serverless v2 capacity bounds, in ACUs. */
  readonly database: { readonly minAcu: number; readonly maxAcu: number };
  /** NAT gateways of the VPC (1 is cheapest; one per availability zone survives a zone outage). */
  readonly natGateways: number;
  /** How long every log group keeps its events, in days (one of CloudWatch Logs' values). */
  readonly logRetentionDays: number;
  /** Where alarm notifications are e-mailed; `null` for none (subscribe to the topic some other way). */
  readonly alarmEmail: string | null;
}

/** The retention periods CloudWatch Logs accepts. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

/** Fargate's CPU units and, for each, the memory sizes (MiB) it accepts. */
const FARGATE_SIZES: Record<number, number[]> = {
  256: [512, 1024, 2048],
  512: range(1024, 4096, 1024),
  1024: range(2048, 8192, 1024),
  2048: range(4096, 16384, 1024),
  4096: range(8192, 30720, 1024),
  8192: range(16384, 61440, 4096),
  16384: range(32768, 122880, 8192),
};

/** The environment names accepted: they become part of stack and resource names. */
const ENV_NAME = /^[a-z][a-z0-9-]{0,19}$/;

/** Reads and checks `config/<env>.json`. */
export function loadConfig(env: string, dir: string = CONFIG_DIR): DeploymentConfig {
  if (!ENV_NAME.test(env)) {
    throw new Error(
      `environment name ${JSON.stringify(env)}: use 1 to 20 lower-case letters, digits or '-', starting with a letter`,
    );
  }
  const file = path.join(dir, `${env}.json`);
  if (!fs.existsSync(file)) {
    const known = fs.existsSync(dir)
      ? fs.readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5))
      : [];
    throw new Error(
      `no configuration file ${file}: copy config/example.json to config/${env}.json and fill it in` +
        (known.length > 0 ? ` (environments present: ${known.join(', ')})` : ''),
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file} is not valid JSON: ${(error as Error).message}`);
  }
  return parseConfig(env, raw, file);
}

/** Checks a configuration already parsed from JSON; `source` names it in error messages. */
export function parseConfig(env: string, raw: unknown, source: string): DeploymentConfig {
  const top = new Fields(raw, source);
  const account = top.string('account', /^\d{12}$/, 'a 12-digit AWS account id');
  const region = top.string('region', /^[a-z]{2}(-[a-z]+)+-\d$/, 'a region such as eu-west-1');
  const zones = top.stringList('availability_zones', 2, new RegExp(`^${region}[a-z]$`), `zones of ${region}`);
  if (zones[0] === zones[1]) {
    throw new Error(`${source}: availability_zones must name two different zones`);
  }
  const availabilityZones: [string, string] = [zones[0], zones[1]];
  const appDomain = top.string('app_domain', HOST_NAME, 'a host name such as app.example.com');
  const certificateArn = top.string('certificate_arn', ACM_ARN, 'an ACM certificate ARN');
  expectArnRegion(certificateArn, region, `${source}: certificate_arn`, 'the load balancer is in');

  const auth = top.object('auth_domain');
  let authDomain: AuthDomain;
  if (auth.has('prefix')) {
    const prefix = auth.string('prefix', COGNITO_PREFIX, COGNITO_PREFIX_WHAT);
    if (/aws|amazon|cognito/.test(prefix)) {
      throw new Error(`${source}: auth_domain.prefix may not contain aws, amazon or cognito`);
    }
    authDomain = { kind: 'prefix', prefix };
    auth.done();
  } else {
    const domainName = auth.string('custom_domain', HOST_NAME, 'a host name such as auth.example.com');
    const authCertificate = auth.string('certificate_arn', ACM_ARN, 'an ACM certificate ARN');
    expectArnRegion(
      authCertificate,
      'us-east-1',
      `${source}: auth_domain.certificate_arn`,
      'Cognito serves custom domains through CloudFront, which reads certificates from',
    );
    authDomain = { kind: 'custom', domainName, certificateArn: authCertificate };
    auth.done();
  }

  const operatorAuthPrefix = top.string('operator_auth_prefix', COGNITO_PREFIX, COGNITO_PREFIX_WHAT);
  if (/aws|amazon|cognito/.test(operatorAuthPrefix)) {
    throw new Error(`${source}: operator_auth_prefix may not contain aws, amazon or cognito`);
  }
  if (authDomain.kind === 'prefix' && authDomain.prefix === operatorAuthPrefix) {
    throw new Error(`${source}: operator_auth_prefix must differ from auth_domain.prefix (each pool has its own domain)`);
  }

  const backendFields = top.object('backend');
  const cpu = backendFields.integer('cpu', 256, 16384);
  const memoryMiB = backendFields.integer('memory_mib', 512, 122880);
  const desiredCount = backendFields.integer('desired_count', 1, 100);
  backendFields.done();
  const memories = FARGATE_SIZES[cpu];
  if (memories === undefined) {
    throw new Error(`${source}: backend.cpu must be one of ${Object.keys(FARGATE_SIZES).join(', ')}`);
  }
  if (!memories.includes(memoryMiB)) {
    throw new Error(`${source}: backend.memory_mib for ${cpu} CPU units must be one of ${memories.join(', ')}`);
  }

  const databaseFields = top.object('database');
  const minAcu = databaseFields.number('min_acu', 0.5, 256);
  const maxAcu = databaseFields.number('max_acu', 1, 256);
  databaseFields.done();
  for (const [name, acu] of [
    ['min_acu', minAcu],
    ['max_acu', maxAcu],
  ] as const) {
    if (!Number.isInteger(acu * 2)) {
      throw new Error(`${source}: database.${name} must be a multiple of 0.5`);
    }
  }
  if (maxAcu < minAcu) {
    throw new Error(`${source}: database.max_acu must be at least database.min_acu`);
  }

  const natGateways = top.integer('nat_gateways', 1, 2);
  const logRetentionDays = top.integer('log_retention_days', 1, 3653);
  if (!LOG_RETENTION_DAYS.includes(logRetentionDays)) {
    throw new Error(`${source}: log_retention_days must be one of ${LOG_RETENTION_DAYS.join(', ')}`);
  }
  const alarmEmail = top.nullableString('alarm_email', /^[^@\s]+@[^@\s]+\.[^@\s]+$/, 'an e-mail address or null');
  top.done();

  return {
    env,
    account,
    region,
    availabilityZones,
    appDomain,
    certificateArn,
    authDomain,
    operatorAuthPrefix,
    backend: { cpu, memoryMiB, desiredCount },
    database: { minAcu, maxAcu },
    natGateways,
    logRetentionDays,
    alarmEmail,
  };
}

/** A Cognito domain prefix. */
const COGNITO_PREFIX = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const COGNITO_PREFIX_WHAT = 'lower-case letters, digits and hyphens (not at either end), at most 63';
const HOST_NAME = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const ACM_ARN = /^arn:aws:acm:[a-z0-9-]+:\d{12}:certificate\/[0-9a-f-]{36}$/;

function expectArnRegion(arn: string, region: string, what: string, why: string): void {
  const arnRegion = arn.split(':')[3];
  if (arnRegion !== region) {
    throw new Error(`${what} is in ${arnRegion}, but must be in ${region} (${why} ${region})`);
  }
}

function range(from: number, to: number, step: number): number[] {
  const values: number[] = [];
  for (let value = from; value <= to; value += step) {
    values.push(value);
  }
  return values;
}

/** Reads the fields of one JSON object, naming the field in every error and refusing fields nobody reads. */
class Fields {
  private readonly values: Record<string, unknown>;
  private readonly read = new Set<string>(['_comment']);

  constructor(
    value: unknown,
    private readonly where: string,
  ) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new Error(`${where} must be a JSON object`);
    }
    this.values = value as Record<string, unknown>;
  }

  has(name: string): boolean {
    return name in this.values;
  }

  string(name: string, pattern: RegExp, what: string): string {
    const value = this.take(name);
    if (typeof value !== 'string' || !pattern.test(value)) {
      throw new Error(`${this.where}: ${name} must be ${what}, not ${JSON.stringify(value)}`);
    }
    return value;
  }

  stringList(name: string, length: number, pattern: RegExp, what: string): string[] {
    const value = this.take(name);
    if (!Array.isArray(value) || value.length !== length || !value.every((item) => typeof item === 'string' && pattern.test(item))) {
      throw new Error(`${this.where}: ${name} must be a list of ${length} ${what}, not ${JSON.stringify(value)}`);
    }
    return value as string[];
  }

  nullableString(name: string, pattern: RegExp, what: string): string | null {
    if (this.values[name] === null) {
      this.read.add(name);
      return null;
    }
    return this.string(name, pattern, what);
  }

  number(name: string, min: number, max: number): number {
    const value = this.take(name);
    if (typeof value !== 'number' || !(value >= min && value <= max)) {
      throw new Error(`${this.where}: ${name} must be a number from ${min} to ${max}, not ${JSON.stringify(value)}`);
    }
    return value;
  }

  integer(name: string, min: number, max: number): number {
    const value = this.number(name, min, max);
    if (!Number.isInteger(value)) {
      throw new Error(`${this.where}: ${name} must be a whole number, not ${value}`);
    }
    return value;
  }

  object(name: string): Fields {
    return new Fields(this.take(name), `${this.where}: ${name}`);
  }

  /** Refuses fields that were never read: a misspelt optional field must not pass silently. */
  done(): void {
    const unknown = Object.keys(this.values).filter((key) => !this.read.has(key));
    if (unknown.length > 0) {
      throw new Error(`${this.where}: unknown field(s) ${unknown.join(', ')}`);
    }
  }

  private take(name: string): unknown {
    if (!(name in this.values)) {
      throw new Error(`${this.where}: ${name} is missing`);
    }
    this.read.add(name);
    return this.values[name];
  }
}
