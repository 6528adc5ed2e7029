import {ForbiddenError} from '../../engine/errors.js'
import {fail, pass, skip, warn, type Check} from '../../engine/types.js'
import type {JsonObject} from '../../tetragon/json.js'
import type {CheckContext} from '../context.js'
import {apiOr, isOutcome, perAgent} from './agents.js'
import {clusterRequires, standaloneMode} from './api.js'
import {DOCS} from '../../docs.js'

// Which kprobe calls make the events `tetractl validate` waits for (cilium/tetragon v1.7.0
// examples/tracingpolicy/tcp-connect.yaml, examples/quickstart/file_monitoring.yaml).
const NETWORK_CALLS = new Set(['tcp_connect'])
const FILE_CALLS = new Set(['security_file_permission', 'security_file_open', 'fd_install', 'security_mmap_file'])
const FILE_SYSCALL = /^(__\w+_)?sys_(read|openat|open|write)$/
const EXAMPLES = {
  network: 'https://raw.githubusercontent.com/cilium/tetragon/main/examples/tracingpolicy/tcp-connect.yaml',
  file: 'https://raw.githubusercontent.com/cilium/tetragon/main/examples/quickstart/file_monitoring.yaml',
}

interface PolicyResource {
  name: string
  namespace?: string
  calls: string[]
  /** tcp_connect hooks whose selectors exclude destinations (NotDAddr), like the quickstart egress policy. */
  excludesDestinations: boolean
}

/** TracingPolicy / TracingPolicyNamespaced custom resources: the hooks are in their spec, not in the agent's status. */
export function policyResources(ctx: CheckContext, signal?: AbortSignal): Promise<PolicyResource[] | undefined> {
  return ctx.memo.get('tetragon.policy-resources', () => readPolicyResources(ctx, signal))
}

async function readPolicyResources(ctx: CheckContext, signal?: AbortSignal): Promise<PolicyResource[] | undefined> {
  if (standaloneMode(ctx)) return undefined
  const kube = await ctx.kube()
  const read = (plural: string) =>
    kube.call({verb: 'list', resource: plural, group: 'cilium.io'}, (o) =>
      plural === 'tracingpolicies'
        ? kube.custom.listClusterCustomObject({group: 'cilium.io', version: 'v1alpha1', plural}, o)
        : kube.custom.listCustomObjectForAllNamespaces({group: 'cilium.io', version: 'v1alpha1', plural}, o), signal) as Promise<{items?: JsonObject[]}>
  try {
    const lists = await Promise.all([read('tracingpolicies'), read('tracingpoliciesnamespaced')])
    return lists.flatMap((l) => l.items ?? []).map((item) => {
      const meta = (item.metadata ?? {}) as JsonObject
      const kprobes = (((item.spec ?? {}) as JsonObject).kprobes ?? []) as JsonObject[]
      const calls = kprobes.map((k) => String(k.call ?? ''))
      const excludesDestinations = kprobes.some((k) =>
        NETWORK_CALLS.has(String(k.call)) && ((k.selectors ?? []) as JsonObject[]).some((s) => ((s.matchArgs ?? []) as JsonObject[]).some((m) => m.operator === 'NotDAddr')),
      )
      return {name: String(meta.name), ...(meta.namespace ? {namespace: String(meta.namespace)} : {}), calls, excludesDestinations}
    })
  } catch (error) {
    // No permission, or the CRDs are not installed (tetragon.enableTracingPolicyCRD=false): fall back to names.
    if (error instanceof ForbiddenError || /not found|404/i.test(String((error as Error).message))) return undefined
    throw error
  }
}

/** TracingPolicyStatus (cilium/tetragon api/v1/tetragon/sensors.proto): loaded and healthy? Before v1.0.0 the state is packed into `info`. */
function problem(p: JsonObject): string | undefined {
  const state = String(p.state ?? '')
  if (p.error) return String(p.error)
  if (state === 'TP_STATE_LOAD_ERROR' || state === 'TP_STATE_ERROR') return state
  if (/error:(?!<nil>)/.test(String(p.info ?? ''))) return String(p.info)
  return undefined
}
const enabled = (p: JsonObject) =>
  p.state ? p.state === 'TP_STATE_ENABLED' : p.enabled !== undefined ? p.enabled === true : !/enabled:false/.test(String(p.info ?? ''))

export const tetragonPolicies: Check<CheckContext> = {
  id: 'tetragon.policies',
  layer: 'tetragon',
  title: 'TracingPolicies loaded without errors, including a network and a file-access policy',
  // An agent to talk to, not all agents ready (a partial rollout is reported by tetragon.daemonset).
  requires: clusterRequires(['k8s.connect']),
  run(ctx, signal) {
    return perAgent(ctx, signal, async (access) => {
      const h = await apiOr(ctx, access)
      if (isOutcome(h)) return h
      let loaded: JsonObject[]
      try {
        loaded = await h.access.client.listTracingPolicies()
      } catch (error) {
        // ListTracingPolicies exists since v0.9.0 (older agents answer UNIMPLEMENTED).
        if ((error as {kind?: string}).kind === 'unimplemented') return skip(`Tetragon ${h.version} has no ListTracingPolicies (added in v0.9.0)`, {version: h.version})
        throw error
      }
      const resources = await policyResources(ctx, signal)
      const broken = loaded.filter((p) => problem(p))
      const active = loaded.filter((p) => !problem(p) && enabled(p))
      const key = (p: {name?: unknown; namespace?: unknown}) => `${p.namespace ? `${String(p.namespace)}/` : ''}${String(p.name)}`
      const activeKeys = new Set(active.map(key))
      // The hooks come from the custom resources (the agent's status names only the sensor, `generic_kprobe`); without
      // them (standalone, no permission, policies added over gRPC) fall back to the upstream example names.
      const hooks = (p: JsonObject): string[] | undefined => resources?.find((r) => key(r) === key(p))?.calls
      const has = (calls: Set<string>, fallback: RegExp, extra?: RegExp) =>
        active.filter((p) => {
          const c = hooks(p)
          return c ? c.some((x) => calls.has(x) || (extra?.test(x) ?? false)) : fallback.test(String(p.name))
        })
      const network = has(NETWORK_CALLS, /connect|network/)
      const file = has(FILE_CALLS, /file/, FILE_SYSCALL)
      const egressOnly = resources?.filter((r) => activeKeys.has(key(r)) && r.excludesDestinations) ?? []
      const notLoaded = resources?.filter((r) => !loaded.some((p) => key(p) === key(r))) ?? []
      const evidence = {
        agent: h.access.target,
        loaded: loaded.map((p) => `${key(p)}: ${String(p.state ?? (enabled(p) ? 'enabled' : 'disabled'))}${problem(p) ? ` (${problem(p)})` : ''}`),
        resources: resources?.map((r) => `${key(r)}: ${r.calls.join(', ')}`) ?? 'not read (standalone or no permission): decided by policy names',
        network: network.map(key),
        file: file.map(key),
      }
      if (broken.length > 0) {
        const b = broken[0]!
        return fail(`${broken.length} TracingPolic${broken.length === 1 ? 'y' : 'ies'} failed to load on ${h.access.target}: ${key(b)}: ${problem(b)}`, {
          hint: `kubectl exec -n kube-system ${h.access.pod ? h.access.pod.name : 'ds/tetragon'} -c tetragon -- tetra tracingpolicy list\n(on kernels ≥ 6.2 a security_path_truncate hook fails the whole policy: use security_file_truncate or ignore: {callNotFound: true})`,
          docs: DOCS.policies,
          evidence,
        })
      }
      const missing = [network.length === 0 ? 'network (kprobe tcp_connect)' : '', file.length === 0 ? 'file-access (kprobe security_file_permission)' : ''].filter(Boolean)
      if (missing.length > 0) {
        const which = [network.length === 0 ? 'network' : '', file.length === 0 ? 'file' : ''].filter(Boolean)
        return warn(`no ${missing.join(' and no ')} policy loaded on ${h.access.target} (${active.length} active): curl and cat /etc/shadow produce only exec/exit events, so tetractl validate cannot see them`, {
          hint: `tetractl setup --policies ${which.join(',')}\n${which.map((w) => `kubectl apply -f ${EXAMPLES[w as 'network' | 'file']}`).join('\n')}`,
          docs: DOCS.policies,
          evidence,
        })
      }
      if (egressOnly.length > 0 && egressOnly.length === network.length) {
        return warn(`the network policy ${egressOnly.map(key).join(', ')} excludes destinations (NotDAddr): in-cluster connects make no event`, {
          hint: `kubectl apply -f ${EXAMPLES.network}`,
          docs: DOCS.policies,
          evidence,
        })
      }
      if (notLoaded.length > 0) {
        return warn(`TracingPolicy ${notLoaded.map(key).join(', ')} exists in the cluster but ${h.access.target} has not loaded it`, {
          hint: `kubectl -n kube-system logs ${h.access.pod?.name ?? 'ds/tetragon'} -c tetragon | grep -i tracingpolicy`,
          docs: DOCS.policies,
          evidence,
        })
      }
      return pass(`${active.length} TracingPolicies active on ${h.access.target}; network: ${network.map(key).join(', ')}; file: ${file.map(key).join(', ')}`, evidence)
    })
  },
}
