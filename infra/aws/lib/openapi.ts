// The API's routes and the scope each requires, read from the OpenAPI document `backend openapi` prints (the
// same one the backend serves at /api/openapi.json, generated from its router).

import * as fs from 'fs';

/** One operation of the API: what API Gateway routes, and the scope its authorizer demands. */
export interface ApiRoute {
  /** The HTTP method, upper case (`GET`). */
  readonly method: string;
  /** The path with OpenAPI's `{param}` templates, which API Gateway's route keys use too. */
  readonly path: string;
  /** The full scope, `<resource server>/<scope>`. */
  readonly scope: string;
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** Reads the OpenAPI document at `file`. */
export function loadOpenApi(file: string): any {
  if (!fs.existsSync(file)) {
    throw new Error(`no OpenAPI document at ${file} (it is what \`backend openapi\` prints)`);
  }
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file} is not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * Every operation of `document` with its scope. Each operation must carry `x-required-scope` and a `bearer`
 * security requirement holding exactly `<resourceServer>/<that scope>`; anything else is an error, so that a
 * route can never be deployed with a scope the backend does not expect or with none at all.
 */
export function apiRoutes(document: any, resourceServer: string): ApiRoute[] {
  const paths = document?.paths;
  if (typeof paths !== 'object' || paths === null) {
    throw new Error('the OpenAPI document has no paths');
  }
  const routes: ApiRoute[] = [];
  for (const [path, item] of Object.entries<any>(paths)) {
    for (const method of METHODS) {
      const operation = item?.[method];
      if (operation === undefined) {
        continue;
      }
      const where = `${method.toUpperCase()} ${path}`;
      const required = operation['x-required-scope'];
      if (typeof required !== 'string' || required === '') {
        throw new Error(`${where}: the operation has no x-required-scope`);
      }
      const bearer = (operation.security ?? [])
        .filter((requirement: any) => requirement !== null && typeof requirement === 'object' && 'bearer' in requirement)
        .map((requirement: any) => requirement.bearer);
      const expected = `${resourceServer}/${required}`;
      if (bearer.length !== 1 || !Array.isArray(bearer[0]) || bearer[0].length !== 1 || bearer[0][0] !== expected) {
        throw new Error(
          `${where}: the bearer security requirement must hold exactly ${expected} (x-required-scope ${required}), found ${JSON.stringify(bearer)}`,
        );
      }
      routes.push({ method: method.toUpperCase(), path, scope: expected });
    }
  }
  if (routes.length === 0) {
    throw new Error('the OpenAPI document has no operations');
  }
  return routes;
}
