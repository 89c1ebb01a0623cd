// The running application: the backend's container on ECS Fargate behind an HTTPS load balancer, its one-off
// `migrate` and `reconcile-idps` tasks, the API Gateway HTTP API for bearer-token clients (one route per
// operation of the OpenAPI document, each demanding its scope), and the alarms.

import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpAlbIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';

import type { Artifacts } from '../artifacts';
import type { DeploymentConfig } from '../config';
import { acknowledgeObjectWildcards, limitCdkProviderLogs, suppress, suppressCdkProviders } from '../nag';
import type { ApiRoute } from '../openapi';
import { type UserPoolSpec, WEB_CLIENT, renderPolicyFile } from '../sources';
import { APP_LOGIN, DATABASE_NAME, DATABASE_PORT, type DataStack, OWNER_LOGIN } from './data';
import type { IdentityStack } from './identity';
import type { StorageStack } from './storage';

/** Where the backend listens inside its container. */
export const CONTAINER_PORT = 8080;
/** The backend's database pool size per task. */
export const DATABASE_MAX_CONNECTIONS = 10;

/** What the application stack needs. */
export interface ApplicationStackProps extends StackProps {
  readonly config: DeploymentConfig;
  readonly artifacts: Artifacts;
  readonly userPool: UserPoolSpec;
  readonly routes: ApiRoute[];
  readonly data: DataStack;
  readonly storage: StorageStack;
  readonly identity: IdentityStack;
}

/** Backend service, load balancer, one-off tasks, HTTP API and alarms. */
export class ApplicationStack extends Stack {
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly api: apigw.HttpApi;
  /** The task roles' CloudFormation resources, by construct id. */
  readonly taskRoles = new Map<string, iam.CfnRole>();

  constructor(scope: Construct, id: string, props: ApplicationStackProps) {
    super(scope, id, props);
    const { config, artifacts, data, storage, identity, userPool: spec } = props;
    const retention = config.logRetentionDays as logs.RetentionDays;
    const region = Stack.of(this).region;
    const issuer = `https://cognito-idp.${region}.amazonaws.com/${identity.userPool.userPoolId}`;
    const apiClientIds = Object.entries(identity.clients)
      .filter(([name]) => name !== WEB_CLIENT)
      .map(([, client]) => client.userPoolClientId);

    // The backend tasks' own security group; the rules letting it into the database live in this stack.
    const serviceSecurityGroup = new ec2.SecurityGroup(this, 'BackendSecurityGroup', {
      vpc: data.vpc,
      description: 'Backend tasks: HTTP from the load balancer; out to Postgres, AWS APIs and identity providers',
      allowAllOutbound: true,
    });
    data.databaseSecurityGroup.addIngressRule(
      serviceSecurityGroup,
      ec2.Port.tcp(DATABASE_PORT),
      'from the backend tasks',
      true,
    );

    const sessionKey = new secretsmanager.Secret(this, 'SessionEncryptionKey', {
      description: 'SESSION_ENCRYPTION_KEY of the backend: encrypts the tokens kept in server-side sessions',
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const logGroup = new logs.LogGroup(this, 'BackendLogs', { retention, removalPolicy: RemovalPolicy.DESTROY });
    const image = ecs.ContainerImage.fromAsset(artifacts.imageDir, { platform: Platform.LINUX_AMD64 });
    const cluster = new ecs.Cluster(this, 'Cluster', {
      vpc: data.vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });

    // The backend reaches Aurora directly. `require` encrypts the connection (the cluster refuses plaintext
    // anyway); the server certificate is signed by the RDS CA, which the image does not carry.
    const databaseUrl = `postgres://${APP_LOGIN}@${data.cluster.clusterEndpoint.hostname}:${DATABASE_PORT}/${DATABASE_NAME}?sslmode=require`;
    const environment: Record<string, string> = {
      BIND_ADDR: `0.0.0.0:${CONTAINER_PORT}`,
      PUBLIC_URL: `https://${config.appDomain}`,
      DATABASE_URL: databaseUrl,
      DATABASE_MAX_CONNECTIONS: String(DATABASE_MAX_CONNECTIONS),
      COGNITO_ISSUER: issuer,
      COGNITO_AUTH_DOMAIN: identity.authDomainUrl,
      COGNITO_CLIENT_ID: identity.clients[WEB_CLIENT].userPoolClientId,
      API_CLIENT_IDS: apiClientIds.join(','),
      RESOURCE_SERVER_ID: spec.resource_server.identifier,
      AWS_REGION: region,
      IDENTITY_POOL_ID: identity.identityPoolId,
      IDENTITY_POOL_ENDPOINT: 'aws',
      UPLOAD_BUCKET: storage.uploadBucketName,
      FILES_BUCKET: storage.filesBucketName,
      S3_ENDPOINT: 'aws',
      COGNITO_IDP_ENDPOINT: 'aws',
      OPERATOR_COGNITO_ISSUER: `https://cognito-idp.${region}.amazonaws.com/${identity.operatorPool.userPoolId}`,
      OPERATOR_COGNITO_AUTH_DOMAIN: identity.operatorAuthDomainUrl,
      OPERATOR_COGNITO_CLIENT_ID: identity.consoleClient.userPoolClientId,
      OPERATOR_RESOURCE_SERVER_ID: identity.operatorResourceServerId,
      TRUST_X_FORWARDED_FOR: 'true',
      // Requests through the HTTP API reach the load balancer from the VPC link's addresses in the VPC; their
      // client is the one API Gateway appends to `Forwarded`.
      TRUSTED_PROXY_CIDRS: data.vpc.vpcCidrBlock,
      WEB_DIST_DIR: '/app/web',
      RUST_LOG: 'info',
    };
    const secrets: Record<string, ecs.Secret> = {
      DATABASE_PASSWORD: ecs.Secret.fromSecretsManager(data.appLoginSecret, 'password'),
      COGNITO_CLIENT_SECRET: ecs.Secret.fromSecretsManager(identity.webClientSecret),
      OPERATOR_COGNITO_CLIENT_SECRET: ecs.Secret.fromSecretsManager(identity.consoleClientSecret),
      SESSION_ENCRYPTION_KEY: ecs.Secret.fromSecretsManager(sessionKey),
    };

    // The service's role: the backend's storage and Cognito policies of infra/policies, and nothing else.
    const storagePolicy = renderPolicyFile('backend-storage-permissions.json', {
      BUCKET_NAME: storage.uploadBucketName,
      FILES_BUCKET_NAME: storage.filesBucketName,
    });
    const cognitoPolicy = renderPolicyFile('backend-cognito-permissions.json', {
      USER_POOL_ARN: identity.userPool.userPoolArn,
    });
    const taskRole = this.taskRole('BackendTaskRole', 'The backend service: uploads bucket (get, list, delete), files bucket (get, list, put, delete) and tenant identity providers', {
      'backend-storage-permissions': storagePolicy,
      'backend-cognito-permissions': cognitoPolicy,
    });
    acknowledgeObjectWildcards(
      this.taskRoles.get('BackendTaskRole')!,
      storagePolicy,
      storage.uploadBucketName,
      "backend-storage-permissions.json: get and delete on any object of the upload bucket; the backend checks, copies " +
        "and removes any tenant's uploads after its own tenant checks, and never writes there",
    );
    acknowledgeObjectWildcards(
      this.taskRoles.get('BackendTaskRole')!,
      storagePolicy,
      storage.filesBucketName,
      "backend-storage-permissions.json: get, put and delete on any object of the files bucket; the backend alone " +
        "keeps recorded files there (copies of uploads) and presigns their downloads after its own tenant checks",
    );
    const reconcileRole = this.taskRole('ReconcileTaskRole', 'backend reconcile-idps: tenant identity providers only', {
      'backend-cognito-permissions': cognitoPolicy,
    });

    const serveTask = new ecs.FargateTaskDefinition(this, 'BackendTask', {
      cpu: config.backend.cpu,
      memoryLimitMiB: config.backend.memoryMiB,
      taskRole,
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.X86_64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
    });
    serveTask.addContainer('backend', {
      image,
      command: ['serve'],
      environment,
      secrets,
      portMappings: [{ containerPort: CONTAINER_PORT, name: 'http' }],
      logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: 'serve' }),
      stopTimeout: Duration.seconds(30),
    });

    // `backend migrate`: the owner applies the migrations and creates (or updates) the application login with
    // the password of its secret. It needs Postgres and nothing from AWS.
    const migrateTask = new ecs.FargateTaskDefinition(this, 'MigrateTask', {
      cpu: 256,
      memoryLimitMiB: 512,
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.X86_64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
    });
    migrateTask.addContainer('backend', {
      image,
      command: ['migrate'],
      environment: {
        DATABASE_OWNER_URL: `postgres://${OWNER_LOGIN}@${data.cluster.clusterEndpoint.hostname}:${DATABASE_PORT}/${DATABASE_NAME}?sslmode=require`,
        DATABASE_URL: databaseUrl,
        RUST_LOG: 'info',
      },
      secrets: {
        DATABASE_OWNER_PASSWORD: ecs.Secret.fromSecretsManager(data.ownerSecret, 'password'),
        DATABASE_PASSWORD: ecs.Secret.fromSecretsManager(data.appLoginSecret, 'password'),
      },
      logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: 'migrate' }),
    });

    // `backend reconcile-idps`: the same configuration as the service (it reads the whole of it), with a role
    // that may only manage the user pool's identity providers and the web client's list of them.
    const reconcileTask = new ecs.FargateTaskDefinition(this, 'ReconcileTask', {
      cpu: 256,
      memoryLimitMiB: 512,
      taskRole: reconcileRole,
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.X86_64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
    });
    reconcileTask.addContainer('backend', {
      image,
      command: ['reconcile-idps'],
      environment,
      secrets,
      logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: 'reconcile-idps' }),
    });

    const service = new ecs.FargateService(this, 'Backend', {
      cluster,
      taskDefinition: serveTask,
      desiredCount: config.backend.desiredCount,
      securityGroups: [serviceSecurityGroup],
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      assignPublicIp: false,
      circuitBreaker: { enable: true, rollback: true },
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      healthCheckGracePeriod: Duration.seconds(60),
    });

    const loadBalancerSecurityGroup = new ec2.SecurityGroup(this, 'LoadBalancerSecurityGroup', {
      vpc: data.vpc,
      description: 'Load balancer: HTTPS (and HTTP, redirected) from anywhere',
      allowAllOutbound: false,
    });
    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc: data.vpc,
      internetFacing: true,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      securityGroup: loadBalancerSecurityGroup,
      dropInvalidHeaderFields: true,
    });
    this.loadBalancer.logAccessLogs(storage.logs, 'alb');
    const https = this.loadBalancer.addListener('Https', {
      port: 443,
      protocol: elbv2.ApplicationProtocol.HTTPS,
      certificates: [elbv2.ListenerCertificate.fromArn(config.certificateArn)],
      sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
      open: true,
    });
    https.addTargets('Backend', {
      port: CONTAINER_PORT,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targets: [service],
      // Liveness, not readiness: with `/readyz` (which needs the database) the first deployment could never
      // become healthy (the migrate task that creates the application login runs after it), and a database
      // outage would make ECS replace every healthy task, where the backend answers 503 and recovers by itself.
      healthCheck: { path: '/healthz', healthyHttpCodes: '200', interval: Duration.seconds(30) },
      deregistrationDelay: Duration.seconds(30),
    });
    this.loadBalancer.addRedirect({ sourcePort: 80, targetPort: 443 });

    this.api = this.httpApi(props, https, issuer);
    this.alarms(props);

    const network = [
      `awsvpcConfiguration={subnets=[${data.vpc.privateSubnets.map((subnet) => subnet.subnetId).join(',')}]`,
      `securityGroups=[${serviceSecurityGroup.securityGroupId}]`,
      'assignPublicIp=DISABLED}',
    ].join(',');
    const runTask = (task: ecs.FargateTaskDefinition) =>
      `aws ecs run-task --region ${region} --cluster ${cluster.clusterName} --launch-type FARGATE ` +
      `--task-definition ${task.family} --network-configuration '${network}'`;
    new CfnOutput(this, 'MigrateCommand', {
      value: runTask(migrateTask),
      description: 'Applies the migrations and creates the application login (after each deployment that changes them)',
    });
    new CfnOutput(this, 'ReconcileCommand', {
      value: runTask(reconcileTask),
      description: "Restores the tenants' identity providers in the user pool from the database once",
    });
    new CfnOutput(this, 'BackendLogGroup', { value: logGroup.logGroupName });
    new CfnOutput(this, 'AppUrl', { value: `https://${config.appDomain}` });
    new CfnOutput(this, 'LoadBalancerDnsName', {
      value: this.loadBalancer.loadBalancerDnsName,
      description: `Point ${config.appDomain} at this host name (an alias or CNAME record)`,
    });
    new CfnOutput(this, 'ApiUrl', {
      value: this.api.apiEndpoint,
      description: 'The HTTP API for bearer-token clients (the same /api/v1 routes)',
    });

    suppress(loadBalancerSecurityGroup, [
      { id: 'AwsSolutions-EC23', reason: 'The public load balancer of a web application accepts HTTPS from anywhere' },
    ]);
    for (const task of [serveTask, reconcileTask, migrateTask]) {
      suppress(task, [
        {
          id: 'AwsSolutions-ECS2',
          reason: 'Only non-secret settings are plain environment variables; passwords and keys come from Secrets Manager',
        },
        {
          id: 'AwsSolutions-IAM5',
          reason: 'The execution role CDK generates: ecr:GetAuthorizationToken accepts no narrower resource',
          appliesTo: ['Resource::*'],
        },
      ]);
    }
    suppress(sessionKey, [
      {
        id: 'AwsSolutions-SMG4',
        reason: 'Rotating the session key signs every user out; rotate it by hand (see infra/aws/README.md)',
      },
    ]);
    suppressCdkProviders(this);
    limitCdkProviderLogs(this, config.logRetentionDays);
  }

  /**
   * A task role whose inline policies are the given documents, exactly as rendered from `infra/policies`.
   * Returned as an immutable reference, so that nothing CDK does for the task definition can add to it.
   */
  private taskRole(id: string, description: string, policies: Record<string, unknown>): iam.IRole {
    const role = new iam.CfnRole(this, id, {
      description,
      assumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: 'ecs-tasks.amazonaws.com' },
            Action: 'sts:AssumeRole',
            // Only this account's ECS tasks may assume it (the confused-deputy guard ECS documents).
            Condition: {
              ArnLike: { 'aws:SourceArn': `arn:${Stack.of(this).partition}:ecs:${Stack.of(this).region}:${Stack.of(this).account}:*` },
              StringEquals: { 'aws:SourceAccount': Stack.of(this).account },
            },
          },
        ],
      },
      policies: Object.entries(policies).map(([policyName, policyDocument]) => ({ policyName, policyDocument })),
    });
    this.taskRoles.set(id, role);
    return iam.Role.fromRoleArn(this, `${id}Ref`, role.attrArn, { mutable: false });
  }

  /**
   * The HTTP API for bearer-token clients: a Cognito JWT authorizer (issuer = the pool, audience = its app
   * clients) and one route per operation of the OpenAPI document, each demanding that operation's scope,
   * integrated with the load balancer's HTTPS listener through a VPC link. Nothing else is routed.
   */
  private httpApi(props: ApplicationStackProps, https: elbv2.ApplicationListener, issuer: string): apigw.HttpApi {
    const { config, data, identity, routes } = props;
    const linkSecurityGroup = new ec2.SecurityGroup(this, 'VpcLinkSecurityGroup', {
      vpc: data.vpc,
      description: 'API Gateway VPC link: HTTPS to the load balancer only',
      allowAllOutbound: false,
    });
    https.connections.allowDefaultPortFrom(linkSecurityGroup, 'from the API Gateway VPC link');
    const link = new apigw.VpcLink(this, 'VpcLink', {
      vpc: data.vpc,
      subnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [linkSecurityGroup],
    });
    const integration = new HttpAlbIntegration('Backend', https, {
      vpcLink: link,
      // The load balancer's certificate is for the app's domain.
      secureServerName: config.appDomain,
    });
    const authorizer = new HttpJwtAuthorizer('UserPool', issuer, {
      authorizerName: 'user-pool',
      identitySource: ['$request.header.Authorization'],
      jwtAudience: Object.values(identity.clients).map((client) => client.userPoolClientId),
    });

    const api = new apigw.HttpApi(this, 'Api', {
      apiName: `saas-${config.env}`,
      description: 'The /api/v1 routes for bearer-token clients; each route demands its scope',
      createDefaultStage: false,
    });
    const accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', {
      retention: config.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    new apigw.HttpStage(this, 'DefaultStage', {
      httpApi: api,
      stageName: '$default',
      autoDeploy: true,
      accessLogSettings: { destination: new apigw.LogGroupLogDestination(accessLogs) },
    });
    for (const route of routes) {
      api.addRoutes({
        path: route.path,
        methods: [route.method as apigw.HttpMethod],
        integration,
        authorizer,
        authorizationScopes: [route.scope],
      });
    }
    return api;
  }

  /** Alarms on 5xx answers of the load balancer and the API, and on the trigger's errors and throttles. */
  private alarms(props: ApplicationStackProps): void {
    const { config, identity } = props;
    const topic = new sns.Topic(this, 'Alarms', { displayName: `saas-${config.env} alarms`, enforceSSL: true });
    if (config.alarmEmail !== null) {
      topic.addSubscription(new subscriptions.EmailSubscription(config.alarmEmail));
    }
    const action = new cloudwatchActions.SnsAction(topic);
    const fiveMinutes = Duration.minutes(5);
    const alarm = (id: string, metric: cloudwatch.IMetric, threshold: number, description: string) => {
      new cloudwatch.Alarm(this, id, {
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      }).addAlarmAction(action);
    };
    alarm(
      'LoadBalancer5xx',
      this.loadBalancer.metrics.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, { period: fiveMinutes, statistic: 'Sum' }),
      5,
      'The load balancer answered 5xx itself (no healthy backend, timeouts) at least 5 times in 5 minutes',
    );
    alarm(
      'Backend5xx',
      this.loadBalancer.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { period: fiveMinutes, statistic: 'Sum' }),
      5,
      'The backend answered 5xx at least 5 times in 5 minutes',
    );
    alarm(
      'Api5xx',
      this.api.metricServerError({ period: fiveMinutes, statistic: 'Sum' }),
      5,
      'The HTTP API answered 5xx at least 5 times in 5 minutes',
    );
    alarm(
      'TriggerErrors',
      identity.trigger.metricErrors({ period: fiveMinutes, statistic: 'Sum' }),
      5,
      'The pre-token-generation trigger failed at least 5 times in 5 minutes (refused sign-ins count too)',
    );
    alarm(
      'TriggerThrottles',
      identity.trigger.metricThrottles({ period: fiveMinutes, statistic: 'Sum' }),
      1,
      'The pre-token-generation trigger was throttled: sign-ins failed',
    );
  }
}
