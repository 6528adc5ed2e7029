// GetEvents allow/deny filter semantics for the lab agent (cilium/tetragon api/v1/tetragon/events.proto): an event passes when ANY allow-list
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
 * agents ignore filter fields they do not know, so the filter matches more.
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
        // namespace "" matches host (non-pod) processes (tetra getevents --host).
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

// ---- field_filters (cilium/tetragon v1.7.0 pkg/fieldfilters/fields.go, vendor/github.com/mennanov/fieldmask-utils) ----

/**
 * A fieldmask-utils tree: `include` is a Mask (an empty one keeps everything), `exclude` a MaskInverse (a leaf drops
 * the field, a branch recurses). Names are Go struct field names.
 */
interface MaskNode {
  children: Map<string, MaskNode>
}

/** fixupSnakeCaseString(s, true): the path segment or proto field name as protoc-gen-go names the Go field. */
function goName(s: string): string {
  let out = ''
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '_') continue
    const up = i === 0 || s[i - 1] === '_'
    out += up ? s[i]!.toUpperCase() : s[i]
  }
  return out
}

/** FieldFilterFromPaths: an empty segment is an error, quoting the whole path. */
function maskFromPaths(paths: string[]): MaskNode {
  const root: MaskNode = {children: new Map()}
  for (const p of paths) {
    let node = root
    for (const seg of p.split('.')) {
      if (seg === '') throw new FilterError(`invalid fieldName FieldFilter format: "${p}"`)
      const name = goName(seg)
      let next = node.children.get(name)
      if (!next) node.children.set(name, (next = {children: new Map()}))
      node = next
    }
  }
  return root
}

/** Mask.Filter / MaskInverse.Filter: the sub-mask for `name`, or undefined when the field is not copied. */
function step(mask: MaskNode, include: boolean, name: string): MaskNode | undefined {
  const sub = mask.children.get(name)
  if (include) {
    if (mask.children.size === 0) return {children: new Map()}
    return sub
  }
  if (!sub) return {children: new Map()}
  return sub.children.size === 0 ? undefined : sub
}

type ProtoType = import('protobufjs').Type
const isWellKnown = (t: ProtoType) => t.fullName.startsWith('.google.protobuf.')

/** StructToStruct over a message in its JSON export form, guided by its proto type. */
function copyMasked(type: ProtoType, value: JsonObject, mask: MaskNode, include: boolean): JsonObject {
  if (mask.children.size === 0) return value // empty Mask / MaskInverse: every field
  const out: JsonObject = {}
  for (const [key, v] of Object.entries(value)) {
    const field = type.fields[key]
    if (!field) continue
    // A oneof member sits behind the oneof's own Go field (an interface holding a wrapper struct).
    let sub: MaskNode | undefined = mask
    if (field.partOf && field.partOf.oneof.length > 0) sub = step(sub, include, goName(field.partOf.name))
    if (sub) sub = step(sub, include, goName(key))
    if (!sub) continue
    field.resolve()
    const rt = field.resolvedType
    const isMap = field.map
    if (sub.children.size === 0 || v === null || typeof v !== 'object') out[key] = v
    else if (isMap) {
      // Map entries are filtered by their keys, compared with the (Go-named) mask names as they are.
      const kept: JsonObject = {}
      for (const [mk, mv] of Object.entries(v as JsonObject)) if (step(sub, include, mk)) kept[mk] = mv
      out[key] = kept
    } else if (rt && 'fields' in rt && !isWellKnown(rt as ProtoType)) {
      const t = rt as ProtoType
      out[key] = Array.isArray(v) ? v.map((x) => (x && typeof x === 'object' && !Array.isArray(x) ? copyMasked(t, x, sub!, include) : x)) : copyMasked(t, v as JsonObject, sub, include)
    } else out[key] = v
  }
  return out
}

export interface CompiledFieldFilters {
  /** Apply every filter in order to one event; throws FilterError when the filters cannot be built. */
  apply(event: JsonObject, kind: string): JsonObject
}

/**
 * GetEventsRequest.field_filters (since v0.8.1; invert_event_set since v0.8.4). As the agent does, the filters are
 * built for each event that passed the allow/deny lists, so an invalid one fails the stream at the first such event
 * (server.go GetEventsWG: "failed to create field filters: …"), not when the request arrives.
 */
export function compileFieldFilters(
  request: JsonObject,
  version: string,
  responseType: ProtoType,
  eventTypeOf: (kind: string) => string | number | undefined,
): CompiledFieldFilters | undefined {
  const list = ((request.field_filters as JsonObject[] | undefined) ?? []).filter((f) => f && typeof f === 'object')
  if (list.length === 0) return undefined
  return {
    apply(event, kind) {
      const built = list.map((f) => {
        const action = f.action ?? 'INCLUDE'
        if (action !== 'INCLUDE' && action !== 'EXCLUDE') throw new FilterError(`invalid fieldfilter action: ${String(action)}`)
        // FieldMask JSON: comma-separated paths (protojson); the Go naming makes snake_case and camelCase equal.
        const paths = typeof f.fields === 'string' && f.fields !== '' ? f.fields.split(',') : []
        const invert = fieldExistsIn(version, 'FieldFilter', 'invert_event_set') && f.invert_event_set === true
        return {eventSet: Array.isArray(f.event_set) ? f.event_set : [], mask: maskFromPaths(paths), include: action === 'INCLUDE', invert}
      })
      let ev = event
      for (const f of built) {
        if (f.eventSet.length > 0) {
          // Skip unless the event's type is in the set (or, inverted, unless it is not).
          const t = eventTypeOf(kind)
          const inSet = f.eventSet.some((e) => e === t)
          if (f.invert ? inSet : !inSet) continue
        }
        const body = ev[kind]
        const bodyField = responseType.fields[kind]
        bodyField?.resolve()
        const bodyType = bodyField?.resolvedType as ProtoType | undefined
        if (!bodyType || !body || typeof body !== 'object' || Array.isArray(body)) continue
        // Everything outside the event oneof is kept; the event message is copied through the mask.
        ev = {...ev, [kind]: copyMasked(bodyType, body, f.mask, f.include)}
      }
      return ev
    },
  }
}
