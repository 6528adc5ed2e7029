// Would the agent's JSON export keep an event? The export is a GetEvents listener whose request is the ConfigMap's
// export-allowlist / export-denylist (one JSON Filter per line; cilium/tetragon v1.7.0 pkg/exporter/exporter.go):
// an event passes when any allow filter matches (fields inside one filter ANDed) and no deny filter matches
// (GetEventsRequest allow_list / deny_list). An empty allow list keeps everything. Only the fields an event can be judged on here are evaluated; a filter using others (or a pod / binary
// the caller did not name) makes the answer unknown. Shared by `validate` (the probe's events) and the doctor's
// tetragon.export-filters (whole namespaces).

export type EventType = 'PROCESS_EXEC' | 'PROCESS_EXIT' | 'PROCESS_KPROBE'

export interface ProbeEvent {
  type: EventType | string
  namespace: string
  /** Undefined: any pod of the namespace (a filter on pods then makes the answer unknown). */
  pod?: string
  binary?: string
}

type Verdict = boolean | 'unknown'

const KNOWN = new Set(['event_set', 'namespace', 'namespace_regex', 'pod_regex', 'binary_regex', 'health_check'])

function re(pattern: string): RegExp | undefined {
  try {
    return new RegExp(pattern)
  } catch {
    return undefined
  }
}

function filterMatches(f: Record<string, unknown>, e: ProbeEvent): Verdict {
  if (Object.keys(f).some((k) => !KNOWN.has(k))) return 'unknown'
  const list = (k: string) => (Array.isArray(f[k]) ? (f[k] as unknown[]).map(String) : undefined)
  const eventSet = list('event_set')
  if (eventSet && eventSet.length > 0 && !eventSet.includes(e.type)) return false
  const ns = list('namespace')
  if (ns && ns.length > 0 && !ns.includes(e.namespace)) return false
  // namespace_regex (Filter field added in v1.7.0).
  const nsRe = list('namespace_regex')
  if (nsRe && nsRe.length > 0 && !nsRe.some((p) => re(p)?.test(e.namespace))) return false
  // health_check: true matches probe-initiated execs only; the events asked about here are not health checks.
  if (f.health_check === true) return false
  const pods = list('pod_regex')
  if (pods && pods.length > 0) {
    if (e.pod === undefined) return 'unknown'
    if (!pods.some((p) => re(p)?.test(e.pod!))) return false
  }
  const bins = list('binary_regex')
  if (bins && bins.length > 0) {
    if (e.binary === undefined) return 'unknown'
    if (!bins.some((p) => re(p)?.test(e.binary!))) return false
  }
  return true
}

export interface ParsedFilters {
  filters: Array<Record<string, unknown>>
  /** The first line that is not a JSON object, 1-based, with its text. */
  bad?: {line: number; text: string}
}

/** One JSON Filter per non-empty line; undefined/empty text = no filter. */
export function parseFilterLines(text: string | undefined): ParsedFilters {
  const filters: Array<Record<string, unknown>> = []
  const lines = (text ?? '').split('\n')
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim()
    if (!line) continue
    try {
      const f = JSON.parse(line) as unknown
      if (!f || typeof f !== 'object' || Array.isArray(f)) return {filters, bad: {line: i + 1, text: line}}
      filters.push(f as Record<string, unknown>)
    } catch {
      return {filters, bad: {line: i + 1, text: line}}
    }
  }
  return {filters}
}

function parseLines(text: string | undefined): Array<Record<string, unknown>> | undefined {
  if (text === undefined) return undefined
  const p = parseFilterLines(text)
  return p.bad ? undefined : p.filters
}

export interface ExportVerdict {
  kept: Verdict
  /** The filter line that decided, for the message. */
  because?: string
}

export function exportKeeps(config: {allow?: string; deny?: string}, e: ProbeEvent): ExportVerdict {
  const allow = parseLines(config.allow)
  const deny = parseLines(config.deny)
  if (!allow || !deny) return {kept: 'unknown'}
  let allowed: Verdict = allow.length === 0
  let unknown = false
  for (const f of allow) {
    const m = filterMatches(f, e)
    if (m === true) allowed = true
    if (m === 'unknown') unknown = true
  }
  if (allowed !== true) return unknown ? {kept: 'unknown'} : {kept: false, because: `export-allowlist ${allow.map((f) => JSON.stringify(f)).join(' | ')} does not match ${e.type} in namespace ${e.namespace}`}
  for (const f of deny) {
    const m = filterMatches(f, e)
    if (m === true) return {kept: false, because: `export-denylist ${JSON.stringify(f)} drops ${e.type} in namespace ${e.namespace}`}
    if (m === 'unknown') unknown = true
  }
  return {kept: unknown ? 'unknown' : true}
}

/** The chart's default lists (cilium/tetragon v1.7.0 install/kubernetes/tetragon/values.yaml). */
export const CHART_DEFAULT_ALLOW = '{"event_set":["PROCESS_EXEC", "PROCESS_EXIT", "PROCESS_KPROBE", "PROCESS_UPROBE", "PROCESS_TRACEPOINT", "PROCESS_LSM"]}'
export const CHART_DEFAULT_DENY = '{"health_check":true}\n{"namespace":["", "cilium", "kube-system"]}'
/** Namespaces the chart's default deny list drops ("" = host processes). */
export const CHART_DENIED_NAMESPACES = ['', 'cilium', 'kube-system']
/** Every event type the export can carry (EventType, cilium/tetragon v1.7.0 api/v1/tetragon/events.proto),
 * for "which types never reach the export". */
export const EXPORTABLE_TYPES = ['PROCESS_EXEC', 'PROCESS_EXIT', 'PROCESS_KPROBE', 'PROCESS_TRACEPOINT', 'PROCESS_LOADER', 'PROCESS_UPROBE', 'PROCESS_THROTTLE', 'PROCESS_LSM', 'PROCESS_USDT']

/** Event types no allow filter lets through, whatever the namespace (only when every allow filter names event_set). */
export function typesNeverExported(allowText: string | undefined): string[] {
  const allow = parseFilterLines(allowText)
  if (allow.bad || allow.filters.length === 0) return []
  const sets = allow.filters.map((f) => (Array.isArray(f.event_set) && f.event_set.length > 0 ? (f.event_set as unknown[]).map(String) : undefined))
  if (sets.some((s) => s === undefined)) return []
  const union = new Set(sets.flat() as string[])
  return EXPORTABLE_TYPES.filter((t) => !union.has(t))
}
