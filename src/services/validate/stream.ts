// The Tetragon stage: a GetEvents stream of the probe node's agent, filtered to the probe pod, opened before the
// probe commands run (GetEvents is live only, no replay), and the matching of the probe's events in it.
import type {TetragonClient} from '../../clients/tetragon.js'
import type {JsonObject, TetragonEventJson} from '../../tetragon/json.js'

export interface StreamEvent {
  json: TetragonEventJson
  /** Date.now() when the event came off the stream. */
  at: number
}

export interface Subscription {
  readonly events: StreamEvent[]
  /** Set when the stream failed (the error a TetragonError carries). */
  error(): Error | undefined
  /** The first event (already received or to come) matching `pred`, or undefined after `timeoutMs` / abort / stream error. */
  waitFor(pred: (e: StreamEvent) => boolean, timeoutMs: number, signal?: AbortSignal): Promise<StreamEvent | undefined>
  close(): void
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/**
 * GetEventsRequest for one pod: allow_list [{namespace, pod_regex, event_set}] (Filter fields since v0.8.0 / v0.8.1
 * in cilium/tetragon api/v1/tetragon/events.proto, so every agent since v0.8.1 honours them).
 */
export function podFilter(namespace: string, pod: string): JsonObject {
  return {allow_list: [{namespace: [namespace], pod_regex: [`^${escapeRe(pod)}$`], event_set: ['PROCESS_EXEC', 'PROCESS_EXIT', 'PROCESS_KPROBE']}]}
}

export function subscribe(client: TetragonClient, namespace: string, pod: string, signal: AbortSignal): Subscription {
  const events: StreamEvent[] = []
  const waiters = new Set<() => void>()
  let failure: Error | undefined
  const stop = new AbortController()
  const onAbort = () => stop.abort()
  signal.addEventListener('abort', onAbort, {once: true})
  const wake = () => {
    for (const w of [...waiters]) w()
  }
  void (async () => {
    try {
      for await (const e of client.getEvents(podFilter(namespace, pod), {signal: stop.signal})) {
        events.push({json: e.json, at: Date.now()})
        wake()
      }
    } catch (error) {
      failure = error as Error
    } finally {
      wake()
    }
  })()
  return {
    events,
    error: () => failure,
    waitFor(pred, timeoutMs, sig) {
      const found = events.find(pred)
      if (found || failure || sig?.aborted) return Promise.resolve(found)
      return new Promise((resolve) => {
        let seen = events.length
        const finish = (v: StreamEvent | undefined) => {
          clearTimeout(timer)
          waiters.delete(check)
          sig?.removeEventListener('abort', onSig)
          resolve(v)
        }
        const check = () => {
          for (; seen < events.length; seen++) if (pred(events[seen]!)) return finish(events[seen])
          if (failure || stop.signal.aborted) finish(undefined)
        }
        const onSig = () => finish(undefined)
        const timer = setTimeout(() => finish(undefined), Math.max(0, timeoutMs))
        waiters.add(check)
        sig?.addEventListener('abort', onSig, {once: true})
      })
    },
    close() {
      signal.removeEventListener('abort', onAbort)
      stop.abort()
    },
  }
}

// ---- matching ---------------------------------------------------------------------------------

export type EventKind = 'process_exec' | 'process_exit' | 'process_kprobe'

export function kindOf(e: TetragonEventJson): string | undefined {
  return Object.keys(e).find((k) => k.startsWith('process_') || k === 'test' || k === 'rate_limit_info')
}

export function bodyOf(e: TetragonEventJson): JsonObject | undefined {
  const k = kindOf(e)
  const b = k ? e[k] : undefined
  return b && typeof b === 'object' && !Array.isArray(b) ? (b as JsonObject) : undefined
}

export function processOf(e: TetragonEventJson): JsonObject | undefined {
  const p = bodyOf(e)?.process
  return p && typeof p === 'object' && !Array.isArray(p) ? (p as JsonObject) : undefined
}

export const basename = (p: string) => p.slice(p.lastIndexOf('/') + 1)

export function inPod(e: TetragonEventJson, namespace: string, pod: string): boolean {
  const p = processOf(e)?.pod as JsonObject | undefined
  return p?.namespace === namespace && p?.name === pod
}

export interface SockArg {
  daddr?: string
  dport?: number
  saddr?: string
  sport?: number
}

export function sockArg(e: TetragonEventJson): SockArg | undefined {
  for (const a of (bodyOf(e)?.args as JsonObject[] | undefined) ?? []) if (a?.sock_arg && typeof a.sock_arg === 'object') return a.sock_arg as SockArg
  return undefined
}

export function filePath(e: TetragonEventJson): string | undefined {
  for (const a of (bodyOf(e)?.args as JsonObject[] | undefined) ?? []) {
    const f = a?.file_arg as JsonObject | undefined
    if (f && typeof f.path === 'string') return f.path
  }
  return undefined
}

/** Older samples carry `etc/shadow` without the leading slash: compare by suffix (2021–22 upstream doc samples). */
export const isShadow = (path: string | undefined) => Boolean(path && (path === '/etc/shadow' || path.endsWith('etc/shadow')))
