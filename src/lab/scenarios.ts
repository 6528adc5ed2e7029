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
    // Chart v0.8.4 – v1.6.1 render `server-address: localhost:54321` (spec tetragon.md §3.4).
    tetragon: {version: 'v1.6.1', chartVersion: '1.6.1', serverAddress: 'localhost:54321'},
  }),
  variant('grpc-unix-socket', 'chart 1.7 default: gRPC on a unix socket, no TCP port at all', {
    // Chart v1.7.0 default `unix:///var/run/tetragon/tetragon.sock` (spec tetragon.md §3.4).
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
  variant('partial-rollout', 'DaemonSet rollout stuck: 2 of 3 agent pods ready', {
    tetragon: {readyPods: 2},
  }),
  variant('large-cluster', '5,000 nodes, otherwise healthy', {nodes: 5000}),
]

export const scenarios: ReadonlyMap<string, LabSpec> = new Map(scenarioList.map((s) => [s.name, s]))

export function getScenario(name: string): LabSpec | undefined {
  const spec = scenarios.get(name)
  return spec && structuredClone(spec)
}
