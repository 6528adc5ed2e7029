// A fault layer in front of the lab's servers: an HTTPS reverse proxy per server (Kubernetes API,
// Elasticsearch, Kibana) that forwards everything, WebSocket upgrades included, except the routes a fault
// names, whose answer it substitutes. The servers themselves stay conformant; the faults are what a real
// client meets between it and a real server: a login page or proxy answering instead of the API, a body
// cut off or dripped, a pager that loops, an oversized answer, the wrong certificate, a tunnel that drops.
// Only tests, `tetractl sandbox` and the benchmarks use it.
import {request as httpsRequest, createServer as createHttpsServer, type Server} from 'node:https'
import type {IncomingMessage, ServerResponse} from 'node:http'
import type net from 'node:net'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import type {Duplex} from 'node:stream'
import tls from 'node:tls'

import selfsigned from 'selfsigned'
import YAML from 'yaml'

import type {LabPart} from './part.js'

export type FaultTarget = 'kube' | 'es' | 'kibana' | 'tetragon'

export type FaultKind =
  /** 200 text/html: a login page or proxy error page answers instead of the API. */
  | 'html'
  /** 200 with a JSON content type and a truncated JSON body. */
  | 'invalid-json'
  /** 200 `null`. */
  | 'null'
  /** 200 `{}`: every field the client expects is missing. */
  | 'missing'
  /** Headers, then the body one byte every 200 ms, forever. */
  | 'drip'
  /** Headers and half a body, then the connection drops. */
  | 'reset'
  /** A 50 MB body without Content-Length. */
  | 'huge'
  /** The server presents a certificate the client's CA did not sign. */
  | 'wrong-cert'
  /** Kubernetes lists: a proxy drops the `continue` parameter, so the first page and its token come back forever. */
  | 'endless-continue'
  /** Kubernetes: 100,000 Tetragon agent pods, served in pages honouring `limit` / `continue`. */
  | 'huge-list'
  /** Elasticsearch / Kibana: a 400 error whose reason carries terminal escapes, CR/LF and BEL. */
  | 'control-chars'
  /** Tetragon: the port-forward tunnel is cut once it has carried a little data. */
  | 'close-port-forward'

export interface FaultSpec {
  target: FaultTarget
  kind: FaultKind
}

/** Agent pods the `huge-list` fault pretends exist. */
export const HUGE_LIST_PODS = 100_000
const HUGE_BYTES = 50 * 1024 * 1024

interface Cert {
  key: string
  cert: string
}

async function makeCert(commonName: string): Promise<Cert> {
  const pems = await selfsigned.generate([{name: 'commonName', value: commonName}], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 86_400_000),
    extensions: [
      {name: 'basicConstraints', cA: true},
      {name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true},
      {name: 'extKeyUsage', serverAuth: true},
      {name: 'subjectAltName', altNames: [{type: 7, ip: '127.0.0.1'}, {type: 2, value: 'localhost'}]},
    ],
  })
  return {key: pems.private, cert: pems.cert}
}

const HTML = '<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body><form method="post" action="/login"><input name="user"><input type="password" name="password"></form></body></html>\n'
// Escapes that would clear the screen, recolour and ring the bell, plus a forged second line.
const HOSTILE = 'index [logs-x] \u001b[2J\u001b[31mcleared your terminal\u0007\r\nError: forged line \u009b31m'

/** Response headers a JSON answer of this server carries (Elasticsearch: the client's product check needs x-elastic-product, @elastic/transport lib/middleware/ProductCheck.js). */
function jsonHeaders(target: FaultTarget): Record<string, string> {
  if (target === 'es') return {'content-type': 'application/vnd.elasticsearch+json;compatible-with=8', 'x-elastic-product': 'Elasticsearch'}
  return {'content-type': 'application/json'}
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void

const timersOf = new WeakMap<ServerResponse, NodeJS.Timeout>()

function substitute(kind: FaultKind, target: FaultTarget): Handler | undefined {
  switch (kind) {
    case 'html':
      return (_req, res) => res.writeHead(200, {'content-type': 'text/html; charset=utf-8'}).end(HTML)
    case 'invalid-json':
      return (_req, res) => res.writeHead(200, jsonHeaders(target)).end('{"kind":"Status","items":[{"metadata":{"name":')
    case 'null':
      return (_req, res) => res.writeHead(200, jsonHeaders(target)).end('null')
    case 'missing':
      return (_req, res) => res.writeHead(200, jsonHeaders(target)).end('{}')
    case 'drip':
      return (_req, res) => {
        res.writeHead(200, jsonHeaders(target))
        const body = '{"items":[' + ' '.repeat(1 << 20)
        let i = 0
        const timer = setInterval(() => {
          if (res.destroyed) return clearInterval(timer)
          res.write(body[i++ % body.length])
        }, 200)
        timersOf.set(res, timer)
        res.on('close', () => clearInterval(timer))
      }
    case 'reset':
      return (_req, res) => {
        res.writeHead(200, jsonHeaders(target))
        res.write('{"kind":"PodList","items":[{"metadata":{"name":"a"')
        // Let the headers and the half body leave, then drop the connection without ending the chunked body
        // (a TLS socket cannot send a bare RST; the client sees the stream end mid-body all the same).
        setTimeout(() => res.socket?.destroy(), 50)
      }
    case 'huge':
      return (_req, res) => {
        res.writeHead(200, jsonHeaders(target))
        const chunk = Buffer.from(`${JSON.stringify({_index: 'logs-x', _source: {message: 'x'.repeat(900)}})},`.repeat(64))
        let sent = 0
        res.write('{"hits":{"hits":[')
        const pump = () => {
          while (sent < HUGE_BYTES && !res.destroyed) {
            sent += chunk.length
            if (!res.write(chunk)) return void res.once('drain', pump)
          }
          if (!res.destroyed) res.end('{}]}}')
        }
        pump()
      }
    case 'control-chars':
      return (_req, res) => {
        const body =
          target === 'es'
            ? {error: {root_cause: [{type: 'illegal_argument_exception', reason: HOSTILE}], type: 'illegal_argument_exception', reason: HOSTILE}, status: 400}
            : {statusCode: 400, error: 'Bad Request', message: HOSTILE}
        res.writeHead(400, jsonHeaders(target)).end(JSON.stringify(body))
      }
    default:
      return undefined
  }
}

/** A page of synthetic agent pods for `huge-list` (fields the checks read, at a realistic size). */
function hugeListPage(start: number, limit: number): string {
  const end = Math.min(HUGE_LIST_PODS, start + limit)
  const items: unknown[] = []
  for (let i = start; i < end; i++) {
    const name = `tetragon-${i.toString(36).padStart(5, '0')}`
    items.push({
      metadata: {
        name,
        namespace: 'kube-system',
        uid: `00000000-0000-4000-8000-${i.toString().padStart(12, '0')}`,
        labels: {'app.kubernetes.io/name': 'tetragon', 'app.kubernetes.io/instance': 'tetragon', 'controller-revision-hash': '7d9f8c6b5'},
        ownerReferences: [{apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'tetragon', uid: 'ds', controller: true}],
      },
      spec: {nodeName: `node-${i}`, hostNetwork: true, containers: [{name: 'tetragon', image: 'quay.io/cilium/tetragon:v1.7.0'}, {name: 'export-stdout', image: 'quay.io/cilium/hubble-export-stdout:v1.1.0'}]},
      status: {
        phase: 'Running',
        podIP: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
        conditions: [{type: 'Ready', status: 'True'}],
        containerStatuses: [
          {name: 'tetragon', ready: true, restartCount: 0, image: 'quay.io/cilium/tetragon:v1.7.0'},
          {name: 'export-stdout', ready: true, restartCount: 0, image: 'quay.io/cilium/hubble-export-stdout:v1.1.0'},
        ],
      },
    })
  }
  const metadata: Record<string, unknown> = {resourceVersion: '1'}
  if (end < HUGE_LIST_PODS) {
    metadata.continue = Buffer.from(JSON.stringify({start: end})).toString('base64url')
    metadata.remainingItemCount = HUGE_LIST_PODS - end
  }
  return JSON.stringify({kind: 'PodList', apiVersion: 'v1', metadata, items})
}

const isPodList = (req: IncomingMessage) => req.method === 'GET' && /\/pods$/.test(new URL(req.url ?? '/', 'https://x').pathname)

interface ProxyOptions {
  upstream: string
  upstreamCa: string
  cert: Cert
  target: FaultTarget
  /** The faults aimed at this server. */
  faults: FaultKind[]
}

interface Proxy {
  url: string
  stop(): Promise<void>
}

async function startProxy(o: ProxyOptions): Promise<Proxy> {
  const up = new URL(o.upstream)
  const has = (k: FaultKind) => o.faults.includes(k)
  const whole = o.faults.map((k) => substitute(k, o.target)).find(Boolean)
  const sockets = new Set<Duplex>()
  const responses = new Set<ServerResponse>()

  const forward = (req: IncomingMessage, res: ServerResponse, path = req.url ?? '/') => {
    const headers = {...req.headers, host: up.host}
    const pr = httpsRequest({host: up.hostname, port: up.port, method: req.method, path, headers, ca: o.upstreamCa, servername: undefined}, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers)
      ur.pipe(res)
      ur.on('error', () => res.destroy())
    })
    pr.on('error', () => res.destroy())
    req.pipe(pr)
  }

  const server: Server = createHttpsServer({key: o.cert.key, cert: o.cert.cert}, (req, res) => {
    responses.add(res)
    res.on('close', () => responses.delete(res))
    if (whole) return whole(req, res)
    if (has('huge-list') && isPodList(req)) {
      const u = new URL(req.url ?? '/', 'https://x')
      const selector = u.searchParams.get('labelSelector') ?? ''
      if (/app\.kubernetes\.io\/name=tetragon/.test(selector) && !/!=/.test(selector)) {
        const limit = Math.max(1, Math.min(HUGE_LIST_PODS, Number(u.searchParams.get('limit')) || HUGE_LIST_PODS))
        const token = u.searchParams.get('continue')
        let start = 0
        try {
          if (token) start = Number(JSON.parse(Buffer.from(token, 'base64url').toString()).start) || 0
        } catch {
          /* a bad token starts over, as a fresh list would */
        }
        return res.writeHead(200, {'content-type': 'application/json'}).end(hugeListPage(start, limit))
      }
    }
    if (has('endless-continue') && isPodList(req)) {
      // The proxy loses `continue` and asks for one item at a time: the API answers the first page, with the
      // same token, to every request of the walk (ListOptions.continue, k8s.io/apimachinery meta/v1 types.go).
      const u = new URL(req.url ?? '/', 'https://x')
      u.searchParams.delete('continue')
      u.searchParams.set('limit', '1')
      return forward(req, res, `${u.pathname}?${u.searchParams}`)
    }
    forward(req, res)
  })
  server.on('connection', (s: net.Socket) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  // WebSocket upgrades (exec, port-forward): a byte pipe to the upstream after replaying the request head.
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy())
    const upstream = tls.connect({host: up.hostname, port: Number(up.port), ca: o.upstreamCa, servername: up.hostname === '127.0.0.1' ? undefined : up.hostname})
    sockets.add(upstream)
    upstream.on('close', () => {
      sockets.delete(upstream)
      socket.destroy()
    })
    upstream.on('error', () => socket.destroy())
    socket.on('close', () => upstream.destroy())
    const lines = [`${req.method} ${req.url} HTTP/1.1`]
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const k = req.rawHeaders[i]!
      lines.push(`${k}: ${k.toLowerCase() === 'host' ? up.host : req.rawHeaders[i + 1]}`)
    }
    upstream.write(`${lines.join('\r\n')}\r\n\r\n`)
    if (head.length) upstream.write(head)
    const cut = has('close-port-forward') && /\/portforward(\?|$)/.test(new URL(req.url ?? '/', 'https://x').pathname)
    let carried = 0
    upstream.on('data', (d: Buffer) => {
      socket.write(d)
      carried += d.length
      // Past the upgrade and the first frames (a few hundred bytes) the tunnel drops, as a kubelet restart or a
      // load balancer cutting the stream would: every gRPC connection through it breaks mid-call.
      if (cut && carried > 300) {
        upstream.destroy()
        socket.destroy()
      }
    })
    socket.pipe(upstream)
  })
  const cert = o.faults.includes('wrong-cert') ? await makeCert('not-the-server-you-trust') : undefined
  if (cert) server.setSecureContext({key: cert.key, cert: cert.cert})
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port))
  })
  return {
    url: `https://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const r of responses) {
          clearInterval(timersOf.get(r))
          r.destroy()
        }
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}

/** What the fault layer needs from a started lab. */
export interface FaultUpstreams {
  kube: {url: string; caData: string; kubeconfig(): string}
  elastic?: {esUrl: string; kibanaUrl: string; caPem: string}
}

/**
 * Puts a proxy in front of every server of the lab (one CA for all of them, so a fault on one leaves the
 * others reachable) and returns the lab part that points the kubeconfig and the environment at the proxies.
 */
export async function startFaults(lab: FaultUpstreams, faults: FaultSpec[]): Promise<LabPart> {
  const cert = await makeCert('tetractl-lab-fault-proxy')
  const on = (t: FaultTarget) => faults.filter((f) => f.target === t).map((f) => f.kind)
  const kubeCa = Buffer.from(lab.kube.caData, 'base64').toString('utf8')
  // Tetragon faults live on the API server's port-forward tunnels, so the Kubernetes proxy carries them.
  const kube = await startProxy({upstream: lab.kube.url, upstreamCa: kubeCa, cert, target: 'kube', faults: [...on('kube'), ...on('tetragon')]})
  const proxies: Proxy[] = [kube]
  let es: Proxy | undefined
  let kibana: Proxy | undefined
  if (lab.elastic) {
    es = await startProxy({upstream: lab.elastic.esUrl, upstreamCa: lab.elastic.caPem, cert, target: 'es', faults: on('es')})
    kibana = await startProxy({upstream: lab.elastic.kibanaUrl, upstreamCa: lab.elastic.caPem, cert, target: 'kibana', faults: on('kibana')})
    proxies.push(es, kibana)
  }
  const kubeconfig = () => {
    const doc = YAML.parse(lab.kube.kubeconfig())
    for (const c of doc.clusters) {
      c.cluster.server = kube.url
      c.cluster['certificate-authority-data'] = Buffer.from(cert.cert).toString('base64')
    }
    return YAML.stringify(doc)
  }
  return {
    name: 'faults',
    files: () => ({kubeconfig: kubeconfig()}),
    envFor: (dir): Record<string, string> => {
      if (!es || !kibana) return {}
      mkdirSync(dir, {recursive: true})
      const caFile = join(dir, 'fault-proxy-ca.pem')
      writeFileSync(caFile, cert.cert, {mode: 0o644})
      return {ELASTICSEARCH_URL: es.url, ELASTICSEARCH_CA_CERT: caFile, KIBANA_URL: kibana.url, KIBANA_CA_CERT: caFile}
    },
    stop: async () => {
      await Promise.all(proxies.map((p) => p.stop()))
    },
  }
}
