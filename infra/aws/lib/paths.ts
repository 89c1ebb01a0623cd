// Where the files the deployment reads live: the repository's `infra/` directory and this app's own `config/`.

import * as fs from 'fs';
import * as path from 'path';

/** This CDK app's directory (`infra/aws`). Compiled code runs from `infra/aws/build/{bin,lib,test}`. */
export const APP_DIR = findUp(__dirname, (dir) => fs.existsSync(path.join(dir, 'cdk.json')));

/** The repository's `infra/` directory, whose `config/` and `policies/` the local stand-ins read too. */
export const INFRA_DIR = path.dirname(APP_DIR);

/** The directory of the per-environment deployment files (`<env>.json`). */
export const CONFIG_DIR = path.join(APP_DIR, 'config');

function findUp(start: string, found: (dir: string) => boolean): string {
  let dir = start;
  for (;;) {
    if (found(dir)) {
      return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) {
      throw new Error(`no cdk.json above ${start}: the app must run from inside infra/aws`);
    }
    dir = parent;
  }
}
