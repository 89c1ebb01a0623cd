// The upload bucket browsers write into (CORS and lifecycle rules from `infra/policies`), the files bucket the
// backend copies recorded files into (no browser access at all), and the bucket that keeps the access logs of
// the load balancer and of the other two. All are retained when the stack is deleted.

import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';

import type { DeploymentConfig } from '../config';
import { limitCdkProviderLogs, suppressCdkProviders } from '../nag';
import { corsRules, lifecycleRules, renderPolicyFile } from '../sources';

/**
 * The buckets' names: fixed by the environment, account and region, so that the policies naming them are
 * plain text (which cdk-nag can check item by item) and the names say what they hold. Bucket names are
 * global: a retained bucket must be removed before the same environment is deployed again.
 */
export function bucketNames(config: DeploymentConfig): { uploads: string; files: string; logs: string } {
  const suffix = `${config.account}-${config.region}`;
  return {
    uploads: `saas-${config.env}-uploads-${suffix}`,
    files: `saas-${config.env}-files-${suffix}`,
    logs: `saas-${config.env}-logs-${suffix}`,
  };
}

/** What the storage stack needs. */
export interface StorageStackProps extends StackProps {
  readonly config: DeploymentConfig;
}

/** The upload bucket, the files bucket and the log bucket. */
export class StorageStack extends Stack {
  /** Browsers upload here, under `<tenant>/<user>/uploads/`, with the identity pool's credentials. */
  readonly uploads: s3.Bucket;
  /**
   * Recorded files, under `<tenant>/<file id>`: the backend copies each upload here when it is recorded. Only
   * the backend's task role may write or read it (downloads are presigned by the backend), so a recorded
   * file's bytes cannot be changed by any browser credential.
   */
  readonly files: s3.Bucket;
  /** Access logs of the load balancer (`alb/`), the upload bucket (`uploads/`) and the files bucket (`files/`). */
  readonly logs: s3.Bucket;
  /** The upload bucket's name (plain text, see [`bucketNames`]). */
  readonly uploadBucketName: string;
  /** The files bucket's name (plain text, see [`bucketNames`]). */
  readonly filesBucketName: string;

  constructor(scope: Construct, id: string, props: StorageStackProps) {
    super(scope, id, props);
    const { config } = props;
    const appOrigin = `https://${config.appDomain}`;
    const names = bucketNames(config);
    this.uploadBucketName = names.uploads;
    this.filesBucketName = names.files;

    this.logs = new s3.Bucket(this, 'AccessLogs', {
      bucketName: names.logs,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // Load balancer access logs can only be written to buckets encrypted with S3-managed keys.
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      lifecycleRules: [{ id: 'ExpireLogs', expiration: Duration.days(config.logRetentionDays) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.uploads = new s3.Bucket(this, 'Uploads', {
      bucketName: names.uploads,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      serverAccessLogsBucket: this.logs,
      serverAccessLogsPrefix: 'uploads/',
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const bucket = this.uploads.node.defaultChild as s3.CfnBucket;
    bucket.corsConfiguration = {
      corsRules: corsRules(renderPolicyFile('bucket-cors.json', { APP_ORIGIN: [appOrigin] })),
    };
    bucket.lifecycleConfiguration = {
      rules: lifecycleRules(renderPolicyFile('bucket-lifecycle.json', {})),
    };

    // No CORS rules and no lifecycle rules: browsers never address this bucket, and recorded files stay
    // until the app deletes them.
    this.files = new s3.Bucket(this, 'Files', {
      bucketName: names.files,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      serverAccessLogsBucket: this.logs,
      serverAccessLogsPrefix: 'files/',
      removalPolicy: RemovalPolicy.RETAIN,
    });

    new CfnOutput(this, 'FilesBucketName', {
      value: this.files.bucketName,
      description: 'The bucket of recorded files (retained when the stack is deleted)',
    });
    new CfnOutput(this, 'UploadBucketName', {
      value: this.uploads.bucketName,
      description: 'The upload bucket (retained when the stack is deleted)',
    });
    new CfnOutput(this, 'AccessLogBucketName', {
      value: this.logs.bucketName,
      description: 'The access-log bucket (retained when the stack is deleted)',
    });

    suppressCdkProviders(this);
    limitCdkProviderLogs(this, config.logRetentionDays);
  }
}
