// Which TracingPolicies make the probe's kprobe events: a tcp_connect hook for curl (cilium/tetragon v1.7.0
// examples/tracingpolicy/tcp-connect.yaml) and a security_file_permission hook that selects a read of /etc/shadow
// for cat (examples/quickstart/file_monitoring.yaml). Without a policy Tetragon emits only process_exec / process_exit
// (docs/content/en/docs/concepts/events.md). Read from the TracingPolicy objects (their hooks) and the
// agent's ListTracingPolicies (what it has loaded, including policies added over gRPC or from files).
import {listTracingPolicies, type TracingPolicyObject} from '../../clients/kube-objects.js'
import type {KubeClient} from '../../clients/kube.js'
import type {TetragonClient} from '../../clients/tetragon.js'
import type {JsonObject} from '../../tetragon/json.js'

export interface Coverage {
  /** loaded: a loaded policy hooks the call for this event; missing: none does; unknown: cannot tell. */
  state: 'loaded' | 'missing' | 'unknown'
  policies: string[]
  reason: string
}

export interface PolicyCoverage {
  network: Coverage
  file: Coverage
  /** Names the agent reports as loaded (undefined when it could not be asked). */
  agentPolicies?: string[]
}

export const SETUP_HINT: Record<'network' | 'file', string> = {
  network: 'tetractl setup --policies network (or kubectl apply -f https://raw.githubusercontent.com/cilium/tetragon/v1.7.0/examples/tracingpolicy/tcp-connect.yaml)',
  file: 'tetractl setup --policies file (or kubectl apply -f https://raw.githubusercontent.com/cilium/tetragon/v1.7.0/examples/quickstart/file_monitoring.yaml)',
}

const NETWORK_CALLS = new Set(['tcp_connect'])
const FILE_CALLS = new Set(['security_file_permission'])

function argMatches(operator: string, values: string[], value: string): boolean {
  switch (operator) {
    case 'Prefix':
      return values.some((v) => value.startsWith(v))
    case 'Postfix':
      return values.some((v) => value.endsWith(v))
    case 'Equal':
      return values.includes(value)
    case 'NotEqual':
      return !values.includes(value)
    case 'NotPrefix':
      return !values.some((v) => value.startsWith(v))
    case 'NotPostfix':
      return !values.some((v) => value.endsWith(v))
    case 'Mask':
      return values.some((v) => (Number(v) & Number(value)) !== 0)
    default:
      // Operators on other argument types (DAddr, SPort …): assume they let the event through.
      return true
  }
}

/** Does a hook's selector list let `args` through? Selectors are alternatives; matchArgs are ANDed (Tetragon selector semantics). */
function selects(hook: NonNullable<TracingPolicyObject['spec']['kprobes']>[number], args: string[]): boolean {
  const selectors = hook.selectors ?? []
  if (selectors.length === 0) return true
  return selectors.some((s) => (s.matchArgs ?? []).every((m) => {
    const i = Number(m.index ?? 0)
    return i >= args.length || argMatches(String(m.operator ?? 'Equal'), (m.values ?? []).map(String), args[i]!)
  }))
}

function agentState(p: JsonObject): {name: string; namespace?: string; enabled: boolean; state?: string} {
  const state = typeof p.state === 'string' ? p.state : undefined
  // `state` since v1.1.0, `enabled` since v1.0.0, older agents pack it into `info`
  // (cilium/tetragon api/v1/tetragon/sensors.proto TracingPolicyStatus).
  const enabled = state ? state === 'TP_STATE_ENABLED' : typeof p.enabled === 'boolean' ? p.enabled : !/enabled:false/.test(String(p.info ?? ''))
  return {name: String(p.name ?? ''), namespace: typeof p.namespace === 'string' ? p.namespace : undefined, enabled, state}
}

export async function inspectPolicies(args: {kube: KubeClient; client?: TetragonClient; probeNamespace: string; signal?: AbortSignal}): Promise<PolicyCoverage> {
  const [objects, agent] = await Promise.all([
    listTracingPolicies(args.kube, args.probeNamespace, args.signal).catch(() => undefined),
    args.client
      ?.listTracingPolicies()
      .then((ps) => ps.map(agentState))
      .catch(() => undefined),
  ])
  const applies = (o: TracingPolicyObject) => o.kind === 'TracingPolicy' || o.namespace === args.probeNamespace
  const loadedByAgent = (o: TracingPolicyObject) => {
    if (!agent) return {ok: true, why: ''}
    const a = agent.find((p) => p.name === o.name && (o.kind === 'TracingPolicy' ? !p.namespace : p.namespace === o.namespace))
    if (!a) return {ok: false, why: `the agent has not loaded ${o.name}`}
    if (!a.enabled) return {ok: false, why: `the agent reports ${o.name} ${a.state ?? 'disabled'}`}
    return {ok: true, why: ''}
  }

  const cover = (what: 'network' | 'file', calls: Set<string>, args_: string[], describe: string): Coverage => {
    if (objects) {
      const hooking = objects.filter((o) => applies(o) && (o.spec.kprobes ?? []).some((k) => calls.has(String(k.call)) && selects(k, args_)))
      const loaded = hooking.filter((o) => loadedByAgent(o).ok)
      if (loaded.length > 0) return {state: 'loaded', policies: loaded.map((o) => o.name), reason: `${loaded.map((o) => o.name).join(', ')} hooks ${[...calls].join('/')}`}
      if (hooking.length > 0) {
        return {state: 'missing', policies: [], reason: `${hooking.map((o) => `${o.name}: ${loadedByAgent(o).why}`).join('; ')}`}
      }
      // Policies the agent loaded from files or over gRPC have no object: their hooks are unknown.
      const foreign = (agent ?? []).filter((p) => p.enabled && !objects.some((o) => o.name === p.name))
      if (foreign.length > 0) return {state: 'unknown', policies: foreign.map((p) => p.name), reason: `no TracingPolicy object hooks ${describe}; the agent also runs ${foreign.map((p) => p.name).join(', ')} (not objects, hooks unknown)`}
      return {state: 'missing', policies: [], reason: `no TracingPolicy hooks ${describe} (loaded: ${objects.map((o) => o.name).join(', ') || 'none'})`}
    }
    if (agent && agent.filter((p) => p.enabled).length === 0) return {state: 'missing', policies: [], reason: `the agent has no TracingPolicy loaded`}
    return {state: 'unknown', policies: (agent ?? []).map((p) => p.name), reason: `cannot read TracingPolicy objects to see whether one hooks ${describe}`}
  }

  return {
    network: cover('network', NETWORK_CALLS, [], 'tcp_connect'),
    // security_file_permission(file, mask): a read is MAY_READ = 4 (cilium/tetragon v1.7.0 examples/quickstart/file_monitoring.yaml).
    file: cover('file', FILE_CALLS, ['/etc/shadow', '4'], 'security_file_permission for a read of /etc/shadow'),
    agentPolicies: agent?.map((p) => (p.namespace ? `${p.namespace}/${p.name}` : p.name)),
  }
}
