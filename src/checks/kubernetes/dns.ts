import {fail, notEvaluated, pass, type Check} from '../../engine/types.js'
import type {CheckContext} from '../context.js'
import {grpcService, summarizePod, type PodSummary} from '../../cluster/facts.js'
import {DOCS} from '../../docs.js'

/** Elastic's reference Elastic Agent manifests label their pods `app: elastic-agent`. */
export const COLLECTOR_SELECTOR = 'app=elastic-agent'

export interface CollectorTarget {
  host: string
  port?: number
  /** Service and namespace named by a cluster DNS name, when the host is one. */
  service?: string
  namespace?: string
}

export function parseCollectorAddress(address: string): CollectorTarget {
  const trimmed = address.trim().replace(/^[a-z]+:\/\//, '')
  const idx = trimmed.lastIndexOf(':')
  const host = idx > 0 ? trimmed.slice(0, idx) : trimmed
  const port = idx > 0 ? Number(trimmed.slice(idx + 1)) : undefined
  if (/^\d+\.\d+\.\d+\.\d+$/.test(host)) return {host, port}
  // <svc>.<ns>[.svc[.cluster.local]]; a bare <svc> is resolved in the collector pod's own namespace.
  const parts = host.split('.')
  return {host, port, service: parts[0], namespace: parts.length > 1 ? parts[1] : undefined}
}

/** A first page of collector pods is enough to find one to resolve from. */
export function collectorPods(ctx: CheckContext, signal?: AbortSignal): Promise<PodSummary[]> {
  return ctx.memo.get('collector.pods', async () => {
    const kube = await ctx.kube()
    const list = await kube.call({verb: 'list', resource: 'pods'}, (o) => kube.core.listPodForAllNamespaces({labelSelector: COLLECTOR_SELECTOR, limit: 50}, o), signal)
    return list.items.map(summarizePod)
  })
}

export function corednsPods(ctx: CheckContext, signal?: AbortSignal): Promise<PodSummary[]> {
  return ctx.memo.get('coredns.pods', async () => (await ctx.kube()).listPods('kube-system', {labelSelector: 'k8s-app=kube-dns', signal}, summarizePod))
}

/**
 * Resolve the collector's host from inside a collector pod (memoised, so the exec can start as soon as the
 * pods are known). Tetragon pods use dnsPolicy Default (host DNS, the chart's daemonset.yaml), where cluster Service
 * names do not resolve: resolve from a ClusterFirst pod. undefined = no such pod.
 */
/**
 * The IPv4 addresses a lookup answered. getent prints `IP  NAME` lines; nslookup (BusyBox and bind's) first names
 * the resolver it asked (`Server:` / `Address: IP:53` or `IP#53`), whatever the cluster's DNS Service address is,
 * then the answer after `Name:`. Only the answer counts.
 */
export function resolvedAddresses(stdout: string): string[] {
  const name = stdout.search(/^Name:/m)
  const answer = name >= 0 ? stdout.slice(name) : /^(Server|Address):/m.test(stdout) ? '' : stdout
  return [...new Set(answer.match(/\b\d{1,3}(?:\.\d{1,3}){3}\b/g) ?? [])]
}

export function collectorResolution(ctx: CheckContext, signal?: AbortSignal) {
  return ctx.memo.get('collector.resolution', async () => {
    const kube = await ctx.kube()
    const host = parseCollectorAddress(ctx.opts.collectorAddress).host
    const pods = await collectorPods(ctx, signal)
    const pod = pods.find((p) => p.ready && (p.dnsPolicy === 'ClusterFirst' || p.dnsPolicy === 'ClusterFirstWithHostNet' || p.dnsPolicy === undefined))
    if (!pod) return undefined
    const container = pod.containers[0]?.name ?? ''
    let result = await kube.exec(pod.namespace, pod.name, container, ['getent', 'hosts', host], {signal})
    // No getent (BusyBox, musl images): containerd / CRI-O refuse to start it rather than exit 127 (ExecResult.notFound).
    if (result.notFound) result = await kube.exec(pod.namespace, pod.name, container, ['nslookup', host], {signal})
    return {pod, container, result}
  })
}

export const collectorResolvesService: Check<CheckContext> = {
  id: 'dns.service',
  layer: 'kubernetes',
  title: "Collector's gRPC address resolves to the Service inside the cluster",
  requires: ['service.exists'],
  async run(ctx, signal) {
    const target = parseCollectorAddress(ctx.opts.collectorAddress)
    const [{namespace, service}, coredns] = await Promise.all([grpcService(ctx, signal), corednsPods(ctx, signal)])
    const clusterIP = service?.spec?.clusterIP
    const fqdn = `${ctx.opts.serviceName}.${namespace}.svc.cluster.local`
    const fixHint = `Manual step: set the collector's gRPC address to ${fqdn}:${target.port ?? 54321} (for tetractl's own view: --collector-address or TETRACTL_COLLECTOR_ADDRESS)`
    const evidence: Record<string, unknown> = {collectorAddress: ctx.opts.collectorAddress, service: `${namespace}/${ctx.opts.serviceName}`, clusterIP, corednsReady: coredns.filter((p) => p.ready).length}
    if (coredns.length > 0 && !coredns.some((p) => p.ready)) {
      return fail(`CoreDNS has no ready pod (0 of ${coredns.length}): no Service name resolves in the cluster`, {
        hint: 'kubectl -n kube-system get pods -l k8s-app=kube-dns\nkubectl -n kube-system logs -l k8s-app=kube-dns',
        docs: DOCS.dns,
        evidence,
      })
    }
    const resolution = await collectorResolution(ctx, signal)
    if (!resolution) {
      return notEvaluated(`no ready collector pod with cluster DNS to resolve from (label ${COLLECTOR_SELECTOR}); run: kubectl run -it --rm dnsprobe --image=busybox:1.36 -- nslookup ${target.host}`, evidence)
    }
    const {pod, container, result} = resolution
    evidence.resolvedFrom = `${pod.namespace}/${pod.name}`
    if (result.notFound) return notEvaluated(`neither getent nor nslookup exists in ${pod.namespace}/${pod.name}`, evidence)
    const ips = resolvedAddresses(result.stdout)
    evidence.resolved = ips
    const wrongNamespace = target.namespace !== undefined && target.namespace !== namespace
    const wrongName = target.service !== undefined && target.service !== ctx.opts.serviceName
    if (wrongNamespace || wrongName) {
      const what = wrongNamespace ? `namespace ${target.namespace}, but Service ${ctx.opts.serviceName} lives in ${namespace}` : `Service ${target.service}, but the gRPC Service is ${ctx.opts.serviceName}`
      return fail(`collector address ${ctx.opts.collectorAddress} names ${what}${ips.length === 0 ? ` (${target.host} does not resolve)` : ` (${target.host} resolves to ${ips.join(', ')})`}`, {
        hint: fixHint,
        docs: DOCS.dns,
        evidence,
      })
    }
    if (result.exitCode !== 0 || ips.length === 0) {
      return fail(`${target.host} does not resolve from ${pod.namespace}/${pod.name}${result.stderr ? `: ${result.stderr.trim().split('\n')[0]}` : ''}`, {
        hint: `kubectl -n ${pod.namespace} exec ${pod.name} -c ${container} -- getent hosts ${target.host}\n${fixHint}`,
        docs: DOCS.dns,
        evidence,
      })
    }
    if (clusterIP && clusterIP !== 'None' && !ips.includes(clusterIP)) {
      return fail(`${target.host} resolves to ${ips.join(', ')}, not to ${namespace}/${ctx.opts.serviceName}'s ClusterIP ${clusterIP}`, {hint: fixHint, docs: DOCS.dns, evidence})
    }
    if (target.port !== undefined && !(service?.spec?.ports ?? []).some((p) => p.port === target.port)) {
      return fail(`collector dials port ${target.port}, but Service ${namespace}/${ctx.opts.serviceName} exposes ${(service?.spec?.ports ?? []).map((p) => p.port).join(', ')}`, {hint: fixHint, docs: DOCS.dns, evidence})
    }
    return pass(`${target.host} resolves to ${ips.join(', ')} (ClusterIP of ${namespace}/${ctx.opts.serviceName}) from ${pod.namespace}/${pod.name}`, evidence)
  },
}
