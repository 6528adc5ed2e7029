// Benchmarks beyond P1–P3, imported by scripts/bench.js: `export const benchmarks = {id: async (helpers) => …}`.
import {spawn} from 'node:child_process'
import {join} from 'node:path'
import {createInterface} from 'node:readline'

/** The lab agent in a child process (scripts/bench-agent.js), driven line by line. */
async function startAgentChild(root) {
  const child = spawn(process.execPath, [join(root, 'scripts/bench-agent.js')], {stdio: ['pipe', 'pipe', 'inherit']})
  const lines = createInterface({input: child.stdout})[Symbol.asyncIterator]()
  const next = async (prefix) => {
    for (;;) {
      const {value, done} = await lines.next()
      if (done) throw new Error(`bench agent exited before "${prefix}"`)
      if (value.startsWith(prefix)) return value.split(/\s+/).slice(1)
    }
  }
  const [address] = await next('ready')
  return {
    address,
    /** Arm a burst of n events for the next GetEvents client; resolves with the ms the client took to drain them. */
    burst(n) {
      child.stdin.write(`burst ${n}\n`)
      return next('done').then(([, ms]) => Number(ms))
    },
    async stop() {
      child.stdin.end('stop\n')
      await new Promise((r) => child.once('close', r))
    },
  }
}

/** Minimal raw grpc-js consumer of the same stream: identity deserializer, read n messages, cancel. */
async function rawConsume(root, address, n) {
  const grpc = await import(join(root, 'node_modules/@grpc/grpc-js/build/src/index.js'))
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), {'grpc.enable_http_proxy': 0})
  const id = (b) => b
  const call = client.makeServerStreamRequest('/tetragon.FineGuidanceSensors/GetEvents', () => Buffer.alloc(0), id, {}, new grpc.Metadata(), {})
  let count = 0
  await new Promise((resolve, reject) => {
    call.on('data', () => {
      if (++count === n) {
        call.cancel()
        resolve()
      }
    })
    call.on('error', (e) => (e.code === grpc.status.CANCELLED ? resolve() : reject(e)))
  })
  client.close()
}

/** The same consumer with proto-loader (protobufjs decode into objects, as most collectors' clients do). */
async function protoLoaderConsume(root, address, n) {
  const grpc = await import(join(root, 'node_modules/@grpc/grpc-js/build/src/index.js'))
  const loader = await import(join(root, 'node_modules/@grpc/proto-loader/build/src/index.js'))
  const def = loader.loadSync(['tetragon/sensors.proto'], {includeDirs: [join(root, 'proto')], keepCase: true, longs: String, enums: String, defaults: false, oneofs: true})
  const Sensors = grpc.loadPackageDefinition(def).tetragon.FineGuidanceSensors
  const client = new Sensors(address, grpc.credentials.createInsecure(), {'grpc.enable_http_proxy': 0})
  const call = client.GetEvents({})
  let count = 0
  await new Promise((resolve, reject) => {
    call.on('data', () => {
      if (++count === n) {
        call.cancel()
        resolve()
      }
    })
    call.on('error', (e) => (e.code === grpc.status.CANCELLED ? resolve() : reject(e)))
  })
  client.close()
}

export const benchmarks = {
  // P4: events per second consumed by `tetractl events -o json > /dev/null` against a raw grpc-js client of the
  // same stream, lab agent in a child process, same run. Timed by the agent (see scripts/bench-agent.js).
  P4: async ({results, rows, run, root, median}) => {
    const N = Number(process.env.P4_EVENTS) || 20_000
    const RUNS = 3
    const agent = await startAgentChild(root)
    try {
      const ours = []
      const raw = []
      const loaded = []
      const once = async (which) => {
        const drained = agent.burst(N)
        if (which === 'raw') await rawConsume(root, agent.address, N)
        else if (which === 'proto-loader') await protoLoaderConsume(root, agent.address, N)
        else {
          const r = await run('/bin/sh', ['-c', `exec "${process.execPath}" "${join(root, 'bin/run.js')}" events --tetragon-address ${agent.address} -o json --count ${N} > /dev/null`])
          if (r.code !== 0) throw new Error(`tetractl events exited ${r.code}: ${r.stderr}`)
        }
        return N / ((await drained) / 1000)
      }
      // Warm-up of both (JIT, page cache), then alternate.
      await once('raw')
      await once('proto-loader')
      await once('ours')
      for (let i = 0; i < RUNS; i++) {
        raw.push(await once('raw'))
        loaded.push(await once('proto-loader'))
        ours.push(await once('ours'))
      }
      const ratio = median(ours) / median(raw)
      const ratioLoader = median(ours) / median(loaded)
      results.P4 = {
        events: N, runs: RUNS, eventBytes: 'fixture process_exec line 1 (~1.4 kB)',
        tetractlEventsPerSec: Math.round(median(ours)), rawGrpcEventsPerSec: Math.round(median(raw)), protoLoaderEventsPerSec: Math.round(median(loaded)),
        ratio, ratioVsProtoLoader: ratioLoader,
        all: {tetractl: ours.map(Math.round), raw: raw.map(Math.round), protoLoader: loaded.map(Math.round)}, target: '>= 0.8',
      }
      rows.push(['P4', `events/s: tetractl events -o json > /dev/null vs raw grpc-js, identity (${N / 1000}k, median of ${RUNS})`, `${Math.round(median(ours))} vs ${Math.round(median(raw))}`, `${ratio.toFixed(2)}x`, '>= 0.8x'])
      rows.push(['P4b', 'same, against a proto-loader client (decodes into objects)', `${Math.round(median(ours))} vs ${Math.round(median(loaded))}`, `${ratioLoader.toFixed(2)}x`, '(reference)'])
    } finally {
      await agent.stop()
    }
  },

  // P5: time from a probe command's exit (the exec returned to tetractl validate) to its process_exit event matched
  // on the gRPC stream of the probe node's agent, minus the lab's configured delay, for whoami, curl and cat over
  // several `tetractl validate --json` runs on `healthy` (built CLI, real sockets). Read from the report's evidence
  // (grpc.<cmd>.evidence.exit.afterExitMs). An event matched before the exec's close frame reached tetractl counts 0.
  P5: async ({results, rows, run, root, startLab, getScenario, median}) => {
    const {mkdtempSync, rmSync} = await import('node:fs')
    const {tmpdir} = await import('node:os')
    const RUNS = Number(process.env.P5_RUNS) || 5
    // The lab agent emits an exec's events when the process ends (src/lab/tetragon/in-cluster.ts exec observer):
    // no delay is configured between a process and its events, nor on the API (latencyMs 0).
    const labDelayMs = 0
    const raw = []
    const perCommand = {whoami: [], curl: [], cat: []}
    for (let i = 0; i < RUNS; i++) {
      const lab = await startLab(getScenario('healthy'))
      const dir = mkdtempSync(join(tmpdir(), 'tetractl-bench-p5-'))
      try {
        await lab.writeFiles(dir)
        const r = await run(process.execPath, [join(root, 'bin/run.js'), 'validate', '--json', '--es-timeout', '10s'], lab.env)
        const report = JSON.parse(r.stdout)
        if (report.exitCode !== 0) throw new Error(`validate on healthy exited ${report.exitCode}: ${report.checks.filter((c) => c.status === 'fail').map((c) => c.id).join(', ')}`)
        for (const cmd of Object.keys(perCommand)) {
          const ms = report.checks.find((c) => c.id === `grpc.${cmd}`)?.evidence?.exit?.afterExitMs
          if (typeof ms !== 'number') throw new Error(`no process_exit timing for ${cmd}`)
          raw.push(ms)
          perCommand[cmd].push(Math.max(0, ms - labDelayMs))
        }
      } finally {
        await lab.stop()
        rmSync(dir, {recursive: true, force: true})
      }
    }
    const all = raw.map((x) => Math.max(0, x - labDelayMs)).sort((a, b) => a - b)
    const p95 = all[Math.min(all.length - 1, Math.ceil(all.length * 0.95) - 1)]
    results.P5 = {
      runs: RUNS, samples: all.length, labDelayMs, medianMs: median(all), p95Ms: p95, maxMs: all[all.length - 1],
      perCommandMedianMs: Object.fromEntries(Object.entries(perCommand).map(([k, v]) => [k, median(v)])), rawMs: raw, target: '<= 100 ms',
    }
    rows.push(['P5', `command exit -> its event matched on the gRPC stream, minus lab delay (${all.length} samples)`, `median ${median(all)} ms, p95 ${p95} ms`, `max ${all[all.length - 1]} ms`, '<= 100 ms'])
  },
}
