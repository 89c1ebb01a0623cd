// The build outputs the deployment ships, located through environment variables that `cargo xtask` sets
// (`deploy` and `test` build them first): the trigger Lambda's asset, the backend image's build context and
// the OpenAPI document.

import * as fs from 'fs';
import * as path from 'path';

/** Where the built artifacts are. */
export interface Artifacts {
  /** The trigger's Lambda asset directory, holding the executable `bootstrap`. */
  readonly lambdaDir: string;
  /** The backend image's build context: `Dockerfile`, the `backend` executable and the web app `web/`. */
  readonly imageDir: string;
  /** The OpenAPI document of `/api/v1` (what `backend openapi` prints). */
  readonly openapi: string;
}

/** The environment variables naming the artifacts, in the order of [`Artifacts`]' fields. */
export const ARTIFACT_VARIABLES = {
  lambdaDir: 'SAAS_AWS_LAMBDA_DIR',
  imageDir: 'SAAS_AWS_IMAGE_DIR',
  openapi: 'SAAS_AWS_OPENAPI',
} as const;

/** Reads the artifacts' locations from the environment and checks that each holds what it should. */
export function artifactsFromEnv(env: NodeJS.ProcessEnv = process.env): Artifacts {
  const missing = Object.values(ARTIFACT_VARIABLES).filter((name) => !env[name]);
  if (missing.length > 0) {
    throw new Error(
      `${missing.join(', ')} not set: run the deployment through \`cargo xtask deploy --env <env>\` or \`cargo xtask test\`, ` +
        'which build the artifacts and set these variables',
    );
  }
  const artifacts: Artifacts = {
    lambdaDir: path.resolve(env[ARTIFACT_VARIABLES.lambdaDir]!),
    imageDir: path.resolve(env[ARTIFACT_VARIABLES.imageDir]!),
    openapi: path.resolve(env[ARTIFACT_VARIABLES.openapi]!),
  };
  checkArtifacts(artifacts);
  return artifacts;
}

/** Fails with the exact path when an artifact is missing. */
export function checkArtifacts(artifacts: Artifacts): void {
  const expect = (file: string, what: string) => {
    if (!fs.existsSync(file)) {
      throw new Error(`${file} is missing (${what})`);
    }
  };
  expect(path.join(artifacts.lambdaDir, 'bootstrap'), `the trigger executable, ${ARTIFACT_VARIABLES.lambdaDir}`);
  expect(path.join(artifacts.imageDir, 'Dockerfile'), `the image's Dockerfile, ${ARTIFACT_VARIABLES.imageDir}`);
  expect(path.join(artifacts.imageDir, 'backend'), `the backend executable, ${ARTIFACT_VARIABLES.imageDir}`);
  expect(path.join(artifacts.imageDir, 'web', 'index.html'), `the built web app, ${ARTIFACT_VARIABLES.imageDir}`);
  expect(artifacts.openapi, `the OpenAPI document, ${ARTIFACT_VARIABLES.openapi}`);
}
