// How checks reach a Tetragon agent's gRPC API: through the API server (port-forward to a ready agent
// pod, as `kubectl port-forward` would) or directly with --tetragon-address. Memoised per run and per pod.
import type {TetragonClient} from '../clients/tetragon.js'
import {ForbiddenError} from '../engine/errors.js'
import type {ClusterContext} from './context.js'
import {firstAgentPods, tetragonInstall, tetragonPods, type PodSummary} from './facts.js'
import {serverAddress} from './server-address.js'

export const HEALTH_PORT = 6789 // --health-server-address default :6789 (cilium/tetragon v1.7.0 pkg/option/flags.go)
export const METRICS_PORT = 2112 // tetragon.prometheus.port (cilium/tetragon v1.7.0 install/kubernetes/tetragon/values.yaml)
/** gRPC checks talk to at most this many ready agents (each one a port-forward and a handshake). */
export const MAX_GRPC_AGENTS = 5

export interface TetragonAccess {
  client: TetragonClient
  /** How the connection was made, for messages. */
  via: 'port-forward' | 'address'
  /** `namespace/pod` or the address. */
  target: string
  pod?: PodSummary
  /** Errors the API server sent on the port-forward error stream (e.g. connection refused inside the pod). */
  forwardErrors(): string[]
  /** host:port of the agent's gRPC health server, reached the same way. */
  healthAddress(): Promise<string | undefined>
  /**
   * The API server refused a port-forward (403: the credentials may not port-forward): a permission to name,
   * not a symptom of the agent. Undefined while no forward was refused.
   */
  refusal(): ForbiddenError | undefined
}

/** The port-forward's error stream says the upgrade was refused with 403 (client-node 1.4 reports only the HTTP status of a refused upgrade). */
const refusedWith403 = (errors: string[]) => errors.some((e) => /\b403\b/.test(e))

export function tetragonAccess(ctx: ClusterContext, signal?: AbortSignal): Promise<TetragonAccess> {
  return ctx.memo.get('tetragon.access', async () => {
    if (ctx.opts.tetragonAddress) {
      const {connectTetragon} = await import('../clients/tetragon.js')
      const timeoutMs = ctx.opts.grpcTimeoutMs
      const client = connectTetragon({address: ctx.opts.tetragonAddress}, {timeoutMs, flag: '--tetragon-address'})
      ctx.onClose(() => client.close())
      const address = ctx.opts.tetragonAddress
      return {
        client,
        via: 'address',
        target: address,
        forwardErrors: () => [],
        refusal: () => undefined,
        async healthAddress() {
          if (ctx.opts.tetragonHealthAddress) return ctx.opts.tetragonHealthAddress
          if (address.startsWith('unix://')) return undefined
          const host = address.slice(0, address.lastIndexOf(':')) || '127.0.0.1'
          return `${host}:${HEALTH_PORT}`
        },
      }
    }
    const [install, firstPage] = await Promise.all([tetragonInstall(ctx, signal), firstAgentPods(ctx, signal)])
    // Any ready agent will do: take one from the first page, and wait for the rest only if none there is ready.
    const pod = pickReadyAgent(firstPage) ?? pickReadyAgent(await tetragonPods(ctx, signal))
    if (!pod) throw new Error(`no ready Tetragon agent pod in ${install.namespace} to connect to`)
    return podAccess(ctx, pod, signal)
  })
}

/** The agent to talk to: a ready pod whose tetragon container is ready, else any ready pod. */
export function pickReadyAgent(pods: PodSummary[]): PodSummary | undefined {
  return pods.find((p) => p.ready && p.containers.some((c) => c.name === 'tetragon' && c.ready)) ?? pods.find((p) => p.ready)
}

/** The run's memo key of one agent pod's access: one port-forward and gRPC client per pod and run. */
export const podAccessKey = (pod: Pick<PodSummary, 'namespace' | 'name'>) => `tetragon.access/${pod.namespace}/${pod.name}`

/** The access to one agent pod, through port-forwards opened on first use. */
export function podAccess(ctx: ClusterContext, pod: PodSummary, signal?: AbortSignal): Promise<TetragonAccess> {
  return ctx.memo.get(podAccessKey(pod), async () => {
    const {connectTetragon} = await import('../clients/tetragon.js')
    const [kube, addr] = await Promise.all([ctx.kube(), serverAddress(ctx, signal)])
    // A port-forward dials localhost:<port> in the pod's network namespace: it reaches a loopback-bound
    // server too (the runtime dials localhost:<port> in the pod's network namespace first: containerd internal/cri/server/sandbox_portforward_linux.go), so it proves the API works, not that collectors can reach it.
    const port = addr.port ?? 54321
    const forward = await kube.portForward(pod.namespace, pod.name, port)
    ctx.onClose(() => forward.close())
    const client = connectTetragon({address: `${forward.host}:${forward.port}`}, {timeoutMs: ctx.opts.grpcTimeoutMs})
    ctx.onClose(() => client.close())
    let healthForward: {errors: string[]} | undefined
    let health: Promise<string> | undefined
    return {
      client,
      via: 'port-forward',
      target: `${pod.namespace}/${pod.name}`,
      pod,
      forwardErrors: () => forward.errors,
      refusal: () =>
        refusedWith403([...forward.errors, ...(healthForward?.errors ?? [])]) ? new ForbiddenError(kube.streamVerb(), 'pods/portforward', pod.namespace) : undefined,
      healthAddress() {
        health ??= kube.portForward(pod.namespace, pod.name, HEALTH_PORT).then((f) => {
          ctx.onClose(() => f.close())
          healthForward = f
          return `${f.host}:${f.port}`
        })
        return health
      },
    }
  })
}
