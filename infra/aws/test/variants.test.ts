// Deployments other than the committed example: a custom auth domain, an alarm e-mail, and a finding cdk-nag
// must stop.

import * as fs from 'fs';
import * as path from 'path';

import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';

import { artifactsFromEnv } from '../lib/artifacts';
import { type DeploymentConfig, parseConfig } from '../lib/config';
import { buildDeployment } from '../lib/deployment';
import { CONFIG_DIR } from '../lib/paths';
import { cdkContext, only } from './support';

/** The example file with `changes` applied, as a checked configuration. */
function exampleWith(changes: Record<string, unknown>): DeploymentConfig {
  const example = JSON.parse(fs.readFileSync(path.join(CONFIG_DIR, 'example.json'), 'utf8'));
  return parseConfig('variant', { ...example, ...changes }, 'variant.json');
}

test('a custom auth domain is served with its us-east-1 certificate and is the backend’s COGNITO_AUTH_DOMAIN', () => {
  const certificate = 'arn:aws:acm:us-east-1:123456789012:certificate/11111111-1111-4111-8111-111111111111';
  const config = exampleWith({
    auth_domain: { custom_domain: 'login.example.com', certificate_arn: certificate },
    alarm_email: 'ops@example.com',
  });
  const app = new App({ context: cdkContext() });
  const deployment = buildDeployment(app, config, artifactsFromEnv());
  app.synth();

  const identity = Template.fromStack(deployment.identity);
  const domain = only(identity, 'AWS::Cognito::UserPoolDomain', (p) => p.CustomDomainConfig !== undefined).Properties;
  expect(domain.Domain).toBe('login.example.com');
  expect(domain.CustomDomainConfig).toEqual({ CertificateArn: certificate });
  expect(identity.findOutputs('AuthDomainAliasTarget')).not.toEqual({});

  const application = Template.fromStack(deployment.application);
  const serve = only(application, 'AWS::ECS::TaskDefinition', (p) => p.ContainerDefinitions[0].Command[0] === 'serve');
  expect(serve.Properties.ContainerDefinitions[0].Environment).toContainEqual({
    Name: 'COGNITO_AUTH_DOMAIN',
    Value: 'https://login.example.com',
  });
  expect(only(application, 'AWS::SNS::Subscription').Properties).toMatchObject({
    Protocol: 'email',
    Endpoint: 'ops@example.com',
  });
});

test('a cdk-nag finding nobody acknowledged stops synthesis', () => {
  const app = new App({ context: cdkContext() });
  const deployment = buildDeployment(app, exampleWith({}), artifactsFromEnv());
  // A bucket without access logs, TLS enforcement or a public access block: AwsSolutions-S1, S2 and S10.
  new s3.CfnBucket(deployment.storage, 'Careless', {});
  expect(() => app.synth()).toThrow(/AwsSolutions/);
});
