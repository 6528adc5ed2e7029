// GetEvents allow/deny filter semantics for the lab agent (tetragon.md §1.5): an event passes when ANY allow-list
// Filter matches (all set fields of one Filter ANDed) and NO deny-list Filter matches; empty lists pass everything.
// Filters are applied to the event as the agent sees it (JSON export form of its own proto).

import {fieldExistsIn} from '../../tetragon/versions.js'
import type {JsonObject, JsonValue} from '../../tetragon/json.js'

type Obj = Record<string, JsonValue | undefined>

export interface CompiledFilter {
  test(event: JsonObject, kind: string | undefined): boolean
}

export class FilterError extends Error {}

function re(list: JsonValue | undefined, field: string): RegExp[] | undefined {
  if (!Array.isArray(list) || list.length === 0) return undefined
  return list.map((s) => {
    try {
      // Go RE2 and JS RegExp agree on the simple patterns filters use; RE2 rejects look-arounds, JS accepts them.
      return new RegExp(String(s))
    } catch (e) {
      throw new FilterError(`invalid ${field} regex ${JSON.stringify(s)}: ${(e as Error).message}`)
    }
  })
}

function strings(v: JsonValue | undefined): string[] | undefined {
  return Array.isArray(v) && v.length > 0 ? v.map(String) : undefined
}

function eventBody(event: JsonObject, kind: string | undefined): Obj | undefined {
  return kind ? (event[kind] as Obj | undefined) : undefined
}

function proc(event: JsonObject, kind: string | undefined): Obj | undefined {
  return eventBody(event, kind)?.process as Obj | undefined
}

function labelMatch(selectors: string[], labels: Record<string, string>): boolean {
  // Kubernetes label selector syntax, the subset tetra uses: key=value, key==value, key!=value, key, !key; comma = AND.
  return selectors.some((sel) =>
    sel.split(',').map((s) => s.trim()).filter(Boolean).every((term) => {
      let m: RegExpExecArray | null
      if ((m = /^([^!=]+)!=(.*)$/.exec(term))) return labels[m[1]!.trim()] !== m[2]!.trim()
      if ((m = /^([^!=]+)==?(.*)$/.exec(term))) return labels[m[1]!.trim()] === m[2]!.trim()
      if (term.startsWith('!')) return !(term.slice(1) in labels)
      return term in labels
    }),
  )
}

/**
 * Compile one Filter (JSON form, as decoded by the agent's own proto). Fields newer than `version` are dropped:
 * agents ignore filter fields they do not know (§1.5), so the filter matches more.
 * `eventTypeOf` maps an event key to the agent's EventType name/number as the agent numbers it.
 */
export function compileFilter(filter: JsonObject, version: string, eventTypeOf: (kind: string) => string | number | undefined): CompiledFilter {
  const f: Obj = {}
  for (const [k, v] of Object.entries(filter)) if (fieldExistsIn(version, 'Filter', k)) f[k] = v
  if (strings(f.cel_expression)) throw new FilterError('the lab agent cannot evaluate cel_expression filters')

  const binary = re(f.binary_regex, 'binary_regex')
  const pod = re(f.pod_regex, 'pod_regex')
  const args = re(f.arguments_regex, 'arguments_regex')
  const parentBinary = re(f.parent_binary_regex, 'parent_binary_regex')
  const parentArgs = re(f.parent_arguments_regex, 'parent_arguments_regex')
  const ancestorBinary = re(f.ancestor_binary_regex, 'ancestor_binary_regex')
  const containerName = re(f.container_name_regex, 'container_name_regex')
  const namespaceRe = re(f.namespace_regex, 'namespace_regex')
  const namespaces = Array.isArray(f.namespace) && f.namespace.length > 0 ? f.namespace.map(String) : undefined
  const eventSet = Array.isArray(f.event_set) && f.event_set.length > 0 ? f.event_set : undefined
  const pids = Array.isArray(f.pid) && f.pid.length > 0 ? f.pid.map(Number) : undefined
  const pidSet = Array.isArray(f.pid_set) && f.pid_set.length > 0 ? f.pid_set.map(Number) : undefined
  const labels = strings(f.labels)
  const policyNames = strings(f.policy_names)
  const containerIds = strings(f.container_id)
  const healthCheck = typeof f.health_check === 'boolean' ? f.health_check : undefined
  const inInitTree = typeof f.in_init_tree === 'boolean' ? f.in_init_tree : undefined

  return {
    test(event, kind) {
      const p = proc(event, kind)
      const podObj = p?.pod as Obj | undefined
      if (eventSet) {
        const t = kind ? eventTypeOf(kind) : undefined
        if (t === undefined || !eventSet.some((e) => e === t)) return false
      }
      if (namespaces) {
        if (!p) return false
        // namespace "" matches host (non-pod) processes (§1.5, tetra getevents --host).
        const ns = podObj ? String(podObj.namespace ?? '') : ''
        if (!namespaces.includes(ns)) return false
      }
      if (namespaceRe && !(p && namespaceRe.some((r) => r.test(String(podObj?.namespace ?? ''))))) return false
      if (pod && !(podObj && pod.some((r) => r.test(String(podObj.name ?? ''))))) return false
      if (binary && !(p && binary.some((r) => r.test(String(p.binary ?? ''))))) return false
      if (args && !(p && args.some((r) => r.test(String(p.arguments ?? ''))))) return false
      const parent = eventBody(event, kind)?.parent as Obj | undefined
      if (parentBinary && !(parent && parentBinary.some((r) => r.test(String(parent.binary ?? ''))))) return false
      if (parentArgs && !(parent && parentArgs.some((r) => r.test(String(parent.arguments ?? ''))))) return false
      if (ancestorBinary) {
        const anc = (eventBody(event, kind)?.ancestors as Obj[] | undefined) ?? []
        if (!anc.some((a) => ancestorBinary.some((r) => r.test(String(a.binary ?? ''))))) return false
      }
      const container = podObj?.container as Obj | undefined
      if (containerName && !(container && containerName.some((r) => r.test(String(container.name ?? ''))))) return false
      if (containerIds) {
        const id = String(container?.id ?? '').replace(/^[a-z]+:\/\//, '')
        if (!id || !containerIds.some((c) => id.startsWith(c))) return false
      }
      if (pids && !(p && pids.includes(Number(p.pid)))) return false
      if (pidSet) {
        const ps = [Number(p?.pid), Number(parent?.pid)]
        if (!ps.some((x) => pidSet.includes(x))) return false
      }
      if (labels) {
        const podLabels = (podObj?.pod_labels as Record<string, string> | undefined) ?? {}
        if (!podObj || !labelMatch(labels, podLabels)) return false
      }
      if (policyNames) {
        const name = eventBody(event, kind)?.policy_name
        if (typeof name !== 'string' || !policyNames.includes(name)) return false
      }
      if (healthCheck !== undefined) {
        // Health-check events are exec probes (Container.maybe_exec_probe).
        const probe = Boolean(container?.maybe_exec_probe)
        if (!p || probe !== healthCheck) return false
      }
      if (inInitTree !== undefined && !(p && Boolean(p.in_init_tree) === inInitTree)) return false
      return true
    },
  }
}

export interface CompiledRequest {
  passes(event: JsonObject, kind: string | undefined): boolean
}

export function compileRequest(
  request: JsonObject,
  version: string,
  eventTypeOf: (kind: string) => string | number | undefined,
): CompiledRequest {
  const allow = ((request.allow_list as JsonObject[] | undefined) ?? []).map((f) => compileFilter(f, version, eventTypeOf))
  const deny = ((request.deny_list as JsonObject[] | undefined) ?? []).map((f) => compileFilter(f, version, eventTypeOf))
  return {
    passes(event, kind) {
      if (allow.length > 0 && !allow.some((f) => f.test(event, kind))) return false
      return !deny.some((f) => f.test(event, kind))
    },
  }
}
