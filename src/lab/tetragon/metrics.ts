// Prometheus text exposition of the lab agent, with each version's metric names for lost events (renamed at v0.8.1, v0.11.0 and v1.2.0)
// and, for v1.7.0, the flow counters of cilium/tetragon docs/content/en/docs/reference/metrics.md.

import {inRange, lostEventMetricNames} from '../../tetragon/versions.js'

/** cilium/tetragon v1.7.0, the newest release the lab models. */
export const V170_COMMIT = '1de2ed8ebea18e56257dc59597aa13bf8f0e471e'

export interface DroppedCounts {
  /** BPF → kernel buffer failures (ENOSPC). */
  bpfMissed?: number
  /** perf ring buffer LostSamples, stage 2. */
  perfLost?: number
  perfErrors?: number
  /** events queue full, stage 3. */
  queueLost?: number
  /** per-listener overflow added to what the lab really dropped, stage 4. */
  notifyOverflow?: number
  /** export rate limiter, stage 5. */
  rateLimited?: number
}

export interface MetricsState {
  version: string
  nodeName: string
  received: number
  overflowed: number
  dropped: DroppedCounts
  exported: number
  exportedBytes: number
  lastExportedMs: number
  eventsByType: Map<string, number>
  policies: Array<{enabled: boolean}>
}

function line(out: string[], name: string, type: 'counter' | 'gauge', help: string, samples: Array<[string, number]>) {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`)
  for (const [labels, v] of samples) out.push(`${name}${labels} ${v}`)
}

export function renderMetrics(s: MetricsState): string {
  const n = lostEventMetricNames(s.version)
  const d = s.dropped
  const out: string[] = []
  const counter = inRange(s.version, 'v0.11.0') ? 'counter' : 'gauge' // `_total` counters since v0.11.0
  line(out, n.perfLost, counter, 'Perf ring buffer events lost.', [['', d.perfLost ?? 0]])
  line(out, n.perfReceived, counter, 'Perf ring buffer events received.', [['', s.received + (d.perfLost ?? 0)]])
  line(out, n.perfErrors, counter, 'Perf ring buffer read errors.', [['', d.perfErrors ?? 0]])
  if (n.queueLost) line(out, n.queueLost, 'counter', 'Events lost because the events queue was full.', [['', d.queueLost ?? 0]])
  if (n.queueReceived) line(out, n.queueReceived, 'counter', 'Events received by the events queue.', [['', s.received]])
  if (n.bpfMissed) {
    // Labels msg_op (5 = exec) and, since v1.2.0, error. No series until something was missed.
    const labels = inRange(s.version, 'v1.2.0') ? '{msg_op="5",error="ENOSPC"}' : '{msg_op="5"}'
    line(out, n.bpfMissed, 'counter', 'Events missed in BPF programs.', d.bpfMissed ? [[labels, d.bpfMissed]] : [])
  }
  if (n.notifyOverflow) {
    // A gauge in v0.8.4 – v0.10.x, a counter since; no labels, shared by all listeners.
    line(out, n.notifyOverflow, counter, 'Events dropped because a listener queue was full.', [['', s.overflowed + (d.notifyOverflow ?? 0)]])
  }
  if (n.rateLimitDropped) line(out, n.rateLimitDropped, 'counter', 'Events dropped by the export rate limiter.', [['', d.rateLimited ?? 0]])
  if (n.eventsExported) line(out, n.eventsExported, 'counter', 'Events exported.', [['', s.exported]])
  if (n.eventsExportedBytes) line(out, n.eventsExportedBytes, 'counter', 'Bytes exported.', [['', s.exportedBytes]])
  if (n.lastExportedTimestamp) line(out, n.lastExportedTimestamp, 'gauge', 'Unix seconds of the last exported event.', [['', s.lastExportedMs ? Math.floor(s.lastExportedMs / 1000) : 0]])
  if (inRange(s.version, 'v1.7.0')) {
    // Flow counters, documented for v1.7.0 (cilium/tetragon v1.7.0 docs/content/en/docs/reference/metrics.md).
    line(
      out, 'tetragon_events_total', 'counter', 'Events observed.',
      [...s.eventsByType].map(([type, v]) => [`{type="${type}",node_name="${s.nodeName}"}`, v]),
    )
    const states = {enabled: 0, disabled: 0, error: 0, load_error: 0}
    for (const p of s.policies) states[p.enabled ? 'enabled' : 'disabled']++
    line(out, 'tetragon_tracingpolicy_loaded', 'gauge', 'Tracing policies by state.', Object.entries(states).map(([k, v]) => [`{state="${k}"}`, v]))
    line(out, 'tetragon_build_info', 'gauge', 'Build information.', [[`{version="${s.version}",commit="${s.version === 'v1.7.0' ? V170_COMMIT : ''}",go_version="",modified="false",time=""}`, 1]])
  }
  return out.join('\n') + '\n'
}
