import {fail, pass, warn, type Check} from '../../engine/types.js'
import {hasLegacyEventNumbering} from '../../tetragon/versions.js'
import type {CheckContext} from '../context.js'
import {apiOr, isOutcome, perAgent} from './agents.js'
import {clusterRequires} from './api.js'
import {DOCS} from '../../docs.js'

/** Read at most this many events … */
export const SAMPLE_EVENTS = 50
/** … or for this long (GetEvents is a live stream without replay). --schema-sample overrides. */
export const SAMPLE_MS = 3000

interface Finding {
  what: string
  count: number
}

// The seed's "protobuf decoding failure": the agent sends field numbers or event types our proto does not know
// (newer agent), or reuses numbers with another meaning (older agent). Reads raw bytes, so nothing is dropped silently.
export const tetragonSchema: Check<CheckContext> = {
  id: 'tetragon.schema',
  layer: 'tetragon',
  title: 'Events from GetEvents decode with tetractl\'s proto (no unknown fields or event types)',
  // An agent to talk to, not all agents ready (a partial rollout is reported by tetragon.daemonset).
  requires: clusterRequires(['k8s.connect']),
  run(ctx, signal) {
    return perAgent(ctx, signal, async (access) => {
      const h = await apiOr(ctx, access)
      if (isOutcome(h)) return h
      const windowMs = ctx.opts.schemaSampleMs ?? SAMPLE_MS
      const findings = new Map<string, Finding>()
      const note = (what: string) => {
        const f = findings.get(what)
        if (f) f.count++
        else findings.set(what, {what, count: 1})
      }
      const kinds = new Map<string, number>()
      let n = 0
      let streamError: Error | undefined
      const ac = new AbortController()
      const onAbort = () => ac.abort()
      signal.addEventListener('abort', onAbort, {once: true})
      const timer = setTimeout(() => ac.abort(), windowMs)
      try {
        for await (const ev of h.access.client.getEvents({}, {signal: ac.signal})) {
          n++
          const u = ev.unknown
          if (u.event) kinds.set(u.event, (kinds.get(u.event) ?? 0) + 1)
          if (u.decodeError) note(`protobuf decoding failed: ${u.decodeError}`)
          if (u.unknownEvent) note(`unknown event type: GetEventsResponse field #${u.unknownEvent.number}${u.unknownEvent.note ? ` (${u.unknownEvent.note})` : ''}`)
          for (const f of u.unknownFields) note(`unknown field #${f.number} in ${f.message}${f.path ? ` at ${f.path}` : ''}${f.note ? ` (${f.note})` : ''}`)
          for (const a of u.anomalies) note(a.detail)
          if (n >= SAMPLE_EVENTS) break
        }
      } catch (error) {
        streamError = error as Error
      } finally {
        clearTimeout(timer)
        signal.removeEventListener('abort', onAbort)
        ac.abort()
      }
      const list = [...findings.values()].sort((a, b) => b.count - a.count)
      const evidence = {
        agent: h.access.target,
        version: h.version,
        events: n,
        windowMs,
        eventTypes: Object.fromEntries(kinds),
        findings: list.slice(0, 20).map((f) => `${f.what} ×${f.count}`),
      }
      if (n === 0 && streamError) {
        return fail(`GetEvents failed before the first event: ${streamError.message.split('\n')[0]}`, {
          hint: `kubectl -n kube-system logs ${h.access.pod?.name ?? 'ds/tetragon'} -c tetragon --tail=50`,
          docs: DOCS.events,
          evidence,
        })
      }
      const legacy = hasLegacyEventNumbering(h.version)
      if (legacy) {
        // v0.8.0's single tetragon.proto: other EventType numbers, process_dns (#14), Pod.labels (#3)
        // (cilium/tetragon v0.8.0 api/v1/tetragon/tetragon.proto).
        return warn(`Tetragon ${h.version} speaks the v0.8.0 API (legacy EventType numbering, process_dns, Pod.labels): ${list.length ? `${list.length} decoding problem${list.length === 1 ? '' : 's'} in ${n} events, e.g. ${list[0]!.what}` : `${n} events read; filters by event type and newer fields do not work`}`, {
          hint: 'helm upgrade tetragon cilium/tetragon -n kube-system --reuse-values --version 1.7.0  # a release >= v1.0.0 speaks the API tetractl reads',
          docs: DOCS.versions,
          evidence,
        })
      }
      if (list.length > 0) {
        return warn(`${list.length} kind${list.length === 1 ? '' : 's'} of field our proto does not know in ${n} events (${list.slice(0, 3).map((f) => f.what).join('; ')}${list.length > 3 ? '; …' : ''}): the agent (${h.version}) is newer than tetractl's proto (v1.7.0) — the "protobuf decoding failure" of collectors built with an older proto`, {
          hint: 'Manual step: align versions: run the agent release the collector and the cilium_tetragon package support (v1.7.x), or upgrade the collector; unknown fields are dropped, not mapped',
          docs: DOCS.events,
          evidence,
        })
      }
      if (n === 0) return pass(`no events within ${windowMs} ms (nothing ran on ${h.access.target}'s node); nothing to compare`, evidence)
      const suffix = streamError ? ` (then the stream broke: ${streamError.message.split('\n')[0]})` : ''
      return pass(`${n} events decoded cleanly with tetractl's proto (${[...kinds.keys()].join(', ')})${suffix}`, evidence)
    })
  },
}
