#!/usr/bin/env node
// Child process for benchmark P4: one lab Tetragon agent (dist/lab/tetragon/agent.js, real grpc-js server) that emits
// a burst of N events to the next GetEvents client, on demand. Not part of the agent's semantics: the burst is the
// ordinary emit() path (per-listener queue, back-pressure), with --event-queue-size raised so nothing is dropped.
//
// Protocol (lines): prints `ready <host:port>`; reads `burst <N>`; when the next GetEvents client registers, emits N
// events, then prints `done <N> <ms>` where ms runs from the end of the emit loop (all N encoded and queued; the
// client has received nothing yet, this process being busy) until the client cancels the stream after its Nth
// event. Both consumers are timed the same way, so process start-up never counts.
import {readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {createInterface} from 'node:readline'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const {startTetragonAgent} = await import(join(root, 'dist/lab/tetragon/agent.js'))

// Real event: process_exec.jsonl line 1 (curl in default/xwing), copied into test/fixtures with its SOURCES.
const event = JSON.parse(readFileSync(join(root, 'test', 'fixtures', 'tetragon-events', 'process_exec.jsonl'), 'utf8').split('\n')[0])

const agent = await startTetragonAgent({
  version: 'v1.7.0',
  nodeName: 'bench-node',
  serverAddress: '127.0.0.1:0',
  healthPort: null,
  metricsPort: null,
  backgroundIntervalMs: 0,
  eventQueueSize: 10_000_000,
  // A standalone agent as --tetragon-address reaches it: a bare binary has no JSON export (export-filename "").
  // With the chart's export on, the lab keeps the last 100k export lines and the agent slows as its heap grows.
  exportFilename: '',
})
const g = agent.grpc
process.stdout.write(`ready ${g.host}:${g.port}\n`)

const wait = (cond) =>
  new Promise((resolve) => {
    const t = setInterval(() => {
      if (cond()) {
        clearInterval(t)
        resolve()
      }
    }, 1)
  })

const rl = createInterface({input: process.stdin})
for await (const line of rl) {
  const [cmd, arg] = line.trim().split(/\s+/)
  if (cmd === 'stop') break
  if (cmd !== 'burst') continue
  const n = Number(arg)
  const opened = agent.streamsOpened()
  await wait(() => agent.streamsOpened() > opened && agent.listenerCount() > 0)
  for (let i = 0; i < n; i++) agent.emit(event)
  const t0 = performance.now()
  await wait(() => agent.listenerCount() === 0)
  process.stdout.write(`done ${n} ${(performance.now() - t0).toFixed(1)}\n`)
}
await agent.stop()
process.exit(0)
