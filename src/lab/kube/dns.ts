import {readyBackends} from './controllers.js'
import {CLUSTER_DNS_IP, NODE_RESOLVER_IP} from './ip.js'
import type {KObj, Store} from './store.js'

// Pod DNS as kubelet configures it (Kubernetes docs "DNS for Services and Pods", "Pod's DNS
// Policy") and CoreDNS answers it.

export const CLUSTER_DOMAIN = 'cluster.local'

export type DnsAnswer =
  | {kind: 'ok'; name: string; ips: string[]}
  | {kind: 'nxdomain'}
  | {kind: 'timeout'}

export interface ResolverConfig {
  nameserver: string
  search: string[]
  ndots: number
  cluster: boolean
}

/**
 * ClusterFirst (and ClusterFirstWithHostNet) use the cluster DNS; a hostNetwork pod with
 * ClusterFirst falls back to Default; Default inherits the node's resolv.conf.
 */
export function resolverFor(pod: KObj): ResolverConfig {
  const policy = pod.spec?.dnsPolicy ?? 'ClusterFirst'
  const host = Boolean(pod.spec?.hostNetwork)
  const cluster = policy === 'ClusterFirstWithHostNet' || (policy === 'ClusterFirst' && !host)
  if (!cluster) return {nameserver: NODE_RESOLVER_IP, search: [], ndots: 1, cluster: false}
  const ns = pod.metadata.namespace ?? 'default'
  return {nameserver: CLUSTER_DNS_IP, search: [`${ns}.svc.${CLUSTER_DOMAIN}`, `svc.${CLUSTER_DOMAIN}`, CLUSTER_DOMAIN], ndots: 5, cluster: true}
}

export function resolvConf(pod: KObj): string {
  const r = resolverFor(pod)
  if (!r.cluster) return `nameserver ${r.nameserver}\n`
  return `search ${r.search.join(' ')}\nnameserver ${r.nameserver}\noptions ndots:${r.ndots}\n`
}

export class Dns {
  /**
   * Names outside cluster.local: what the nodes' upstream resolver answers (CoreDNS forwards them
   * there, `forward . /etc/resolv.conf` in the default Corefile). Set by exec-curl.ts.
   */
  upstream?: (fqdn: string) => string[] | undefined

  constructor(private readonly store: Store) {}

  /** CoreDNS answers only while kube-dns has a ready endpoint; otherwise queries time out. */
  clusterDnsUp(): boolean {
    const svc = this.store.get('services', 'kube-system', 'kube-dns')
    return Boolean(svc && readyBackends(this.store, svc, 53).length > 0)
  }

  /** One absolute name against CoreDNS's kubernetes plugin. */
  private lookupCluster(fqdn: string): string[] | undefined {
    const name = fqdn.replace(/\.$/, '').toLowerCase()
    const suffix = `.svc.${CLUSTER_DOMAIN}`
    if (!name.endsWith(suffix)) return undefined
    const parts = name.slice(0, -suffix.length).split('.')
    if (parts.length !== 2) return undefined
    const [svcName, ns] = parts as [string, string]
    const svc = this.store.get('services', ns, svcName)
    if (!svc) return undefined
    if (svc.spec?.clusterIP && svc.spec.clusterIP !== 'None') return [svc.spec.clusterIP]
    // Headless: the ready endpoints' addresses.
    const ips = new Set<string>()
    for (const p of svc.spec?.ports ?? []) for (const b of readyBackends(this.store, svc, p.port)) ips.add(b.ip)
    return ips.size ? [...ips] : undefined
  }

  /** Resolves `name` as a process in `pod` would (search list, ndots), returning the answering FQDN. */
  resolve(name: string, pod: KObj): DnsAnswer {
    const r = resolverFor(pod)
    if (!r.cluster) {
      // The node's resolver knows nothing about cluster.local (Tetragon pods use dnsPolicy: Default).
      const ips = this.upstream?.(name.replace(/\.$/, '').toLowerCase())
      return ips ? {kind: 'ok', name: name.replace(/\.$/, ''), ips} : {kind: 'nxdomain'}
    }
    if (!this.clusterDnsUp()) return {kind: 'timeout'}
    const absolute = name.endsWith('.')
    const dots = name.replace(/\.$/, '').split('.').length - 1
    const candidates: string[] = []
    if (absolute) candidates.push(name)
    else {
      const searched = r.search.map((s) => `${name}.${s}`)
      if (dots >= r.ndots) candidates.push(name, ...searched)
      else candidates.push(...searched, name)
    }
    for (const c of candidates) {
      const fqdn = c.replace(/\.$/, '').toLowerCase()
      const ips = fqdn.endsWith(`.${CLUSTER_DOMAIN}`) ? this.lookupCluster(c) : this.upstream?.(fqdn)
      if (ips) return {kind: 'ok', name: c.replace(/\.$/, ''), ips}
    }
    return {kind: 'nxdomain'}
  }

  /** Reverse lookup of a Service ClusterIP (CoreDNS PTR records). */
  reverse(ip: string): string | undefined {
    const svc = this.store.list('services').find((s) => s.spec?.clusterIP === ip)
    return svc && `${svc.metadata.name}.${svc.metadata.namespace}.svc.${CLUSTER_DOMAIN}`
  }
}
