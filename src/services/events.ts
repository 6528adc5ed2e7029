// `tetractl events`: tail an agent's GetEvents stream (cilium/tetragon v1.7.0 api/v1/tetragon/events.proto) through the same access as the doctor
// (port-forward to an agent pod, or --tetragon-address), print it as Tetragon's JSON export form (protojson, proto field names) or in
// `tetra getevents -o compact` form (cilium/tetragon v1.7.0 pkg/encoder/encoder.go, color.go).
import type {Writable} from 'node:stream'

import type {TetragonClient} from '../clients/tetragon.js'
import {ExitCode} from '../engine/exit-codes.js'
import {UnreachableError, UserError} from '../engine/errors.js'
import {Memo} from '../engine/memo.js'
import type {JsonObject, JsonValue} from '../tetragon/json.js'
import type {ApiVariant} from '../tetragon/proto.js'
import {apiVariantFor} from '../tetragon/versions.js'

export interface EventsFlags {
  kubeconfig?: string
  context?: string
  namespace?: string
  /** Milliseconds (src/flags.ts durationFlag). */
  'request-timeout': number
  'tetragon-address'?: string
  'tetragon-health-address'?: string
  'grpc-timeout': number
  'event-namespace'?: string[]
  pod?: string
  binary?: string
  type?: string[]
  count?: number
  output: string
  node?: string
}

export interface EventFilter {
  namespaces?: string[]
  pod?: RegExp
  binary?: RegExp
  /** Event keys (`process_exec` …). */
  kinds?: Set<string>
}

// ---- Filters ---------------------------------------------------------------------------------------

function regex(flag: string, source?: string): RegExp | undefined {
  if (source === undefined) return undefined
  try {
    return new RegExp(source)
  } catch (e) {
    throw new UserError(`Invalid ${flag} regular expression ${JSON.stringify(source)}: ${(e as Error).message.replace(/^Invalid regular expression: /, '')}.`, 'Pass a regular expression, e.g. --pod \'^xwing\'.')
  }
}

/** Flags → the GetEventsRequest (server-side filter) and the same filter applied again here. */
export function buildFilter(flags: Pick<EventsFlags, 'event-namespace' | 'pod' | 'binary' | 'type'>, knownTypes: string[]): {request: JsonObject; filter: EventFilter} {
  const namespaces = flags['event-namespace']?.map((s) => s.trim()).filter((s) => s !== '' || flags['event-namespace']!.length === 1)
  const types = flags.type?.map((t) => t.trim().toUpperCase()).filter(Boolean)
  for (const t of types ?? []) {
    if (!knownTypes.includes(t)) throw new UserError(`Unknown --type ${t}.`, `Use one or more of: ${knownTypes.join(', ')}.`)
  }
  const pod = regex('--pod', flags.pod)
  const binary = regex('--binary', flags.binary)
  const allow: JsonObject = {}
  if (namespaces?.length) allow.namespace = namespaces
  if (flags.pod !== undefined) allow.pod_regex = [flags.pod]
  if (flags.binary !== undefined) allow.binary_regex = [flags.binary]
  if (types?.length) allow.event_set = types
  const request: JsonObject = Object.keys(allow).length ? {allow_list: [allow]} : {}
  return {request, filter: {namespaces, pod, binary, kinds: types?.length ? new Set(types.map((t) => t.toLowerCase())) : undefined}}
}

const obj = (v: JsonValue | undefined): JsonObject | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? v : undefined)

/** The event key (`process_exec` …) and its body, from an export-form event. */
export function eventBody(ev: JsonObject): {kind: string; body: JsonObject} | undefined {
  for (const [k, v] of Object.entries(ev)) {
    if (k === 'node_name' || k === 'time' || k === 'aggregation_info' || k === 'cluster_name' || k === 'node_labels') continue
    const b = obj(v)
    if (b) return {kind: k, body: b}
  }
  return undefined
}

/**
 * The same filter on decoded events: agents ignore filter fields newer than themselves (pod_regex before v0.8.1;
 * Filter fields added per release in cilium/tetragon api/v1/tetragon/events.proto), which would widen the match.
 */
export function matches(ev: JsonObject, f: EventFilter): boolean {
  const e = eventBody(ev)
  if (!e) return false
  if (f.kinds && !f.kinds.has(e.kind)) return false
  const process = obj(e.body.process)
  const pod = obj(process?.pod)
  if (f.namespaces && !f.namespaces.includes(String(pod?.namespace ?? ''))) return false
  if (f.pod && !(pod && f.pod.test(String(pod.name ?? '')))) return false
  if (f.binary && !f.binary.test(String(process?.binary ?? ''))) return false
  return true
}

// ---- Compact form (tetra getevents -o compact) --------------------------------------------------------

const pad7 = (s: string) => s.padEnd(7)
const CAPS_PAD = 120

/** CapTrailorPrinter: the capabilities trailer right-aligned at column 120 (Go len() counts bytes). */
function withCaps(str: string, caps: string): string {
  if (!caps) return str
  const padding = Math.max(0, CAPS_PAD - Buffer.byteLength(str))
  return `${str} ${caps.padStart(padding)}`
}

function processInfo(nodeName: string, process: JsonObject): [string, string] {
  const pod = obj(process.pod)
  const source = pod ? `${String(pod.namespace ?? '')}/${String(pod.name ?? '')}` : nodeName
  const effective = (obj(process.cap)?.effective as JsonValue[] | undefined) ?? []
  const caps = effective.includes('CAP_SYS_ADMIN') ? '🛑 CAP_SYS_ADMIN' : ''
  return [`${source} ${String(process.binary ?? '')}`, caps]
}

const arg = (args: JsonValue | undefined, i: number): JsonObject | undefined => (Array.isArray(args) ? obj(args[i]) : undefined)
const sock = (a?: JsonObject) => {
  const s = obj(a?.sock_arg)
  return s ? `tcp ${String(s.saddr ?? '')}:${Number(s.sport ?? 0)} -> ${String(s.daddr ?? '')}:${Number(s.dport ?? 0)}` : ''
}
const str = (v: JsonValue | undefined) => (v === undefined || v === null ? '' : String(v))

function kprobeLine(node: string, k: JsonObject): string {
  const [info, caps] = processInfo(node, obj(k.process)!)
  const fn = str(k.function_name)
  const sc = fn.replace(/^__(x64|arm64)_/, '') // arch.CutSyscallPrefix
  const args = k.args
  const line = (emoji: string, label: string, ...rest: string[]) => withCaps([`${emoji} ${pad7(label)}`, info, ...rest].join(' '), caps)
  switch (sc) {
    case 'sys_write':
    case 'sys_read': {
      const file = str(obj(arg(args, 0)?.file_arg)?.path)
      const bytes = arg(args, 2) ? `${str(arg(args, 2)!.size_arg) || '0'} bytes` : ''
      return sc === 'sys_write' ? line('📝', 'write', file, bytes) : line('📚', 'read', file, bytes)
    }
    case 'fd_install':
      return line('📬', 'open', str(obj(arg(args, 1)?.file_arg)?.path))
    case 'sys_openat':
      return line('📬️', 'openat', str(arg(args, 1)?.string_arg))
    case 'sys_open':
      return line('📬️', 'open', str(arg(args, 1)?.string_arg))
    case 'sys_close':
      return line('📪', 'close', str(obj(arg(args, 0)?.file_arg)?.path))
    case 'sys_mount':
      return line('💾', 'mount', str(arg(args, 0)?.string_arg), str(arg(args, 1)?.string_arg))
    case 'sys_setuid':
      return line('🔑', 'setuid', str(arg(args, 0)?.int_arg ?? 0))
    case 'sys_clock_settime':
      return line('⏰', 'clock_settime')
    case 'sys_pivot_root':
      return line('💾', 'pivot_root', str(arg(args, 0)?.string_arg), str(arg(args, 1)?.string_arg))
    case 'proc_exec_connector':
      return line('🔧', 'proc_exec_connector')
    case 'tcp_connect':
      return line('🔌', 'connect', sock(arg(args, 0)))
    case 'tcp_close':
      return line('🧹', 'close', sock(arg(args, 0)))
    case 'tcp_sendmsg':
      return line('📤', 'sendmsg', sock(arg(args, 0)), `bytes ${Number(arg(args, 1)?.int_arg ?? 0)}`)
    case 'security_file_permission': {
      const mask = Number(arg(args, 1)?.int_arg ?? 0)
      const path = str(obj(arg(args, 0)?.file_arg)?.path)
      if (!arg(args, 1)) return line('❓', 'security_file_permission', '')
      return mask === 2 ? line('📝', 'write', path) : mask === 4 ? line('📚', 'read', path) : line('❓', 'security_file_permission', path)
    }
    case 'security_mmap_file': {
      const prot = Number(arg(args, 1)?.uint_arg ?? 0)
      if (!arg(args, 1)) return line('❓', 'security_mmap_file', '')
      const tag = `mmap-${prot & 1 ? 'r' : ''}${prot & 2 ? 'w' : ''}${prot & 4 ? 'x' : ''}`
      return line('📝', tag, str(obj(arg(args, 0)?.file_arg)?.path))
    }
    case 'security_path_truncate':
      return arg(args, 0) ? line('📝', 'truncate', str(obj(arg(args, 0)?.path_arg)?.path)) : line('❓', 'security_path_truncate', '')
    default:
      return line('❓', 'syscall', fn)
  }
}

/** One `tetra getevents -o compact` line, or undefined for events it cannot print (no process, unknown type). */
export function formatCompact(ev: JsonObject): string | undefined {
  const e = eventBody(ev)
  if (!e) return undefined
  const node = str(ev.node_name)
  const b = e.body
  const process = obj(b.process)
  switch (e.kind) {
    case 'process_exec': {
      if (!process) return undefined
      const [info, caps] = processInfo(node, process)
      return withCaps(`🚀 ${pad7('process')} ${info} ${str(process.arguments)}`, caps)
    }
    case 'process_exit': {
      if (!process) return undefined
      const [info, caps] = processInfo(node, process)
      const status = b.signal ? str(b.signal) : String(Number(b.status ?? 0))
      return withCaps(`💥 ${pad7('exit')} ${info} ${str(process.arguments)} ${status}`, caps)
    }
    case 'process_kprobe':
      return process ? kprobeLine(node, b) : undefined
    case 'process_tracepoint': {
      if (!process) return undefined
      const [info, caps] = processInfo(node, process)
      if (`${str(b.subsys)}/${str(b.event)}` === 'raw_syscalls/sys_enter') {
        return withCaps(`☎  ${pad7('syscall')} ${info} ${str(arg(b.args, 0)?.long_arg ?? arg(b.args, 0)?.syscall_id)}`, caps)
      }
      return withCaps(`⁉️ ${pad7('tracepoint')} ${info} ${str(b.subsys)} ${str(b.event)}`, caps)
    }
    case 'process_uprobe': {
      if (!process) return undefined
      const [info, caps] = processInfo(node, process)
      return withCaps(`🕵️ ${pad7('uprobe')} ${info} ${str(b.path)} ${str(b.symbol)}`, caps)
    }
    case 'process_lsm': {
      if (!process) return undefined
      const [info, caps] = processInfo(node, process)
      return withCaps(`🔒 ${pad7('LSM')} ${info} ${str(b.function_name)}`, caps)
    }
    case 'process_usdt': {
      if (!process) return undefined
      const [info, caps] = processInfo(node, process)
      return withCaps(`🕵️ ${pad7('usdt')} ${info} ${str(b.path)} ${str(b.provider)} ${str(b.name)}`, caps)
    }
    case 'process_loader': {
      if (!process) return undefined
      const [info, caps] = processInfo(node, process)
      const buildid = b.buildid ? `${Buffer.from(str(b.buildid), 'base64').toString('hex')} ` : ''
      return withCaps(`🧬 ${pad7('loader')} ${info} ${buildid}${str(b.path)}`, caps)
    }
    case 'process_throttle': {
      const typ = b.type === 'THROTTLE_START' ? 'START' : b.type === 'THROTTLE_STOP' ? 'STOP ' : ''
      return `🧬 ${pad7('throttle')} ${typ} ${str(b.cgroup)}`
    }
    case 'test':
      return 'TEST EVENT'
    default:
      return undefined
  }
}

// ---- Access -----------------------------------------------------------------------------------------

interface Connection {
  client: TetragonClient
  target: string
  /** The port-forward's error stream (connection refused inside the pod …). */
  forwardErrors(): string[]
  close(): Promise<void>
}

async function connect(flags: EventsFlags, timeoutMs: number): Promise<Connection> {
  const {connectTetragon} = await import('../clients/tetragon.js')
  if (flags['tetragon-address']) {
    const client = connectTetragon({address: flags['tetragon-address']}, {timeoutMs, flag: '--tetragon-address'})
    return {client, target: client.address, forwardErrors: () => [], close: async () => client.close()}
  }
  const {KubeClient} = await import('../clients/kube.js')
  const requestTimeoutMs = flags['request-timeout']
  const kube = KubeClient.load({kubeconfig: flags.kubeconfig, context: flags.context, requestTimeoutMs})
  // The doctor's facts (DaemonSet by label, agent pods, server-address precedence) and its way to an agent.
  const {clusterContext} = await import('../cluster/context.js')
  const ctx = clusterContext(kube, new Memo(), {namespace: flags.namespace, serviceName: 'tetragon-grpc', grpcTimeoutMs: timeoutMs})
  const {tetragonInstall, tetragonPods} = await import('../cluster/facts.js')
  const {serverAddress} = await import('../cluster/server-address.js')
  const {pickReadyAgent, podAccess} = await import('../cluster/agents.js')
  const [install, pods, addr] = await Promise.all([tetragonInstall(ctx), tetragonPods(ctx), serverAddress(ctx)])
  if (!install.daemonSet) {
    throw new UnreachableError(`No Tetragon DaemonSet labelled app.kubernetes.io/name=tetragon in ${flags.namespace ? `namespace ${flags.namespace}` : 'the cluster'}.`, 'Install Tetragon, pass -n NAMESPACE, or use --tetragon-address for a standalone agent.')
  }
  if (addr.kind === 'disabled' || addr.kind === 'unix') {
    const why = addr.kind === 'disabled' ? 'gRPC is disabled (empty server-address)' : `gRPC listens on the unix socket ${addr.socketPath}`
    throw new UnreachableError(`Tetragon in ${install.namespace}: ${why}; a port-forward cannot reach it.`, `Use: kubectl exec -n ${install.namespace} ds/${install.daemonSet.metadata?.name} -c tetragon -- tetra getevents -o compact, or set tetragon.grpc.address=localhost:54321.`)
  }
  let candidates = pods
  if (flags.node) {
    candidates = pods.filter((p) => p.node === flags.node)
    if (candidates.length === 0) {
      const nodes = pods.map((p) => p.node).filter(Boolean)
      throw new UserError(`No Tetragon agent pod on node "${flags.node}".`, `Nodes with an agent: ${nodes.slice(0, 5).join(', ')}${nodes.length > 5 ? ', …' : ''} (--node).`)
    }
  }
  const pod = pickReadyAgent(candidates)
  if (!pod) throw new UnreachableError(`No ready Tetragon agent pod${flags.node ? ` on node ${flags.node}` : ''} in ${install.namespace}.`, `kubectl -n ${install.namespace} get pods -l app.kubernetes.io/name=tetragon -o wide`)
  try {
    const access = await podAccess(ctx, pod)
    return {client: access.client, target: `${install.namespace}/${pod.name}${pod.node ? ` on ${pod.node}` : ''}`, forwardErrors: access.forwardErrors, close: ctx.close}
  } catch (error) {
    await ctx.close()
    throw error
  }
}

// ---- Output ---------------------------------------------------------------------------------------

/** Batches lines into chunks and honours back-pressure; a closed pipe (EPIPE) ends the run quietly. */
class LineWriter {
  private buf: string[] = []
  private size = 0
  private closed = false
  private scheduled = false
  constructor(
    private readonly out: Writable,
    private readonly onClosed: () => void,
  ) {
    out.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') {
        this.closed = true
        this.onClosed()
      }
    })
  }
  get isClosed() {
    return this.closed
  }
  /**
   * Writes bytes the caller batched itself; a promise only when the stream asks to wait for 'drain'. `written`
   * runs once the stream no longer needs them.
   */
  bytes(b: Buffer, written?: () => void): Promise<void> | undefined {
    if (this.closed) return undefined
    if (this.buf.length > 0) this.out.write(this.take())
    if (this.out.write(b, written && ((e) => e || written()))) return undefined
    return new Promise<void>((r) => this.out.once('drain', r))
  }
  private take(): string {
    const chunk = this.buf.join('')
    this.buf = []
    this.size = 0
    return chunk
  }
  /** Buffers a line; returns a promise only when the buffer had to be written (so callers await rarely). */
  line(s: string): Promise<void> | undefined {
    this.buf.push(s, '\n')
    this.size += s.length + 1
    if (this.size >= 64 * 1024) return this.flush()
    if (!this.scheduled) {
      // Interactive use: print within one turn of the event loop.
      this.scheduled = true
      setImmediate(() => void this.flush())
    }
    return undefined
  }
  async flush() {
    this.scheduled = false
    if (this.buf.length === 0 || this.closed) return
    if (!this.out.write(this.take())) await new Promise<void>((r) => this.out.once('drain', r))
  }
}

/**
 * `-o json` filtered by event type at most: each message's wire bytes go straight to JSON text
 * (src/tetragon/wire-json.ts), the same text as JSON.stringify of the decoded event, without building objects.
 * Messages the transcoder declines go through the reference decoder (src/tetragon/reference-json.ts).
 */
async function printJsonFast(client: TetragonClient, request: JsonObject, variant: ApiVariant, kinds: Set<string> | undefined, signal: AbortSignal, writer: LineWriter, count?: number): Promise<{printed: number; skipped: number}> {
  const [{transcoder, NeedsReference}, {lookupType}, {decodeEventBytes}] = await Promise.all([
    import('../tetragon/wire-json.js'), import('../tetragon/proto.js'), import('../tetragon/reference-json.js'),
  ])
  const tc = transcoder(lookupType('tetragon.GetEventsResponse', variant))
  const CHUNK = 64 * 1024
  let printed = 0
  let skipped = 0
  let scheduled = false
  const flush = () => {
    scheduled = false
    if (tc.length === 0) return undefined
    const chunk = tc.take()
    return writer.bytes(chunk, () => tc.recycle(chunk))
  }
  try {
    stream: for await (const batch of client.getRawEventBatches(request, {signal, variant})) {
      for (const raw of batch) {
        let kind: string | undefined
        let text: string | undefined // the reference's line, when the transcoder declined
        try {
          kind = tc.append(raw, 0x0a)
        } catch (error) {
          if (!(error instanceof NeedsReference)) throw error
          let json: JsonObject = {}
          try {
            json = decodeEventBytes(raw, variant)
          } catch {}
          kind = eventBody(json)?.kind
          text = JSON.stringify(json) + '\n'
        }
        const keep = kind !== undefined && (!kinds || kinds.has(kind))
        if (text === undefined) {
          if (!keep) tc.discardLast()
        } else if (keep) tc.appendText(text)
        if (kind === undefined) skipped++
        if (!keep) continue
        printed++
        if (tc.length >= CHUNK) {
          const wait = flush()
          if (wait) await wait
        }
        if (count !== undefined && printed >= count) break stream
      }
      if (tc.length > 0 && !scheduled) {
        // Interactive use: print within one turn of the event loop.
        scheduled = true
        setImmediate(() => void flush())
      }
    }
  } finally {
    await flush()
  }
  return {printed, skipped}
}

export interface EventsRun {
  printed: number
  exitCode: number
}

export async function runEvents(args: {flags: EventsFlags; stdout: Writable; stderr: Writable; signal: AbortSignal}): Promise<EventsRun> {
  const {flags, signal} = args
  const output = flags.output
  if (output !== 'json' && output !== 'compact') throw new UserError(`Unknown -o ${output}.`, 'Use -o json or -o compact.')
  const timeoutMs = flags['grpc-timeout']
  if (flags['tetragon-address']) {
    const {parseTetragonAddress} = await import('../clients/tetragon.js')
    parseTetragonAddress(flags['tetragon-address'], '--tetragon-address')
  }
  const {lookupEnum} = await import('../tetragon/proto.js')
  const known = Object.keys(lookupEnum('EventType').values).filter((t) => t !== 'UNDEF')
  const {request, filter} = buildFilter(flags, known)

  const conn = await connect(flags, timeoutMs)
  // The agent's version decides the proto its events are decoded with (apiVariantFor: v0.8.0's own API, Pod field 3
  // = labels before v1.1.0). An agent that does not answer GetVersion is taken as current; the stream reports why.
  const variant = await conn.client.getVersion().then(apiVariantFor, () => 'current' as const)
  const stop = new AbortController()
  const onAbort = () => stop.abort()
  signal.addEventListener('abort', onAbort, {once: true})
  const writer = new LineWriter(args.stdout, () => stop.abort())
  let printed = 0
  let skipped = 0
  // The pod and binary filters read decoded fields; the type is what the transcoder reports anyway.
  const fast = output === 'json' && !filter.namespaces && !filter.pod && !filter.binary
  try {
    if (fast) {
      const r = await printJsonFast(conn.client, request, variant, filter.kinds, stop.signal, writer, flags.count)
      printed = r.printed
      skipped = r.skipped
    } else {
      stream: for await (const batch of conn.client.getEventBatches(request, {signal: stop.signal, inspect: false, variant})) {
        for (const ev of batch) {
          if (!matches(ev.json, filter)) {
            if (!eventBody(ev.json)) skipped++
            continue
          }
          const line = output === 'json' ? JSON.stringify(ev.json) : formatCompact(ev.json)
          if (line === undefined) {
            skipped++
            continue
          }
          const full = writer.line(line)
          if (full) await full
          printed++
          if (flags.count !== undefined && printed >= flags.count) break stream
        }
      }
    }
    await writer.flush()
  } catch (error) {
    await writer.flush().catch(() => {})
    const refused = conn.forwardErrors().find((e) => /connection refused/.test(e))
    if (refused) {
      throw new UnreachableError(`Port-forward to ${conn.target}: connection refused inside the pod (gRPC not listening on that port).`, 'Check the agent\'s server-address (tetractl doctor --only tetragon.grpc-bind).')
    }
    throw error
  } finally {
    signal.removeEventListener('abort', onAbort)
    stop.abort()
    await conn.close()
  }
  if (skipped > 0 && !writer.isClosed) args.stderr.write(`tetractl: skipped ${skipped} event${skipped === 1 ? '' : 's'} of a type tetractl's proto does not know\n`)
  return {printed, exitCode: signal.aborted ? ExitCode.INTERRUPTED : ExitCode.OK}
}
