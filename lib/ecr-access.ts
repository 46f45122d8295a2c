/**
 * The IAM the auditor needs to check images in Amazon ECR, and nothing more: `ecr:GetAuthorizationToken` (an
 * account-wide action: IAM offers no resource for it) and, on the repositories of each configured ECR registry
 * only, `ecr:BatchGetImage` (manifest HEAD/GET), `ecr:ListImages` (tags/list, asked only when a tag is missing)
 * and `ecr:DescribeImages` (what the registry knows of a tag). ECR registries are the config's `registries`
 * keys that are ECR hosts (unless `ecr: false`) or that say `ecr: {}`.
 */
import * as iam from 'aws-cdk-lib/aws-iam';
import { parseEcrHost } from '../lambdas/engine/registry/ecr.js';

export interface EcrRegistrySettings {
  ecr?: Record<string, never> | false | undefined;
}

export interface EcrRegistryTarget {
  host: string;
  account: string;
  region: string;
  partition: 'aws' | 'aws-cn' | 'aws-us-gov';
}

/** The ECR registries the configuration names, with the account and region their host encodes. */
export function ecrRegistriesOf(registries: Readonly<Record<string, EcrRegistrySettings>>): EcrRegistryTarget[] {
  const out: EcrRegistryTarget[] = [];
  for (const [host, settings] of Object.entries(registries)) {
    if (settings.ecr === false) continue;
    const parsed = parseEcrHost(host);
    if (!parsed) {
      if (settings.ecr) throw new Error(`registries["${host}"].ecr: "${host}" is not an Amazon ECR host (<account>.dkr.ecr.<region>.amazonaws.com)`);
      continue;
    }
    const partition = host.endsWith('.amazonaws.com.cn') ? 'aws-cn' : parsed.region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';
    out.push({ host, account: parsed.account, region: parsed.region, partition });
  }
  return out;
}

/** The statements for those registries; none when the configuration names no ECR registry. */
export function ecrPullStatements(targets: readonly EcrRegistryTarget[]): iam.PolicyStatement[] {
  if (targets.length === 0) return [];
  return [
    new iam.PolicyStatement({ sid: 'EcrAuthorizationToken', actions: ['ecr:GetAuthorizationToken'], resources: ['*'] }),
    new iam.PolicyStatement({
      sid: 'EcrReadImages',
      actions: ['ecr:BatchGetImage', 'ecr:ListImages', 'ecr:DescribeImages'],
      resources: [...new Set(targets.map((t) => `arn:${t.partition}:ecr:${t.region}:${t.account}:repository/*`))],
    }),
  ];
}
