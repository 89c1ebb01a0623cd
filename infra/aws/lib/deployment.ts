// The whole deployment of one environment: four stacks split along the lifetimes of what they hold, checked
// by cdk-nag's AwsSolutions pack.

import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';

import type { Artifacts } from './artifacts';
import type { DeploymentConfig } from './config';
import { apiRoutes, loadOpenApi } from './openapi';
import { loadIdentityPool, loadOperatorPool, loadUserPool } from './sources';
import { ApplicationStack } from './stacks/application';
import { DataStack } from './stacks/data';
import { IdentityStack } from './stacks/identity';
import { StorageStack } from './stacks/storage';

/** The stacks of one environment. */
export interface Deployment {
  readonly app: App;
  readonly data: DataStack;
  readonly storage: StorageStack;
  readonly identity: IdentityStack;
  readonly application: ApplicationStack;
}

/**
 * The stack names of environment `env`, in deployment order (each depends only on earlier ones). `cargo
 * xtask destroy` deletes them in reverse order under these same names.
 */
export function stackNames(env: string): { data: string; storage: string; identity: string; application: string } {
  return {
    data: `saas-${env}-data`,
    storage: `saas-${env}-storage`,
    identity: `saas-${env}-identity`,
    application: `saas-${env}-app`,
  };
}

/** Builds the stacks of `config`'s environment into `app`, with cdk-nag's AwsSolutions checks registered. */
export function buildDeployment(app: App, config: DeploymentConfig, artifacts: Artifacts): Deployment {
  const userPool = loadUserPool();
  const operatorPool = loadOperatorPool();
  const identityPool = loadIdentityPool();
  const routes = apiRoutes(loadOpenApi(artifacts.openapi), userPool.resource_server.identifier);
  const env = { account: config.account, region: config.region };
  const names = stackNames(config.env);
  const tags = { 'saas:environment': config.env };

  const data = new DataStack(app, 'Data', {
    stackName: names.data,
    description: `saas-reference ${config.env}: VPC, Aurora PostgreSQL, RDS Proxy (stateful; the cluster is deletion-protected)`,
    env,
    tags,
    config,
  });
  const storage = new StorageStack(app, 'Storage', {
    stackName: names.storage,
    description: `saas-reference ${config.env}: upload bucket and access-log bucket (both retained)`,
    env,
    tags,
    config,
  });
  const identity = new IdentityStack(app, 'Identity', {
    stackName: names.identity,
    description: `saas-reference ${config.env}: user pool and operators' pool (retained), pre-token-generation trigger, identity pool, upload role`,
    env,
    tags,
    config,
    artifacts,
    userPool,
    operatorPool,
    identityPool,
    data,
    storage,
  });
  const application = new ApplicationStack(app, 'Application', {
    stackName: names.application,
    description: `saas-reference ${config.env}: backend on ECS Fargate, load balancer, HTTP API, alarms`,
    env,
    tags,
    config,
    artifacts,
    userPool,
    routes,
    data,
    storage,
    identity,
  });

  // The acknowledgments and their reasons are also written into the templates' metadata, for auditors.
  // The bucket names are plain text (see `bucketNames`), so these orderings are not implied by references.
  identity.addStackDependency(storage, 'the upload role names the upload bucket');
  application.addStackDependency(storage, 'the task role and the load balancer name the buckets');

  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true, writeSuppressionsToCloudFormation: true }));
  return { app, data, storage, identity, application };
}
