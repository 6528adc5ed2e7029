import type {KubeClient} from '../clients/kube.js'
import type {Memo} from '../engine/memo.js'
import type {ElasticCheckContext, ElasticCheckOptions} from './elastic/context.js'
import type {TetragonAccess} from './tetragon/access.js'

/** What the user told us about the installation (flags and environment). */
export interface DoctorOptions extends ElasticCheckOptions {
  /** Tetragon's namespace (--namespace); undefined = discover the DaemonSet by label. */
  namespace?: string
  /** The seed's gRPC Service (--service-name / --service-namespace). */
  serviceName: string
  serviceNamespace?: string
  /** Address the collector dials (--collector-address / TETRACTL_COLLECTOR_ADDRESS). */
  collectorAddress: string
  /** Namespaces whose events must reach the export (--event-namespace); undefined = every namespace. */
  eventNamespaces?: string[]
  /** Talk to one agent directly (--tetragon-address host:port or unix:///path) instead of through the cluster. */
  tetragonAddress?: string
  /** Its health server (--tetragon-health-address); default host:6789. */
  tetragonHealthAddress?: string
  /** Timeout of each gRPC call. */
  grpcTimeoutMs: number
  /** How long tetragon.schema samples the event stream. */
  schemaSampleMs: number
  /** Time between tetragon.dropped-events' two metric scrapes. */
  metricsWindowMs: number
}

/** What every check receives. Clients are created lazily, so a run that needs no cluster never loads one. */
export interface CheckContext extends ElasticCheckContext {
  opts: DoctorOptions
  memo: Memo
  kube(): Promise<KubeClient>
  /** A gRPC connection to one Tetragon agent (port-forward to a ready agent pod, or --tetragon-address). */
  tetragon(signal?: AbortSignal): Promise<TetragonAccess>
  /** The checks this run evaluates; reads only they need are not prefetched otherwise. */
  selected?: ReadonlySet<string>
  /** Registers cleanup (port-forwards, clients) run when the command ends. */
  onClose(fn: () => unknown): void
}
