// tetragon.dropped-events against an in-memory cluster whose agents serve Prometheus text through the pods proxy
// (test/fakes/cluster.ts): the two scrapes, the thresholds, the agent's own log line, and scrapes that fail.
import {describe, expect, it} from 'vitest'

import {logMessage, tetragonDroppedEvents} from '../../src/checks/tetragon/dropped-events.js'
import {ForbiddenError} from '../../src/engine/errors.js'
import {agentDaemonSet, agentPod, FakeCluster, fakeCheckContext, type ClusterObjects} from '../fakes/cluster.js'

/** An agent's metrics as v1.2.0+ names them (cilium/tetragon contrib/upgrade-notes/v1.2.0.md). */
const metrics = (received: number, lost: number) =>
  [
    '# HELP tetragon_observer_ringbuf_events_received_total Number of perf events Tetragon ring buffer events received.',
    '# TYPE tetragon_observer_ringbuf_events_received_total counter',
    `tetragon_observer_ringbuf_events_received_total ${received}`,
    '# TYPE tetragon_observer_ringbuf_events_lost_total counter',
    `tetragon_observer_ringbuf_events_lost_total ${lost}`,
    '# TYPE tetragon_bpf_missed_events_total counter',
    'tetragon_bpf_missed_events_total{error="ENOSPC",msg_op="5"} 0',
  ].join('\n')

function cluster(over: ClusterObjects & {notReady?: number[]}): FakeCluster {
  const pods = Array.from({length: 3}, (_, i) => agentPod(i, {ready: !over.notReady?.includes(i)}))
  const ok = [metrics(10_000, 0)]
  return new FakeCluster({daemonSets: [agentDaemonSet()], pods, nodes: 3, ...over, metrics: {'tetragon-0': ok, 'tetragon-1': ok, 'tetragon-2': ok, ...over.metrics}})
}

const run = (c: FakeCluster) => tetragonDroppedEvents.run(fakeCheckContext(c, {metricsWindowMs: 0}), new AbortController().signal)

describe('tetragon.dropped-events', () => {
  it('passes when no agent lost anything, scraping each agent twice through the pods proxy', async () => {
    const c = cluster({})
    const r = await run(c)
    expect(r.status).toBe('pass')
    expect(r.message).toMatch(/^no lost events on 3 agents over \d+ s$/)
    expect(c.calls.filter((x) => x === 'proxy kube-system/tetragon-1:2112/metrics')).toHaveLength(2)
  })

  it('fails on losses growing in the window and quotes the agent\'s own statistics line', async () => {
    const c = cluster({
      metrics: {'tetragon-1': [metrics(10_000, 500), metrics(10_400, 900)]},
      // logfmt with a field after msg; v1.7's own line ends at msg (cilium/tetragon v1.7.0 pkg/observer/observer.go PrintStats).
      logs: {'tetragon-1': 'time="2026-12-04T10:00:00Z" level=info msg="BPF events statistics: 10400 received, 7.96% events loss" subsys=observer'},
    })
    const r = await run(c)
    expect(r.status).toBe('fail')
    expect(r.message).toMatch(/^Tetragon on node-1 is losing [\d.]+ events\/s now; 1 of 3 agents above the threshold — log: BPF events statistics: 10400 received, 7\.96% events loss$/)
    expect(r.hint).toContain('--set tetragon.extraArgs.rb-size-total=64M')
    expect(r.docs).toBe('https://tetragon.io/docs/reference/metrics/')
  })

  it('fails on a past loss above 1 % even when nothing is lost in the window', async () => {
    const r = await run(cluster({metrics: {'tetragon-2': [metrics(1_000, 50)]}}))
    expect(r.status).toBe('fail')
    expect(r.message).toBe('Tetragon on node-2 has lost 50 events (4.8 % of 1050); 1 of 3 agents above the threshold')
  })

  it('warns on a small past loss', async () => {
    const r = await run(cluster({metrics: {'tetragon-0': [metrics(100_000, 5)]}}))
    expect(r.status).toBe('warn')
    expect(r.message).toMatch(/^1 agent lost events in the past \(≤ 1 %, none in the last \d+ s\)$/)
  })

  it('notes a not-ready agent that serves no metrics instead of failing on it', async () => {
    const r = await run(cluster({notReady: [2], metrics: {'tetragon-2': [new Error('connection refused')]}}))
    expect(r.status).toBe('pass')
    expect(r.message).toContain('no lost events on 2 of 3 agents')
    expect(r.message).toContain('1 of 3 agents not ready: tetragon-2 on node-2')
  })

  it('fails when no agent\'s metrics can be read, with the request to try by hand', async () => {
    const down = [new Error('the server could not find the requested resource')]
    const r = await run(cluster({metrics: {'tetragon-0': down, 'tetragon-1': down, 'tetragon-2': down}}))
    expect(r.status).toBe('fail')
    expect(r.message).toBe('could not read the metrics of any agent (tetragon-0: the server could not find the requested resource)')
    expect(r.hint).toBe('kubectl get --raw /api/v1/namespaces/kube-system/pods/tetragon-0:2112/proxy/metrics | head  # Helm tetragon.prometheus.enabled=true')
  })

  it.each([
    ['time=2026-12-04T10:00:00.000Z level=INFO msg="BPF events statistics: 10 received, 0.00% events loss"', 'BPF events statistics: 10 received, 0.00% events loss'],
    ['time="2026-12-04T10:00:00Z" level=info msg="a \\"quoted\\" word" subsys=observer', 'a "quoted" word'],
    ['level=INFO msg=bare other=1', 'bare'],
    ['no fields at all', 'no fields at all'],
  ])('the message of %s', (line, message) => expect(logMessage(line)).toBe(message))

  it('a 403 on the pods proxy is the permission, not the agents: it is raised for the runner to name', async () => {
    const forbidden = [new ForbiddenError('get', 'pods/proxy', 'kube-system')]
    await expect(run(cluster({metrics: {'tetragon-1': forbidden}}))).rejects.toBeInstanceOf(ForbiddenError)
  })
})
