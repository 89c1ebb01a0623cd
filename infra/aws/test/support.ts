// What the tests share: the example environment synthesized once per test file with the real artifacts, the
// raw files of infra/ read independently of the code under test, and a way to put the deployment's
// placeholders back into a template value so that it can be compared with the file it came from.

import * as fs from 'fs';
import * as path from 'path';

import { App, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';

import { artifactsFromEnv } from '../lib/artifacts';
import { loadConfig } from '../lib/config';
import { type Deployment, buildDeployment } from '../lib/deployment';
import { APP_DIR, INFRA_DIR } from '../lib/paths';

/** The context of cdk.json (feature flags), so that tests synthesize what `cdk synth` does. */
export function cdkContext(): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(APP_DIR, 'cdk.json'), 'utf8')).context;
}

/** A file under `infra/`, parsed, exactly as it is on disk. */
export function infraFile(relative: string): any {
  return JSON.parse(fs.readFileSync(path.join(INFRA_DIR, relative), 'utf8'));
}

/** The example environment, synthesized (with cdk-nag's checks) from the artifacts the environment names. */
export function exampleDeployment(): Deployment {
  const app = new App({ context: cdkContext() });
  const deployment = buildDeployment(app, loadConfig('example'), artifactsFromEnv());
  app.synth();
  return deployment;
}

/** The templates of the four stacks. */
export interface Templates {
  data: Template;
  storage: Template;
  identity: Template;
  application: Template;
}

export function templates(deployment: Deployment): Templates {
  return {
    data: Template.fromStack(deployment.data),
    storage: Template.fromStack(deployment.storage),
    identity: Template.fromStack(deployment.identity),
    application: Template.fromStack(deployment.application),
  };
}

/** The one resource of `type` whose properties contain `where` (fails unless exactly one matches). */
export function only(template: Template, type: string, where: (properties: any) => boolean = () => true): any {
  const matches = Object.entries(template.findResources(type)).filter(([, resource]) =>
    where(resource.Properties ?? {}),
  );
  if (matches.length !== 1) {
    throw new Error(`expected one ${type}, found ${matches.length}: ${matches.map(([id]) => id).join(', ')}`);
  }
  return { logicalId: matches[0][0], ...matches[0][1] };
}

/** `value` as `stack`'s template holds it (a token resolved in that stack, cross-stack references included). */
export function resolvedIn(stack: Stack, value: unknown): unknown {
  return stack.resolve(value);
}

/**
 * Puts placeholders back: every string equal to or containing a key of `text` gets the placeholder back, and
 * every value deeply equal to a key of `values` becomes its placeholder. The result of un-rendering a template
 * value must equal the raw file the value was rendered from.
 */
export function unrender(value: unknown, text: Record<string, string>, values: [unknown, string][] = []): unknown {
  for (const [rendered, placeholder] of values) {
    if (JSON.stringify(value) === JSON.stringify(rendered)) {
      return placeholder;
    }
  }
  if (typeof value === 'string') {
    return Object.entries(text).reduce((result, [from, to]) => result.split(from).join(to), value);
  }
  if (Array.isArray(value)) {
    return value.map((item) => unrender(item, text, values));
  }
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, unrender(item, text, values)]));
  }
  return value;
}

/** One route of an OpenAPI document with the scope its bearer security requirement demands. */
export interface DocumentRoute {
  routeKey: string;
  scope: string;
}

/** Every operation of `document` with its bearer scope, read here without the code under test. */
export function documentRoutes(document: any): DocumentRoute[] {
  const routes: DocumentRoute[] = [];
  for (const [routePath, item] of Object.entries<any>(document.paths)) {
    for (const [method, operation] of Object.entries<any>(item)) {
      const bearer = (operation.security ?? []).find((requirement: any) => 'bearer' in requirement);
      routes.push({ routeKey: `${method.toUpperCase()} ${routePath}`, scope: bearer?.bearer?.[0] });
    }
  }
  return routes;
}

/**
 * How the HTTP API's routes differ from the document: a route missing, a route the document lacks, or a route
 * whose authorizer scopes are not exactly the document's scope. Empty when they agree.
 */
export function routeDifferences(template: Template, document: any): string[] {
  const deployed = new Map<string, any>();
  for (const route of Object.values<any>(template.findResources('AWS::ApiGatewayV2::Route'))) {
    deployed.set(route.Properties.RouteKey, route.Properties);
  }
  const differences: string[] = [];
  for (const route of documentRoutes(document)) {
    const properties = deployed.get(route.routeKey);
    if (properties === undefined) {
      differences.push(`${route.routeKey}: not routed`);
      continue;
    }
    deployed.delete(route.routeKey);
    if (properties.AuthorizationType !== 'JWT') {
      differences.push(`${route.routeKey}: authorization ${properties.AuthorizationType}, not JWT`);
    }
    if (JSON.stringify(properties.AuthorizationScopes) !== JSON.stringify([route.scope])) {
      differences.push(`${route.routeKey}: scopes ${JSON.stringify(properties.AuthorizationScopes)}, the document says ${route.scope}`);
    }
  }
  for (const routeKey of deployed.keys()) {
    differences.push(`${routeKey}: routed, but not in the document`);
  }
  return differences;
}
