// Runs the IAM evaluator's decision table (cases.json) through @cloud-copilot/iam-simulate and prints the
// simulator's decision for every case as JSON on stdout; tests/local_aws/iam.rs compares them with the table.
//
// Usage: node simulate.mjs <cases.json> <directory whose node_modules holds @cloud-copilot/iam-simulate>
// The directory is set up from this folder's package.json and package-lock.json (README.md here has the
// command), so the simulator is never part of the repository.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const [casesPath, toolDir] = process.argv.slice(2);
if (!casesPath || !toolDir) {
  process.stderr.write('usage: node simulate.mjs <cases.json> <iam-simulate directory>\n');
  process.exit(2);
}

// Resolve the package from the tool directory, not from this folder, which has no node_modules.
const requireFromTool = createRequire(join(resolve(toolDir), 'package.json'));
const { runSimulation } = requireFromTool('@cloud-copilot/iam-simulate');

const table = JSON.parse(readFileSync(casesPath, 'utf8'));
const policiesDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'policies');

// The same substitution the Rust loader makes (infra/local-aws/src/iam/upload_role.rs).
function loadPolicy(policy) {
  if (policy.file === undefined) {
    return policy;
  }
  const text = readFileSync(join(policiesDir, policy.file), 'utf8')
    .replaceAll('@@BUCKET_NAME@@', table.parameters.bucket)
    .replaceAll('@@IDENTITY_POOL_ID@@', table.parameters.identity_pool_id);
  return JSON.parse(text);
}

const outcomes = {
  Allowed: 'Allowed',
  ExplicitlyDenied: 'ExplicitDeny',
  ImplicitlyDenied: 'ImplicitDeny',
};

const results = [];
for (const testCase of table.cases) {
  const policies = testCase.policies.map(loadPolicy);
  const trust = testCase.kind === 'trust';
  // A trust policy is the role's resource policy, evaluated for the federated caller; identity policies are
  // evaluated for a session of the role.
  const principal = trust ? Object.values(testCase.request.principal)[0] : table.caller;
  const simulation = {
    request: {
      principal,
      action: testCase.request.action,
      resource: { resource: testCase.request.resource, accountId: table.account },
      contextVariables: testCase.request.context ?? {},
    },
    identityPolicies: trust ? [] : policies.map((policy, index) => ({ name: `policy${index}`, policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
  };
  if (trust) {
    simulation.resourcePolicy = policies[0];
  }
  try {
    const response = await runSimulation(simulation, {});
    if (response.resultType === 'error') {
      results.push({ name: testCase.name, error: JSON.stringify(response.errors) });
    } else {
      results.push({
        name: testCase.name,
        decision: outcomes[response.overallResult] ?? response.overallResult,
        ignoredContextKeys: response.result?.ignoredContextKeys ?? [],
      });
    }
  } catch (error) {
    results.push({ name: testCase.name, error: String(error) });
  }
}
process.stdout.write(`${JSON.stringify({ results }, null, 1)}\n`);
