import net from 'node:net'

import {readyBackends} from './controllers.js'
import {inServiceCidr, isIPv4} from './ip.js'
import type {KObj, Store} from './store.js'

// The lab's cluster network: which simulated address:port reaches which real 127.0.0.1 listener.
// Service ClusterIPs go through a kube-proxy model; pod and node IPs reach what other labs
// registered. Loopback-only listeners (a process bound to 127.0.0.1 inside a network namespace)
// are reachable only from that namespace: by port-forward, never by Service traffic
// (containerd internal/cri/server/sandbox_portforward_linux.go).

export interface Target {
  host: string
  port: number
}

export type ConnectResult = Target | 'refused' | 'timeout'

export interface ListenOptions {
  /** Bound to 127.0.0.1 inside the namespace: reachable by port-forward only. */
  loopbackOnly?: boolean
}

/** Hook run before the built-in routing; return undefined to fall through. */
export type ConnectInterceptor = (ip: string, port: number, from?: KObj) => ConnectResult | undefined | Promise<ConnectResult | undefined>

export class Network {
  private readonly addrs = new Map<string, Target>()
  private readonly loopback = new Map<string, Target>()
  private readonly interceptors: ConnectInterceptor[] = []
  private rr = 0

  constructor(private readonly store: Store) {}

  /** Node name → InternalIP. */
  nodeIp(name: string): string | undefined {
    const node = this.store.get('nodes', undefined, name)
    return node?.status?.addresses?.find((a: {type: string}) => a.type === 'InternalIP')?.address
  }

  /**
   * Registers a listener. `ip` is a pod/node IP, or `127.0.0.1@<node>` / `127.0.0.1@<ip>` for the
   * loopback of that network namespace (same as `{loopbackOnly: true}`).
   */
  listen(ip: string, port: number, target: Target, opts: ListenOptions = {}): () => void {
    const at = /^127\.0\.0\.1@(.+)$/.exec(ip)
    let key: string
    let map: Map<string, Target>
    if (at) {
      const ns = isIPv4(at[1]!) ? at[1]! : this.nodeIp(at[1]!)
      if (!ns) throw new Error(`unknown node ${at[1]}`)
      key = `${ns}:${port}`
      map = this.loopback
    } else {
      key = `${ip}:${port}`
      map = opts.loopbackOnly ? this.loopback : this.addrs
    }
    map.set(key, target)
    return () => {
      if (map.get(key) === target) map.delete(key)
    }
  }

  intercept(fn: ConnectInterceptor): () => void {
    this.interceptors.push(fn)
    return () => {
      const i = this.interceptors.indexOf(fn)
      if (i >= 0) this.interceptors.splice(i, 1)
    }
  }

  /** Network namespace identity of a pod: its node's IP for hostNetwork pods, else its pod IP. */
  netnsOf(pod: KObj): string {
    return pod.spec?.hostNetwork ? (pod.status?.hostIP ?? '') : (pod.status?.podIP ?? '')
  }

  /** What a process in `netns` reaches on localhost:port (127.0.0.1 listeners and 0.0.0.0 ones). */
  localhost(netns: string, port: number): Target | undefined {
    return this.loopback.get(`${netns}:${port}`) ?? this.addrs.get(`${netns}:${port}`)
  }

  /** Direct listener on a cluster IP (not loopback-only). */
  listener(ip: string, port: number): Target | undefined {
    return this.addrs.get(`${ip}:${port}`)
  }

  private knownHost(ip: string): boolean {
    for (const n of this.store.list('nodes')) {
      if ((n.status?.addresses ?? []).some((a: {address: string}) => a.address === ip)) return true
    }
    return this.store.list('pods').some((p) => p.status?.podIP === ip && p.status?.phase === 'Running')
  }

  serviceByClusterIp(ip: string): KObj | undefined {
    return this.store.list('services').find((s) => s.spec?.clusterIP === ip)
  }

  /**
   * A TCP connect from inside the cluster (a pod, or the node) to ip:port, answered with the real
   * listener to dial or how the connect fails.
   */
  async connect(ip: string, port: number, from?: KObj): Promise<ConnectResult> {
    for (const fn of this.interceptors) {
      const r = await fn(ip, port, from)
      if (r !== undefined) return r
    }
    if (ip.startsWith('127.') || ip === 'localhost') {
      if (!from) return 'refused'
      return this.localhost(this.netnsOf(from), port) ?? 'refused'
    }
    if (inServiceCidr(ip)) {
      const svc = this.serviceByClusterIp(ip)
      // kube-proxy (iptables): no rule for an unknown VIP/port, so nothing answers.
      if (!svc) return 'timeout'
      if (!(svc.spec?.ports ?? []).some((p: {port: number}) => p.port === port)) return 'timeout'
      const bs = readyBackends(this.store, svc, port)
      // A Service without ready endpoints gets a REJECT rule: connection refused.
      if (bs.length === 0) return 'refused'
      // kube-proxy picks an endpoint at random; round-robin keeps the lab deterministic.
      const b = bs[this.rr++ % bs.length]!
      return this.listener(b.ip, b.port) ?? 'refused'
    }
    const l = this.listener(ip, port)
    if (l) return l
    // A live host without a listener answers RST; an unknown address never answers.
    return this.knownHost(ip) ? 'refused' : 'timeout'
  }
}

/** Opens a real TCP connection to check a listener; resolves with the socket or the errno. */
export function dialTarget(t: Target, timeoutMs = 2000): Promise<net.Socket | 'refused' | 'timeout'> {
  return new Promise((resolve) => {
    const s = net.connect({host: t.host, port: t.port})
    const timer = setTimeout(() => {
      s.destroy()
      resolve('timeout')
    }, timeoutMs)
    s.once('connect', () => {
      clearTimeout(timer)
      resolve(s)
    })
    s.once('error', () => {
      clearTimeout(timer)
      s.destroy()
      resolve('refused')
    })
  })
}
