import type {KubeClient} from '../clients/kube.js'
import type {ClusterContext, ClusterOptions} from '../cluster/context.js'
import type {TetragonAccess} from '../cluster/agents.js'
import type {ElasticCheckContext, ElasticCheckOptions} from './elastic/context.js'

/** What the user told us about the installation (flags and environment). */
export interface DoctorOptions extends ElasticCheckOptions, ClusterOptions {
  /** Address the collector dials (--collector-address / TETRACTL_COLLECTOR_ADDRESS). */
  collectorAddress: string
  /** Namespaces whose events must reach the export (--event-namespace); undefined = every namespace. */
  eventNamespaces?: string[]
  /** How long tetragon.schema samples the event stream. */
  schemaSampleMs: number
  /** Time between tetragon.dropped-events' two metric scrapes. */
  metricsWindowMs: number
}

/** What every check receives: the cluster domain plus the Elastic side. Clients are created lazily, so a run that needs no cluster never loads one. */
export interface CheckContext extends ElasticCheckContext, ClusterContext {
  opts: DoctorOptions
  kube(): Promise<KubeClient>
  /** A gRPC connection to one Tetragon agent (port-forward to a ready agent pod, or --tetragon-address). */
  tetragon(signal?: AbortSignal): Promise<TetragonAccess>
  /** The checks this run evaluates; reads only they need are not prefetched otherwise. */
  selected?: ReadonlySet<string>
}
