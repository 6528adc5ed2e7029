// The Elasticsearch stage: wait (bounded, polling with backoff) for the documents of the probe's events, matched by
// pod and process (exec_id as seen on the gRPC stream), then check the fields each profile expects:
// - package: what the cilium_tetragon ingest pipeline (elastic/integrations packages/tetragon/
//   data_stream/log/elasticsearch/ingest_pipeline/default.yml) and mapping give: event.dataset (constant_keyword
//   of the template, not in _source), process.executable, event.action "executed"/"end" on exec/exit only, message;
//   the destination IP stays in cilium_tetragon.log.process_kprobe.args[].sock_arg.daddr.
// - seed: what the commonly documented setup looks for: process.name, destination.ip, event.action,
//   message, event.dataset — fields the package pipeline never sets, which is exactly what the seed's users meet.
import type {EsHandle} from '../../clients/elasticsearch.js'
import type {JsonObject, TetragonEventJson} from '../../tetragon/json.js'
import {basename, bodyOf, filePath, isShadow, kindOf, processOf, sockArg} from './stream.js'
import {sleep} from '../../engine/sleep.js'

export type Profile = 'seed' | 'package'

export interface FoundDoc {
  id: string
  index: string
  source: JsonObject
  /** The Tetragon event the document carries (from `message` / `event.original`). */
  event?: TetragonEventJson
  /** Date.now() of the poll that first saw it. */
  foundAt: number
}

export interface DocWant {
  step: string
  /** Decides whether a document is the one this step waits for. */
  match(doc: FoundDoc): boolean
}

/** A field of _source by path; documents may hold objects or dotted keys (`"process.name": …`). */
function get(o: unknown, path: string): unknown {
  let cur: unknown = o
  for (const k of path.split('.')) {
    if (cur === undefined || cur === null || typeof cur !== 'object' || Array.isArray(cur)) {
      cur = undefined
      break
    }
    cur = (cur as Record<string, unknown>)[k]
  }
  if (cur !== undefined) return cur
  return o && typeof o === 'object' ? (o as Record<string, unknown>)[path] : undefined
}

function parseEvent(source: JsonObject): TetragonEventJson | undefined {
  for (const raw of [get(source, 'message'), get(source, 'event.original')]) {
    const text = Array.isArray(raw) ? raw[0] : raw
    if (typeof text !== 'string') continue
    // A CRI line `<ts> stdout F {json}` (read from the container log path; the package pipeline's json processor
    // fails on it) still carries the event.
    const start = text.indexOf('{')
    if (start < 0) continue
    try {
      return JSON.parse(text.slice(start)) as TetragonEventJson
    } catch {
      continue
    }
  }
  // Documents that kept a parsed copy only.
  const parsed = get(source, 'cilium_tetragon.log')
  return parsed && typeof parsed === 'object' ? (parsed as TetragonEventJson) : undefined
}


/** The part of a _search answer validate reads. */
interface SearchHits {
  hits?: {hits?: Array<{_id?: string; _index?: string; _source?: JsonObject}>}
}

/** One search for the documents of the probe pod since `sinceMs`. */
async function searchPod(es: EsHandle, dataset: string, namespace: string, pod: string, sinceMs: number, signal?: AbortSignal): Promise<Array<{id: string; index: string; source: JsonObject}>> {
  const r = await es.request<SearchHits>(
    {
      method: 'POST',
      path: `/logs-${encodeURIComponent(dataset)}-*/_search`,
      querystring: {ignore_unavailable: true, allow_no_indices: true},
      body: {
        size: 500,
        sort: [{'@timestamp': {order: 'asc'}}],
        query: {
          bool: {
            filter: [{range: {'@timestamp': {gte: new Date(sinceMs).toISOString()}}}],
            // Parsed documents carry the pod in orchestrator.*; unparsed ones only in the raw line.
            should: [{bool: {filter: [{term: {'orchestrator.resource.name': pod}}, {term: {'orchestrator.namespace': namespace}}]}}, {match_phrase: {message: pod}}],
            minimum_should_match: 1,
          },
        },
      },
    },
    signal,
  )
  return (r.body?.hits?.hits ?? []).map((h) => ({id: String(h._id), index: String(h._index), source: h._source ?? {}}))
}

/** Which of `ids` match `event.dataset: dataset` (a constant_keyword: in queries, not in _source). */
export async function idsWithDataset(es: EsHandle, dataset: string, ids: string[], signal?: AbortSignal): Promise<Set<string>> {
  if (ids.length === 0) return new Set()
  const r = await es.request<SearchHits>(
    {
      method: 'POST',
      path: `/logs-${encodeURIComponent(dataset)}-*/_search`,
      querystring: {ignore_unavailable: true, allow_no_indices: true},
      body: {size: ids.length, _source: false, query: {bool: {filter: [{ids: {values: ids}}, {term: {'event.dataset': dataset}}]}}},
    },
    signal,
  )
  return new Set((r.body?.hits?.hits ?? []).map((h) => String(h._id)))
}

/** `@timestamp` of the newest document of the dataset (undefined when there is none). */
export async function newestTimestamp(es: EsHandle, dataset: string, signal?: AbortSignal): Promise<string | undefined> {
  const r = await es.request<SearchHits>(
    {method: 'POST', path: `/logs-${encodeURIComponent(dataset)}-*/_search`, querystring: {ignore_unavailable: true, allow_no_indices: true}, body: {size: 1, _source: ['@timestamp'], sort: [{'@timestamp': {order: 'desc'}}]}},
    signal,
  )
  const ts = r.body?.hits?.hits?.[0]?._source?.['@timestamp']
  return typeof ts === 'string' ? ts : undefined
}

/**
 * Polls until every want has a document or `timeoutMs` passes (backoff 250 ms → 4 s). Returns what was found.
 * `onPoll` hears how many wants have their document after each search (for the live view).
 */
export async function waitForDocuments(args: {
  es: EsHandle
  dataset: string
  namespace: string
  pod: string
  sinceMs: number
  wants: DocWant[]
  timeoutMs: number
  signal?: AbortSignal
  onPoll?(found: number): void
}): Promise<{found: Map<string, FoundDoc>; polls: number; seen: number}> {
  const found = new Map<string, FoundDoc>()
  const deadline = Date.now() + args.timeoutMs
  let delay = 250
  let polls = 0
  let seen = 0
  for (;;) {
    if (args.signal?.aborted) break
    const hits = await searchPod(args.es, args.dataset, args.namespace, args.pod, args.sinceMs, args.signal)
    polls++
    seen = hits.length
    const now = Date.now()
    for (const h of hits) {
      const doc: FoundDoc = {...h, event: parseEvent(h.source), foundAt: now}
      for (const w of args.wants) if (!found.has(w.step) && w.match(doc)) found.set(w.step, doc)
    }
    args.onPoll?.(found.size)
    if (args.wants.every((w) => found.has(w.step))) break
    const left = deadline - Date.now()
    if (left <= 0) break
    await sleep(Math.min(delay, left), args.signal)
    delay = Math.min(4000, Math.round(delay * 1.6))
  }
  return {found, polls, seen}
}

// ---- document matchers ----------------------------------------------------------------------------

/** The document of one stream event: same kind and exec_id (and function / path for kprobes). */
export function sameEvent(streamEvent: TetragonEventJson): (doc: FoundDoc) => boolean {
  const kind = kindOf(streamEvent)
  const execId = processOf(streamEvent)?.exec_id
  const fn = bodyOf(streamEvent)?.function_name
  return (doc) => {
    if (!doc.event || kindOf(doc.event) !== kind) return false
    if (processOf(doc.event)?.exec_id !== execId && get(doc.source, 'process.entity_id') !== execId) return false
    return fn === undefined || bodyOf(doc.event)?.function_name === fn
  }
}

/** Without a stream event: the first document of `binary` in the pod with this kind (and kprobe function). */
export function byBinary(kind: string, binary: string, opts: {fn?: string; path?: boolean} = {}): (doc: FoundDoc) => boolean {
  return (doc) => {
    if (!doc.event || kindOf(doc.event) !== kind) return false
    const p = processOf(doc.event)
    const exe = String(p?.binary ?? get(doc.source, 'process.executable') ?? '')
    if (basename(exe) !== binary) return false
    if (opts.fn && bodyOf(doc.event)?.function_name !== opts.fn) return false
    if (opts.path && !isShadow(filePath(doc.event))) return false
    return true
  }
}

// ---- field checks ---------------------------------------------------------------------------------

export interface FieldCheck {
  field: string
  ok: boolean
  /** What was found (never a secret: these are event fields). */
  got?: unknown
  expected: string
}

export function checkFields(args: {profile: Profile; dataset: string; doc: FoundDoc; datasetMatched: boolean; binary: string; daddr?: string}): FieldCheck[] {
  const {profile, doc, binary} = args
  const s = doc.source
  const kind = doc.event ? kindOf(doc.event) : undefined
  const out: FieldCheck[] = []
  out.push({field: 'event.dataset', ok: args.datasetMatched, expected: args.dataset, got: args.datasetMatched ? args.dataset : (get(s, 'event.dataset') ?? 'no match')})
  if (profile === 'package') {
    const exe = get(s, 'process.executable')
    out.push({field: 'process.executable', ok: typeof exe === 'string' && basename(exe) === binary, expected: `…/${binary}`, got: exe})
    if (kind === 'process_exec' || kind === 'process_exit') {
      const want = kind === 'process_exec' ? 'executed' : 'end'
      const action = get(s, 'event.action')
      out.push({field: 'event.action', ok: action === want, expected: want, got: action})
    }
    if (args.daddr !== undefined) {
      const argsList = (get(s, 'cilium_tetragon.log.process_kprobe.args') as JsonObject[] | undefined) ?? []
      const daddrs = (Array.isArray(argsList) ? argsList : [argsList]).map((a) => (a?.sock_arg as JsonObject | undefined)?.daddr).filter(Boolean)
      out.push({field: 'cilium_tetragon.log.process_kprobe.args.sock_arg.daddr', ok: daddrs.includes(args.daddr), expected: args.daddr, got: daddrs[0]})
    }
  } else {
    const name = get(s, 'process.name')
    out.push({field: 'process.name', ok: name === binary, expected: binary, got: name})
    const action = get(s, 'event.action')
    out.push({field: 'event.action', ok: typeof action === 'string' && action !== '', expected: 'set', got: action})
    if (args.daddr !== undefined) {
      const ip = get(s, 'destination.ip')
      out.push({field: 'destination.ip', ok: ip === args.daddr, expected: args.daddr, got: ip})
    }
  }
  const message = get(s, 'message')
  out.push({field: 'message', ok: typeof message === 'string' && doc.event !== undefined, expected: 'the raw Tetragon JSON line', got: typeof message === 'string' ? `${message.slice(0, 60)}…` : message})
  return out
}
