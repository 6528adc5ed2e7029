import {FAULT_SCENARIOS} from './fault-scenarios.js'
import {DOCUMENTED_COLLECTOR_ADDRESS, type LabSpec, seedService} from './spec.js'

// Every scenario starts from `healthy` (the documented setup done right on chart 1.7.0) and
// breaks one thing, the way users break it in real clusters.

const healthy: LabSpec = {
  name: 'healthy',
  description: 'documented setup done right: gRPC on 0.0.0.0:54321, tetragon-grpc Service, Elastic Agent',
  layers: ['kubernetes', 'tetragon', 'elastic'],
  nodes: 3,
  kubernetesVersion: 'v1.31.4',
  tetragon: {
    namespace: 'kube-system',
    version: 'v1.7.0',
    chartVersion: '1.7.0',
    serverAddress: '0.0.0.0:54321',
    policies: ['network', 'file'],
  },
  grpcService: seedService(),
  collectorAddress: DOCUMENTED_COLLECTOR_ADDRESS,
  // The package ships no dashboards (elastic/integrations#11610); a team that has everything working built its own.
  elastic: {scenario: 'healthy', dashboards: [{id: 'tetragon-process-events', title: 'Tetragon process events'}]},
}

type Patch = Omit<Partial<LabSpec>, 'tetragon'> & {tetragon?: Partial<LabSpec['tetragon']>}

function variant(name: string, description: string, patch: Patch): LabSpec {
  return {
    ...healthy,
    ...patch,
    name,
    description,
    tetragon: {...healthy.tetragon, ...patch.tetragon},
  }
}

const scenarioList: LabSpec[] = [
  healthy,
  variant('grpc-localhost', 'chart 1.6 default: gRPC on localhost:54321, unreachable from the collector', {
    // Chart v0.8.4 – v1.6.1 render `server-address: localhost:54321` (values `tetragon.grpc.address`).
    tetragon: {version: 'v1.6.1', chartVersion: '1.6.1', serverAddress: 'localhost:54321'},
  }),
  variant('grpc-unix-socket', 'chart 1.7 default: gRPC on a unix socket, no TCP port at all', {
    // Chart v1.7.0 default `unix:///var/run/tetragon/tetragon.sock` (cilium/tetragon v1.7.0 contrib/upgrade-notes/v1.7.0.md).
    tetragon: {serverAddress: 'unix:///var/run/tetragon/tetragon.sock'},
  }),
  variant('grpc-disabled', 'tetragon.grpc.enabled=false: the chart renders an empty server-address', {
    tetragon: {serverAddress: ''},
  }),
  variant('selector-mismatch', 'tetragon-grpc selects `app: tetragon`, a label the chart never sets', {
    grpcService: {...seedService(), selector: {app: 'tetragon'}},
  }),
  variant('no-service', 'the tetragon-grpc Service was never applied', {grpcService: null}),
  variant('no-endpoints', 'agent pods not ready, so the Service has no ready endpoints', {
    tetragon: {readyPods: 0},
  }),
  variant('dns-wrong-namespace', 'the collector dials tetragon-grpc.monitoring, but the Service lives in kube-system', {
    collectorAddress: 'tetragon-grpc.monitoring.svc.cluster.local:54321',
  }),
  variant('rbac-limited', 'a token that cannot list EndpointSlices nor exec into pods', {
    rbac: [
      {apiGroups: [''], resources: ['namespaces', 'nodes', 'pods', 'services', 'endpoints', 'configmaps', 'pods/log'], verbs: ['get', 'list', 'watch']},
      {apiGroups: ['apps'], resources: ['daemonsets', 'deployments'], verbs: ['get', 'list', 'watch']},
      {apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'], verbs: ['create']},
    ],
  }),
  variant('rbac-no-portforward', 'a read-only token (exec and proxies allowed) that may not port-forward to pods', {
    // RBAC grants nothing it does not list, so without pods/portforward the upgrade is refused with 403 before it
    // reaches the kubelet (apiserver WithAuthorization filter), like the built-in `view` role.
    rbac: [
      {apiGroups: [''], resources: ['namespaces', 'nodes', 'pods', 'services', 'endpoints', 'configmaps', 'pods/log', 'pods/proxy', 'services/proxy'], verbs: ['get', 'list', 'watch']},
      {apiGroups: [''], resources: ['pods/exec'], verbs: ['get', 'create']},
      {apiGroups: ['apps'], resources: ['daemonsets', 'deployments', 'replicasets'], verbs: ['get', 'list', 'watch']},
      {apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch']},
      {apiGroups: ['cilium.io'], resources: ['tracingpolicies', 'tracingpoliciesnamespaced'], verbs: ['get', 'list', 'watch']},
      {apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'], verbs: ['create']},
    ],
  }),
  variant('partial-rollout', 'DaemonSet rollout stuck: 2 of 3 agent pods ready, the third crash-looping (CrashLoopBackOff)', {
    tetragon: {readyPods: 2},
  }),
  variant('large-cluster', '5,000 nodes, otherwise healthy', {nodes: 5000}),

  // Tetragon gRPC side (issue #3).
  variant('tetragon-v0.8.0', 'first OSS release: wire-incompatible with the v0.8.1+ API', {
    // Chart v0.8.0 had no gRPC values; the user passed --server-address through extraArgs/ConfigMap.
    tetragon: {version: 'v0.8.0', chartVersion: '0.8.0', policies: []},
  }),
  variant('schema-drift', 'agent built from main, newer than our proto: unknown fields and event types', {
    tetragon: {version: 'v1.8.0-pre.0-42-g4fbfe2d', schemaDrift: true},
  }),
  variant('dropped-events', 'perf ring buffer overflowing: events lost before they reach gRPC or the export', {
    tetragon: {dropped: {bpfMissed: 25_000, perfLost: 180_000, notifyOverflow: 1_200}},
  }),
  variant('no-policies', 'no TracingPolicy loaded: no tcp_connect nor file events for curl and cat', {
    tetragon: {policies: []},
  }),
  variant('liveness-failing', 'the agent\'s gRPC health service answers NOT_SERVING', {
    tetragon: {livenessFailing: true},
  }),

  // Elastic side (issue #4): the cluster is healthy, Elasticsearch / Kibana are not.
  ...(
    [
      ['no-data', 'the shipper sends nothing: no documents in any dataset'],
      ['seed-dataset', 'documents only under logs-tetragon.log-* (the commonly documented dataset), unparsed'],
      ['package-dataset', "documents under the package's dataset logs-cilium_tetragon.log-*"],
      ['pipeline-errors', 'the ingest pipeline fails on container logs enriched with container.id'],
      ['stale-data', 'the shipper stopped 3 hours ago: the newest document stays 3 hours old'],
      ['es-8', 'Elasticsearch 8.19'],
      ['es-9', 'Elasticsearch 9 with the 8.19 client'],
      ['es-auth-failure', 'the Elasticsearch credentials are wrong'],
      ['template-missing', 'data stream created before the integration: documents unparsed'],
      ['kibana-package-missing', 'cilium_tetragon is not installed in Kibana'],
    ] as const
  ).map(([name, description]) => variant(name, description, {elastic: {scenario: name}})),

  // End-to-end validation (issue #5): each breaks one stage of the path.
  variant('no-network-policy', 'only the file-access policy is loaded: curl makes no tcp_connect event', {
    tetragon: {policies: ['file']},
  }),
  variant('export-filtered', 'the export allow list keeps only namespace default: probe pods never reach the export', {
    tetragon: {exportAllowList: [{namespace: ['default'], event_set: ['PROCESS_EXEC', 'PROCESS_EXIT', 'PROCESS_KPROBE']}]},
  }),
  variant('shipper-down', 'the shipper drops everything: events never reach Elasticsearch', {
    elastic: {scenario: 'healthy', shipperDown: true},
  }),
  variant('slow-ingest', 'documents become searchable 3 minutes after the event, later than the default wait', {
    elastic: {scenario: 'healthy', shipperDelayMs: 180_000},
  }),

  // Faulty servers and network paths (issue #12): healthy, seen through a fault layer (src/lab/faults.ts).
  ...FAULT_SCENARIOS.map((f) => variant(f.name, f.description, {faults: [{target: f.target, kind: f.kind}]})),
]

export const scenarios: ReadonlyMap<string, LabSpec> = new Map(scenarioList.map((s) => [s.name, s]))

export function getScenario(name: string): LabSpec | undefined {
  const spec = scenarios.get(name)
  return spec && structuredClone(spec)
}
