import type {KubeClient} from '../clients/kube.js'
import type {Memo} from '../engine/memo.js'

/** What the user told us about the installation (flags and environment). */
export interface DoctorOptions {
  /** Tetragon's namespace (--namespace); undefined = discover the DaemonSet by label. */
  namespace?: string
  /** The seed's gRPC Service (--service-name / --service-namespace). */
  serviceName: string
  serviceNamespace?: string
  /** Address the collector dials (--collector-address / TETRACTL_COLLECTOR_ADDRESS). */
  collectorAddress: string
}

/** What every check receives. Clients are created lazily, so a run that needs no cluster never loads one. */
export interface CheckContext {
  opts: DoctorOptions
  memo: Memo
  kube(): Promise<KubeClient>
}
