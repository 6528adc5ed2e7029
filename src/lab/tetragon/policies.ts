// TracingPolicies in the lab agent: the upstream example policies behind TetragonSpec.policies, policies added over
// gRPC (AddTracingPolicy yaml), the small part of selector semantics the end-to-end probes need, and the
// TracingPolicyStatus each version reports (cilium/tetragon api/v1/tetragon/sensors.proto).

import {parse as parseYaml} from 'yaml'
import type {JsonObject} from '../../tetragon/json.js'
import {inRange} from '../../tetragon/versions.js'

export interface MatchArg {
  index: number
  operator: string
  values: string[]
}

export interface Hook {
  call: string
  selectors: Array<{matchArgs: MatchArg[]}>
}

export interface LabPolicy {
  id: number
  name: string
  /** Set for TracingPolicyNamespaced: only pods in this namespace. */
  namespace?: string
  hooks: Hook[]
  enabled: boolean
  mode?: 'TP_MODE_ENFORCE' | 'TP_MODE_MONITOR' | 'TP_MODE_MONITOR_ONLY'
  /** Events posted (TracingPolicyStats.action_counters.post, v1.6.0+). */
  posted: number
}

// file-monitoring-filtered, security_file_permission selectors (a) and (b) (MAY_READ) and (c) (MAY_WRITE).
const SENSITIVE_READ = ['/boot', '/root/.ssh', '/etc/shadow', '/etc/profile', '/etc/sudoers', '/etc/pam.conf', '/etc/bashrc', '/etc/csh.cshrc', '/etc/csh.login']
const SHELL_FILES = ['.bashrc', '.bash_profile', '.bash_login', '.bash_logout', '.cshrc', '.cshdirs', '.profile', '.login', '.logout', '.history']
const SYSTEM_WRITE = ['/etc', '/boot', '/lib', '/lib64', '/bin', '/usr/lib', '/usr/local/lib', '/usr/local/sbin', '/usr/local/bin', '/usr/bin', '/usr/sbin', '/var/log', '/dev/log', '/root/.ssh']

/** The upstream example policies TetragonSpec.policies names. */
export function builtinPolicy(which: 'network' | 'file', id: number): LabPolicy {
  if (which === 'network') {
    // cilium/tetragon v1.7.0 examples/tracingpolicy/tcp-connect.yaml: "connect", three hooks, no selectors.
    return {
      id, name: 'connect', enabled: true, posted: 0,
      hooks: [{call: 'tcp_connect', selectors: []}, {call: 'tcp_close', selectors: []}, {call: 'tcp_sendmsg', selectors: []}],
    }
  }
  // cilium/tetragon v1.7.0 examples/quickstart/file_monitoring.yaml: "file-monitoring-filtered".
  return {
    id, name: 'file-monitoring-filtered', enabled: true, posted: 0,
    hooks: [
      {
        call: 'security_file_permission',
        selectors: [
          {matchArgs: [{index: 0, operator: 'Prefix', values: SENSITIVE_READ}, {index: 1, operator: 'Equal', values: ['4']}]},
          {matchArgs: [{index: 0, operator: 'Postfix', values: SHELL_FILES}, {index: 1, operator: 'Equal', values: ['4']}]},
          {matchArgs: [{index: 0, operator: 'Prefix', values: SYSTEM_WRITE}, {index: 1, operator: 'Equal', values: ['2']}]},
        ],
      },
      {call: 'security_mmap_file', selectors: []},
      {call: 'security_path_truncate', selectors: [{matchArgs: [{index: 0, operator: 'Prefix', values: SYSTEM_WRITE}]}]},
    ],
  }
}

/** AddTracingPolicy `yaml`: a TracingPolicy or TracingPolicyNamespaced document. */
export function policyFromYaml(text: string, id: number): LabPolicy {
  const doc = parseYaml(text) as {kind?: string; metadata?: {name?: string; namespace?: string}; spec?: {kprobes?: unknown[]}} | null
  if (!doc || typeof doc !== 'object') throw new Error('policy yaml is not a document')
  if (doc.kind !== 'TracingPolicy' && doc.kind !== 'TracingPolicyNamespaced') throw new Error(`unsupported kind ${JSON.stringify(doc.kind)}`)
  const name = doc.metadata?.name
  if (!name) throw new Error('policy has no metadata.name')
  const hooks: Hook[] = []
  for (const k of (doc.spec?.kprobes ?? []) as Array<Record<string, unknown>>) {
    const selectors = ((k.selectors as Array<Record<string, unknown>> | undefined) ?? []).map((s) => ({
      matchArgs: ((s.matchArgs as Array<Record<string, unknown>> | undefined) ?? []).map((m) => ({
        index: Number(m.index ?? 0),
        operator: String(m.operator ?? 'Equal'),
        values: ((m.values as unknown[] | undefined) ?? []).map(String),
      })),
    }))
    hooks.push({call: String(k.call ?? ''), selectors})
  }
  return {
    id, name, enabled: true, posted: 0, hooks,
    ...(doc.kind === 'TracingPolicyNamespaced' ? {namespace: doc.metadata?.namespace ?? 'default'} : {}),
  }
}

function argMatches(m: MatchArg, value: string | number): boolean {
  const s = String(value)
  switch (m.operator) {
    case 'Prefix':
      return m.values.some((v) => s.startsWith(v))
    case 'Postfix':
      return m.values.some((v) => s.endsWith(v))
    case 'Equal':
      return m.values.some((v) => v === s)
    case 'NotEqual':
      return m.values.every((v) => v !== s)
    case 'Mask':
      return m.values.some((v) => (Number(v) & Number(value)) !== 0)
    default:
      return false
  }
}

/** Does `policy` post an event for `call` with these argument values in a pod of `namespace`? */
export function hookFires(policy: LabPolicy, call: string, args: Array<string | number>, namespace: string): boolean {
  if (!policy.enabled) return false
  if (policy.namespace !== undefined && policy.namespace !== namespace) return false
  const hook = policy.hooks.find((h) => h.call === call)
  if (!hook) return false
  if (hook.selectors.length === 0) return true
  // Selectors are alternatives; a selector's matchArgs are ANDed.
  return hook.selectors.some((s) => s.matchArgs.every((m) => m.index < args.length && argMatches(m, args[m.index]!)))
}

/** TracingPolicyStatus as an agent of `version` reports it (fields as each release's sensors.proto has them). */
export function policyStatus(p: LabPolicy, version: string): JsonObject {
  const s: JsonObject = {
    id: String(p.id),
    name: p.name,
    ...(p.namespace ? {namespace: p.namespace} : {}),
    // Upstream sensor name of kprobe policies (not checked against upstream; illustrative).
    sensors: ['generic_kprobe'],
  }
  if (!inRange(version, 'v1.0.0')) {
    // Up to v0.11.x the state was packed into info.
    s.info = `${p.name} enabled:${p.enabled} filterID:0 error:<nil>`
    return s
  }
  s.enabled = p.enabled
  if (inRange(version, 'v1.1.0')) s.state = p.enabled ? 'TP_STATE_ENABLED' : 'TP_STATE_DISABLED'
  // kernel_memory_bytes (v1.3.0+): the value is lab-chosen.
  if (inRange(version, 'v1.3.0')) s.kernel_memory_bytes = String(4_325_376 * p.hooks.length)
  if (inRange(version, 'v1.4.0')) s.mode = p.mode ?? 'TP_MODE_ENFORCE'
  if (inRange(version, 'v1.6.0')) s.stats = {action_counters: p.posted > 0 ? {post: String(p.posted)} : {}}
  return s
}
