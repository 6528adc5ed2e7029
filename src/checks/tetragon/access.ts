// How checks reach a Tetragon agent's gRPC API: through the API server (port-forward to a ready agent
// pod, as `kubectl port-forward` would) or directly with --tetragon-address. Memoised per run.
import type {TetragonClient} from '../../clients/tetragon.js'
import type {CheckContext} from '../context.js'
import {tetragonInstall, tetragonPods, type PodSummary} from '../kubernetes/facts.js'
import {serverAddress} from './server-address.js'

export const HEALTH_PORT = 6789 // --health-server-address default :6789 (tetragon.md §1.1)
export const METRICS_PORT = 2112 // tetragon.prometheus.port (tetragon.md §3.3)

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
}

export function tetragonAccess(ctx: CheckContext, signal?: AbortSignal): Promise<TetragonAccess> {
  return ctx.memo.get('tetragon.access', async () => {
    const {connectTetragon} = await import('../../clients/tetragon.js')
    const timeoutMs = ctx.opts.grpcTimeoutMs
    if (ctx.opts.tetragonAddress) {
      const client = connectTetragon({address: ctx.opts.tetragonAddress}, {timeoutMs, flag: '--tetragon-address'})
      ctx.onClose(() => client.close())
      const address = ctx.opts.tetragonAddress
      return {
        client,
        via: 'address',
        target: address,
        forwardErrors: () => [],
        async healthAddress() {
          if (ctx.opts.tetragonHealthAddress) return ctx.opts.tetragonHealthAddress
          if (address.startsWith('unix://')) return undefined
          const host = address.slice(0, address.lastIndexOf(':')) || '127.0.0.1'
          return `${host}:${HEALTH_PORT}`
        },
      }
    }
    const [kube, install, pods, addr] = await Promise.all([ctx.kube(), tetragonInstall(ctx, signal), tetragonPods(ctx, signal), serverAddress(ctx, signal)])
    const pod = pods.find((p) => p.ready && p.containers.some((c) => c.name === 'tetragon' && c.ready)) ?? pods.find((p) => p.ready)
    if (!pod) throw new Error(`no ready Tetragon agent pod in ${install.namespace} to connect to`)
    // A port-forward dials localhost:<port> in the pod's network namespace: it reaches a loopback-bound
    // server too (toolchain.md §12), so it proves the API works, not that collectors can reach it.
    const port = addr.port ?? 54321
    const forward = await kube.portForward(install.namespace, pod.name, port)
    ctx.onClose(() => forward.close())
    const client = connectTetragon({address: `${forward.host}:${forward.port}`}, {timeoutMs})
    ctx.onClose(() => client.close())
    let health: Promise<string> | undefined
    return {
      client,
      via: 'port-forward',
      target: `${install.namespace}/${pod.name}`,
      pod,
      forwardErrors: () => forward.errors,
      healthAddress() {
        health ??= kube.portForward(install.namespace, pod.name, HEALTH_PORT).then((f) => {
          ctx.onClose(() => f.close())
          return `${f.host}:${f.port}`
        })
        return health
      },
    }
  })
}
