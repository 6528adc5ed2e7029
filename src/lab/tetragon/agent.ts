// A simulated Tetragon agent: the real gRPC API (our protos, grpc-js, real sockets), the standard health service,
// Prometheus metrics and the JSON export path, behaving per version as the upstream releases do. Lab only.

import {mkdtempSync, rmSync, chmodSync} from 'node:fs'
import http from 'node:http'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import path from 'node:path'
import * as grpc from '@grpc/grpc-js'

import {encodeJson, eventKind, jsonToMessage, type JsonObject, type JsonValue, type TetragonEventJson} from '../../tetragon/json.js'
import {decodeToJson} from '../../tetragon/reference-json.js'
import {isMapField, loadRoot, protobuf, type ApiVariant, type Root, type Type} from '../../tetragon/proto.js'
import {
  apiVariantFor, defaultExportAllowList, defaultExportDenyList, fieldExistsIn, hasRpc, inRange, MESSAGE_SINCE,
} from '../../tetragon/versions.js'
import {buildExecInPod, ProcessTable, type ExecInPodInfo} from './events.js'
import {compileFieldFilters, compileRequest, FilterError, type CompiledFieldFilters, type CompiledRequest} from './filters.js'
import {BACKGROUND_EVENT_LINES} from './fixture-events.js'
import {renderMetrics, V170_COMMIT, type DroppedCounts} from './metrics.js'
import {builtinPolicy, policyFromYaml, policyStatus, type LabPolicy} from './policies.js'

export type {ExecInPodInfo} from './events.js'
export type {DroppedCounts} from './metrics.js'

export interface TetragonAgentOptions {
  /** As GetVersion reports it, e.g. `v1.7.0`. Decides RPCs, fields, metric names and the wire numbering. */
  version: string
  nodeName: string
  /** ConfigMap `server-address`: 'host:port', 'localhost:port', ':port', 'unix:///…', or '' (gRPC disabled). */
  serverAddress: string
  /** Health server port (Tetragon default 6789); 0/undefined = ephemeral; null = no health server. */
  healthPort?: number | null
  /** Metrics port (Helm default 2112); 0/undefined = ephemeral; null = metrics disabled (standalone default). */
  metricsPort?: number | null
  policies?: Array<'network' | 'file'>
  /** Behave like an agent newer than tetractl's proto: extra field numbers and an extra event type. */
  schemaDrift?: boolean
  dropped?: DroppedCounts
  /** The `liveness` health service answers NOT_SERVING. */
  livenessFailing?: boolean
  /** `--cluster-name` (cluster_name in events since v1.3.0). */
  clusterName?: string
  /** `--event-queue-size`, default 10000. */
  eventQueueSize?: number
  /** Replay real fixture events every N ms so streams are never empty; 0 = off. Default 1000. */
  backgroundIntervalMs?: number
  /**
   * `export-filename`: the chart's /var/run/cilium/tetragon/tetragon.log by default; `''` disables the JSON export,
   * as for a bare binary or container image (`--export-filename` default `""`: no export file).
   */
  exportFilename?: string
  /** Export filters as the agent reads them (`export-allowlist` / `export-denylist`); default: the chart's. */
  exportAllowList?: JsonObject[]
  exportDenyList?: JsonObject[]
  /** Override GetInfo conf values (v1.7.0+). */
  config?: Record<string, string | number | boolean | string[]>
}

export type GrpcListenerInfo =
  | {
      /** Where the lab really listens (always 127.0.0.1, ephemeral port). */
      host: string
      port: number
      /** The configured address binds loopback only: unreachable from other pods/nodes. */
      loopbackOnly: boolean
      /** Host part as configured ('' = all interfaces). */
      configuredHost: string
      configuredPort: number
      configured: string
    }
  | {socketPath: string; configuredPath: string; configured: string}

export interface TetragonAgent {
  readonly version: string
  readonly nodeName: string
  /** null when serverAddress is '' (gRPC disabled). */
  readonly grpc: GrpcListenerInfo | null
  readonly healthPort: number | null
  readonly metricsPort: number | null
  /** Emit an event (JSON export form, current proto). Returns false when this agent version has no such event type. */
  emit(event: JsonObject): boolean
  /** A process run in a pod on this node: exec/exit (+ kprobes when a policy hooks the call). Returns what was emitted. */
  execInPod(info: ExecInPodInfo): TetragonEventJson[]
  /** Lines written to the JSON export (default export allow/deny lists applied). */
  exportLines(): string[]
  onExport(listener: (line: string) => void): () => void
  /** Loaded policy names. */
  policyNames(): string[]
  /** Load (or replace) a TracingPolicy / TracingPolicyNamespaced document, as the agent's CRD watcher does. */
  loadPolicyYaml(yaml: string): void
  unloadPolicy(name: string, namespace?: string): void
  setLivenessFailing(failing: boolean): void
  /** Number of connected GetEvents clients. */
  listenerCount(): number
  /** GetEvents streams accepted since start (to wait for a new client to be registered). */
  streamsOpened(): number
  /** Events dropped on listener overflow so far (tetragon_notify_overflowed_events_total, real drops only). */
  overflowed(): number
  metricsText(): string
  stop(): Promise<void>
}

const SERVICE = 'tetragon.FineGuidanceSensors'

// ---- Listen address parsing (cilium/tetragon v1.7.0 pkg/server/addr.go SplitListenAddr) ---------------

type Listen = {kind: 'none'} | {kind: 'unix'; path: string} | {kind: 'tcp'; host: string; port: number}

export function parseListenAddress(addr: string): Listen {
  if (addr === '') return {kind: 'none'} // empty string disables the gRPC server
  if (addr.startsWith('unix://')) return {kind: 'unix', path: addr.slice('unix://'.length)}
  const a = addr.includes(':') ? addr : `${addr}:54321` // "a string without ':' gets :54321 appended"
  const i = a.lastIndexOf(':')
  const host = a.slice(0, i).replace(/^\[(.*)\]$/, '$1')
  const port = Number(a.slice(i + 1))
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`Failed to start gRPC server: bad address ${addr}`)
  return {kind: 'tcp', host, port}
}

const isLoopback = (host: string) => host === 'localhost' || host === '::1' || /^127\./.test(host)

// ---- Codec helpers --------------------------------------------------------------------------------

function isWellKnown(t: Type): boolean {
  return t.fullName.startsWith('.google.protobuf.')
}

/** Drop fields (and event types) newer than `version` (the "since" columns, via FIELD_SINCE). */
function stripForVersion(type: Type, obj: JsonObject, version: string): JsonObject {
  const out: JsonObject = {}
  for (const [k, v] of Object.entries(obj)) {
    const f = type.fields[k]
    if (!f) {
      out[k] = v
      continue
    }
    if (!fieldExistsIn(version, type.name, k)) continue
    f.resolve()
    const rt = f.resolvedType
    if (rt instanceof protobuf.Type && MESSAGE_SINCE[rt.name] && !inRange(version, MESSAGE_SINCE[rt.name]!)) continue
    if (rt instanceof protobuf.Type && !isWellKnown(rt) && !isMapField(f) && v && typeof v === 'object') {
      out[k] = Array.isArray(v) ? v.map((x) => (x && typeof x === 'object' && !Array.isArray(x) ? stripForVersion(rt, x, version) : x)) : stripForVersion(rt, v as JsonObject, version)
    } else {
      out[k] = v
    }
  }
  return out
}

/**
 * Agents before v1.1.0 filled Pod.labels (repeated string, field 3) from the pod's Cilium endpoint labels; v0.8.1 –
 * v1.0.3 also sent pod_labels (5), v0.8.0 had only labels (cilium/tetragon v1.0.0 pkg/process/podinfo.go).
 * `key=value` is illustrative.
 */
function podLabelsToLegacy(v: JsonValue, keepPodLabels: boolean): JsonValue {
  if (Array.isArray(v)) return v.map((x) => podLabelsToLegacy(x, keepPodLabels))
  if (!v || typeof v !== 'object') return v
  const out: JsonObject = {}
  for (const [k, x] of Object.entries(v)) {
    if (k === 'pod' && x && typeof x === 'object' && !Array.isArray(x)) {
      const {pod_labels, ...rest} = x as JsonObject
      out.pod = podLabelsToLegacy(keepPodLabels && pod_labels ? {...rest, pod_labels} : rest, keepPodLabels)
      if (pod_labels && typeof pod_labels === 'object') {
        ;(out.pod as JsonObject).labels = Object.entries(pod_labels as Record<string, string>).map(([lk, lv]) => `${lk}=${lv}`)
      }
    } else out[k] = podLabelsToLegacy(x, keepPodLabels)
  }
  return out
}

// Hypothetical future fields: numbers unused in v1.7.0 and on main, as a newer agent would add them
// (the proto only ever adds field numbers).
let driftRootCache: Root | undefined
function driftRoot(): Root {
  if (driftRootCache) return driftRootCache
  const root = protobuf.Root.fromJSON(loadRoot('current').toJSON())
  root.lookupType('tetragon.Process').add(new protobuf.Field('lab_future_field', 22, 'string'))
  root.lookupType('tetragon.KprobeSock').add(new protobuf.Field('lab_future_field', 12, 'uint32'))
  const response = root.lookupType('tetragon.GetEventsResponse')
  response.add(new protobuf.Field('lab_future_field', 1005, 'string'))
  response.parent!.add(new protobuf.Type('LabFutureEvent').add(new protobuf.Field('process', 1, 'Process')).add(new protobuf.Field('detail', 2, 'string')))
  const futureEvent = new protobuf.Field('lab_future_event', 30, 'LabFutureEvent')
  response.add(futureEvent)
  response.oneofs.event!.add(futureEvent)
  driftRootCache = root
  driftRootCache.resolveAll()
  return driftRootCache
}

function addDrift(ev: JsonObject, kind: string | undefined): JsonObject {
  const out = structuredClone(ev)
  out.lab_future_field = 'drift'
  const body = kind ? (out[kind] as JsonObject | undefined) : undefined
  for (const key of ['process', 'parent']) {
    if (body?.[key] && typeof body[key] === 'object') (body[key] as JsonObject).lab_future_field = 'drift'
  }
  for (const a of (body?.args as JsonObject[] | undefined) ?? []) {
    if (a.sock_arg && typeof a.sock_arg === 'object') (a.sock_arg as JsonObject).lab_future_field = 7
  }
  return out
}

type Handler = grpc.UntypedHandleCall

function methodDef(pathName: string, req: Type | null, res: Type | null, responseStream: boolean): grpc.MethodDefinition<unknown, unknown> {
  const enc = (t: Type | null) => (x: unknown) => (Buffer.isBuffer(x) ? x : t ? Buffer.from(encodeJson(t, x as JsonObject)) : Buffer.alloc(0))
  const dec = (t: Type | null) => (b: Buffer) => (t ? decodeToJson(t, b) : b)
  return {
    path: pathName, requestStream: false, responseStream,
    requestSerialize: enc(req), requestDeserialize: dec(req), responseSerialize: enc(res), responseDeserialize: dec(res),
  }
}

const grpcError = (code: grpc.status, details: string) => Object.assign(new Error(details), {code, details})

// ---- The agent ------------------------------------------------------------------------------------

export async function startTetragonAgent(opts: TetragonAgentOptions): Promise<TetragonAgent> {
  const version = opts.version
  const nodeName = opts.nodeName
  // v0.8.0 speaks the incompatible pre-v0.8.1 API; before v1.1.0 Pod field 3 is labels.
  const variant: ApiVariant = apiVariantFor(version)
  const root = variant === 'current' && opts.schemaDrift ? driftRoot() : loadRoot(variant)
  const responseType = root.lookupType('tetragon.GetEventsResponse')
  const eventTypeEnum = root.lookupEnum('tetragon.EventType')
  const currentResponse = loadRoot('current').lookupType('tetragon.GetEventsResponse')
  const queueSize = opts.eventQueueSize ?? 10_000
  // Before v0.8.4 Notify was a blocking send: no loss. The lab cannot block emit(), so it queues.
  const boundedQueues = inRange(version, 'v0.8.4')
  const table = new ProcessTable(nodeName)
  let nextPolicyId = 1
  const policies: LabPolicy[] = (opts.policies ?? []).map((p) => builtinPolicy(p, nextPolicyId++))
  let livenessFailing = opts.livenessFailing ?? false
  let logLevel = 'LOG_LEVEL_INFO'
  const eventLog = {max_size: 10, rotation_interval: '0s', max_backups: 5} // export-file-* defaults

  // Counters for metrics.
  let received = 0
  let overflowed = 0
  let exported = 0
  let exportedBytes = 0
  let lastExportedMs = 0
  const eventsByType = new Map<string, number>()

  // ---- listeners (gRPC clients and the JSON exporter, itself a GetEvents listener) ----
  interface Listener {
    filter: CompiledRequest
    fieldFilters?: CompiledFieldFilters
    /**
     * aggregation_options: OSS aggregates no event type, so events pass unchanged, but through a channel of
     * channel_buffer_size that drops (with a warning, no metric) while Send is blocked (pkg/aggregator/aggregator.go,
     * server.go GetEventsWG).
     */
    aggregatorBuffer?: number
    queue: Array<Buffer | undefined>
    head: number
    call: grpc.ServerWritableStream<unknown, unknown>
    waitingDrain: boolean
    closed: boolean
  }
  const listeners = new Set<Listener>()
  let streamsOpened = 0
  const eventTypeOf = (kind: string): string | undefined => {
    const name = kind.toUpperCase()
    return name in eventTypeEnum.values ? name : undefined
  }

  const pump = (l: Listener) => {
    if (l.waitingDrain || l.closed) return
    while (l.head < l.queue.length) {
      const b = l.queue[l.head]!
      l.queue[l.head++] = undefined
      if (l.head > 4096 && l.head * 2 > l.queue.length) {
        l.queue = l.queue.slice(l.head)
        l.head = 0
      }
      // Honour back-pressure: wait for 'drain' before writing more.
      if (!l.call.write(b)) {
        l.waitingDrain = true
        l.call.once('drain', () => {
          l.waitingDrain = false
          pump(l)
        })
        return
      }
    }
  }

  // The ConfigMap's export-allowlist/export-denylist when given (one JSON filter per line), else the chart defaults.
  const allowList: JsonObject[] = opts.exportAllowList ?? defaultExportAllowList(version)
  const denyList: JsonObject[] = opts.exportDenyList ?? defaultExportDenyList()
  const exportFilter = compileRequest(
    {allow_list: allowList, deny_list: denyList},
    version,
    eventTypeOf,
  )
  const exportFilename = opts.exportFilename ?? '/var/run/cilium/tetragon/tetragon.log'
  const exportBuffer: string[] = []
  const exportListeners = new Set<(line: string) => void>()

  function emit(event: JsonObject): boolean {
    const ev: JsonObject = {...event}
    ev.node_name ??= nodeName
    ev.time ??= new Date().toISOString()
    if (opts.clusterName && inRange(version, 'v1.3.0')) ev.cluster_name ??= opts.clusterName
    const currentKind = eventKind(ev)
    // Pod.labels first (before v1.1.0): stripping keeps keys the current proto lacks.
    let versioned = variant === 'current' ? ev : (podLabelsToLegacy(ev, variant === 'v1.0') as JsonObject)
    versioned = stripForVersion(currentResponse, versioned, version)
    if (opts.schemaDrift && variant === 'current') versioned = addDrift(versioned, currentKind)
    // Encode with the agent's own proto; what it does not know is dropped, as a real agent never has it.
    const msg = jsonToMessage(responseType, versioned, [])
    const bytes = Buffer.from(responseType.encode(msg).finish())
    const agentJson = decodeToJson(responseType, bytes)
    const kind = eventKind(agentJson, variant) ?? (agentJson.lab_future_event ? 'lab_future_event' : undefined)
    if (!kind) return false
    received++
    const typeName = kind.toUpperCase()
    eventsByType.set(typeName, (eventsByType.get(typeName) ?? 0) + 1)
    for (const l of listeners) {
      if (l.closed || !l.filter.passes(agentJson, kind)) continue
      let out = bytes
      if (l.fieldFilters) {
        try {
          out = Buffer.from(responseType.encode(jsonToMessage(responseType, l.fieldFilters.apply(agentJson, kind), [])).finish())
        } catch (e) {
          if (!(e instanceof FilterError)) throw e
          // The stream ends at the first event that passed the filters (server.go GetEventsWG).
          l.closed = true
          listeners.delete(l)
          l.call.emit('error', grpcError(grpc.status.UNKNOWN, `failed to create field filters: ${e.message}`))
          continue
        }
      }
      if (l.aggregatorBuffer !== undefined) {
        // The aggregator's channel is full only while its goroutine waits in Send.
        if (l.waitingDrain && l.queue.length - l.head >= l.aggregatorBuffer) continue
      } else if (boundedQueues && l.queue.length - l.head >= queueSize) {
        // Per-listener queue full: dropped "so that we do not block everything".
        overflowed++
        continue
      }
      l.queue.push(out)
      pump(l)
    }
    if (exportFilename !== '' && exportFilter.passes(agentJson, kind)) {
      // The JSON exporter writes one protojson line per event.
      const line = JSON.stringify(agentJson)
      exported++
      exportedBytes += line.length + 1
      lastExportedMs = Date.now()
      exportBuffer.push(line)
      if (exportBuffer.length > 100_000) exportBuffer.splice(0, exportBuffer.length - 100_000)
      for (const fn of exportListeners) fn(line)
    }
    return true
  }

  // ---- FineGuidanceSensors ----
  const service = root.lookupService(`tetragon.${'FineGuidanceSensors'}`)
  const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {}
  const handlers: Record<string, Handler> = {}
  const unary = (fn: (req: JsonObject) => JsonObject): grpc.handleUnaryCall<JsonObject, JsonObject> => (call, cb) => {
    try {
      cb(null, fn(call.request))
    } catch (e) {
      const err = e as {code?: number; message: string}
      cb(grpcError(err.code ?? grpc.status.UNKNOWN, err.message))
    }
  }
  const deprecated = (name: string) => {
    throw Object.assign(new Error(`${name} is deprecated, please use ListTracingPolicies instead`), {code: grpc.status.UNKNOWN})
  }
  const findPolicy = (req: JsonObject) => {
    const p = policies.find((x) => x.name === req.name && (req.namespace ? x.namespace === req.namespace : true))
    if (!p) throw Object.assign(new Error(`tracing policy ${String(req.name)} not found`), {code: grpc.status.UNKNOWN})
    return p
  }

  const impl: Record<string, Handler> = {
    GetVersion: unary(() => ({version})),
    // Always RUNNING/"running": liveness only.
    GetHealth: unary(() => ({health_status: [{event: 'HEALTH_STATUS_TYPE_STATUS', status: 'HEALTH_STATUS_RUNNING', details: 'running'}]})),
    AddTracingPolicy: unary((req) => {
      const p = policyFromYaml(String(req.yaml ?? ''), nextPolicyId)
      if (policies.some((x) => x.name === p.name && x.namespace === p.namespace)) throw new Error(`policy with name "${p.name}" already exists`)
      nextPolicyId++
      policies.push(p)
      return {}
    }),
    DeleteTracingPolicy: unary((req) => {
      const p = findPolicy(req)
      policies.splice(policies.indexOf(p), 1)
      return {}
    }),
    ListTracingPolicies: unary(() => ({policies: policies.map((p) => policyStatus(p, version))})),
    EnableTracingPolicy: unary((req) => {
      if (inRange(version, 'v1.7.0')) deprecated('EnableTracingPolicy') // error unless --enable-deprecated-tracingpolicy-grpc
      findPolicy(req).enabled = true
      return {}
    }),
    DisableTracingPolicy: unary((req) => {
      if (inRange(version, 'v1.7.0')) deprecated('DisableTracingPolicy')
      findPolicy(req).enabled = false
      return {}
    }),
    ConfigureTracingPolicy: unary((req) => {
      const p = findPolicy(req)
      if (typeof req.enable === 'boolean') p.enabled = req.enable
      if (typeof req.mode === 'string' && req.mode !== 'TP_MODE_UNKNOWN') p.mode = req.mode as LabPolicy['mode']
      return {}
    }),
    ListSensors: unary(() => {
      if (inRange(version, 'v1.7.0')) deprecated('ListSensors') // always an error in v1.7.0
      return {sensors: policies.map((p) => ({name: 'generic_kprobe', enabled: p.enabled, ...(inRange(version, 'v0.9.0') ? {collection: p.name} : {})}))}
    }),
    EnableSensor: unary(() => (inRange(version, 'v1.7.0') ? deprecated('EnableSensor') : {})),
    DisableSensor: unary(() => (inRange(version, 'v1.7.0') ? deprecated('DisableSensor') : {})),
    RemoveSensor: unary(() => (inRange(version, 'v1.7.0') ? deprecated('RemoveSensor') : {})),
    RuntimeHook: unary(() => ({})),
    GetDebug: unary((req) => ({flag: req.flag ?? 'CONFIG_FLAG_LOG_LEVEL', level: logLevel})),
    SetDebug: unary((req) => {
      if (typeof req.level === 'string') logLevel = req.level
      return {flag: req.flag ?? 'CONFIG_FLAG_LOG_LEVEL', level: logLevel}
    }),
    GetInfo: unary(() => getInfo()),
    GetEvents: ((call: grpc.ServerWritableStream<JsonObject, Buffer>) => {
      let filter: CompiledRequest
      try {
        filter = compileRequest(call.request ?? {}, version, eventTypeOf)
      } catch (e) {
        // Invalid filters make GetEvents fail immediately.
        call.emit('error', grpcError(grpc.status.UNKNOWN, e instanceof FilterError ? e.message : String(e)))
        return
      }
      const req = call.request ?? {}
      const agg = req.aggregation_options as JsonObject | undefined
      const l: Listener = {
        filter, queue: [], head: 0, call: call as grpc.ServerWritableStream<unknown, unknown>, waitingDrain: false, closed: false,
        fieldFilters: compileFieldFilters(req, version, responseType, eventTypeOf),
        ...(agg ? {aggregatorBuffer: Number(agg.channel_buffer_size ?? 0)} : {}),
      }
      listeners.add(l)
      streamsOpened++
      const close = () => {
        l.closed = true
        listeners.delete(l)
      }
      call.on('cancelled', close)
      call.on('close', close)
      call.on('error', close)
    }) as Handler,
  }

  for (const m of service.methodsArray) {
    if (!hasRpc(version, m.name) || !impl[m.name]) continue
    m.resolve()
    const req = m.resolvedRequestType!
    const res = m.resolvedResponseType!
    definition[m.name] = methodDef(`/${SERVICE}/${m.name}`, req, res, Boolean(m.responseStream))
    handlers[m.name] = impl[m.name]!
  }
  if (hasRpc(version, 'GetStackTraceTree')) {
    // v0.8.0 – v1.6.1 only. Its messages are not modelled: the lab answers an empty message.
    definition.GetStackTraceTree = methodDef(`/${SERVICE}/GetStackTraceTree`, null, null, false)
    handlers.GetStackTraceTree = ((_call: unknown, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.alloc(0))) as Handler
  }

  function getInfo(): JsonObject {
    const str = (v: string) => ({'@type': 'type.googleapis.com/google.protobuf.StringValue', value: v})
    const bool = (v: boolean) => ({'@type': 'type.googleapis.com/google.protobuf.BoolValue', value: v})
    const int = (v: number) => ({'@type': 'type.googleapis.com/google.protobuf.Int64Value', value: String(v)})
    const list = (v: string[]) => ({'@type': 'type.googleapis.com/google.protobuf.ListValue', value: v})
    const enc = (v: string | number | boolean | string[]) =>
      Array.isArray(v) ? list(v) : typeof v === 'boolean' ? bool(v) : typeof v === 'number' ? int(v) : str(v)
    // Option names as viper knows them; values from this agent's configuration.
    const conf: Record<string, string | number | boolean | string[]> = {
      'server-address': opts.serverAddress,
      'health-server-address': healthPort === null ? '' : `:${healthPort}`,
      'metrics-server': metricsPort === null ? '' : `:${metricsPort}`,
      'export-filename': exportFilename,
      'export-file-perm': '600',
      'export-allowlist': defaultExportAllowList(version).map((f) => JSON.stringify(f)).join('\n'),
      'export-denylist': defaultExportDenyList().map((f) => JSON.stringify(f)).join('\n'),
      'export-rate-limit': -1,
      'event-queue-size': queueSize,
      'rb-size': '0',
      'rb-queue-size': '65535',
      'enable-process-cred': false,
      'enable-process-ns': false,
      'enable-ancestors': [],
      'cluster-name': opts.clusterName ?? '',
      ...opts.config,
    }
    return {
      version,
      name: 'tetragon',
      conf: Object.keys(conf).sort().map((key) => ({key, value: enc(conf[key]!)})),
      build: {commit: version === 'v1.7.0' ? V170_COMMIT : '', modified: 'false'},
    }
  }

  // ---- health server (grpc.health.v1, service "liveness") ----
  let healthServer: grpc.Server | null = null
  let healthPort: number | null = null
  const watchers = new Set<{service: string; call: grpc.ServerWritableStream<unknown, unknown>}>()
  const healthStatus = (service: string): string | undefined =>
    service === '' ? 'SERVING' : service === 'liveness' ? (livenessFailing ? 'NOT_SERVING' : 'SERVING') : undefined
  if (opts.healthPort !== null) {
    const hroot = loadRoot('current')
    const req = hroot.lookupType('grpc.health.v1.HealthCheckRequest')
    const res = hroot.lookupType('grpc.health.v1.HealthCheckResponse')
    healthServer = new grpc.Server()
    healthServer.addService(
      {Check: methodDef('/grpc.health.v1.Health/Check', req, res, false), Watch: methodDef('/grpc.health.v1.Health/Watch', req, res, true)},
      {
        Check: ((call: grpc.ServerUnaryCall<JsonObject, JsonObject>, cb: grpc.sendUnaryData<JsonObject>) => {
          const s = healthStatus(String(call.request.service ?? ''))
          // grpc-go's health server: NOT_FOUND for a service it does not know.
          if (!s) cb(grpcError(grpc.status.NOT_FOUND, 'unknown service'))
          else cb(null, {status: s})
        }) as Handler,
        Watch: ((call: grpc.ServerWritableStream<JsonObject, JsonObject>) => {
          const service = String(call.request.service ?? '')
          call.write({status: healthStatus(service) ?? 'SERVICE_UNKNOWN'})
          const w = {service, call: call as grpc.ServerWritableStream<unknown, unknown>}
          watchers.add(w)
          call.on('cancelled', () => watchers.delete(w))
        }) as Handler,
      },
    )
    healthPort = await bind(healthServer, `127.0.0.1:${opts.healthPort ?? 0}`)
  }

  // ---- FineGuidanceSensors server ----
  const listen = parseListenAddress(opts.serverAddress)
  let server: grpc.Server | null = null
  let grpcInfo: GrpcListenerInfo | null = null
  let tempDir: string | undefined
  if (listen.kind !== 'none') {
    server = new grpc.Server({'grpc.max_send_message_length': -1})
    server.addService(definition, handlers)
    if (variant === 'current' && inRange(version, 'v1.7.0')) addEventLogService(server)
    if (listen.kind === 'unix') {
      tempDir = mkdtempSync(path.join(tmpdir(), 'tetractl-lab-'))
      const socketPath = path.join(tempDir, path.basename(listen.path) || 'tetragon.sock')
      await bind(server, `unix://${socketPath}`)
      chmodSync(socketPath, 0o660) // unixlisten.ListenWithRename(addr, 0660)
      grpcInfo = {socketPath, configuredPath: listen.path, configured: opts.serverAddress}
    } else {
      const port = await bind(server, '127.0.0.1:0')
      grpcInfo = {
        host: '127.0.0.1', port, loopbackOnly: isLoopback(listen.host), configuredHost: listen.host, configuredPort: listen.port,
        configured: opts.serverAddress,
      }
    }
  }

  function addEventLogService(s: grpc.Server) {
    // tetragon.EventLogService, new in v1.7.0.
    const r = loadRoot('current')
    const svc = r.lookupService('tetragon.EventLogService')
    const def: Record<string, grpc.MethodDefinition<unknown, unknown>> = {}
    for (const m of svc.methodsArray) {
      m.resolve()
      def[m.name] = methodDef(`/tetragon.EventLogService/${m.name}`, m.resolvedRequestType!, m.resolvedResponseType!, false)
    }
    s.addService(def, {
      GetEventLogParams: unary(() => ({...eventLog})),
      SetEventLogParams: unary((req) => {
        if (typeof req.max_size === 'number') eventLog.max_size = req.max_size
        if (typeof req.rotation_interval === 'string') eventLog.rotation_interval = req.rotation_interval
        if (typeof req.max_backups === 'number') eventLog.max_backups = req.max_backups
        return {}
      }),
    })
  }

  // ---- metrics (HTTP /metrics) ----
  let metricsServer: http.Server | null = null
  let metricsPort: number | null = null
  const metricsText = () =>
    renderMetrics({version, nodeName, received, overflowed, dropped: opts.dropped ?? {}, exported, exportedBytes, lastExportedMs, eventsByType, policies})
  if (opts.metricsPort !== null) {
    metricsServer = http.createServer((req, res) => {
      if (req.url?.split('?')[0] !== '/metrics') {
        res.writeHead(404, {'content-type': 'text/plain'}).end('404 page not found\n')
        return
      }
      res.writeHead(200, {'content-type': 'text/plain; version=0.0.4; charset=utf-8'}).end(metricsText())
    })
    metricsPort = await new Promise<number>((resolve, reject) => {
      metricsServer!.once('error', reject)
      metricsServer!.listen(opts.metricsPort ?? 0, '127.0.0.1', () => resolve((metricsServer!.address() as AddressInfo).port))
    })
  }

  // ---- background cadence ----
  let bgIndex = 0
  const bgMs = opts.backgroundIntervalMs ?? 1000
  // With kprobe policies loaded a node never stops posting events: every other tick the docs' other demo
  // pod (default/tiefighter, process_exec.jsonl) fetches a page (tcp_* hooks) and reads /etc/profile (file hooks);
  // only runs that a loaded policy hooks are emitted. Not curl in xwing: those are what tests and probes emit.
  const BACKGROUND_RUNS = [['wget', '-q', '-O', '/dev/null', 'https://ebpf.io/'], ['cat', '/etc/profile']]
  let bgRun = 0
  const bgTimer = bgMs > 0 ? setInterval(() => {
    const line = BACKGROUND_EVENT_LINES[bgIndex++ % BACKGROUND_EVENT_LINES.length]!
    const ev = JSON.parse(line) as JsonObject
    emit({...ev, node_name: nodeName, time: new Date().toISOString()})
    if (bgIndex % 2 === 0 && policies.some((p) => p.enabled && p.hooks.length > 0)) {
      const argv = BACKGROUND_RUNS[bgRun++ % BACKGROUND_RUNS.length]!
      const built = buildExecInPod({namespace: 'default', podName: 'tiefighter', containerName: 'spaceship', nodeName, argv, image: 'docker.io/tgraf/netperf:latest', labels: {'app.kubernetes.io/name': 'tiefighter', class: 'tiefighter', org: 'empire'}}, table, policies)
      if (built.events.some((e) => e.process_kprobe)) {
        for (const p of built.posted) p.posted++
        for (const e of built.events) emit({...e, node_name: nodeName})
      }
    }
  }, bgMs) : undefined
  bgTimer?.unref()

  return {
    version,
    nodeName,
    grpc: grpcInfo,
    healthPort,
    metricsPort,
    emit,
    execInPod(info) {
      // Each agent sees only processes on its own node.
      if (info.nodeName !== nodeName) return []
      const built = buildExecInPod(info, table, policies)
      for (const p of built.posted) p.posted++
      const out: TetragonEventJson[] = []
      for (const ev of built.events) {
        const full = {...ev, node_name: nodeName}
        if (emit(full)) out.push(full as TetragonEventJson)
      }
      if (opts.schemaDrift && variant === 'current') {
        // A newer agent's event type our proto does not know (oneof number 30, hypothetical).
        const proc = (built.events[0]!.process_exec as JsonObject).process
        const ev = {lab_future_event: {process: proc, detail: 'future'}, node_name: nodeName, time: new Date().toISOString()}
        if (emit(ev)) out.push(ev as TetragonEventJson)
      }
      return out
    },
    exportLines: () => exportBuffer.slice(),
    onExport(fn) {
      exportListeners.add(fn)
      return () => exportListeners.delete(fn)
    },
    policyNames: () => policies.map((p) => p.name),
    // The agent watches TracingPolicy resources itself (the chart renders enable-tracing-policy-crd: "true").
    loadPolicyYaml(yaml: string) {
      const p = policyFromYaml(yaml, nextPolicyId)
      const existing = policies.findIndex((x) => x.name === p.name && x.namespace === p.namespace)
      nextPolicyId++
      if (existing >= 0) policies.splice(existing, 1, p)
      else policies.push(p)
    },
    unloadPolicy(name: string, namespace?: string) {
      const i = policies.findIndex((x) => x.name === name && (namespace ? x.namespace === namespace : !x.namespace))
      if (i >= 0) policies.splice(i, 1)
    },
    setLivenessFailing(failing) {
      livenessFailing = failing
      for (const w of watchers) if (w.service === 'liveness') w.call.write({status: failing ? 'NOT_SERVING' : 'SERVING'})
    },
    listenerCount: () => listeners.size,
    streamsOpened: () => streamsOpened,
    overflowed: () => overflowed,
    metricsText,
    async stop() {
      if (bgTimer) clearInterval(bgTimer)
      for (const l of listeners) l.closed = true
      listeners.clear()
      server?.forceShutdown()
      healthServer?.forceShutdown()
      if (metricsServer) {
        metricsServer.closeAllConnections()
        await new Promise<void>((r) => metricsServer!.close(() => r()))
      }
      if (tempDir) rmSync(tempDir, {recursive: true, force: true})
    },
  }
}

function bind(server: grpc.Server, address: string): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(new Error(`Failed to start gRPC server on ${address}: ${err.message}`)) : resolve(port))),
  )
}
