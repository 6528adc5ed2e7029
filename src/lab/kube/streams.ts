import {createHash} from 'node:crypto'
import http, {type IncomingMessage, type ServerResponse} from 'node:http'
import type net from 'node:net'

import type {WebSocket} from 'ws'

import {ExecStartError, type ExecRegistry} from './exec.js'
import type {LogRegistry, ProxyRegistry} from './logs.js'
import {type Network, dialTarget} from './network.js'
import {ApiError, type RequestInfo, badRequest, notFound, queryBool, sendJson} from './request.js'
import {readyBackends} from './controllers.js'
import type {KObj, Store} from './store.js'

// Streaming subresources of pods: exec and portforward (WebSocket channel protocols), log, proxy.

export const STDIN = 0
export const STDOUT = 1
export const STDERR = 2
export const ERROR = 3
export const CLOSE = 255

/**
 * Exec: the kubelet/CRI streaming server accepts v5 (KEP-4006, close frames) and v4 (JSON status
 * on channel 3). Port-forward: the kubelet's WebSocket port-forward offers only v4.channel.k8s.io
 * (pkg/kubelet/cri/streaming/portforward/websocket.go).
 */
export function chooseProtocol(kind: 'exec' | 'portforward', offered: Set<string>): string | false {
  const prefs = kind === 'exec' ? ['v5.channel.k8s.io', 'v4.channel.k8s.io'] : ['v4.channel.k8s.io']
  for (const p of prefs) if (offered.has(p)) return p
  return false
}

/** Checks the `container` parameter the way pod strategy streamLocation does. */
export function resolveContainer(pod: KObj, container: string | null): string {
  const names: string[] = (pod.spec?.containers ?? []).map((c: {name: string}) => c.name)
  const name = pod.metadata.name
  if (!container) {
    if (names.length === 1) return names[0]!
    if (names.length === 0) throw badRequest(`a container name must be specified for pod ${name}`)
    // Exec and log on a multi-container pod need `container`, else 400.
    throw badRequest(`a container name must be specified for pod ${name}, choose one of: [${names.join(' ')}]`)
  }
  if (!names.includes(container)) throw badRequest(`container ${container} is not valid for pod ${name}`)
  return container
}

function frame(channel: number, data: Buffer | string = Buffer.alloc(0)): Buffer {
  const b = typeof data === 'string' ? Buffer.from(data, 'utf8') : data
  return Buffer.concat([Buffer.from([channel]), b])
}

/** Runs one exec session on an open WebSocket and closes it. */
export async function runExec(ws: WebSocket, registry: ExecRegistry, store: Store, pod: KObj, container: string, argv: string[], flags: {stdout: boolean; stderr: boolean; tty: boolean}): Promise<void> {
  // "Send an empty message to the lowest writable channel to notify the client the connection is
  // established" (kubelet remotecommand websocket.go).
  const lowest = flags.stdout ? STDOUT : flags.stderr ? STDERR : ERROR
  ws.send(frame(lowest))
  const ns = pod.metadata.namespace!
  let status: Record<string, unknown>
  try {
    const r = await registry.runObserved({namespace: ns, pod, container, argv, node: store.get('nodes', undefined, pod.spec?.nodeName ?? '')})
    const out = r.stdout ?? ''
    // With a TTY stderr is merged into stdout.
    const err = r.stderr ?? ''
    if (flags.tty) {
      if (flags.stdout && out + err) ws.send(frame(STDOUT, out + err))
    } else {
      if (flags.stdout && out) ws.send(frame(STDOUT, out))
      if (flags.stderr && err) ws.send(frame(STDERR, err))
    }
    status = r.exitCode === 0
      ? {metadata: {}, status: 'Success'}
      : {
          metadata: {},
          status: 'Failure',
          // containerd streaming exec: CodeExitError "error executing command %v, exit code %d",
          // which the kubelet wraps as NonZeroExitCode with an ExitCode cause.
          message: `command terminated with non-zero exit code: error executing command [${argv.join(' ')}], exit code ${r.exitCode}`,
          reason: 'NonZeroExitCode',
          details: {causes: [{reason: 'ExitCode', message: String(r.exitCode)}]},
        }
  } catch (e) {
    const execId = createHash('sha256').update(`${pod.metadata.uid}/${Date.now()}/${Math.random()}`).digest('hex')
    const inner = e instanceof ExecStartError
      ? `failed to exec in container: failed to start exec "${execId}": OCI runtime exec failed: exec failed: unable to start container process: ${e.message}: unknown`
      : `failed to exec in container: ${(e as Error).message}`
    const msg = `error executing command in container: ${inner}`
    // A process that never started is an InternalError status, not an exit code (TheK8sBook#30 shows this containerd output).
    status = {metadata: {}, status: 'Failure', message: `Internal error occurred: ${msg}`, reason: 'InternalError', details: {causes: [{message: msg}]}, code: 500}
  }
  if (ws.readyState === ws.OPEN) {
    ws.send(frame(ERROR, JSON.stringify(status)))
    ws.close(1000)
  }
}

/** containerd sandbox id and netns path of a pod (for port-forward error texts). */
function sandboxOf(pod: KObj): {id: string; netns: string} {
  const h = createHash('sha256').update(`sandbox/${pod.metadata.uid}`).digest('hex')
  const u = createHash('sha256').update(`netns/${pod.metadata.uid}`).digest('hex')
  const uuid = `${u.slice(0, 8)}-${u.slice(8, 12)}-${u.slice(12, 16)}-${u.slice(16, 20)}-${u.slice(20, 32)}`
  // hostNetwork sandboxes run in the host namespace: containerd logs it as "host".
  return {id: h, netns: pod.spec?.hostNetwork ? 'host' : `/var/run/netns/cni-${uuid}`}
}

/**
 * Port-forward session: port-prefix frames on both channels, then channel 0 bridged to a real TCP
 * socket. The target is localhost:<port> in the pod's network namespace (for hostNetwork pods the
 * node's), falling back to the pod IP (containerd internal/cri/server/sandbox_portforward_linux.go).
 */
export function runPortForward(ws: WebSocket, network: Network, pod: KObj, ports: number[], sockets: Set<net.Socket>): void {
  const podIp: string = pod.status?.podIP ?? ''
  let open = ports.length
  const done = () => {
    if (--open <= 0 && ws.readyState === ws.OPEN) ws.close(1000)
  }
  const conns = new Map<number, net.Socket>()
  const pending: Array<{ch: number; data: Buffer}> = []
  ports.forEach((port, i) => {
    const portLE = Buffer.alloc(2)
    portLE.writeUInt16LE(port)
    ws.send(frame(2 * i, portLE))
    ws.send(frame(2 * i + 1, portLE))
    void (async () => {
      // Dialled like any connect from inside the pod (so what starts on first connect, a large cluster's agents, starts).
      const local = await network.connect('127.0.0.1', port, pod)
      const t = typeof local === 'string' ? network.listener(podIp, port) : local
      const sock = t ? await dialTarget(t) : 'refused'
      if (typeof sock === 'string') {
        const sb = sandboxOf(pod)
        // kubelet: "error forwarding port %d to pod %s, uid %v: %v" around containerd's error.
        const msg = `error forwarding port ${port} to pod ${sb.id}, uid : failed to execute portforward in network namespace "${sb.netns}": failed to connect to localhost:${port} inside namespace "${sb.id}", IPv4: dial tcp4 127.0.0.1:${port}: connect: connection refused IPv6 dial tcp6: address localhost: no suitable address `
        if (ws.readyState === ws.OPEN) ws.send(frame(2 * i + 1, msg))
        done()
        return
      }
      sockets.add(sock)
      conns.set(2 * i, sock)
      sock.on('data', (d: Buffer) => {
        if (ws.readyState === ws.OPEN) ws.send(frame(2 * i, d))
      })
      sock.on('close', () => {
        sockets.delete(sock)
        conns.delete(2 * i)
        done()
      })
      sock.on('error', () => sock.destroy())
      for (const b of pending.splice(0).filter((p) => p.ch === 2 * i)) sock.write(b.data)
    })()
  })
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    const buf = isBinary ? data : Buffer.from(data.toString(), 'utf8')
    if (buf.length === 0) return
    const ch = buf[0]!
    if (ch === CLOSE) {
      // v5 close frame [0xFF, stream]: half-close the TCP connection of that data stream.
      conns.get(buf[1] ?? 0)?.end()
      return
    }
    const payload = buf.subarray(1)
    const s = conns.get(ch)
    if (s) s.write(payload)
    else pending.push({ch, data: Buffer.from(payload)})
  })
  ws.on('close', () => {
    for (const s of conns.values()) s.destroy()
  })
}

/** RFC 3339 with nanoseconds, as the kubelet prefixes `timestamps=true` lines. */
function nanoTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z')
}

export function handleLog(info: RequestInfo, res: ServerResponse, store: Store, logs: LogRegistry, follows: Set<ServerResponse>): void {
  const pod = store.get('pods', info.namespace, info.name)
  if (!pod) throw notFound('', 'pods', info.name)
  const q = info.query
  const container = resolveContainer(pod, q.get('container'))
  if (queryBool(q, 'previous')) {
    const st = (pod.status?.containerStatuses ?? []).find((c: {name: string}) => c.name === container)
    if (!st?.lastState?.terminated) throw badRequest(`previous terminated container "${container}" in pod "${pod.metadata.name}" not found`)
  }
  let lines = logs.get(info.namespace, info.name, container)
  const since = Number(q.get('sinceSeconds') ?? 0)
  if (since > 0) lines = lines.filter((l) => l.time.getTime() >= Date.now() - since * 1000)
  const tail = q.get('tailLines')
  if (tail !== null && Number(tail) >= 0) lines = Number(tail) === 0 ? [] : lines.slice(-Number(tail))
  const ts = queryBool(q, 'timestamps')
  const fmt = (l: {time: Date; text: string}) => `${ts ? `${nanoTime(l.time)} ` : ''}${l.text}\n`
  let body = lines.map(fmt).join('')
  const limitBytes = Number(q.get('limitBytes') ?? 0)
  if (limitBytes > 0) body = Buffer.from(body).subarray(0, limitBytes).toString('utf8')
  if (!queryBool(q, 'follow')) {
    res.writeHead(200, {'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body)})
    res.end(body)
    return
  }
  // follow: a chunked response that stays open while the container runs.
  res.writeHead(200, {'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked'})
  if (body) res.write(body)
  const off = logs.follow(info.namespace, info.name, container, (added) => res.write(added.map(fmt).join('')))
  follows.add(res)
  res.on('close', () => {
    off()
    follows.delete(res)
  })
}

/** Parses `name`, `name:port` or `scheme:name:port` (pod ResourceLocation). */
function parseProxyName(id: string): {scheme: string; name: string; port: string} {
  const p = id.split(':')
  if (p.length === 3) return {scheme: p[0]!, name: p[1]!, port: p[2]!}
  if (p.length === 2) return {scheme: '', name: p[0]!, port: p[1]!}
  return {scheme: '', name: id, port: ''}
}

export async function handleProxy(info: RequestInfo, req: IncomingMessage, res: ServerResponse, body: Buffer, store: Store, network: Network, proxies: ProxyRegistry): Promise<void> {
  const {name, port: portStr} = parseProxyName(info.name)
  const pod = store.get('pods', info.namespace, name)
  if (!pod) throw notFound('', 'pods', name)
  let port = portStr
  if (!port) {
    // No port: the first declared container port, else the scheme default.
    for (const c of pod.spec?.containers ?? []) {
      if (c.ports?.length) {
        port = String(c.ports[0].containerPort)
        break
      }
    }
  }
  const ip: string = pod.status?.podIP ?? ''
  const portNum = Number(port || 80)
  const m = /\/proxy(\/.*)?$/.exec(info.path)
  const path = m?.[1] ?? '/'
  const rawQuery = new URL(req.url ?? '/', 'https://x').search.slice(1)
  const h = proxies.get(ip, portNum)
  if (h) {
    const r = await h({method: info.method, path, query: rawQuery, headers: req.headers, body})
    const out = r.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(r.body) ? r.body : Buffer.from(r.body)
    res.writeHead(r.status ?? 200, {'Content-Length': out.length, ...(r.headers ?? {})})
    res.end(out)
    return
  }
  const t = network.listener(ip, portNum)
  const refused = () => {
    throw new ApiError(503, 'ServiceUnavailable', `error trying to reach service: dial tcp ${ip}:${portNum}: connect: connection refused`)
  }
  if (!t) return refused()
  // The API server does not forward the client's credentials to the pod; Node rejects an undefined header value,
  // so drop the key rather than setting it to undefined.
  const {authorization: _credentials, ...forwarded} = req.headers
  await new Promise<void>((resolve) => {
    const up = http.request({host: t.host, port: t.port, method: info.method, path: path + (rawQuery ? `?${rawQuery}` : ''), headers: {...forwarded, host: `${ip}:${portNum}`}}, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers)
      ur.pipe(res)
      ur.on('end', resolve)
    })
    up.on('error', () => {
      sendJson(res, 503, new ApiError(503, 'ServiceUnavailable', `error trying to reach service: dial tcp ${ip}:${portNum}: connect: connection refused`).body())
      resolve()
    })
    up.end(body)
  })
}

/** Go's %q of a byte string, as the API server prints a malformed response. */
function goQuote(bytes: Buffer): string {
  let out = ''
  for (const b of bytes) {
    if (b === 0x22) out += '\\"'
    else if (b === 0x5c) out += '\\\\'
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b)
    else out += `\\x${b.toString(16).padStart(2, '0')}`
  }
  return `"${out}"`
}

/**
 * services/proxy: the API server picks a ready endpoint and dials the pod IP:targetPort itself
 * (from outside the pod's network namespace, so loopback-only listeners are not reachable), then
 * speaks HTTP/1.1. An HTTP/2-only (gRPC) server answers with its SETTINGS frame, which the proxy
 * reports as a malformed HTTP response (kubernetes/kubectl#785); nothing listening is ECONNREFUSED.
 */
export async function handleServiceProxy(info: RequestInfo, req: IncomingMessage, res: ServerResponse, body: Buffer, store: Store, network: Network): Promise<void> {
  const {name, port: portStr} = parseProxyName(info.name)
  const svc = store.get('services', info.namespace, name)
  if (!svc) throw notFound('', 'services', name)
  const ports: Array<{name?: string; port: number}> = svc.spec?.ports ?? []
  const sp = portStr ? ports.find((p) => String(p.port) === portStr || p.name === portStr) : ports[0]
  if (!sp) throw new ApiError(503, 'ServiceUnavailable', `no endpoints available for service "${name}"`)
  const backends = readyBackends(store, svc, sp.port)
  if (backends.length === 0) throw new ApiError(503, 'ServiceUnavailable', `no endpoints available for service "${name}"`)
  const b = backends[Math.floor(Math.random() * backends.length)]!
  const t = await network.connect(b.ip, b.port)
  if (t === 'refused') throw new ApiError(503, 'ServiceUnavailable', `error trying to reach service: dial tcp ${b.ip}:${b.port}: connect: connection refused`)
  if (t === 'timeout') throw new ApiError(503, 'ServiceUnavailable', `error trying to reach service: dial tcp ${b.ip}:${b.port}: i/o timeout`)
  const m = /\/proxy(\/.*)?$/.exec(info.path)
  const path = m?.[1] ?? '/'
  await new Promise<void>((resolve) => {
    const up = http.request({host: t.host, port: t.port, method: info.method, path, headers: {host: `${b.ip}:${b.port}`}, timeout: 5000}, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers)
      ur.pipe(res)
      ur.on('end', resolve)
    })
    up.on('timeout', () => up.destroy(Object.assign(new Error('timeout'), {code: 'ETIMEDOUT'})))
    up.on('error', (err: Error & {code?: string; rawPacket?: Buffer}) => {
      const reason = err.rawPacket
        ? `net/http: HTTP/1.x transport connection broken: malformed HTTP response ${goQuote(err.rawPacket.subarray(0, 15))}`
        : err.code === 'ETIMEDOUT'
          ? `dial tcp ${b.ip}:${b.port}: i/o timeout`
          : 'EOF'
      if (!res.headersSent) sendJson(res, 503, new ApiError(503, 'ServiceUnavailable', `error trying to reach service: ${reason}`).body())
      resolve()
    })
    up.end(body)
  })
}
