// Helm values: the gRPC settings the documented setup needs, merged over the release's own user
// values, and a readable diff of the two.
import YAML from 'yaml'

import {DEFAULT_GRPC_PORT} from '../../cluster/facts.js'

export type Values = Record<string, unknown>

/** All interfaces, so the Service and collectors reach each node's agent (the chart's default is a unix socket since v1.7.0,
 * localhost before; agents use hostNetwork). */
export const GRPC_ADDRESS = `0.0.0.0:${DEFAULT_GRPC_PORT}`

const isMap = (v: unknown): v is Values => typeof v === 'object' && v !== null && !Array.isArray(v)

export function deepMerge(base: Values, over: Values): Values {
  const out: Values = {...base}
  for (const [k, v] of Object.entries(over)) out[k] = isMap(v) && isMap(out[k]) ? deepMerge(out[k] as Values, v) : v
  return out
}

/**
 * The user's values with `tetragon.grpc.enabled: true` and `tetragon.grpc.address: 0.0.0.0:54321`.
 * A `server-address` in `tetragon.extraArgs` becomes a container flag, which wins over the ConfigMap
 * (viper precedence, cilium/tetragon v1.7.0 docs/content/en/docs/reference/daemon-configuration.md), so it is set too when the user had one.
 */
export function withGrpcValues(current: Values): Values {
  if (grpcValuesSet(current)) return current
  const merged = deepMerge(current, {tetragon: {grpc: {enabled: true, address: GRPC_ADDRESS}}})
  const extra = (current.tetragon as Values | undefined)?.extraArgs
  if (isMap(extra) && 'server-address' in extra) (merged.tetragon as Values).extraArgs = {...extra, 'server-address': GRPC_ADDRESS}
  return merged
}

/**
 * The values already mean gRPC on all interfaces: `enabled` unset is the chart default, true
 * (cilium/tetragon v1.7.0 install/kubernetes/tetragon/values.yaml). Adding it anyway would change `.Values.tetragon`,
 * whose checksum/configmap annotation rolls every agent pod (templates/daemonset.yaml), for nothing.
 */
export function grpcValuesSet(current: Values): boolean {
  const t = (current.tetragon ?? {}) as Values
  const grpc = (t.grpc ?? {}) as Values
  const extra = t.extraArgs as Values | undefined
  return (grpc.enabled ?? true) === true && grpc.address === GRPC_ADDRESS && (!isMap(extra) || !('server-address' in extra) || extra['server-address'] === GRPC_ADDRESS)
}

export function valuesEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(canon(a)) === JSON.stringify(canon(b))
}

function canon(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canon)
  if (isMap(v)) return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon(v[k])]))
  return v
}

function leaves(v: unknown, prefix = '', out = new Map<string, unknown>()): Map<string, unknown> {
  if (isMap(v) && Object.keys(v).length > 0) for (const [k, x] of Object.entries(v)) leaves(x, prefix ? `${prefix}.${k}` : k, out)
  else if (prefix) out.set(prefix, v)
  return out
}

/** Keys whose values are never printed (users keep credentials in values, e.g. a Filebeat output's password). */
const SECRET_KEY = /pass(word|wd)?|secret|token|api[_-]?key|credential|private[_-]?key/i
const SECRET_TEXT = /(password|passwd|api[_-]?key|token|secret)(["']?\s*[:=]\s*)("[^"]*"|'[^']*'|\S+)/gi

function redactText(v: string): string {
  return v.replace(SECRET_TEXT, '$1$2[REDACTED]')
}

/** A copy for display: secret-looking keys and `password: …` inside strings replaced. */
export function redactValues(v: unknown, key = ''): unknown {
  if (SECRET_KEY.test(key) && v !== null && typeof v !== 'object') return '[REDACTED]'
  if (Array.isArray(v)) return v.map((x) => redactValues(x))
  if (isMap(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, redactValues(x, k)]))
  return typeof v === 'string' ? redactText(v) : v
}

/** `+ a.b: 1`, `- a.c: 2`, `~ a.d: x → y` lines, by dotted key path (secrets redacted). */
export function valuesDiff(current: Values, desired: Values): string[] {
  const a = leaves(redactValues(current))
  const b = leaves(redactValues(desired))
  const show = (v: unknown) => JSON.stringify(v)
  const lines: string[] = []
  for (const [k, v] of b) {
    if (!a.has(k)) lines.push(`+ ${k}: ${show(v)}`)
    else if (!valuesEqual(a.get(k), v)) lines.push(`~ ${k}: ${show(a.get(k))} → ${show(v)}`)
  }
  for (const [k, v] of a) if (!b.has(k)) lines.push(`- ${k}: ${show(v)}`)
  return lines
}

export function valuesYaml(values: Values): string {
  return YAML.stringify(values)
}

/** The values file as shown to the user. */
export function valuesYamlForDisplay(values: Values): string {
  return YAML.stringify(redactValues(values))
}
