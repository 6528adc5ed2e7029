// Would the agent's JSON export keep the probe's events? The export is a GetEvents listener whose request is
// the ConfigMap's export-allowlist / export-denylist (one JSON Filter per line, tetragon.md §2.1, §2.3): an
// event passes when any allow filter matches (fields inside one filter ANDed) and no deny filter matches (§1.5).
// Only the fields a probe event can be judged on are evaluated; a filter using others makes the answer unknown.

export interface ProbeEvent {
  type: 'PROCESS_EXEC' | 'PROCESS_EXIT' | 'PROCESS_KPROBE'
  namespace: string
  pod: string
  binary: string
}

type Verdict = boolean | 'unknown'

const KNOWN = new Set(['event_set', 'namespace', 'pod_regex', 'binary_regex', 'health_check'])

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
  const pods = list('pod_regex')
  if (pods && pods.length > 0 && !pods.some((p) => re(p)?.test(e.pod))) return false
  const bins = list('binary_regex')
  if (bins && bins.length > 0 && !bins.some((p) => re(p)?.test(e.binary))) return false
  // health_check: true matches probe-initiated execs only; the probe's commands are not health checks.
  if (f.health_check === true) return false
  return true
}

function parseLines(text: string | undefined): Array<Record<string, unknown>> | undefined {
  if (text === undefined) return undefined
  const out: Array<Record<string, unknown>> = []
  for (const line of text.split('\n').map((l) => l.trim()).filter(Boolean)) {
    try {
      out.push(JSON.parse(line) as Record<string, unknown>)
    } catch {
      return undefined
    }
  }
  return out
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
