// The lab agent's GetEvents as cilium/tetragon v1.7.0 pkg/server/server.go serves it (issue #10 item 10):
// field_filters applied per event, aggregation_options passing OSS events through a bounded channel, and kprobe
// events on the live stream whenever kprobe policies are loaded.
import {afterEach, describe, expect, test} from 'vitest'

import {connectTetragon, TetragonError, type TetragonClient} from '../../src/clients/tetragon.js'
import {startTetragonAgent, type TetragonAgent, type TetragonAgentOptions} from '../../src/lab/tetragon/agent.js'
import type {JsonObject} from '../../src/tetragon/json.js'
import {collect, tcpAddress, waitFor} from './helpers.js'

const agents: TetragonAgent[] = []
const clients: TetragonClient[] = []
afterEach(async () => {
  for (const c of clients.splice(0)) c.close()
  for (const a of agents.splice(0)) await a.stop()
})

async function start(o: Partial<TetragonAgentOptions> = {}): Promise<{agent: TetragonAgent; client: TetragonClient}> {
  const agent = await startTetragonAgent({version: 'v1.7.0', nodeName: 'node-1', serverAddress: '0.0.0.0:54321', backgroundIntervalMs: 0, healthPort: null, metricsPort: null, ...o})
  agents.push(agent)
  const client = connectTetragon({address: tcpAddress(agent)}, {timeoutMs: 5000})
  clients.push(client)
  return {agent, client}
}

const pod = {namespace: 'default', podName: 'probe-1', containerName: 'probe', nodeName: 'node-1', labels: {app: 'probe'}}
const body = (e: JsonObject, kind: string) => e[kind] as JsonObject

describe('GetEvents field_filters (pkg/fieldfilters)', () => {
  test('INCLUDE keeps only the listed paths of the event; node_name and time stay', async () => {
    const {agent, client} = await start()
    const events = await collect(client, agent, {field_filters: [{fields: 'process.binary,process.pod.name', action: 'INCLUDE'}]}, () => {
      agent.execInPod({...pod, argv: ['whoami']})
    }, (ev) => ev.length >= 2, 5000)
    expect(events.map((e) => Object.keys(e.json)[0])).toEqual(['process_exec', 'process_exit'])
    for (const e of events) {
      const kind = Object.keys(e.json)[0]!
      expect(body(e.json, kind)).toEqual({process: {binary: '/usr/bin/whoami', pod: {name: 'probe-1'}}})
      expect(e.json.node_name).toBe('node-1')
      expect(typeof e.json.time).toBe('string')
    }
  })

  test('EXCLUDE with event_set: only those types lose the fields; invert_event_set flips the set', async () => {
    const {agent, client} = await start()
    const run = (filter: JsonObject) => collect(client, agent, {field_filters: [filter]}, () => {
      agent.execInPod({...pod, argv: ['whoami']})
    }, (ev) => ev.length >= 2, 5000)
    const plain = await run({event_set: ['PROCESS_EXIT'], fields: 'parent,process.pod.pod_labels', action: 'EXCLUDE'})
    expect(body(plain[0]!.json, 'process_exec').parent).toBeDefined()
    expect((body(plain[0]!.json, 'process_exec').process as any).pod.pod_labels).toEqual({app: 'probe'})
    expect(body(plain[1]!.json, 'process_exit').parent).toBeUndefined()
    expect((body(plain[1]!.json, 'process_exit').process as any).pod.pod_labels).toBeUndefined()
    expect((body(plain[1]!.json, 'process_exit').process as any).pod.name).toBe('probe-1')
    const inverted = await run({event_set: ['PROCESS_EXIT'], fields: 'parent', action: 'EXCLUDE', invert_event_set: true})
    expect(body(inverted[0]!.json, 'process_exec').parent).toBeUndefined()
    expect(body(inverted[1]!.json, 'process_exit').parent).toBeDefined()
  })

  test('an invalid action or path fails the stream at the first event that passes, with the agent\'s error', async () => {
    const {agent, client} = await start()
    for (const [filter, message] of [
      [{fields: 'process.binary', action: 7}, 'failed to create field filters: invalid fieldfilter action: 7'],
      [{fields: 'process..binary', action: 'EXCLUDE'}, 'failed to create field filters: invalid fieldName FieldFilter format: "process..binary"'],
    ] as const) {
      const before = agent.streamsOpened()
      const it = client.getEvents({allow_list: [{namespace: ['default']}], field_filters: [filter as JsonObject]})
      const first = it.next()
      await waitFor(() => agent.streamsOpened() > before && agent.listenerCount() === 1, 5000, 'listener')
      // Events the allow list drops do not build the filters: the stream stays open.
      agent.emit({process_exec: {process: {binary: '/bin/true', pod: {namespace: 'kube-system', name: 'x'}}}})
      expect(agent.listenerCount()).toBe(1)
      agent.emit({process_exec: {process: {binary: '/bin/true', pod: {namespace: 'default', name: 'x'}}}})
      const err = await first.then(() => undefined, (e: unknown) => e)
      expect(err).toBeInstanceOf(TetragonError)
      expect((err as TetragonError).message).toContain(message)
      await waitFor(() => agent.listenerCount() === 0, 5000, 'listener gone')
    }
  })
})

describe('GetEvents aggregation_options (pkg/aggregator)', () => {
  test('OSS event types pass unchanged', async () => {
    const {agent, client} = await start()
    const events = await collect(client, agent, {aggregation_options: {window_size: '2s', channel_buffer_size: '100'}}, () => {
      agent.execInPod({...pod, argv: ['whoami']})
    }, (ev) => ev.length >= 2, 5000)
    expect(events.map((e) => Object.keys(e.json)[0])).toEqual(['process_exec', 'process_exit'])
    expect((body(events[0]!.json, 'process_exec').process as any).binary).toBe('/usr/bin/whoami')
    expect(events[0]!.json.aggregation_info).toBeUndefined()
  })

  test('a full channel drops events while Send is blocked, without the notifier overflow', async () => {
    const {agent, client} = await start()
    const ev = (pid: number) => ({process_exec: {process: {binary: '/bin/true', pid}}})
    const SENTINEL = 999_999
    let seen = 0
    let done = false
    const ac = new AbortController()
    const consumer = (async () => {
      for await (const batch of client.getEventBatches({aggregation_options: {channel_buffer_size: '100'}}, {signal: ac.signal, inspect: false})) {
        for (const e of batch) {
          if ((body(e.json, 'process_exec').process as any).pid === SENTINEL) done = true
          else seen++
        }
        if (done) ac.abort()
      }
    })()
    await waitFor(() => agent.listenerCount() === 1, 5000, 'listener')
    for (let i = 0; i < 15_000; i++) agent.emit(ev(i))
    // Without aggregation the 10,000 queue would hold most of them and count the rest as overflow (agent-client.test).
    expect(agent.overflowed()).toBe(0)
    while (!done) {
      agent.emit(ev(SENTINEL))
      await new Promise((r) => setTimeout(r, 50))
    }
    await consumer
    expect(seen).toBeGreaterThan(0)
    expect(seen).toBeLessThan(5000)
  })
})

describe('kprobe events on the live stream', () => {
  test('with kprobe policies loaded the background cadence carries process_kprobe events; without, none', async () => {
    const {agent, client} = await start({policies: ['network', 'file'], backgroundIntervalMs: 20})
    const events = await collect(client, agent, {allow_list: [{event_set: ['PROCESS_KPROBE']}]}, () => {}, (ev) => ev.length >= 4, 20_000)
    const fns = new Set(events.map((e) => (body(e.json, 'process_kprobe') as any).function_name))
    expect(fns.has('tcp_connect')).toBe(true)
    expect(fns.has('security_file_permission')).toBe(true)
    expect(events.every((e) => typeof (body(e.json, 'process_kprobe') as any).policy_name === 'string')).toBe(true)

    const {agent: bare, client: bareClient} = await start({policies: [], backgroundIntervalMs: 20})
    const all = await collect(bareClient, bare, {}, () => {}, (ev) => ev.length >= 12, 20_000)
    expect(all.filter((e) => e.json.process_kprobe)).toEqual([])
  })
})
