// The Tetragon client against things that are not a healthy Tetragon: each failure must be one clear line.
import http from 'node:http'
import net, {type AddressInfo} from 'node:net'
import tls from 'node:tls'
import * as grpc from '@grpc/grpc-js'
import {generate} from 'selfsigned'
import {afterEach, describe, expect, test} from 'vitest'
import {connectTetragon, parseTetragonAddress, TetragonError, type TetragonClient} from '../../src/clients/tetragon.js'
import {startTetragonAgent, type TetragonAgent} from '../../src/lab/tetragon/agent.js'
import {encodeEventJson} from '../../src/tetragon/json.js'
import {collect, tcpAddress, waitFor} from './helpers.js'

const cleanups: Array<() => unknown> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

function client(address: string, timeoutMs = 1000): TetragonClient {
  const c = connectTetragon({address}, {timeoutMs})
  cleanups.push(() => c.close())
  return c
}

async function failure(p: Promise<unknown>): Promise<TetragonError> {
  const e = await p.then(() => undefined, (x: unknown) => x)
  expect(e).toBeInstanceOf(TetragonError)
  const err = e as TetragonError
  if (process.env.SHOW_ERRORS) console.log(`[${err.kind}] ${err.message}${err.tryMessage ? ' | ' + err.tryMessage : ''}`)
  expect(err.message.split('\n')).toHaveLength(1)
  return err
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  cleanups.push(() => new Promise((r) => server.close(() => r(undefined))))
  return (server.address() as AddressInfo).port
}

/** A raw grpc-js server with a hand-written FineGuidanceSensors subset (identity codecs). */
async function rawServer(impl: {
  getVersion?: grpc.handleUnaryCall<Buffer, Buffer>
  getEvents?: grpc.handleServerStreamingCall<Buffer, Buffer>
}): Promise<string> {
  const id = (b: Buffer) => b
  const def = (name: string, responseStream: boolean) => ({
    path: `/tetragon.FineGuidanceSensors/${name}`, requestStream: false, responseStream,
    requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id,
  })
  const server = new grpc.Server()
  const d: Record<string, grpc.MethodDefinition<Buffer, Buffer>> = {}
  const h: Record<string, grpc.UntypedHandleCall> = {}
  if (impl.getVersion) ((d.GetVersion = def('GetVersion', false)), (h.GetVersion = impl.getVersion))
  if (impl.getEvents) ((d.GetEvents = def('GetEvents', true)), (h.GetEvents = impl.getEvents))
  server.addService(d, h)
  const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))))
  cleanups.push(() => server.forceShutdown())
  return `127.0.0.1:${port}`
}

const event = (i: number) => Buffer.from(encodeEventJson({process_exec: {process: {binary: '/bin/true', pid: i}}, node_name: 'n'}))

describe('address validation', () => {
  test.each([
    ['', /empty/],
    ['localhost', /missing :port/],
    [':54321', /missing host/],
    ['localhost:99999', /not 1-65535/],
    ['http://tetragon:54321', /unsupported scheme/],
    ['unix://var/run/tetragon.sock', /absolute/],
    ['::1:54321', /brackets/],
    ['bad host:1', /not a valid host/],
  ])('%j is rejected naming --tetragon-address', (address, why) => {
    expect(() => connectTetragon({address}, {timeoutMs: 100})).toThrow(/--tetragon-address/)
    expect(() => parseTetragonAddress(address)).toThrow(why)
    try {
      parseTetragonAddress(address)
    } catch (e) {
      expect((e as Error).message).toMatch(/host:port .*unix:\/\/\/absolute\/path/)
      expect((e as Error).message.split('\n')).toHaveLength(1)
    }
  })

  test.each(['localhost:54321', '10.0.0.1:54321', '[::1]:54321', 'tetragon-grpc.kube-system.svc.cluster.local:54321', 'unix:///var/run/tetragon/tetragon.sock'])('%s is accepted', (a) => {
    expect(parseTetragonAddress(a).display).toBe(a)
  })
})

describe('unreachable or wrong servers', () => {
  test('connection refused', async () => {
    const s = net.createServer()
    const port = await listen(s)
    await new Promise((r) => s.close(r))
    const e = await failure(client(`127.0.0.1:${port}`).getVersion())
    expect(e.kind).toBe('refused')
    expect(e.message).toMatch(/connection refused/)
    expect(e.exitCode).toBe(3)
  })

  test('missing unix socket', async () => {
    const e = await failure(client('unix:///tmp/tetractl-does-not-exist/tetragon.sock').getVersion())
    expect(e.kind).toBe('no-socket')
  })

  test('a plain HTTP/1.1 server on the port', async () => {
    const s = http.createServer((_q, r) => r.end('hello'))
    const port = await listen(s)
    const e = await failure(client(`127.0.0.1:${port}`).getVersion())
    expect(e.kind).toBe('not-grpc')
    expect(e.message).toMatch(/HTTP\/1\.1 \d{3}/)
  })

  test('a TLS-only server', async () => {
    const pems = await generate([{name: 'commonName', value: 'localhost'}])
    const s = tls.createServer({key: pems.private, cert: pems.cert, ALPNProtocols: ['h2']}, (sock) => sock.on('error', () => {}))
    s.on('tlsClientError', () => {})
    const port = await listen(s)
    const e = await failure(client(`127.0.0.1:${port}`).getVersion())
    expect(e.kind).toBe('tls-only')
    expect(e.message).toMatch(/requires TLS/)
  })

  test('a server that never answers is bounded by the deadline', async () => {
    const sockets: net.Socket[] = []
    const s = net.createServer((sock) => sockets.push(sock))
    const port = await listen(s)
    cleanups.push(() => sockets.forEach((x) => x.destroy()))
    const t0 = Date.now()
    const e = await failure(client(`127.0.0.1:${port}`, 500).getVersion())
    expect(['deadline', 'silent']).toContain(e.kind)
    expect(Date.now() - t0).toBeLessThan(4000)
    // The stream only bounds connection set-up.
    const t1 = Date.now()
    const it = client(`127.0.0.1:${port}`, 500).getEvents({})
    const se = await failure(it.next())
    expect(['deadline', 'silent', 'unavailable']).toContain(se.kind)
    expect(Date.now() - t1).toBeLessThan(4000)
  })
})

describe('broken streams and oversized messages', () => {
  test('the server closes the stream mid-way', async () => {
    const addr = await rawServer({
      getEvents: (call) => {
        for (let i = 0; i < 3; i++) call.write(event(i))
        setTimeout(() => call.emit('error', {code: grpc.status.INTERNAL, details: 'stream terminated by RST_STREAM'}), 20)
      },
    })
    const got: number[] = []
    const e = await failure(
      (async () => {
        for await (const ev of client(addr).getEvents({})) got.push((ev.json.process_exec as {process: {pid: number}}).process.pid)
      })(),
    )
    expect(got).toEqual([0, 1, 2])
    expect(e.kind).toBe('stream-closed')
    expect(e.message).toMatch(/broke after 3 events \(INTERNAL/)
  })

  test('the agent goes away mid-stream', async () => {
    const agent: TetragonAgent = await startTetragonAgent({version: 'v1.7.0', nodeName: 'n', serverAddress: ':54321', backgroundIntervalMs: 0})
    const c = client(tcpAddress(agent))
    const got: unknown[] = []
    const done = (async () => {
      for await (const ev of c.getEvents({})) {
        got.push(ev)
        if (got.length === 2) void agent.stop()
      }
    })()
    await waitFor(() => agent.listenerCount() === 1)
    agent.emit({process_exec: {process: {binary: '/a'}}})
    agent.emit({process_exec: {process: {binary: '/b'}}})
    const e = await failure(done)
    expect(e.kind).toBe('stream-closed')
    expect(got).toHaveLength(2)
  })

  test('the server ends the stream normally: still reported (GetEvents is live)', async () => {
    const addr = await rawServer({getEvents: (call) => (call.write(event(1)), call.end())})
    const e = await failure((async () => { for await (const _ of client(addr).getEvents({})) void _ })())
    expect(e.kind).toBe('stream-closed')
    expect(e.message).toMatch(/ended the event stream after 1 event/)
  })

  test('an event over the 10 MiB receive limit', async () => {
    const huge = Buffer.from(encodeEventJson({process_exec: {process: {binary: '/bin/x', arguments: 'a'.repeat(11 * 1024 * 1024)}}}))
    const addr = await rawServer({
      getEvents: (call) => (call.write(event(1)), call.write(huge)),
      getVersion: (_call, cb) => cb(null, huge),
    })
    const got: unknown[] = []
    const e = await failure((async () => { for await (const ev of client(addr).getEvents({})) got.push(ev) })())
    expect(got).toHaveLength(1)
    expect(e.kind).toBe('too-large')
    expect(e.message).toMatch(/10 MiB receive limit/)
    const u = await failure(client(addr).getVersion())
    expect(u.kind).toBe('too-large')
  })

  test('an aborted stream ends quietly', async () => {
    const agent = await startTetragonAgent({version: 'v1.7.0', nodeName: 'n', serverAddress: ':1', backgroundIntervalMs: 0})
    cleanups.push(() => agent.stop())
    const events = await collect(client(tcpAddress(agent)), agent, {}, () => void agent.emit({process_exec: {process: {binary: '/x'}}}), (ev) => ev.length === 1)
    expect(events).toHaveLength(1)
  })
})
