// The network and the database: the longest-lived stack. Aurora PostgreSQL Serverless v2 in isolated subnets,
// its owner's generated secret, the application login's generated secret, and the RDS Proxy through which the
// trigger Lambda logs in with IAM.

import { CfnOutput, Duration, Fn, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import type { Construct } from 'constructs';

import type { DeploymentConfig } from '../config';
import { limitCdkProviderLogs, suppress, suppressCdkProviders } from '../nag';

/** The database the application's tables live in. */
export const DATABASE_NAME = 'saas';
/** The owner login (the cluster's master user): runs `backend migrate`, owns the tables under row-level security. */
export const OWNER_LOGIN = 'saas_owner';
/** The application's login role, which `backend migrate` creates (a member of `saas_app`, neither owner nor superuser). */
export const APP_LOGIN = 'saas_api';
/** Postgres' port, on the cluster and the proxy. */
export const DATABASE_PORT = 5432;

/** What the other stacks need from this one. */
export interface DataStackProps extends StackProps {
  readonly config: DeploymentConfig;
}

/** VPC, Aurora cluster, database secrets and RDS Proxy. */
export class DataStack extends Stack {
  /** Two availability zones: public (load balancer, NAT), private (tasks, VPC link), isolated (database, trigger). */
  readonly vpc: ec2.Vpc;
  /** The Aurora PostgreSQL cluster. */
  readonly cluster: rds.DatabaseCluster;
  /** The cluster's security group: clients are let in by rules their own stacks add. */
  readonly databaseSecurityGroup: ec2.SecurityGroup;
  /** The owner's generated secret (`username`, `password`, ...). */
  readonly ownerSecret: rds.DatabaseSecret;
  /** The application login's generated secret; `backend migrate` gives the role this password. */
  readonly appLoginSecret: rds.DatabaseSecret;
  /** The proxy the trigger Lambda connects through (TLS and IAM authentication required). */
  readonly proxy: rds.DatabaseProxy;
  /** The proxy's security group. */
  readonly proxySecurityGroup: ec2.SecurityGroup;
  /**
   * The proxy's resource id (`prx-…`), which `rds-db:connect` permissions name, read in other stacks through
   * this stack's output: it is cut out of the proxy's ARN here, because CloudFormation cannot split a value
   * that another stack's output supplies.
   */
  readonly proxyResourceId: string;

  private readonly zones: string[];

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.zones = config.availabilityZones;

    const flowLogs = new logs.LogGroup(this, 'FlowLogs', {
      retention: config.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr('10.40.0.0/16'),
      availabilityZones: this.zones,
      natGateways: config.natGateways,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
        { name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
      // The backend's S3 calls (HeadObject, DeleteObject) stay off the NAT gateway; gateway endpoints are free.
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
      flowLogs: {
        all: { destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs), trafficType: ec2.FlowLogTrafficType.ALL },
      },
    });

    this.databaseSecurityGroup = new ec2.SecurityGroup(this, 'DatabaseSecurityGroup', {
      vpc: this.vpc,
      description: 'Aurora cluster: Postgres from the proxy and the backend tasks only',
      allowAllOutbound: false,
    });
    this.proxySecurityGroup = new ec2.SecurityGroup(this, 'ProxySecurityGroup', {
      vpc: this.vpc,
      description: 'RDS Proxy: Postgres from the trigger Lambda only',
      allowAllOutbound: false,
    });
    this.proxySecurityGroup.addEgressRule(
      this.databaseSecurityGroup,
      ec2.Port.tcp(DATABASE_PORT),
      'to the Aurora cluster',
    );
    this.databaseSecurityGroup.addIngressRule(
      this.proxySecurityGroup,
      ec2.Port.tcp(DATABASE_PORT),
      'from RDS Proxy',
    );

    this.appLoginSecret = new rds.DatabaseSecret(this, 'AppLoginSecret', {
      username: APP_LOGIN,
    });
    this.appLoginSecret.applyRemovalPolicy(RemovalPolicy.RETAIN);

    this.cluster = new rds.DatabaseCluster(this, 'Database', {
      // Aurora retires minor versions for new clusters over time (cfn-lint knows which): move this forward when
      // it warns. Running clusters receive minor upgrades automatically.
      engine: rds.DatabaseClusterEngine.auroraPostgres({ version: rds.AuroraPostgresEngineVersion.VER_16_13 }),
      writer: rds.ClusterInstance.serverlessV2('Writer', { publiclyAccessible: false }),
      serverlessV2MinCapacity: config.database.minAcu,
      serverlessV2MaxCapacity: config.database.maxAcu,
      vpc: this.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroups: [this.databaseSecurityGroup],
      port: DATABASE_PORT,
      credentials: rds.Credentials.fromGeneratedSecret(OWNER_LOGIN),
      defaultDatabaseName: DATABASE_NAME,
      iamAuthentication: true,
      storageEncrypted: true,
      deletionProtection: true,
      // Deleting the stack (after `cargo xtask destroy` lifts deletion protection) leaves a final snapshot.
      removalPolicy: RemovalPolicy.SNAPSHOT,
      backup: { retention: Duration.days(7) },
      cloudwatchLogsExports: ['postgresql'],
      cloudwatchLogsRetention: config.logRetentionDays as logs.RetentionDays,
      // Every connection is encrypted, whatever the client asks for.
      parameters: { 'rds.force_ssl': '1' },
    });
    // The generated secret itself (`cluster.secret` is its attachment to the cluster).
    this.ownerSecret = this.cluster.node.findChild('Secret') as rds.DatabaseSecret;
    this.ownerSecret.applyRemovalPolicy(RemovalPolicy.RETAIN);

    this.proxy = this.cluster.addProxy('Proxy', {
      secrets: [this.appLoginSecret],
      vpc: this.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroups: [this.proxySecurityGroup],
      iamAuth: true,
      requireTLS: true,
      debugLogging: false,
    });

    const proxyResourceId = new CfnOutput(this, 'ProxyResourceId', {
      value: Fn.select(6, Fn.split(':', this.proxy.dbProxyArn)),
      description: "The RDS Proxy's resource id, which rds-db:connect permissions name",
    });
    proxyResourceId.overrideLogicalId('ProxyResourceId');
    this.proxyResourceId = Fn.getStackOutput(this.stackName, 'ProxyResourceId', this.region);

    new CfnOutput(this, 'DatabaseClusterIdentifier', {
      value: this.cluster.clusterIdentifier,
      description: 'The Aurora cluster (deletion-protected; a final snapshot is kept when the stack is deleted)',
    });
    new CfnOutput(this, 'DatabaseOwnerSecretArn', {
      value: this.ownerSecret.secretArn,
      description: 'The owner login secret (retained when the stack is deleted)',
    });
    new CfnOutput(this, 'DatabaseAppLoginSecretArn', {
      value: this.appLoginSecret.secretArn,
      description: 'The application login secret (retained when the stack is deleted)',
    });

    const noRotation = {
      id: 'AwsSolutions-SMG4',
      reason:
        'Database passwords are not rotated automatically: the backend reads DATABASE_PASSWORD when a task starts, ' +
        'so a rotation must be followed by `backend migrate` and a service redeployment (see infra/aws/README.md)',
    };
    suppress(this.ownerSecret, [noRotation]);
    suppress(this.appLoginSecret, [noRotation]);
    suppress(this.vpc, [
      {
        id: 'CloudFormation-Validate::W3010',
        reason:
          'The availability zones are named in config/<env>.json so that synthesis needs no AWS lookup (CI has no account)',
      },
    ]);
    suppressCdkProviders(this);
    limitCdkProviderLogs(this, config.logRetentionDays);
  }

  /** The configuration's zones: what CDK would otherwise look up in the account, which synthesis must not need. */
  override get availabilityZones(): string[] {
    return this.zones;
  }
}
