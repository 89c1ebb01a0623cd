// The deployment's inputs are checked before CloudFormation sees them: the configuration file, the
// placeholders of infra/policies, the translation of the bucket rules, and the OpenAPI document's scopes.

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { loadConfig, parseConfig } from '../lib/config';
import { apiRoutes } from '../lib/openapi';
import { corsRules, fillPlaceholders, lifecycleRules, loadUserPool } from '../lib/sources';
import { CONFIG_DIR } from '../lib/paths';

const example = JSON.parse(fs.readFileSync(path.join(CONFIG_DIR, 'example.json'), 'utf8'));
const withChanges = (changes: Record<string, unknown>) => parseConfig('test', { ...example, ...changes }, 'test.json');

describe('configuration file', () => {
  test('the committed example is valid and uses the placeholder account', () => {
    const config = loadConfig('example');
    expect(config.account).toBe('123456789012');
    expect(config.authDomain).toEqual({ kind: 'prefix', prefix: example.auth_domain.prefix });
  });

  test('a missing environment file names the file to create', () => {
    expect(() => loadConfig('nowhere')).toThrow(/no configuration file .*nowhere\.json: copy config\/example\.json/);
  });

  test('the operators\' pool needs a domain prefix of its own', () => {
    expect(() => withChanges({ operator_auth_prefix: 'Not A Prefix' })).toThrow(/operator_auth_prefix must be lower-case letters/);
    expect(() => withChanges({ operator_auth_prefix: 'example-saas-reference' })).toThrow(
      /operator_auth_prefix must differ from auth_domain.prefix/,
    );
    expect(() => withChanges({ operator_auth_prefix: 'my-cognito-ops' })).toThrow(/may not contain aws, amazon or cognito/);
  });

  test('an unknown field is refused rather than ignored', () => {
    expect(() => withChanges({ nat_gatways: 1 })).toThrow(/unknown field\(s\) nat_gatways/);
  });

  test('the load balancer certificate must be in the deployment region', () => {
    expect(() =>
      withChanges({ certificate_arn: 'arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-4000-8000-000000000000' }),
    ).toThrow(/certificate_arn is in us-east-1, but must be in eu-west-1/);
  });

  test('a custom auth domain needs a us-east-1 certificate', () => {
    expect(() =>
      withChanges({
        auth_domain: {
          custom_domain: 'login.example.com',
          certificate_arn: 'arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-4000-8000-000000000000',
        },
      }),
    ).toThrow(/auth_domain.certificate_arn is in eu-west-1, but must be in us-east-1/);
  });

  test('Fargate sizes must be a combination Fargate offers', () => {
    expect(() => withChanges({ backend: { cpu: 256, memory_mib: 4096, desired_count: 1 } })).toThrow(
      /memory_mib for 256 CPU units must be one of 512, 1024, 2048/,
    );
  });

  test('Aurora capacity cannot pause (the trigger and every request need the database) and comes in half ACUs', () => {
    expect(() => withChanges({ database: { min_acu: 0, max_acu: 4 } })).toThrow(/min_acu must be a number from 0.5/);
    expect(() => withChanges({ database: { min_acu: 0.75, max_acu: 4 } })).toThrow(/multiple of 0.5/);
  });

  test('log retention must be a period CloudWatch Logs offers', () => {
    expect(() => withChanges({ log_retention_days: 31 })).toThrow(/log_retention_days must be one of/);
  });

  test('availability zones must be two zones of the region', () => {
    expect(() => withChanges({ availability_zones: ['eu-west-1a', 'us-east-1b'] })).toThrow(/availability_zones/);
  });
});

describe('policy placeholders', () => {
  test('every placeholder is filled in, inside longer strings too', () => {
    const filled = fillPlaceholders(
      { Resource: 'arn:aws:s3:::@@BUCKET_NAME@@/${aws:PrincipalTag/tenant_id}/*' },
      { BUCKET_NAME: 'uploads' },
      'test',
    );
    // IAM's own policy variables reach IAM as written.
    expect(filled).toEqual({ Resource: 'arn:aws:s3:::uploads/${aws:PrincipalTag/tenant_id}/*' });
  });

  test('a placeholder without a value is refused', () => {
    expect(() => fillPlaceholders({ Condition: { aud: '@@IDENTITY_POOL_ID@@' } }, {}, 'test.json')).toThrow(
      /test.json: Condition.aud holds @@IDENTITY_POOL_ID@@/,
    );
  });

  test('@@APP_ORIGIN@@ as a list entry becomes one entry per origin', () => {
    expect(
      fillPlaceholders({ AllowedOrigins: ['@@APP_ORIGIN@@'] }, { APP_ORIGIN: ['https://a.example', 'https://b.example'] }, 't'),
    ).toEqual({ AllowedOrigins: ['https://a.example', 'https://b.example'] });
  });
});

describe('bucket rules', () => {
  test('CORS fields are renamed to CloudFormation’s and unknown ones refused', () => {
    expect(corsRules({ CORSRules: [{ ID: 'x', AllowedOrigins: ['o'], AllowedMethods: ['PUT'], ExposeHeaders: ['ETag'], MaxAgeSeconds: 5 }] })).toEqual([
      { id: 'x', allowedOrigins: ['o'], allowedMethods: ['PUT'], exposedHeaders: ['ETag'], maxAge: 5 },
    ]);
    expect(() => corsRules({ CORSRules: [{ AllowedOrigins: [], AllowedMethods: [], Unknown: 1 }] })).toThrow(/Unknown not translated/);
  });

  test('a lifecycle field that is not translated is refused, never dropped', () => {
    expect(() =>
      lifecycleRules({ Rules: [{ ID: 'x', Status: 'Enabled', Transitions: [{ Days: 30, StorageClass: 'GLACIER' }] }] }),
    ).toThrow(/Transitions not translated/);
    expect(lifecycleRules({ Rules: [{ ID: 'x', Status: 'Enabled', Filter: { Prefix: 'a/' }, Expiration: { Days: 3 } }] })).toEqual([
      { id: 'x', status: 'Enabled', prefix: 'a/', expirationInDays: 3 },
    ]);
  });
});

describe('user pool file', () => {
  test('an app client allowing aws.cognito.signin.user.admin is refused', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'infra-'));
    fs.mkdirSync(path.join(dir, 'config'));
    const pool = loadUserPool();
    const unsafe = JSON.parse(JSON.stringify(pool));
    unsafe.app_clients.web.allowed_oauth_scopes.push('aws.cognito.signin.user.admin');
    fs.writeFileSync(path.join(dir, 'config', 'user-pool.json'), JSON.stringify(unsafe));
    try {
      expect(() => loadUserPool(dir)).toThrow(/app client "web" allows aws.cognito.signin.user.admin/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('OpenAPI scopes', () => {
  const operation = (scope: string | undefined, bearer: string[]) => ({
    paths: { '/api/v1/x': { get: { 'x-required-scope': scope, security: [{ bearer }, { session: [] }] } } },
  });

  test('each operation is routed with its bearer scope', () => {
    expect(apiRoutes(operation('read', ['saas-api/read']), 'saas-api')).toEqual([
      { method: 'GET', path: '/api/v1/x', scope: 'saas-api/read' },
    ]);
  });

  test('an operation without x-required-scope is refused', () => {
    expect(() => apiRoutes(operation(undefined, ['saas-api/read']), 'saas-api')).toThrow(/GET \/api\/v1\/x: the operation has no x-required-scope/);
  });

  test('a bearer requirement that disagrees with x-required-scope is refused', () => {
    expect(() => apiRoutes(operation('admin', ['saas-api/read']), 'saas-api')).toThrow(/must hold exactly saas-api\/admin/);
  });
});
