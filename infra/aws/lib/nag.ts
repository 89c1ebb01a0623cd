// cdk-nag's AwsSolutions pack checks every stack as a CDK validation plugin; a finding fails synthesis unless
// it is acknowledged here, on the construct it concerns, with the reason it does not apply.

import { RemovalPolicy, type Stack, Validations } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { IConstruct } from 'constructs';

/** One suppressed rule and why. */
export interface Suppression {
  /** The rule, e.g. `AwsSolutions-IAM5`. */
  readonly id: string;
  /** Why the finding does not apply (shown in cdk-nag's reports). */
  readonly reason: string;
  /**
   * For rules with one finding per item (IAM4, IAM5): exactly the findings acknowledged, e.g. `Resource::*`
   * (cdk-nag names them `AwsSolutions-IAM5[Resource::*]`). Without it the rule's findings without an item are.
   */
  readonly appliesTo?: string[];
}

/** Acknowledges `rules` on `construct` and everything below it. */
export function suppress(construct: IConstruct, rules: Suppression[]): void {
  for (const rule of rules) {
    const ids = rule.appliesTo === undefined ? [rule.id] : rule.appliesTo.map((item) => `${rule.id}[${item}]`);
    for (const id of ids) {
      Validations.of(construct).acknowledge({ id, reason: rule.reason });
    }
  }
}

/**
 * The Lambda functions CDK itself adds as singletons to a stack (log retention, SDK-call custom resources,
 * the default security group's restriction): their roles use the basic execution policy and act on resources
 * named at deploy time. They are found by the ids CDK gives them, so that only they are suppressed.
 */
export function suppressCdkProviders(stack: Stack): void {
  for (const provider of cdkProviders(stack)) {
    suppress(provider, [
      {
        id: 'AwsSolutions-IAM4',
        reason: 'A function CDK provides for deployment only; it uses the basic Lambda execution role',
        appliesTo: ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason: 'A function CDK provides for deployment only; it acts on resources whose names are known at deploy time',
        appliesTo: ['Resource::*'],
      },
    ]);
  }
}

/**
 * Acknowledges the wildcard findings (`AwsSolutions-IAM5`) of a policy document rendered from
 * `infra/policies`, on `construct`, with `reason` — but only wildcards over object names inside `bucket`
 * (`arn:aws:s3:::<bucket>/…*`). Any other wildcard a policy file gains is left to fail synthesis, for a person
 * to look at.
 */
export function acknowledgeObjectWildcards(construct: IConstruct, document: any, bucket: string, reason: string): void {
  const objects = `arn:aws:s3:::${bucket}/`;
  for (const statement of document?.Statement ?? []) {
    if (statement.Effect !== 'Allow') {
      continue;
    }
    for (const resource of [statement.Resource].flat()) {
      if (typeof resource !== 'string' || !resource.includes('*') || !resource.startsWith(objects)) {
        continue;
      }
      // cdk-nag writes `${...}` policy variables as `<...>` in finding ids.
      const finding = resource.replace(/\$\{/g, '<').replace(/\}/g, '>');
      suppress(construct, [{ id: 'AwsSolutions-IAM5', reason, appliesTo: [`Resource::${finding}`] }]);
    }
  }
}

/** The ids CDK gives the singleton functions it adds to a stack. */
const CDK_PROVIDER_IDS = [
  'LogRetentionaae0aa3c5b4d4f87b02d85b201efdd8a',
  'AWS679f53fac002430cb0da5b7982bd2287',
  'Custom::VpcRestrictDefaultSGCustomResourceProvider',
];

/** The singleton functions CDK added to `stack`. */
export function cdkProviders(stack: Stack): IConstruct[] {
  return stack.node.children.filter((child) => CDK_PROVIDER_IDS.some((prefix) => child.node.id.startsWith(prefix)));
}

/**
 * Gives the log groups CDK creates for its own functions the deployment's retention, and lets them go with
 * the stack (CDK keeps them two years and leaves them behind by default).
 */
export function limitCdkProviderLogs(stack: Stack, retentionDays: number): void {
  for (const provider of cdkProviders(stack)) {
    for (const construct of provider.node.findAll()) {
      if (construct instanceof logs.CfnLogGroup) {
        construct.retentionInDays = retentionDays;
        construct.applyRemovalPolicy(RemovalPolicy.DESTROY);
      }
    }
  }
}
