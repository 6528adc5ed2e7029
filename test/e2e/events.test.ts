// The built `tetractl events` against the lab (agents reached by port-forward) and against odd servers given with
// --tetragon-address.
import {readFileSync} from 'node:fs'
import http from 'node:http'
import net, {type AddressInfo} from 'node:net'
import tls from 'node:tls'
import {join} from 'node:path'

import * as grpc from '@grpc/grpc-js'
import {generate} from 'selfsigned'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'

import {startLab} from '../../src/lab/index.js'
import {getScenario} from '../../src/lab/scenarios.js'
import type {TetragonAgent} from '../../src/lab/tetragon/agent.js'
import {eventKeys, encodeEventJson, type JsonObject} from '../../src/tetragon/json.js'
import {decodeEventBytes} from '../../src/tetragon/reference-json.js'
import {protobuf} from '../../src/tetragon/proto.js'
import {FIXTURES, runCli, tempDir, type CliResult} from '../helpers.js'

type Lab = Awaited<ReturnType<typeof startLab>>

/** A fixture event without its capture's node_name and time: the agent that emits it fills in its own. */
const fixture = (file: string, line = 0): JsonObject => {
  const {node_name: _n, time: _t, ...ev} = JSON.parse(readFileSync(join(FIXTURES, 'tetragon-events', file), 'utf8').split('\n')[line]!)
  return ev
}
const CURL = fixture('process_exec.jsonl', 0) // curl https://ebpf.io/applications/#tetragon in default/xwing
const kubeSystem = (ev: JsonObject): JsonObject => {
  const e = structuredClone(ev)
  ;((e.process_exec as any).process.pod as any).namespace = 'kube-system'
  return e
}

const expectOneLine = (r: CliResult) => {
  const lines = r.stderr.trim().split('\n')
  expect(lines, r.stderr).toHaveLength(1)
  expect(lines[0]).toMatch(/^Error: /)
  expect(r.stderr).not.toMatch(/\n\s+at /)
}

/** Wait until some agent has a new GetEvents listener; returns it. */
async function streamOpened(lab: Lab, before: Map<string, number>, timeoutMs = 20_000): Promise<TetragonAgent> {
  const end = Date.now() + timeoutMs
  for (;;) {
    for (const [node, a] of lab.tetragon.agents) if (a.streamsOpened() > (before.get(node) ?? 0) && a.listenerCount() > 0) return a
    if (Date.now() > end) throw new Error('no GetEvents stream opened')
    await new Promise((r) => setTimeout(r, 20))
  }
}
const opened = (lab: Lab) => new Map([...lab.tetragon.agents].map(([n, a]) => [n, a.streamsOpened()]))

describe('tetractl events against the lab (port-forward to an agent pod)', () => {
  let lab: Lab
  let env: Record<string, string>
  beforeAll(async () => {
    lab = await startLab(getScenario('healthy')!)
    const dir = tempDir()
    await lab.writeFiles(dir)
    env = {KUBECONFIG: join(dir, 'kubeconfig')}
  })
  afterAll(() => lab?.stop())

  /** Run `tetractl events …`, emitting `events` on the agent that the CLI connected to once its stream is open. */
  async function eventsWith(args: string[], events: JsonObject[], opts: {node?: string} = {}): Promise<{res: CliResult; agent: TetragonAgent}> {
    const before = opened(lab)
    const run = runCli(['events', ...args], {env, timeoutMs: 60_000})
    const agent = await streamOpened(lab, before)
    if (opts.node) expect(agent.nodeName).toBe(opts.node)
    for (const e of events) agent.emit(e)
    return {res: await run, agent}
  }

  it('-o json --count N prints N lines in the JSON export form', async () => {
    const N = 25
    const {res, agent} = await eventsWith(['-o', 'json', '--count', String(N)], Array.from({length: N}, () => CURL))
    expect(res.code, res.stderr).toBe(0)
    const lines = res.stdout.trimEnd().split('\n')
    expect(lines).toHaveLength(N)
    const keys = eventKeys()
    for (const line of lines) {
      const ev = JSON.parse(line)
      const top = Object.keys(ev)
      // Exactly one event key, first, then node_name and time, in proto declaration order (protojson, cilium/tetragon v1.7.0 pkg/encoder/encoder.go); snake_case everywhere.
      expect(keys).toContain(top[0])
      expect(top.filter((k) => keys.includes(k))).toHaveLength(1)
      expect(ev.node_name).toBe(agent.nodeName)
      expect(ev.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/)
      expect(line).not.toMatch(/"[a-z]+[A-Z][A-Za-z]*":/)
    }
    const curl = lines.map((l) => JSON.parse(l)).filter((e) => e.process_exec?.process?.binary === '/usr/bin/curl')
    expect(curl.length).toBeGreaterThan(0)
    expect(curl[0].process_exec.process.pod).toMatchObject({namespace: 'default', name: 'xwing'})
    expect(curl[0].process_exec.process.exec_id).toBe((CURL.process_exec as any).process.exec_id)
    // The whole event as the fixture has it: every field through the wire → JSON transcoder.
    expect(curl[0].process_exec).toEqual(CURL.process_exec)
  })

  it('-o compact with filters: namespace, binary, type (like tetra getevents -o compact)', async () => {
    const exit = {process_exit: {process: (CURL.process_exec as any).process, parent: (CURL.process_exec as any).parent}}
    const {res} = await eventsWith(
      ['-o', 'compact', '--event-namespace', 'default', '--binary', 'curl$', '--type', 'PROCESS_EXEC,PROCESS_EXIT', '--count', '2'],
      [kubeSystem(CURL), CURL, exit],
    )
    expect(res.code, res.stderr).toBe(0)
    expect(res.stdout.split('\n').filter(Boolean)).toEqual([
      '🚀 process default/xwing /usr/bin/curl https://ebpf.io/applications/#tetragon',
      '💥 exit    default/xwing /usr/bin/curl https://ebpf.io/applications/#tetragon 0',
    ])
  })

  it('--pod regex and --type PROCESS_KPROBE: a tcp_connect line; other pods and types are dropped', async () => {
    const proc = {...(CURL.process_exec as any).process}
    const connect = {
      process_kprobe: {
        process: proc,
        function_name: 'tcp_connect',
        args: [{sock_arg: {family: 'AF_INET', type: 'SOCK_STREAM', protocol: 'IPPROTO_TCP', saddr: '10.244.0.6', daddr: '104.198.14.52', sport: 34965, dport: 80}}],
        action: 'KPROBE_ACTION_POST',
        policy_name: 'connect',
      },
    }
    const other = structuredClone(connect)
    ;(other.process_kprobe.process as any).pod = {...proc.pod, name: 'tiefighter'}
    const {res} = await eventsWith(['-o', 'compact', '--pod', '^xw', '--type', 'process_kprobe', '--count', '1'], [other, CURL, connect])
    expect(res.code, res.stderr).toBe(0)
    expect(res.stdout).toBe('🔌 connect default/xwing /usr/bin/curl tcp 10.244.0.6:34965 -> 104.198.14.52:80\n')
  })

  it('--node picks that node\'s agent', async () => {
    const {res} = await eventsWith(['--node', 'node-2', '--count', '1', '--binary', 'curl'], [CURL], {node: 'node-2'})
    expect(res.code, res.stderr).toBe(0)
    expect(JSON.parse(res.stdout).node_name).toBe('node-2')
  })

  it('--node with no agent there → exit 2, one line naming the nodes', async () => {
    const res = await runCli(['events', '--node', 'nope'], {env})
    expect(res.code).toBe(2)
    expectOneLine(res)
    expect(res.stderr).toMatch(/No Tetragon agent pod on node "nope".*node-1/)
  })

  it('SIGINT mid-stream → stops cleanly, exit 130, what was printed is complete', async () => {
    const before = opened(lab)
    let pid = 0
    const run = runCli(['events', '-o', 'compact', '--binary', 'curl'], {env, onSpawn: (p) => (pid = p)})
    const agent = await streamOpened(lab, before)
    for (let i = 0; i < 5; i++) agent.emit(CURL)
    await new Promise((r) => setTimeout(r, 500))
    process.kill(pid, 'SIGINT')
    const res = await run
    expect(res.code).toBe(130)
    expect(res.stderr).not.toMatch(/\n\s+at /)
    const lines = res.stdout.split('\n').filter(Boolean)
    expect(lines.length).toBe(5)
    for (const l of lines) expect(l).toMatch(/^🚀 process default\/xwing \/usr\/bin\/curl /)
  })

  it.each([
    [['--pod', '(['], /Invalid --pod regular expression/],
    [['--type', 'PROCESS_NOPE'], /Unknown --type PROCESS_NOPE/],
    [['-o', 'yaml'], /Expected --output=yaml to be one of: json, compact/],
    [['--count', '0'], /count/],
  ])('bad input %j → exit 2, one line', async (args, pattern) => {
    const res = await runCli(['events', ...args], {env})
    expect(res.code).toBe(2)
    expectOneLine(res)
    expect(res.stderr).toMatch(pattern)
  })
})

describe('tetractl events when gRPC is a unix socket in the cluster', () => {
  it('exit 3, one line that names the socket and the tetra alternative', async () => {
    const lab = await startLab(getScenario('grpc-unix-socket')!)
    try {
      const dir = tempDir()
      await lab.writeFiles(dir)
      const res = await runCli(['events', '--count', '1'], {env: {KUBECONFIG: join(dir, 'kubeconfig')}})
      expect(res.code).toBe(3)
      expectOneLine(res)
      expect(res.stderr).toMatch(/unix socket \/var\/run\/tetragon\/tetragon\.sock; a port-forward cannot reach it.*tetra getevents/)
    } finally {
      await lab.stop()
    }
  })
})

describe('tetractl events --tetragon-address against servers that are not a healthy agent', () => {
  const cleanups: Array<() => unknown> = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })
  async function listen(server: net.Server): Promise<number> {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    cleanups.push(() => new Promise((r) => server.close(() => r(undefined))))
    return (server.address() as AddressInfo).port
  }
  /** A grpc-js server with a hand-written GetEvents (identity codecs). */
  async function grpcServer(getEvents: grpc.handleServerStreamingCall<Buffer, Buffer>, opts: grpc.ServerOptions = {}): Promise<string> {
    const id = (b: Buffer) => b
    const server = new grpc.Server(opts)
    server.addService(
      {GetEvents: {path: '/tetragon.FineGuidanceSensors/GetEvents', requestStream: false, responseStream: true, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id}},
      {GetEvents: getEvents as grpc.UntypedHandleCall},
    )
    const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))))
    cleanups.push(() => server.forceShutdown())
    return `127.0.0.1:${port}`
  }
  const ev = (i: number) => Buffer.from(encodeEventJson({process_exec: {process: {binary: '/bin/true', pid: i}}, node_name: 'n'}))
  const events = (address: string, extra: string[] = []) => runCli(['events', '--tetragon-address', address, '--grpc-timeout', '1s', ...extra], {timeoutMs: 30_000})

  it.each([['localhost'], ['http://tetragon:54321'], ['unix://relative.sock'], ['[::1:54321']])('malformed --tetragon-address %j → exit 2', async (address) => {
    const res = await events(address)
    expect(res.code).toBe(2)
    expectOneLine(res)
    expect(res.stderr).toMatch(/Invalid --tetragon-address/)
  })

  it('nothing listening → exit 3, connection refused', async () => {
    const port = await listen(net.createServer())
    cleanups.pop()!() // close it again: the port is now free
    await new Promise((r) => setTimeout(r, 50))
    const res = await events(`127.0.0.1:${port}`)
    expect(res.code).toBe(3)
    expectOneLine(res)
    expect(res.stderr).toMatch(/connection refused/)
  })

  it('a TLS-only server on the port → exit 3, names TLS', async () => {
    const pems = await generate([{name: 'commonName', value: 'localhost'}], {keySize: 2048} as any)
    const port = await listen(tls.createServer({key: pems.private, cert: pems.cert}, (s) => s.on('error', () => {})))
    const res = await events(`127.0.0.1:${port}`)
    expect(res.code).toBe(3)
    expectOneLine(res)
    expect(res.stderr).toMatch(/requires TLS/)
  })

  it('a plain HTTP server on the port (e.g. metrics :2112) → exit 3, not gRPC', async () => {
    const port = await listen(http.createServer((_q, r) => r.end('# HELP\n')))
    const res = await events(`127.0.0.1:${port}`)
    expect(res.code).toBe(3)
    expectOneLine(res)
    expect(res.stderr).toMatch(/not a gRPC server/)
  })

  it('a server that never answers → bounded by --grpc-timeout, exit 3', async () => {
    const sockets: net.Socket[] = []
    const port = await listen(net.createServer((s) => sockets.push(s)))
    cleanups.push(() => sockets.forEach((s) => s.destroy()))
    const res = await events(`127.0.0.1:${port}`)
    expect(res.code).toBe(3)
    expectOneLine(res)
    expect(res.stderr).toMatch(/never answered|sent nothing|no connection within|deadline/)
  })

  it('-o json: messages the fast transcoder declines print through the reference decoder; unknown types are skipped', async () => {
    const w = () => protobuf.Writer.create()
    // A type our proto does not know (field 99 of GetEventsResponse): no event key → skipped, counted on stderr.
    const unknownType = w().uint32((99 << 3) | 2).bytes(new Uint8Array([8, 1])).uint32((1000 << 3) | 2).string('n').finish()
    // A time before 1970 and two members of the event oneof: the transcoder hands both to the reference.
    const beforeEpoch = encodeEventJson({process_exit: {status: 7}, node_name: 'n', time: '1969-07-20T20:17:40Z'})
    const twoMembers = w().uint32((1 << 3) | 2).bytes(new Uint8Array()).uint32((5 << 3) | 2).bytes(new Uint8Array()).finish()
    const address = await grpcServer((call) => {
      for (const b of [ev(1), unknownType, beforeEpoch, twoMembers, ev(2)]) call.write(Buffer.from(b))
    })
    const res = await events(address, ['-o', 'json', '--count', '4'])
    expect(res.code, res.stderr).toBe(0)
    const lines = res.stdout.trimEnd().split('\n')
    expect(lines).toEqual([
      JSON.stringify(decodeEventBytes(ev(1))),
      JSON.stringify(decodeEventBytes(Buffer.from(beforeEpoch))),
      JSON.stringify(decodeEventBytes(Buffer.from(twoMembers))),
      JSON.stringify(decodeEventBytes(ev(2))),
    ])
    expect(JSON.parse(lines[1]!)).toEqual({process_exit: {status: 7}, node_name: 'n', time: '1969-07-20T20:17:40Z'})
    expect(res.stderr).toMatch(/skipped 1 event of a type tetractl's proto does not know/)
  })

  it('-o json --type: only that type, also when the agent ignores the filter (checked again here)', async () => {
    const exit = (status: number) => Buffer.from(encodeEventJson({process_exit: {process: {binary: '/bin/false'}, status}, node_name: 'n'}))
    // A time before 1970: this exit goes through the reference decoder, and is filtered there just the same.
    const oldExit = Buffer.from(encodeEventJson({process_exit: {status: 3}, node_name: 'n', time: '1969-07-20T20:17:40Z'}))
    const address = await grpcServer((call) => {
      for (const b of [ev(1), exit(1), ev(2), oldExit, exit(2)]) call.write(b)
    })
    const res = await events(address, ['-o', 'json', '--type', 'PROCESS_EXIT', '--count', '3'])
    expect(res.code, res.stderr).toBe(0)
    expect(res.stdout.trimEnd().split('\n')).toEqual([exit(1), oldExit, exit(2)].map((b) => JSON.stringify(decodeEventBytes(b))))
    expect(res.stderr).toBe('')
  })

  it('a server that closes the stream mid-way → the printed events, then one line, exit 1', async () => {
    const address = await grpcServer((call) => {
      for (let i = 1; i <= 3; i++) call.write(ev(i))
      // What grpc-go sends when the agent's stream is torn down (RST_STREAM with INTERNAL).
      setTimeout(() => call.emit('error', {code: grpc.status.INTERNAL, details: 'stream terminated by RST_STREAM'}), 50)
    })
    const res = await events(address, ['-o', 'json'])
    expect(res.stdout.trimEnd().split('\n')).toHaveLength(3)
    expect(res.code).toBe(1)
    expectOneLine(res)
    expect(res.stderr).toMatch(/stream broke after 3 events/)
  })

  it('an oversized message → exit 1, names the 10 MiB receive limit', async () => {
    const big = Buffer.from(encodeEventJson({process_exec: {process: {binary: '/bin/true', arguments: 'x'.repeat(11 * 1024 * 1024)}}}))
    const address = await grpcServer((call) => {
      call.write(big)
    }, {'grpc.max_send_message_length': -1})
    const res = await events(address)
    expect(res.code).toBe(1)
    expectOneLine(res)
    expect(res.stderr).toMatch(/exceeds the 10 MiB receive limit/)
  })
})
