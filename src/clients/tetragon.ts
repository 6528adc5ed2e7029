// The only module that talks to a Tetragon agent's gRPC API (tetragon.FineGuidanceSensors,
// registered in cilium/tetragon v1.7.0 cmd/tetragon/main.go Serve). Imported lazily from command run()s:
// it loads grpc-js and protobufjs.
//
// All calls go through grpc-js method definitions with raw bytes: requests are encoded from JSON with protobufjs
// (src/tetragon/json.ts); responses are decoded by the wire transcoder (src/tetragon/wire-json.ts) and, for what it
// declines, by the reference decoder (src/tetragon/reference-json.ts, loaded only then). Raw bytes also let GetEvents
// report fields our proto does not know (src/tetragon/schema.ts).

import net from 'node:net'
import tls from 'node:tls'
import * as grpc from '@grpc/grpc-js'

import {ExitCode} from '../engine/exit-codes.js'
import {UserError} from '../engine/errors.js'
import {encodeJson, type JsonObject, type JsonValue, type TetragonEventJson} from '../tetragon/json.js'
import {lookupType, type ApiVariant, type Type} from '../tetragon/proto.js'
import {inspectEventBytes, type SchemaInspection} from '../tetragon/schema.js'
import {NeedsReference, transcoder, type Transcoder} from '../tetragon/wire-json.js'

/** `tetra --max-recv-size` default, DefaultMaxGRPCRecvMsgSize, 10 MiB (cilium/tetragon v1.7.0 pkg/defaults/defaults.go). */
export const MAX_RECEIVE_BYTES = 10 * 1024 * 1024

const SERVICE = '/tetragon.FineGuidanceSensors'

// ---- Addresses ------------------------------------------------------------------------------------

export type ParsedAddress =
  | {kind: 'tcp'; host: string; port: number; target: string; display: string}
  | {kind: 'unix'; path: string; target: string; display: string}

const ACCEPTED = 'expected host:port (e.g. localhost:54321) or unix:///absolute/path (e.g. unix:///var/run/tetragon/tetragon.sock)'

/**
 * Validate a `--tetragon-address`. Accepted: `host:port`, `[ipv6]:port`, `unix:///absolute/path`
 * (the agent's listen forms, cilium/tetragon v1.7.0 pkg/server/addr.go SplitListenAddr, without the listen-only shorthands `:port` and bare `host`).
 */
export function parseTetragonAddress(address: string, flag = '--tetragon-address'): ParsedAddress {
  const bad = (why: string) =>
    new UserError(`Invalid ${flag} ${JSON.stringify(address)}: ${why}; ${ACCEPTED}.`, undefined, ExitCode.USAGE)
  const a = address.trim()
  if (a === '') throw bad('empty')
  if (a.startsWith('unix:')) {
    const path = a.startsWith('unix://') ? a.slice('unix://'.length) : a.slice('unix:'.length)
    if (!path.startsWith('/')) throw bad('a unix socket path must be absolute (three slashes: unix:///path)')
    if (/\s/.test(path)) throw bad('whitespace in the socket path')
    return {kind: 'unix', path, target: `unix://${path}`, display: `unix://${path}`}
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(a)) throw bad(`unsupported scheme "${a.slice(0, a.indexOf(':'))}://" (Tetragon serves plaintext gRPC, not a URL)`)
  let host: string
  let portText: string
  const v6 = /^\[([0-9a-fA-F:.%a-zA-Z]+)\]:(\d*)$/.exec(a)
  if (v6) {
    host = v6[1]!
    portText = v6[2]!
    if (net.isIPv6(host.replace(/%.*$/, '')) === false) throw bad(`"${host}" is not an IPv6 address`)
  } else {
    const i = a.lastIndexOf(':')
    if (i < 0) throw bad('missing :port')
    host = a.slice(0, i)
    portText = a.slice(i + 1)
    if (host.includes(':')) throw bad('IPv6 addresses need brackets, e.g. [::1]:54321')
    if (host === '') throw bad('missing host (":port" is a listen address; dial e.g. localhost:54321)')
    if (!/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/.test(host)) throw bad(`"${host}" is not a valid host name`)
  }
  if (!/^\d{1,5}$/.test(portText) || +portText < 1 || +portText > 65535) throw bad(`port ${JSON.stringify(portText)} is not 1-65535`)
  const port = +portText
  const hostPart = v6 ? `[${host}]` : host
  return {kind: 'tcp', host, port, target: `${hostPart}:${port}`, display: `${hostPart}:${port}`}
}

// ---- Errors ---------------------------------------------------------------------------------------

export type TetragonErrorKind =
  | 'refused' // nothing listens on the TCP port
  | 'no-socket' // the unix socket does not exist
  | 'permission' // the unix socket exists but we may not connect
  | 'unreachable' // routing, DNS, timeout during TCP connect
  | 'not-grpc' // something answers, but HTTP/1.x or otherwise not gRPC
  | 'tls-only' // the server wants TLS
  | 'silent' // accepts TCP, never speaks
  | 'unavailable' // UNAVAILABLE with no more precise cause
  | 'deadline' // DEADLINE_EXCEEDED
  | 'too-large' // RESOURCE_EXHAUSTED: message over the receive limit
  | 'stream-closed' // GetEvents ended or broke after it started
  | 'unimplemented' // the agent lacks the RPC
  | 'rpc-error' // any other gRPC status

const CONNECTION_KINDS = new Set<TetragonErrorKind>(['refused', 'no-socket', 'permission', 'unreachable', 'not-grpc', 'tls-only', 'silent', 'unavailable', 'deadline'])

/** One-line, user-facing Tetragon client error. Connection-level kinds exit 3 (unreachable). */
export class TetragonError extends UserError {
  constructor(
    readonly kind: TetragonErrorKind,
    message: string,
    readonly address: string,
    readonly grpcCode?: number,
    tryMessage?: string,
  ) {
    super(message, tryMessage, CONNECTION_KINDS.has(kind) ? ExitCode.UNREACHABLE : ExitCode.FINDINGS)
    this.name = 'TetragonError'
  }
}

// ---- Endpoint probing (why did gRPC fail?) ---------------------------------------------------------

export type ProbeResult =
  | {kind: 'refused' | 'no-socket' | 'permission' | 'unreachable'; detail: string}
  | {kind: 'http1'; detail: string}
  | {kind: 'tls'; detail: string}
  | {kind: 'h2'; detail: string}
  | {kind: 'silent' | 'closed'; detail: string}

const H2_PREFACE = Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])])

function connectOpts(a: ParsedAddress): net.NetConnectOpts {
  return a.kind === 'unix' ? {path: a.path} : {host: a.host, port: a.port}
}

/** Open a raw connection, send an HTTP/2 preface and classify the first answer. */
export async function probeEndpoint(address: string | ParsedAddress, timeoutMs = 2000): Promise<ProbeResult> {
  const a = typeof address === 'string' ? parseTetragonAddress(address) : address
  const first = await new Promise<ProbeResult>((resolve) => {
    const sock = net.connect(connectOpts(a))
    let settled = false
    const done = (r: ProbeResult) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      sock.destroy()
      resolve(r)
    }
    let connected = false
    const timer = setTimeout(
      () => done(connected ? {kind: 'silent', detail: `accepted the connection but sent nothing within ${timeoutMs} ms`} : {kind: 'unreachable', detail: `no TCP connection within ${timeoutMs} ms`}),
      timeoutMs,
    )
    sock.once('connect', () => {
      connected = true
      sock.write(H2_PREFACE)
    })
    sock.once('data', (chunk: Buffer) => {
      const text = chunk.subarray(0, 64).toString('latin1')
      if (text.startsWith('HTTP/')) done({kind: 'http1', detail: `answers ${text.split('\r\n')[0]}`})
      else if (chunk[0] === 0x15 || chunk[0] === 0x16) done({kind: 'tls', detail: 'answered with a TLS record'})
      else if (chunk.length >= 9 && (chunk[3] === 0x04 || chunk[3] === 0x07)) done({kind: 'h2', detail: 'speaks HTTP/2'})
      else done({kind: 'closed', detail: `answered ${chunk.length} unrecognised bytes`})
    })
    sock.once('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? ''
      if (code === 'ECONNREFUSED') done({kind: 'refused', detail: 'connection refused'})
      else if (code === 'ENOENT') done({kind: 'no-socket', detail: `socket ${a.kind === 'unix' ? a.path : ''} does not exist`})
      else if (code === 'EACCES' || code === 'EPERM') done({kind: 'permission', detail: 'permission denied'})
      else if (code === 'ECONNRESET' || code === 'EPIPE') done({kind: 'closed', detail: 'connection reset'})
      else done({kind: 'unreachable', detail: `${code || err.message}`})
    })
    sock.once('close', () => done({kind: 'closed', detail: 'closed the connection without answering'}))
  })
  if (first.kind !== 'closed' || a.kind !== 'tcp') return first
  // A TLS server may drop a plaintext preface silently: try a handshake.
  const isTls = await new Promise<boolean>((resolve) => {
    const s = tls.connect({host: a.host, port: a.port, rejectUnauthorized: false, ALPNProtocols: ['h2'], servername: net.isIP(a.host) ? undefined : a.host})
    const t = setTimeout(() => {
      s.destroy()
      resolve(false)
    }, timeoutMs)
    s.once('secureConnect', () => {
      clearTimeout(t)
      s.destroy()
      resolve(true)
    })
    s.once('error', () => {
      clearTimeout(t)
      resolve(false)
    })
  })
  return isTls ? {kind: 'tls', detail: 'completes a TLS handshake'} : first
}

function describeProbe(addr: string, p: ProbeResult, fallback: string): {kind: TetragonErrorKind; message: string; hint?: string} {
  switch (p.kind) {
    case 'refused':
      return {kind: 'refused', message: `Tetragon gRPC ${addr}: connection refused (nothing listens there).`, hint: 'Check the agent\'s server-address (ConfigMap tetragon-config): localhost-only, a unix socket, or gRPC disabled.'}
    case 'no-socket':
      return {kind: 'no-socket', message: `Tetragon gRPC ${addr}: the socket does not exist.`, hint: 'Is the agent running with this server-address, and is the directory mounted here?'}
    case 'permission':
      return {kind: 'permission', message: `Tetragon gRPC ${addr}: permission denied (the socket is mode 0660, root only).`, hint: 'Run as root or with the socket\'s group.'}
    case 'unreachable':
      return {kind: 'unreachable', message: `Tetragon gRPC ${addr}: unreachable (${p.detail}).`}
    case 'http1':
      return {kind: 'not-grpc', message: `Tetragon gRPC ${addr}: not a gRPC server, it ${p.detail}.`, hint: 'Wrong port? (metrics are on 2112, gRPC on 54321 by default)'}
    case 'tls':
      return {kind: 'tls-only', message: `Tetragon gRPC ${addr}: the server requires TLS (it ${p.detail}); Tetragon up to v1.7.0 serves plaintext gRPC only.`, hint: 'Point tetractl at the agent itself, not at a TLS proxy.'}
    case 'silent':
      return {kind: 'silent', message: `Tetragon gRPC ${addr}: ${p.detail}; not a gRPC server.`}
    case 'closed':
      return {kind: 'not-grpc', message: `Tetragon gRPC ${addr}: not a gRPC server (it ${p.detail}).`}
    case 'h2':
      return {kind: 'unavailable', message: `Tetragon gRPC ${addr}: ${fallback}`}
  }
}

// ---- Client ---------------------------------------------------------------------------------------

export interface TetragonTarget {
  /** `host:port` or `unix:///path` */
  address: string
}

export interface TetragonConnectOptions {
  /** Deadline of every unary call and of connection set-up for streams. */
  timeoutMs: number
  /** Default 10 MiB like `tetra --max-recv-size` (cilium/tetragon v1.7.0 pkg/defaults/defaults.go). */
  maxReceiveBytes?: number
  /** Flag named in address errors (default `--tetragon-address`). */
  flag?: string
}

export interface TetragonStreamEvent {
  /** Decoded in the JSON export's form (protojson, proto field names; cilium/tetragon v1.7.0 pkg/encoder/encoder.go);
   * `{}` when the bytes could not be decoded (see unknown.decodeError). */
  json: TetragonEventJson
  /** The GetEventsResponse bytes as received. */
  raw: Buffer
  /** What our proto does not know in these bytes. */
  unknown: SchemaInspection
}

export type HealthStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN'

export interface TetragonClient {
  readonly address: string
  /** GetVersion (all versions): e.g. `v1.7.0`. */
  getVersion(): Promise<string>
  /** GetHealth: JSON form of GetHealthStatusResponse (the agent always answers RUNNING). */
  getHealth(): Promise<JsonObject>
  /** GetInfo (v1.7.0+); `undefined` when the agent answers UNIMPLEMENTED (older agent). */
  getInfo(): Promise<JsonObject | undefined>
  /** ListTracingPolicies (v0.9.0+): JSON form of each TracingPolicyStatus. */
  listTracingPolicies(): Promise<JsonObject[]>
  /** AddTracingPolicy (all versions): `yaml` is a TracingPolicy or TracingPolicyNamespaced document. */
  addTracingPolicy(yaml: string): Promise<void>
  /** DeleteTracingPolicy (v0.11.0+; `namespace` honoured since v1.2.0). */
  deleteTracingPolicy(name: string, namespace?: string): Promise<void>
  /** grpc.health.v1 Check of `service` on `address` (default: the health server shares this address). */
  health(service?: string, address?: string): Promise<HealthStatus>
  /** GetEvents live stream. Ends quietly when `signal` aborts; throws TetragonError otherwise. */
  /**
   * `inspect: false` skips the per-event walk for unknown fields (the schema check needs it; printing
   * events does not, and it costs more than decoding).
   */
  getEvents(request?: JsonObject, opts?: StreamOptions): AsyncGenerator<TetragonStreamEvent, void, undefined>
  /**
   * The same stream, as arrays of whatever arrived since the last read: one async step per batch instead
   * of per event (what `tetractl events` uses; per-event iteration costs more than decoding).
   */
  getEventBatches(request?: JsonObject, opts?: StreamOptions): AsyncGenerator<TetragonStreamEvent[], void, undefined>
  /** The same stream undecoded: each GetEventsResponse's bytes as received (`tetractl events -o json` transcodes them). */
  getRawEventBatches(request?: JsonObject, opts?: Omit<StreamOptions, 'inspect'>): AsyncGenerator<Buffer[], void, undefined>
  close(): void
}

export interface StreamOptions {
  signal?: AbortSignal
  inspect?: boolean
  /**
   * The proto the agent speaks (apiVariantFor of its GetVersion): encodes the request and decodes the events.
   * Default `current` (v1.7.0).
   */
  variant?: ApiVariant
}

/** GetInfoResponse.conf → {key: bare value} (values are Any-wrapped StringValue/BoolValue/Int64Value/ListValue,
 * cilium/tetragon v1.7.0 pkg/tetragoninfo/info.go). */
export function infoConfig(info: JsonObject): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {}
  for (const c of (info.conf as JsonObject[] | undefined) ?? []) {
    const v = c.value as JsonObject | undefined
    out[String(c.key)] = v && typeof v === 'object' && 'value' in v ? v.value! : null
  }
  return out
}

const identity = (b: Buffer) => b
const FLOW_CONTROL_WINDOW = 4 * 1024 * 1024

/**
 * Protobuf bytes → JSON export form: the transcoder's text parsed, or the reference decoder's object for a message the
 * transcoder declines (both give the same JSON, test/tetragon/wire-json.test.ts). One per client: transcoders keep
 * their buffers per instance.
 */
class ResponseDecoder {
  private transcoders = new Map<Type, Transcoder>()
  private reference: typeof import('../tetragon/reference-json.js') | undefined

  /** The transcoder's object, or undefined when it declines the message. */
  private fast(type: Type, bytes: Buffer): JsonObject | undefined {
    let tc = this.transcoders.get(type)
    if (!tc) {
      tc = transcoder(type)
      this.transcoders.set(type, tc)
    }
    if (!tc.supported) return undefined
    try {
      return JSON.parse(tc.toText(bytes)) as JsonObject
    } catch (e) {
      if (e instanceof NeedsReference) return undefined
      throw e
    }
  }

  private async byReference(type: Type, bytes: Buffer): Promise<JsonObject> {
    this.reference ??= await import('../tetragon/reference-json.js')
    return this.reference.decodeToJson(type, bytes)
  }

  async decode(type: Type, bytes: Buffer): Promise<JsonObject> {
    return this.fast(type, bytes) ?? (await this.byReference(type, bytes))
  }

  /**
   * One GetEventsResponse's bytes → its JSON export form and, with `inspect`, what our proto does not know in it.
   * Synchronous unless the reference decoder has to be loaded (no await per event on the stream).
   */
  streamEvent(raw: Buffer, inspect: boolean, variant: ApiVariant = 'current'): TetragonStreamEvent | Promise<TetragonStreamEvent> {
    const unknown: SchemaInspection = inspect ? inspectEventBytes(raw, variant) : {unknownFields: [], anomalies: [], clean: true}
    const failed = (e: unknown): TetragonStreamEvent => {
      unknown.decodeError = (e as Error).message
      unknown.clean = false
      return {json: {}, raw, unknown}
    }
    if (unknown.decodeError) return {json: {}, raw, unknown}
    const type = lookupType('tetragon.GetEventsResponse', variant)
    let json: JsonObject | undefined
    try {
      json = this.fast(type, raw)
    } catch (e) {
      return failed(e)
    }
    if (json) return {json, raw, unknown}
    return this.byReference(type, raw).then((j) => ({json: j, raw, unknown}), failed)
  }
}

function channelOptions(maxReceiveBytes: number): grpc.ChannelOptions {
  return {
    // grpc-js honours *_proxy even for 127.0.0.1 (measured with @grpc/grpc-js 1.14); grpc.enable_http_proxy: 0 stops it.
    'grpc.enable_http_proxy': 0,
    'grpc.max_receive_message_length': maxReceiveBytes,
    // Fail fast on refused connections instead of backing off for the whole deadline.
    'grpc.initial_reconnect_backoff_ms': 200,
    'grpc.max_reconnect_backoff_ms': 1000,
    // HTTP/2 flow-control window for the connection and each stream. grpc-js keeps the 64 KiB default unless told
    // (transport.js reads this option); grpc-go clients such as tetra grow theirs by BDP estimation. With 64 KiB, an
    // agent streaming events stalls every ~45 events until we acknowledge; 4 MiB lets it send while we print.
    'grpc-node.flow_control_window': FLOW_CONTROL_WINDOW,
  }
}

export function connectTetragon(target: TetragonTarget, opts: TetragonConnectOptions): TetragonClient {
  const parsed = parseTetragonAddress(target.address, opts.flag)
  const timeoutMs = opts.timeoutMs
  const maxReceive = opts.maxReceiveBytes ?? MAX_RECEIVE_BYTES
  const client = new grpc.Client(parsed.target, grpc.credentials.createInsecure(), channelOptions(maxReceive))
  const healthClients = new Map<string, grpc.Client>()
  const addr = parsed.display
  const decoder = new ResponseDecoder()

  async function mapError(err: grpc.ServiceError | Error, method: string): Promise<TetragonError> {
    const e = err as grpc.ServiceError
    const code = e.code
    const details = (e.details || e.message || '').split('\n')[0]!
    if (code === grpc.status.UNIMPLEMENTED) {
      return new TetragonError('unimplemented', `Tetragon ${addr} does not implement ${method} (older agent).`, addr, code)
    }
    if (code === grpc.status.RESOURCE_EXHAUSTED) {
      return new TetragonError('too-large', `Tetragon ${addr}: ${method} response exceeds the ${Math.round(maxReceive / 1024 / 1024 * 10) / 10} MiB receive limit (${details}).`, addr, code, 'The agent sent an oversized message; tetra has the same 10 MiB default (--max-recv-size).')
    }
    if (code === grpc.status.UNAVAILABLE || code === grpc.status.DEADLINE_EXCEEDED) {
      const p = await probeEndpoint(parsed, Math.min(2000, Math.max(200, timeoutMs)))
      const fallback =
        code === grpc.status.DEADLINE_EXCEEDED
          ? `no answer to ${method} within ${timeoutMs} ms (deadline exceeded).`
          : `unavailable (${details}).`
      if (p.kind === 'h2' || (code === grpc.status.DEADLINE_EXCEEDED && p.kind !== 'refused' && p.kind !== 'no-socket' && p.kind !== 'permission' && p.kind !== 'http1' && p.kind !== 'tls')) {
        return new TetragonError(code === grpc.status.DEADLINE_EXCEEDED ? 'deadline' : 'unavailable', `Tetragon gRPC ${addr}: ${fallback}${p.kind === 'silent' ? ' The server accepted the connection but never answered.' : ''}`, addr, code)
      }
      const d = describeProbe(addr, p, fallback)
      return new TetragonError(d.kind, d.message, addr, code, d.hint)
    }
    return new TetragonError('rpc-error', `Tetragon ${addr}: ${method} failed: ${grpc.status[code] ?? code} ${details}`.trim(), addr, code)
  }

  function unaryRaw(c: grpc.Client, path: string, reqTypeName: string, req: JsonObject): Promise<Buffer> {
    const reqType = lookupType(reqTypeName)
    return new Promise((resolve, reject) => {
      c.makeUnaryRequest<JsonObject, Buffer>(
        path,
        (r) => Buffer.from(encodeJson(reqType, r)),
        identity,
        req,
        new grpc.Metadata(),
        {deadline: Date.now() + timeoutMs},
        (err, value) => (err ? reject(err) : resolve(value!)),
      )
    })
  }

  async function unary(method: string, reqTypeName: string, resTypeName: string, req: JsonObject = {}): Promise<JsonObject> {
    let buf: Buffer
    try {
      buf = await unaryRaw(client, `${SERVICE}/${method}`, reqTypeName, req)
    } catch (e) {
      throw await mapError(e as grpc.ServiceError, method)
    }
    return decoder.decode(lookupType(resTypeName), buf)
  }

  function waitReady(c: grpc.Client, deadlineMs: number): Promise<void> {
    return new Promise((resolve, reject) => c.waitForReady(Date.now() + deadlineMs, (err) => (err ? reject(err) : resolve())))
  }

  return {
    address: addr,

    async getVersion() {
      const r = await unary('GetVersion', 'GetVersionRequest', 'GetVersionResponse')
      return String(r.version ?? '')
    },

    getHealth() {
      return unary('GetHealth', 'GetHealthStatusRequest', 'GetHealthStatusResponse')
    },

    async getInfo() {
      try {
        return await unary('GetInfo', 'GetInfoRequest', 'GetInfoResponse')
      } catch (e) {
        // GetInfo exists from v1.7.0; older agents answer UNIMPLEMENTED (added to cilium/tetragon api/v1/tetragon/sensors.proto in v1.7.0).
        if (e instanceof TetragonError && e.kind === 'unimplemented') return undefined
        throw e
      }
    },

    async listTracingPolicies() {
      const r = await unary('ListTracingPolicies', 'ListTracingPoliciesRequest', 'ListTracingPoliciesResponse')
      return (r.policies as JsonObject[] | undefined) ?? []
    },

    async addTracingPolicy(yaml: string) {
      await unary('AddTracingPolicy', 'AddTracingPolicyRequest', 'AddTracingPolicyResponse', {yaml})
    },

    async deleteTracingPolicy(name: string, namespace?: string) {
      await unary('DeleteTracingPolicy', 'DeleteTracingPolicyRequest', 'DeleteTracingPolicyResponse', {name, ...(namespace ? {namespace} : {})})
    },

    async health(service = 'liveness', address?: string) {
      let c = client
      let label = addr
      if (address !== undefined) {
        const hp = parseTetragonAddress(address, 'health address')
        label = hp.display
        c = healthClients.get(hp.target) ?? new grpc.Client(hp.target, grpc.credentials.createInsecure(), channelOptions(maxReceive))
        healthClients.set(hp.target, c)
      }
      let buf: Buffer
      try {
        buf = await unaryRaw(c, '/grpc.health.v1.Health/Check', 'grpc.health.v1.HealthCheckRequest', {service})
      } catch (e) {
        // grpc-go's health server answers NOT_FOUND for a service it does not know.
        if ((e as grpc.ServiceError).code === grpc.status.NOT_FOUND) return 'SERVICE_UNKNOWN'
        const mapped = await mapError(e as grpc.ServiceError, 'grpc.health.v1.Health/Check')
        throw new TetragonError(mapped.kind, mapped.message.replace(addr, label), label, mapped.grpcCode, mapped.tryMessage)
      }
      const json = await decoder.decode(lookupType('grpc.health.v1.HealthCheckResponse'), buf)
      return ((json.status as string | undefined) ?? 'UNKNOWN') as HealthStatus
    },

    async *getEvents(request: JsonObject = {}, o: StreamOptions = {}) {
      for await (const batch of this.getEventBatches(request, o)) yield* batch
    },

    async *getEventBatches(request: JsonObject = {}, o: StreamOptions = {}) {
      const inspect = o.inspect ?? true
      for await (const raws of this.getRawEventBatches(request, o)) {
        const batch: TetragonStreamEvent[] = new Array(raws.length)
        for (let i = 0; i < raws.length; i++) {
          const ev = decoder.streamEvent(raws[i]!, inspect, o.variant)
          batch[i] = ev instanceof Promise ? await ev : ev
        }
        yield batch
      }
    },

    async *getRawEventBatches(request: JsonObject = {}, o: Omit<StreamOptions, 'inspect'> = {}) {
      const signal = o.signal
      if (signal?.aborted) return
      // A live stream has no deadline; only connection set-up is bounded (GetEvents is live only, no replay).
      try {
        await waitReady(client, timeoutMs)
      } catch {
        const p = await probeEndpoint(parsed, Math.min(2000, Math.max(200, timeoutMs)))
        const d = describeProbe(addr, p, `no connection within ${timeoutMs} ms.`)
        throw new TetragonError(p.kind === 'h2' ? 'deadline' : d.kind, d.message, addr, grpc.status.UNAVAILABLE, d.hint)
      }
      // v0.8.0 numbers EventType differently: event_set names must be encoded with its enum (renumbered in v0.8.1).
      const reqType = lookupType('GetEventsRequest', o.variant)
      const call = client.makeServerStreamRequest<JsonObject, Buffer>(
        `${SERVICE}/GetEvents`,
        (r) => Buffer.from(encodeJson(reqType, r)),
        identity,
        request,
        new grpc.Metadata(),
        {},
      )
      // Flowing mode: queue messages as they arrive; pause the call (HTTP/2 flow control reaches the agent)
      // only when the reader falls HIGH events behind.
      const HIGH = 8192
      let pending: Buffer[] = []
      let ended = false
      let failure: grpc.ServiceError | undefined
      let wake: (() => void) | undefined
      const notify = () => {
        const w = wake
        wake = undefined
        w?.()
      }
      let n = 0
      // grpc-js hands over each message in its own microtask; waking the reader for each one would cost an async
      // step per event. Wake it once per turn of the event loop, with everything that arrived in that turn.
      let wakeScheduled = false
      const wakeSoon = () => {
        if (wakeScheduled) return
        wakeScheduled = true
        setImmediate(() => {
          wakeScheduled = false
          notify()
        })
      }
      call.on('data', (chunk: Buffer) => {
        n++
        pending.push(chunk)
        if (pending.length >= HIGH) call.pause()
        wakeSoon()
      })
      call.on('end', () => {
        ended = true
        notify()
      })
      call.on('error', (e: grpc.ServiceError) => {
        failure = e
        ended = true
        notify()
      })
      const onAbort = () => {
        call.cancel()
        notify()
      }
      signal?.addEventListener('abort', onAbort, {once: true})
      try {
        for (;;) {
          if (pending.length > 0) {
            const batch = pending
            pending = []
            if (call.isPaused()) call.resume()
            yield batch
            continue
          }
          if (signal?.aborted) return
          if (ended) break
          await new Promise<void>((resolve) => (wake = resolve))
        }
        if (signal?.aborted) return
        if (failure) {
          const err = failure
          // Before the first event, a failure is about the call itself (refused filters, UNIMPLEMENTED, the
          // connection); after it, the stream broke.
          if (err.code === grpc.status.RESOURCE_EXHAUSTED || (n === 0 && err.code !== grpc.status.CANCELLED && err.code !== grpc.status.INTERNAL)) {
            throw await mapError(err, 'GetEvents')
          }
          const details = (err.details || err.message || '').split('\n')[0]
          throw new TetragonError(
            'stream-closed',
            `Tetragon ${addr}: the event stream broke after ${n} event${n === 1 ? '' : 's'} (${grpc.status[err.code] ?? err.code}: ${details}).`,
            addr,
            err.code,
            'The agent restarted, a proxy or port-forward dropped the connection, or the agent closed the stream.',
          )
        }
        throw new TetragonError('stream-closed', `Tetragon ${addr}: the agent ended the event stream after ${n} event${n === 1 ? '' : 's'}; GetEvents is a live stream that should not end.`, addr, grpc.status.OK)
      } finally {
        signal?.removeEventListener('abort', onAbort)
        call.cancel()
      }
    },

    close() {
      client.close()
      for (const c of healthClients.values()) c.close()
    },
  }
}
