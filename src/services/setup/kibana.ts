// The Kibana side of setup (Fleet EPM API): install the `cilium_tetragon` package through Fleet and,
// with --agent-policy, add the seed-style package policy. The package has no gRPC input and its
// released data stream defines no streams (elastic/integrations packages/tetragon/manifest.yml and
// data_stream/log/manifest.yml): the policy cannot carry the
// Service address, and setup says so instead of pretending it configures a collector.
import {PACKAGE_NAME} from '../../checks/elastic/facts.js'
import type {KibanaHandle} from '../../clients/kibana.js'
import type {Planned} from './steps.js'

interface PackageInfo {
  item?: {version?: string; status?: string; installationInfo?: {version?: string}; savedObject?: {attributes?: {version?: string}}}
}

export const PACKAGE_POLICY_NAME = 'cilium_tetragon-tetractl'

export const NO_GRPC_INPUT_NOTE =
  `the ${PACKAGE_NAME} package has no gRPC input (its only input is filestream, with no streams in released versions; see the package's data_stream/log/manifest.yml in elastic/integrations): ` +
  'Elastic Agent does not dial the Service. Events reach Elasticsearch through the Filebeat sidecar the package documents.'

export async function planKibana(kb: KibanaHandle, opts: {agentPolicy?: string; serviceAddress: string}): Promise<Planned[]> {
  // 0.x versions are prerelease for Fleet (elastic/kibana common/services/package_prerelease.ts).
  const r = await kb.request<PackageInfo>({method: 'GET', path: `/api/fleet/epm/packages/${PACKAGE_NAME}`, query: {prerelease: true}, ignore: [404]})
  const installed = r.body?.item?.status === 'installed'
  const version = r.body?.item?.installationInfo?.version ?? r.body?.item?.savedObject?.attributes?.version ?? r.body?.item?.version
  const plans: Planned[] = [
    {
      id: 'kibana-package',
      title: `Fleet package ${PACKAGE_NAME}`,
      change: installed ? 'none' : 'create',
      summary: installed ? `installed (${version})` : 'install (its index template and ingest pipeline)',
      detail: installed ? [] : [`POST ${kb.url}/api/fleet/epm/packages/${PACKAGE_NAME}?prerelease=true  (kbn-xsrf: true)`],
    },
  ]
  if (opts.agentPolicy) {
    const list = await kb.request<{items?: Array<{name?: string; policy_id?: string; policy_ids?: string[]}>}>({method: 'GET', path: '/api/fleet/package_policies', query: {perPage: 1000, kuery: `ingest-package-policies.package.name:${PACKAGE_NAME}`}})
    const exists = (list.body?.items ?? []).some((p) => p.name === PACKAGE_POLICY_NAME && (p.policy_id === opts.agentPolicy || (p.policy_ids ?? []).includes(opts.agentPolicy!)))
    plans.push({
      id: 'kibana-policy',
      title: `Fleet package policy ${PACKAGE_POLICY_NAME}`,
      change: exists ? 'none' : 'create',
      summary: `${exists ? 'present' : 'add'} on agent policy ${opts.agentPolicy}; note: ${NO_GRPC_INPUT_NOTE} The policy only records ${opts.serviceAddress} in its description.`,
      detail: exists ? [] : [`POST ${kb.url}/api/fleet/package_policies  (kbn-xsrf: true)`, JSON.stringify(packagePolicyBody(opts.agentPolicy, version, opts.serviceAddress))],
    })
  }
  return plans
}

export function packagePolicyBody(agentPolicy: string, version: string | undefined, serviceAddress: string): Record<string, unknown> {
  return {
    name: PACKAGE_POLICY_NAME,
    description: `Tetragon gRPC Service: ${serviceAddress} (informational: the package has no gRPC input)`,
    namespace: 'default',
    policy_id: agentPolicy,
    package: {name: PACKAGE_NAME, ...(version ? {version} : {})},
  }
}

export async function applyKibana(kb: KibanaHandle, plan: Planned, opts: {agentPolicy?: string; serviceAddress: string}): Promise<string> {
  if (plan.id === 'kibana-package') {
    await kb.request({method: 'POST', path: `/api/fleet/epm/packages/${PACKAGE_NAME}`, query: {prerelease: true}, body: {force: false}})
    return 'installed'
  }
  const info = await kb.request<PackageInfo>({method: 'GET', path: `/api/fleet/epm/packages/${PACKAGE_NAME}`, query: {prerelease: true}, ignore: [404]})
  const version = info.body?.item?.installationInfo?.version ?? info.body?.item?.version
  await kb.request({method: 'POST', path: '/api/fleet/package_policies', body: packagePolicyBody(opts.agentPolicy!, version, opts.serviceAddress)})
  return 'added'
}
