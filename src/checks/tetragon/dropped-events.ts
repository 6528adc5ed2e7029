import {fail, pass, skip, warn, type Check} from '../../engine/types.js'
import type {CheckContext} from '../context.js'
import {ForbiddenError} from '../../engine/errors.js'
import {tetragonInstall, type PodSummary} from '../../cluster/facts.js'
import {agentsOr, isOutcome, notReadyNote, podProblem, sampleEarly} from './agents.js'
import {METRICS_PORT} from '../../cluster/agents.js'
import {standaloneMode} from './api.js'
import {parsePrometheus, total, type Sample} from './prometheus.js'
import {sleep} from '../../engine/sleep.js'
import {DOCS} from '../../docs.js'

// Every generation of the lost-event counters (renamed in cilium/tetragon
// contrib/upgrade-notes/v1.2.0.md and v1.3.0.md): kernel-side misses, perf buffer lost
// samples, the events queue, and the per-listener (gRPC client / JSON exporter) overflow.
const LOST = [
  'tetragon_bpf_missed_events_total', // v1.2.0+ {msg_op, error}
  'tetragon_missed_events_total', // v1.1.0 only
  'tetragon_observer_ringbuf_events_lost_total', // v1.2.0+
  'tetragon_ringbuf_perf_event_lost_total', // v0.11.0 – v1.1.x
  'tetragon_ringbuf_perf_event_lost', // v0.8.1 – v0.10.x
  'isovalent_ringbuf_perf_event_lost', // ≤ v0.8.0
  'tetragon_observer_ringbuf_queue_events_lost_total', // v1.2.0+
  'tetragon_ringbuf_queue_lost_total', // v1.0.0 – v1.1.x
  'tetragon_notify_overflowed_events_total', // v0.11.0+
  'tetragon_notify_overflowed_events', // v0.8.4 – v0.10.x (gauge)
]
const RECEIVED = [
  'tetragon_observer_ringbuf_events_received_total', 'tetragon_ringbuf_perf_event_received_total', 'tetragon_ringbuf_perf_event_received',
  'isovalent_ringbuf_perf_event_received', 'tetragon_observer_ringbuf_queue_events_received_total', 'tetragon_ringbuf_queue_received_total',
]
const RATE_LIMITED = ['tetragon_export_ratelimit_events_dropped_total', 'tetragon_ratelimit_dropped_total']

/** Scrape every pod up to this many; above, a sample plus every not-ready pod. */
const ALL_PODS_UP_TO = 20
const SAMPLE = 10
const MAX_NOT_READY = 10
/** Lost ratio (lost / (received + lost)) above which the check fails. */
export const MAX_LOST_RATIO = 0.01
/** Default time between the two scrapes (--metrics-window). */
export const WINDOW_MS = 2000
const LOG_PODS = 3

interface Counts {
  lost: number
  received: number
  rateLimited: number
  byName: Record<string, number>
}

function counts(samples: Sample[]): Counts {
  const byName: Record<string, number> = {}
  for (const n of [...LOST, ...RATE_LIMITED]) {
    const t = total(samples, n)
    if (t !== undefined) byName[n] = t
  }
  const lost = LOST.reduce((s, n) => s + (byName[n] ?? 0), 0)
  const received = Math.max(0, ...RECEIVED.map((n) => total(samples, n) ?? 0))
  const rateLimited = RATE_LIMITED.reduce((s, n) => s + (byName[n] ?? 0), 0)
  return {lost, received, rateLimited, byName}
}

/** The msg of a key=value log line (`level=INFO msg="…" subsys=observer`), whatever fields follow it; else the line. */
export function logMessage(line: string): string {
  const quoted = /\bmsg="((?:[^"\\]|\\.)*)"/.exec(line)
  if (quoted) return quoted[1]!.replace(/\\(["\\])/g, '$1')
  const bare = /\bmsg=(\S+)/.exec(line)
  return bare ? bare[1]! : line
}

export function choosePods(pods: PodSummary[]): PodSummary[] {
  if (pods.length <= ALL_PODS_UP_TO) return pods
  const ready = pods.filter((p) => p.ready)
  const step = Math.max(1, Math.floor(ready.length / SAMPLE))
  const sample = ready.filter((_, i) => i % step === 0).slice(0, SAMPLE)
  return [...sample, ...pods.filter((p) => !p.ready).slice(0, MAX_NOT_READY)]
}

export const tetragonDroppedEvents: Check<CheckContext> = {
  id: 'tetragon.dropped-events',
  layer: 'tetragon',
  title: 'No events lost in Tetragon\'s buffers (metrics of each agent, scraped twice)',
  // The metrics of each agent that runs; a partial rollout is tetragon.daemonset's finding.
  requires: ['k8s.connect'],
  async run(ctx, signal) {
    if (standaloneMode(ctx) && !(await ctx.kube().then(() => true, () => false))) {
      return skip('metrics are read through the Kubernetes API; for a standalone agent: curl -s localhost:2112/metrics | grep -E "lost|missed|overflow"')
    }
    // The first page's agents are scraped while the rest of the list arrives (sampleEarly).
    const early = await sampleEarly(ctx, signal, choosePods)
    const whole = early ? undefined : await agentsOr(ctx, signal, true)
    if (whole && isOutcome(whole)) return whole
    const kube = await ctx.kube()
    const ns = (await tetragonInstall(ctx, signal)).namespace
    const chosen = early ?? choosePods(whole!.pods)
    const windowMs = ctx.opts.metricsWindowMs ?? WINDOW_MS
    const scrape = () =>
      Promise.all(chosen.map((p) => kube.proxyGet(ns, p.name, METRICS_PORT, 'metrics', signal).then((text) => counts(parsePrometheus(String(text)).samples), (e: Error) => e)))
    const first = await scrape()
    const t0 = Date.now()
    await sleep(windowMs, signal)
    const second = await scrape()
    const seconds = Math.max(0.001, (Date.now() - t0) / 1000)
    const agents = whole ?? (await agentsOr(ctx, signal, true))
    if (isOutcome(agents)) return agents
    const {install, pods} = agents

    const perNode: Array<{pod: string; node?: string; lost: number; received: number; ratio: number; increase: number; perSecond: number; rateLimited: number}> = []
    const failedScrapes: string[] = []
    // A 403 on pods/proxy is our permission, not the agents' metrics: not-evaluated, naming it (runner).
    const forbidden = [...first, ...second].find((r) => r instanceof ForbiddenError)
    if (forbidden) throw forbidden
    const skippedNotReady: string[] = []
    chosen.forEach((p, i) => {
      const a = first[i]!
      const b = second[i]!
      if ((b instanceof Error || a instanceof Error) && !p.ready) {
        // A crash-looping agent serves no metrics; tetragon.daemonset reports it, so it is noted, not a finding here.
        skippedNotReady.push(podProblem(p))
        return
      }
      if (b instanceof Error || a instanceof Error) {
        failedScrapes.push(`${p.name}${p.ready ? '' : ' (not ready)'}: ${((b instanceof Error ? b : a) as Error).message.split('\n')[0]}`)
        return
      }
      const increase = Math.max(0, b.lost - a.lost)
      perNode.push({pod: p.name, node: p.node, lost: b.lost, received: b.received, ratio: b.lost / Math.max(1, b.received + b.lost), increase, perSecond: increase / seconds, rateLimited: b.rateLimited})
    })
    const worst = [...perNode].sort((x, y) => y.perSecond - x.perSecond || y.ratio - x.ratio)
    const lossy = worst.filter((n) => n.lost > 0)
    // The periodic "BPF events statistics: … % events loss" line (cilium/tetragon v1.7.0 pkg/observer/observer.go
    // PrintStats), where losses were counted.
    const logLines: string[] = []
    await Promise.all(
      lossy.slice(0, LOG_PODS).map(async (n) => {
        const text = await kube
          .call({verb: 'get', resource: 'pods/log', namespace: ns}, (o) => kube.core.readNamespacedPodLog({name: n.pod, namespace: ns, container: 'tetragon', tailLines: 1000}, o), signal)
          .catch(() => '')
        const line = String(text).split('\n').reverse().find((l) => /events loss/.test(l))
        if (line) logLines.push(`${n.pod}: ${logMessage(line).slice(0, 160)}`)
      }),
    )
    const sampleNote = `${chosen.length < pods.length ? ` (sampled ${chosen.length} of ${pods.length} agents)` : ''}${notReadyNote(agents)}`
    const evidence = {
      scraped: perNode.length,
      agents: pods.length,
      windowMs: Math.round(seconds * 1000),
      perNode: worst.slice(0, 10).map((n) => `${n.node ?? n.pod}: lost ${n.lost} of ${n.received + n.lost} (${(n.ratio * 100).toFixed(2)} %), +${n.increase} in window (${n.perSecond.toFixed(1)}/s)${n.rateLimited ? `, export rate-limited ${n.rateLimited}` : ''}`),
      ...(failedScrapes.length ? {notScraped: failedScrapes.slice(0, 10)} : {}),
      ...(skippedNotReady.length ? {notReady: skippedNotReady.slice(0, 10)} : {}),
      ...(logLines.length ? {logs: logLines} : {}),
    }
    const hint = [
      `helm upgrade ${install.daemonSet?.metadata?.name ?? 'tetragon'} cilium/tetragon -n ${ns} --reuse-values --set tetragon.extraArgs.rb-size-total=64M --set tetragon.extraArgs.rb-queue-size=131072 --set tetragon.extraArgs.event-queue-size=20000`,
      '# and narrow the TracingPolicies (selectors: matchArgs / matchBinaries / matchNamespaces) so fewer events are generated',
    ].join('\n')
    const docs = DOCS.metrics
    const growing = worst.filter((n) => n.increase > 0)
    const high = worst.filter((n) => n.ratio > MAX_LOST_RATIO)
    if (growing.length > 0 || high.length > 0) {
      const w = growing[0] ?? high[0]!
      const what = growing.length > 0 ? `is losing ${w.perSecond.toFixed(1)} events/s now` : `has lost ${w.lost} events (${(w.ratio * 100).toFixed(1)} % of ${w.received + w.lost})`
      return fail(`Tetragon on ${w.node ?? w.pod} ${what}${perNode.length > 1 ? `; ${Math.max(growing.length, high.length)} of ${perNode.length} agents above the threshold` : ''}${logLines.length ? ` — log: ${logLines[0]!.split(': ').slice(1).join(': ')}` : ''}${sampleNote}`, {hint, docs, evidence})
    }
    if (failedScrapes.length > 0 && perNode.length === 0) {
      return fail(`could not read the metrics of any agent (${failedScrapes[0]})`, {
        hint: `kubectl get --raw /api/v1/namespaces/${ns}/pods/${chosen[0]?.name}:${METRICS_PORT}/proxy/metrics | head  # Helm tetragon.prometheus.enabled=true`,
        docs,
        evidence,
      })
    }
    const rateLimited = worst.filter((n) => n.rateLimited > 0)
    if (lossy.length > 0 || rateLimited.length > 0 || failedScrapes.length > 0) {
      const parts = [
        lossy.length ? `${lossy.length} agent${lossy.length === 1 ? '' : 's'} lost events in the past (≤ ${(MAX_LOST_RATIO * 100).toFixed(0)} %, none in the last ${Math.round(seconds)} s)` : '',
        rateLimited.length ? `the export rate limit dropped events on ${rateLimited.length} agent${rateLimited.length === 1 ? '' : 's'} (export-rate-limit)` : '',
        failedScrapes.length ? `${failedScrapes.length} agent${failedScrapes.length === 1 ? '' : 's'} not scraped (${failedScrapes[0]})` : '',
      ].filter(Boolean)
      return warn(`${parts.join('; ')}${sampleNote}`, {hint, docs, evidence})
    }
    return pass(`no lost events on ${perNode.length}${perNode.length < pods.length ? ` of ${pods.length}` : ''} agent${pods.length === 1 ? '' : 's'} over ${Math.round(seconds)} s${sampleNote}`, evidence)
  },
}
