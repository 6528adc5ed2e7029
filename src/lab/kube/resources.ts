// The resources the lab serves, as the real API server's discovery documents describe them.

export interface ResourceDef {
  group: string
  version: string
  /** Plural resource name as in the URL. */
  resource: string
  singular: string
  kind: string
  namespaced: boolean
  shortNames?: string[]
  verbs: string[]
  /** Subresources listed in discovery as `<resource>/<sub>`. */
  subresources?: Array<{name: string; kind: string; verbs: string[]}>
  /** Create-only review APIs (authorization.k8s.io): not stored. */
  virtual?: boolean
}

const RW = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch']

export const RESOURCES: ResourceDef[] = [
  {group: '', version: 'v1', resource: 'namespaces', singular: 'namespace', kind: 'Namespace', namespaced: false, shortNames: ['ns'], verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], subresources: [{name: 'status', kind: 'Namespace', verbs: ['get', 'patch', 'update']}]},
  {group: '', version: 'v1', resource: 'nodes', singular: 'node', kind: 'Node', namespaced: false, shortNames: ['no'], verbs: RW, subresources: [{name: 'proxy', kind: 'NodeProxyOptions', verbs: ['create', 'delete', 'get', 'patch', 'update']}, {name: 'status', kind: 'Node', verbs: ['get', 'patch', 'update']}]},
  {group: '', version: 'v1', resource: 'pods', singular: 'pod', kind: 'Pod', namespaced: true, shortNames: ['po'], verbs: RW, subresources: [
    {name: 'exec', kind: 'PodExecOptions', verbs: ['create', 'get']},
    {name: 'log', kind: 'Pod', verbs: ['get']},
    {name: 'portforward', kind: 'PodPortForwardOptions', verbs: ['create', 'get']},
    {name: 'proxy', kind: 'PodProxyOptions', verbs: ['create', 'delete', 'get', 'patch', 'update']},
    {name: 'status', kind: 'Pod', verbs: ['get', 'patch', 'update']},
  ]},
  {group: '', version: 'v1', resource: 'services', singular: 'service', kind: 'Service', namespaced: true, shortNames: ['svc'], verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'], subresources: [{name: 'status', kind: 'Service', verbs: ['get', 'patch', 'update']}]},
  {group: '', version: 'v1', resource: 'endpoints', singular: 'endpoints', kind: 'Endpoints', namespaced: true, shortNames: ['ep'], verbs: RW},
  // Helm 3 stores each release revision in a Secret `sh.helm.release.v1.<name>.v<n>` (helm pkg/storage/driver/secrets.go).
  {group: '', version: 'v1', resource: 'secrets', singular: 'secret', kind: 'Secret', namespaced: true, verbs: RW},
  // Core Events (kubectl get events, describe's Events section); nothing in the lab records any yet.
  {group: '', version: 'v1', resource: 'events', singular: 'event', kind: 'Event', namespaced: true, shortNames: ['ev'], verbs: RW},
  {group: '', version: 'v1', resource: 'configmaps', singular: 'configmap', kind: 'ConfigMap', namespaced: true, shortNames: ['cm'], verbs: RW},
  {group: 'apps', version: 'v1', resource: 'daemonsets', singular: 'daemonset', kind: 'DaemonSet', namespaced: true, shortNames: ['ds'], verbs: RW, subresources: [{name: 'status', kind: 'DaemonSet', verbs: ['get', 'patch', 'update']}]},
  {group: 'apps', version: 'v1', resource: 'deployments', singular: 'deployment', kind: 'Deployment', namespaced: true, shortNames: ['deploy'], verbs: RW, subresources: [{name: 'status', kind: 'Deployment', verbs: ['get', 'patch', 'update']}]},
  {group: 'apps', version: 'v1', resource: 'replicasets', singular: 'replicaset', kind: 'ReplicaSet', namespaced: true, shortNames: ['rs'], verbs: RW, subresources: [{name: 'status', kind: 'ReplicaSet', verbs: ['get', 'patch', 'update']}]},
  {group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices', singular: 'endpointslice', kind: 'EndpointSlice', namespaced: true, verbs: RW},
  // Tetragon CRDs (chart crds-yaml/): TracingPolicy cluster-scoped, TracingPolicyNamespaced namespaced.
  {group: 'cilium.io', version: 'v1alpha1', resource: 'tracingpolicies', singular: 'tracingpolicy', kind: 'TracingPolicy', namespaced: false, shortNames: ['tgtp'], verbs: RW},
  {group: 'cilium.io', version: 'v1alpha1', resource: 'tracingpoliciesnamespaced', singular: 'tracingpolicynamespaced', kind: 'TracingPolicyNamespaced', namespaced: true, shortNames: ['tgtpn'], verbs: RW},
  {group: 'authorization.k8s.io', version: 'v1', resource: 'selfsubjectaccessreviews', singular: 'selfsubjectaccessreview', kind: 'SelfSubjectAccessReview', namespaced: false, verbs: ['create'], virtual: true},
  {group: 'authorization.k8s.io', version: 'v1', resource: 'selfsubjectrulesreviews', singular: 'selfsubjectrulesreview', kind: 'SelfSubjectRulesReview', namespaced: false, verbs: ['create'], virtual: true},
]

/** Store key of a resource: `v1/pods`, `apps/v1/daemonsets`. */
export function gvrKey(def: Pick<ResourceDef, 'group' | 'version' | 'resource'>): string {
  return def.group ? `${def.group}/${def.version}/${def.resource}` : `${def.version}/${def.resource}`
}

const byKey = new Map(RESOURCES.map((r) => [gvrKey(r), r]))

export function findResource(group: string, version: string, resource: string): ResourceDef | undefined {
  return byKey.get(gvrKey({group, version, resource}))
}

/** Accepts `pods`, `v1/pods`, `daemonsets.apps`, `apps/v1/daemonsets`. */
export function resolveResource(ref: string): ResourceDef {
  const direct = byKey.get(ref)
  if (direct) return direct
  const dot = ref.indexOf('.')
  const found = dot > 0
    ? RESOURCES.find((r) => r.resource === ref.slice(0, dot) && r.group === ref.slice(dot + 1))
    : RESOURCES.find((r) => r.resource === ref && r.group === '') ?? RESOURCES.find((r) => r.resource === ref)
  if (!found) throw new Error(`unknown resource ${ref}`)
  return found
}

export function apiVersionOf(def: ResourceDef): string {
  return def.group ? `${def.group}/${def.version}` : def.version
}

/** `pods`, or `daemonsets.apps` as the API server names a group resource in messages. */
export function qualifiedName(def: ResourceDef): string {
  return def.group ? `${def.resource}.${def.group}` : def.resource
}

export function groupVersions(): Array<{group: string; version: string}> {
  const seen = new Map<string, {group: string; version: string}>()
  for (const r of RESOURCES) if (r.group) seen.set(`${r.group}/${r.version}`, {group: r.group, version: r.version})
  return [...seen.values()]
}
