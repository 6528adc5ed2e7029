// The lab's model of one simulated environment. A scenario is a LabSpec; the Kubernetes,
// Tetragon and Elastic labs all render their state from it. Only tests and `tetractl sandbox`
// import anything under src/lab.
import type {JsonObject} from '../tetragon/json.js'

import type {DroppedCounts} from './tetragon/metrics.js'

export interface RbacRule {
  /** API group, '' for core. '*' for all. */
  apiGroups: string[]
  /** Resource names, subresources as `pods/exec`. '*' for all. */
  resources: string[]
  verbs: string[]
  /** Namespaces the rule applies to; omitted = cluster-wide. */
  namespaces?: string[]
}

export interface TetragonSpec {
  /** Namespace of the Helm release (chart installs into .Release.Namespace; docs use kube-system). */
  namespace: string
  /** Agent version as GetVersion reports it, e.g. `v1.7.0`. */
  version: string
  /** Chart version: decides labels (part-of/component since 1.3.0) and the default gRPC address. */
  chartVersion: string
  /**
   * ConfigMap `server-address`, as the chart renders `tetragon.grpc.address`.
   * `''` = gRPC disabled (tetragon.grpc.enabled=false), as the chart renders it.
   */
  serverAddress: string
  /** Number of nodes whose agent pod is Ready (default: all). */
  readyPods?: number
  /** Restart count of the export-stdout container (default 0). */
  exportRestarts?: number
  /** export.mode '' removes the export-stdout sidecar. */
  exportMode?: 'stdout' | ''
  /** TracingPolicies loaded (names of upstream example policies: 'network' = tcp_connect, 'file' = file reads). */
  policies?: Array<'network' | 'file'>
  /** The agent is newer than tetractl's proto: events carry unknown field numbers and an unknown event type. */
  schemaDrift?: boolean
  /** Lost-event counters the agents' metrics report (per node); see src/lab/tetragon/metrics.ts. */
  dropped?: DroppedCounts
  /** The `liveness` health service answers NOT_SERVING. */
  livenessFailing?: boolean
  /** ConfigMap `export-allowlist` / `export-denylist` lines (JSON filters); default: the chart's. */
  exportAllowList?: JsonObject[]
  exportDenyList?: JsonObject[]
}

export interface ElasticSpec {
  /** Elastic lab scenario flags (src/lab/elastic/index.ts ELASTIC_SCENARIOS). */
  scenario?: string | string[]
  esMajor?: 8 | 9
  /** Delay between an event's export and its document (the shipper's read interval plus indexing). */
  shipperDelayMs?: number
  /** The shipper drops everything it reads. */
  shipperDown?: boolean
  /** Dashboards saved in Kibana (the package ships none; a team may have built its own). */
  dashboards?: Array<{id: string; title: string}>
}

export interface ServiceSpec {
  name: string
  namespace: string
  selector: Record<string, string>
  port: number
  targetPort: number
}

export interface LabSpec {
  name: string
  description: string
  /** Which issue's checks the scenario exercises; for `sandbox list`. */
  layers: Array<'kubernetes' | 'tetragon' | 'elastic'>
  nodes: number
  /** Nodes that are Ready and schedulable; the rest are cordoned/NotReady (default all). */
  schedulableNodes?: number
  kubernetesVersion: string
  tetragon: TetragonSpec
  /** The seed's `tetragon-grpc` Service; null = not created. */
  grpcService: ServiceSpec | null
  /** Address the collector (Elastic Agent) is configured with; exported into DIR/env. */
  collectorAddress: string
  /** RBAC rules of the sandbox token; omitted = cluster-admin. */
  rbac?: RbacRule[]
  /** Ready replicas of CoreDNS (default 2). */
  corednsReady?: number
  /** The Elastic side; null = no Elasticsearch/Kibana in this scenario. Default: healthy. */
  elastic?: ElasticSpec | null
  /** Faults a proxy in front of the servers injects (src/lab/faults.ts); none by default. */
  faults?: Array<{target: 'kube' | 'es' | 'kibana' | 'tetragon'; kind: string}>
}

export {DOCUMENTED_COLLECTOR_ADDRESS} from '../defaults.js'

/** The seed's Service: selector `app.kubernetes.io/name: tetragon`, port 54321. */
export const seedService = (namespace = 'kube-system'): ServiceSpec => ({
  name: 'tetragon-grpc',
  namespace,
  selector: {'app.kubernetes.io/name': 'tetragon'},
  port: 54321,
  targetPort: 54321,
})
