// The domain of a Tetragon install on a cluster: what the facts about it and the way to reach an agent need.
// Checks, validate, events, setup and --fix all pass a ClusterContext (a CheckContext is one), so nobody has
// to forge a check context to read the install.
import type {KubeClient} from '../clients/kube.js'
import type {Memo} from '../engine/memo.js'

/** What the user told us about where Tetragon runs and how to reach it. */
export interface ClusterOptions {
  /** Tetragon's namespace (--namespace); undefined = discover the DaemonSet by label. */
  namespace?: string
  /** The gRPC Service collectors use (--service-name / --service-namespace). */
  serviceName: string
  serviceNamespace?: string
  /** Talk to one agent directly (--tetragon-address host:port or unix:///path) instead of through the cluster. */
  tetragonAddress?: string
  /** Its health server (--tetragon-health-address); default host:6789. */
  tetragonHealthAddress?: string
  /** Timeout of each gRPC call. */
  grpcTimeoutMs: number
}

/**
 * The few Kubernetes calls the domain makes (implemented by src/clients/kube.ts; tests give an in-memory one).
 * Checks get the whole KubeClient; the facts and agent access need only these.
 */
export type ClusterKube = Pick<KubeClient, 'listDaemonSets' | 'listPods' | 'readConfigMap' | 'readService' | 'listEndpointSlices' | 'countNodes' | 'portForward' | 'streamVerb'>

export interface ClusterContext {
  opts: ClusterOptions
  /** Facts are read once per run (or per `fresh` context after a change). */
  memo: Memo
  kube(): Promise<ClusterKube>
  /** Registers cleanup (port-forwards, gRPC clients) run when the command ends. */
  onClose(fn: () => unknown): void
}

/** A context for a command that is not a doctor run: the facts and agent access, nothing else. */
export function clusterContext<K extends ClusterKube>(kube: K, memo: Memo, opts: ClusterOptions): ClusterContext & {kube(): Promise<K>; close(): Promise<void>} {
  const closers: Array<() => unknown> = []
  return {
    opts,
    memo,
    kube: async () => kube,
    onClose: (fn) => void closers.push(fn),
    async close() {
      for (const fn of closers.splice(0).reverse()) await Promise.resolve(fn()).catch(() => {})
    },
  }
}
