// The CDK app: `cdk synth|deploy -c env=<env>` with the artifacts named by SAAS_AWS_LAMBDA_DIR,
// SAAS_AWS_IMAGE_DIR and SAAS_AWS_OPENAPI (`cargo xtask deploy` and `cargo xtask test` set them).

import { App } from 'aws-cdk-lib';

import { artifactsFromEnv } from '../lib/artifacts';
import { loadConfig } from '../lib/config';
import { buildDeployment } from '../lib/deployment';

function main(): void {
  const app = new App();
  const env = app.node.tryGetContext('env');
  if (typeof env !== 'string' || env === '') {
    throw new Error('name the environment: cdk <command> -c env=<env> (its settings are config/<env>.json)');
  }
  const config = loadConfig(env);
  const artifacts = artifactsFromEnv();
  buildDeployment(app, config, artifacts);
  app.synth();
}

main();
