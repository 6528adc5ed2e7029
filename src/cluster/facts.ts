// Facts about the Tetragon install that checks, validate, events and setup share, read once per run through ctx.memo.
import type {V1ConfigMap, V1DaemonSet, V1Pod} from '@kubernetes/client-node'

import {ForbiddenError} from '../engine/errors.js'
import type {ClusterContext} from './context.js'

/** Upstream docs select agent pods by this label; the tetragon-operator pods share the others (part-of, instance, …), so only this one tells agents apart. */
export const AGENT_SELECTOR = 'app.kubernetes.io/name=tetragon'
export const DEFAULT_NAMESPACE = 'kube-system'
export const DEFAULT_GRPC_PORT = 54321

export interface PodSummary {
  name: string
  namespace: string
  node?: string
  ip?: string
  ready: boolean
  labels: Record<string, string>
  dnsPolicy?: string
  containers: Array<{name: string; image?: string; ready: boolean; restarts: number; state: string; args: readonly string[]; env: Readonly<Record<string, string>>}>
}

// Summaries of every agent pod stay in memory for the whole run (one per node: 100,000 on the largest
// clusters). Strings repeated across pods (images, namespaces, label values) are kept once, and containers
// without args or env share one empty value: a summary then costs a few hundred bytes.
const interned = new Map<string, string>()
function intern(s: string): string
function intern(s: string | undefined): string | undefined
function intern(s: string | undefined): string | undefined {
  if (s === undefined) return s
  const known = interned.get(s)
  if (known !== undefined) return known
  if (interned.size < 10_000) interned.set(s, s)
  return s
}
const NO_ARGS: readonly string[] = Object.freeze([])
const NO_ENV: Record<string, string> = Object.freeze({}) as Record<string, string>
/** Identical label sets and container summaries (every pod of a DaemonSet has them) are shared, read-only. */
const shared = new Map<string, unknown>()
function share<T>(value: T): T {
  const key = JSON.stringify(value)
  const known = shared.get(key)
  if (known !== undefined) return known as T
  if (shared.size < 10_000) shared.set(key, value)
  return value
}

export function summarizePod(p: V1Pod): PodSummary {
  const statuses = new Map((p.status?.containerStatuses ?? []).map((s) => [s.name, s]))
  const labels: Record<string, string> = {}
  for (const [k, v] of Object.entries(p.metadata?.labels ?? {})) labels[intern(k)] = intern(v)
  return {
    name: p.metadata?.name ?? '',
    namespace: intern(p.metadata?.namespace ?? ''),
    node: p.spec?.nodeName,
    ip: p.status?.podIP,
    ready: (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    labels: share(labels),
    dnsPolicy: intern(p.spec?.dnsPolicy),
    containers: (p.spec?.containers ?? []).map((c) => {
      const s = statuses.get(c.name)
      const state = s?.state?.running ? 'running' : s?.state?.waiting ? `waiting: ${s.state.waiting.reason ?? ''}` : s?.state?.terminated ? `terminated: ${s.state.terminated.reason ?? ''}` : 'unknown'
      const env: Record<string, string> = {}
      for (const e of c.env ?? []) if (e.value !== undefined) env[e.name] = e.value
      const args = [...(c.command ?? []), ...(c.args ?? [])]
      return share({name: intern(c.name), image: intern(c.image), ready: Boolean(s?.ready), restarts: s?.restartCount ?? 0, state: intern(state), args: args.length ? args : NO_ARGS, env: Object.keys(env).length ? env : NO_ENV})
    }),
  }
}

/**
 * Every DaemonSet in the cluster, listed once: the agent's and the shippers' are picked from it by label, one
 * request where a list per label took three (a cluster runs tens of DaemonSets, not thousands).
 */
export function daemonSets(ctx: ClusterContext, signal?: AbortSignal): Promise<V1DaemonSet[]> {
  return ctx.memo.get('daemonsets', async () => (await ctx.kube()).listDaemonSets(undefined, signal))
}

/** An equality-based label selector (`k=v,k2=v2`) against an object's labels, as the API server matches it. */
export function matchesSelector(selector: string, labels: Record<string, string> | undefined): boolean {
  return selector.split(',').every((term) => {
    const [k, v] = term.split('=')
    return labels?.[k!.trim()] === v?.trim()
  })
}

export interface TetragonInstall {
  namespace: string
  daemonSet?: V1DaemonSet
  /** All DaemonSets found by the label, for reporting duplicates. */
  all: V1DaemonSet[]
}

/** Find the agent DaemonSet by label across namespaces (or in --namespace). */
export function tetragonInstall(ctx: ClusterContext, signal?: AbortSignal): Promise<TetragonInstall> {
  return ctx.memo.get('tetragon.install', async () => {
    const kube = await ctx.kube()
    let all: V1DaemonSet[]
    try {
      all = (await daemonSets(ctx, signal)).filter((d) => matchesSelector(AGENT_SELECTOR, d.metadata?.labels))
    } catch (error) {
      // Without cluster-wide list, look where the user said, or where the docs install it.
      if (!(error instanceof ForbiddenError)) throw error
      const namespace = ctx.opts.namespace ?? DEFAULT_NAMESPACE
      all = await kube.listDaemonSets(AGENT_SELECTOR, signal, namespace)
    }
    if (ctx.opts.namespace) all = all.filter((d) => d.metadata?.namespace === ctx.opts.namespace)
    const daemonSet = all.find((d) => d.metadata?.namespace === DEFAULT_NAMESPACE) ?? all[0]
    return {namespace: daemonSet?.metadata?.namespace ?? ctx.opts.namespace ?? DEFAULT_NAMESPACE, daemonSet, all}
  })
}

interface PodListing {
  all: Promise<PodSummary[]>
  firstPage: Promise<PodSummary[]>
}

/** One listing of the agent pods, whose first page is usable before the last one arrives. */
function agentPodListing(ctx: ClusterContext, signal?: AbortSignal): Promise<PodListing> {
  return ctx.memo.get('tetragon.pods', async () => {
    let onFirstPage: (pods: PodSummary[]) => void = () => {}
    const first = new Promise<PodSummary[]>((resolve) => (onFirstPage = resolve))
    const all = (async () => {
      const [kube, install] = await Promise.all([ctx.kube(), tetragonInstall(ctx, signal)])
      return kube.listPods(install.namespace, {labelSelector: AGENT_SELECTOR, signal, onFirstPage}, summarizePod)
    })()
    // The first page, or the error that came before it. Whoever awaits it gets that error; nobody awaiting
    // it is no unhandled rejection (the error reaches the readers of `all`).
    const firstPage = Promise.race([first, all])
    firstPage.catch(() => {})
    return {all, firstPage}
  })
}

/** Every agent pod (all pages). */
export async function tetragonPods(ctx: ClusterContext, signal?: AbortSignal): Promise<PodSummary[]> {
  return (await agentPodListing(ctx, signal)).all
}

/**
 * The first page of agent pods (500 of them, all on most clusters): enough to pick agents to talk to, so
 * the gRPC checks need not wait for 5,000 nodes' pods to be listed.
 */
export async function firstAgentPods(ctx: ClusterContext, signal?: AbortSignal): Promise<PodSummary[]> {
  return (await agentPodListing(ctx, signal)).firstPage
}

export function tetragonConfigMap(ctx: ClusterContext, signal?: AbortSignal): Promise<V1ConfigMap | undefined> {
  return ctx.memo.get('tetragon.configmap', async () => {
    const [kube, install] = await Promise.all([ctx.kube(), tetragonInstall(ctx, signal)])
    // The chart names it `<name>-config`, the name being the release name from v1.0.0 (cilium/tetragon install/kubernetes/tetragon/templates/_helpers.tpl).
    const name = `${install.daemonSet?.metadata?.name ?? 'tetragon'}-config`
    return kube.readConfigMap(install.namespace, name, signal)
  })
}

export function nodeCount(ctx: ClusterContext, signal?: AbortSignal): Promise<number> {
  return ctx.memo.get('nodes.count', async () => (await ctx.kube()).countNodes(signal))
}

export function grpcEndpointSlices(ctx: ClusterContext, signal?: AbortSignal) {
  return ctx.memo.get('grpc.endpointslices', async () => {
    const [kube, namespace] = await Promise.all([ctx.kube(), serviceNamespace(ctx, signal)])
    return kube.listEndpointSlices(namespace, ctx.opts.serviceName, signal)
  })
}

export async function serviceNamespace(ctx: ClusterContext, signal?: AbortSignal): Promise<string> {
  return ctx.opts.serviceNamespace ?? (await tetragonInstall(ctx, signal)).namespace
}

export function grpcService(ctx: ClusterContext, signal?: AbortSignal) {
  return ctx.memo.get('grpc.service', async () => {
    const [kube, namespace] = await Promise.all([ctx.kube(), serviceNamespace(ctx, signal)])
    return {namespace, service: await kube.readService(namespace, ctx.opts.serviceName, signal)}
  })
}

/** Image tag of the tetragon container, e.g. `v1.7.0`. */
export function imageVersion(image?: string): string | undefined {
  if (!image) return undefined
  const at = image.split('@')[0]
  const slash = at.lastIndexOf('/')
  const colon = at.lastIndexOf(':')
  return colon > slash ? at.slice(colon + 1) : undefined
}

export function labelString(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',')
}

export function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v)
}
