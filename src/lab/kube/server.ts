import {STATUS_CODES, type IncomingMessage, type ServerResponse} from 'node:http'
import https from 'node:https'
import type net from 'node:net'
import type {Duplex} from 'node:stream'

import {WebSocketServer, type WebSocket} from 'ws'

import type {KubeApi} from './api.js'
import type {ExecRegistry} from './exec.js'
import type {LogRegistry, ProxyRegistry} from './logs.js'
import type {Network} from './network.js'
import {semverAtLeast} from './objects.js'
import {openapi} from './openapi.js'
import {ANONYMOUS, type Subject, authorize, forbiddenStatus} from './rbac.js'
import {ApiError, type RequestInfo, badRequest, notFound, parseRequestInfo, queryBool, sendError, sendJson} from './request.js'
import type {Store} from './store.js'
import {chooseProtocol, handleLog, handleProxy, handleServiceProxy, resolveContainer, runExec, runPortForward} from './streams.js'

// The HTTPS front of the lab: authentication, authorization, the request log, and dispatch to
// REST, streaming and discovery handlers.

export interface RequestRecord {
  seq: number
  /** Epoch milliseconds. */
  startedAt: number
  /** Epoch milliseconds; undefined while in flight (watch, follow, exec, port-forward). */
  finishedAt?: number
  method: string
  path: string
  query: Record<string, string | string[]>
  /** Kubernetes verb: get, list, watch, create, update, patch, delete, deletecollection, connect; '' for non-resource paths. */
  verb: string
  apiGroup: string
  resource: string
  subresource: string
  namespace: string
  name: string
  /** HTTP status (101 for an accepted WebSocket upgrade). */
  status: number
  /** Label of the credential used: `sandbox`, an extra token's label, `anonymous` or `invalid`. */
  token: string
}

export interface ServerDeps {
  store: Store
  api: KubeApi
  exec: ExecRegistry
  logs: LogRegistry
  proxy: ProxyRegistry
  network: Network
  subjects: Map<string, Subject>
  kubernetesVersion: string
  latencyMs?: number
  hang?: boolean
}

function queryRecord(q: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const k of new Set(q.keys())) {
    const all = q.getAll(k)
    out[k] = all.length === 1 ? all[0]! : all
  }
  return out
}

export class KubeServer {
  private readonly server: https.Server
  private readonly wss: WebSocketServer
  private readonly sockets = new Set<net.Socket | Duplex>()
  private readonly tcp = new Set<net.Socket>()
  private readonly follows = new Set<ServerResponse>()
  private readonly timers = new Set<NodeJS.Timeout>()
  private readonly log: RequestRecord[] = []
  private seq = 0

  constructor(private readonly deps: ServerDeps, tls: {key: string; cert: string}) {
    this.server = https.createServer({key: tls.key, cert: tls.cert})
    this.wss = new WebSocketServer({
      noServer: true,
      handleProtocols: (offered, req) => chooseProtocol(/\/portforward(\?|$)/.test(req.url ?? '') ? 'portforward' : 'exec', offered),
    })
    this.server.on('connection', (s: net.Socket) => {
      this.sockets.add(s)
      s.on('close', () => this.sockets.delete(s))
    })
    this.server.on('request', (req, res) => {
      if (this.deps.hang) return
      void this.onRequest(req, res)
    })
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (this.deps.hang) return
      void this.onUpgrade(req, socket, head)
    })
  }

  listen(port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject)
        resolve((this.server.address() as net.AddressInfo).port)
      })
    })
  }

  requests(): RequestRecord[] {
    return this.log.map((r) => ({...r, query: {...r.query}}))
  }

  clearRequests(): void {
    this.log.length = 0
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
    this.deps.api.watches.closeAll()
    for (const r of this.follows) r.destroy()
    for (const ws of this.wss.clients) ws.terminate()
    for (const s of this.tcp) s.destroy()
    for (const s of this.sockets) s.destroy()
    await new Promise<void>((resolve) => this.wss.close(() => resolve()))
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  private delay(): Promise<void> {
    const ms = this.deps.latencyMs ?? 0
    if (ms <= 0) return Promise.resolve()
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t)
        resolve()
      }, ms)
      this.timers.add(t)
    })
  }

  private authenticate(req: IncomingMessage): Subject | undefined {
    const h = req.headers.authorization
    if (!h) return ANONYMOUS
    const m = /^Bearer\s+(\S+)$/i.exec(h)
    if (!m) return undefined
    return this.deps.subjects.get(m[1]!)
  }

  private record(req: IncomingMessage, info: RequestInfo): RequestRecord {
    const r: RequestRecord = {
      seq: ++this.seq,
      startedAt: Date.now(),
      method: req.method ?? 'GET',
      path: info.path,
      query: queryRecord(info.query),
      verb: info.isResource ? info.verb : '',
      apiGroup: info.apiGroup,
      resource: info.resource,
      subresource: info.subresource,
      namespace: info.namespace,
      name: info.name,
      status: 0,
      token: 'anonymous',
    }
    this.log.push(r)
    return r
  }

  /** Verb RBAC checks for this request. */
  private authzVerb(info: RequestInfo, upgrade: boolean): string {
    // A WebSocket exec/attach/portforward is a GET and is authorized as `get` on the subresource
    // (kubernetes-client/python#2084); the AuthorizePodWebsocketUpgradeCreatePermission gate
    // (beta, on by default since v1.35) makes it `create` like the SPDY POST.
    if (upgrade && ['exec', 'attach', 'portforward'].includes(info.subresource) && semverAtLeast(this.deps.kubernetesVersion, '1.35.0')) return 'create'
    return info.authzVerb
  }

  /**
   * Impersonate-User / Impersonate-Group (apiserver endpoints/filters/impersonation.go): each requested identity
   * is authorized as verb `impersonate` on users, groups or serviceaccounts; the request then runs as that user.
   */
  private impersonate(req: IncomingMessage, subject: Subject): Subject {
    const header = (name: string): string[] => {
      const v = req.headers[name]
      return v === undefined ? [] : Array.isArray(v) ? v : v.split(',').map((x) => x.trim())
    }
    const users = header('impersonate-user')
    const groups = header('impersonate-group')
    const uid = header('impersonate-uid')
    if (users.length === 0) {
      if (groups.length || uid.length) throw new ApiError(500, 'InternalError', `Internal error occurred: requested [${[...groups.map((g) => `{Group  ${g}}`), ...uid.map((u) => `{UID  ${u}}`)].join(' ')}] without impersonating a user`)
      return subject
    }
    const user = users[0]!
    const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(user)
    const check = (a: {resource: string; name: string; namespace?: string}) => {
      const attrs = {verb: 'impersonate', apiGroup: a.resource === 'uids' ? 'authentication.k8s.io' : '', resource: a.resource, subresource: '', namespace: a.namespace ?? '', name: a.name}
      if (!authorize(subject, attrs).allowed) {
        const f = forbiddenStatus(subject, attrs)
        throw new ApiError(403, 'Forbidden', f.message, f.details)
      }
    }
    check(sa ? {resource: 'serviceaccounts', namespace: sa[1]!, name: sa[2]!} : {resource: 'users', name: user})
    for (const g of groups) check({resource: 'groups', name: g})
    for (const u of uid) check({resource: 'uids', name: u})
    // Without Impersonate-Group, a service account gets its groups; every non-anonymous user gets system:authenticated.
    const all = [...groups]
    if (sa && groups.length === 0) all.push('system:serviceaccounts', `system:serviceaccounts:${sa[1]}`)
    if (user !== 'system:anonymous' && !all.includes('system:authenticated')) all.push('system:authenticated')
    // RBAC for the impersonated user: a known credential's bindings, system:masters is cluster-admin (the
    // superuser group), anyone else has only what system:authenticated grants.
    const known = [...this.deps.subjects.values()].find((s) => s.user === user)
    const rules = all.includes('system:masters') ? 'admin' : known?.rules ?? []
    const bindingSubject = all.includes('system:masters') ? 'Group "system:masters"' : sa ? `ServiceAccount "${sa[2]}/${sa[1]}"` : `User "${user}"`
    return {user, groups: all, label: subject.label, rules, bindingSubject}
  }

  /** Authn + authz shared by plain requests and upgrades; throws ApiError. */
  private admit(req: IncomingMessage, info: RequestInfo, rec: RequestRecord, upgrade: boolean): Subject {
    let subject = this.authenticate(req)
    if (!subject) {
      rec.token = 'invalid'
      // Invalid bearer token: 401 Unauthorized (client-node 1.4 drops the body).
      throw new ApiError(401, 'Unauthorized', 'Unauthorized')
    }
    rec.token = subject.label
    subject = this.impersonate(req, subject)
    const attrs = info.isResource
      ? {verb: this.authzVerb(info, upgrade), apiGroup: info.apiGroup, resource: info.resource, subresource: info.subresource, namespace: info.namespace, name: info.name}
      : {verb: (req.method ?? 'GET').toLowerCase(), path: info.path}
    const d = authorize(subject, attrs)
    if (!d.allowed) {
      const f = forbiddenStatus(subject, attrs)
      throw new ApiError(403, 'Forbidden', f.message, f.details)
    }
    return subject
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const info = parseRequestInfo(req.method ?? 'GET', req.url ?? '/')
    const rec = this.record(req, info)
    res.on('close', () => {
      rec.status = res.headersSent ? res.statusCode : 0
      rec.finishedAt = Date.now()
    })
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    await new Promise<void>((resolve) => {
      if (req.readableEnded) resolve()
      else req.on('end', () => resolve())
      req.on('error', () => resolve())
    })
    const body = Buffer.concat(chunks)
    await this.delay()
    try {
      const subject = this.admit(req, info, rec, false)
      if (!info.isResource) {
        if (req.method !== 'GET' && req.method !== 'HEAD') throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {})
        const p = info.path.replace(/\/$/, '')
        if (p === '/healthz' || p === '/livez' || p === '/readyz') {
          res.writeHead(200, {'Content-Type': 'text/plain; charset=utf-8'})
          res.end('ok')
          return
        }
        const oa = openapi(info.path, info.query, req.headers.accept)
        if (oa) {
          res.writeHead(200, {'Content-Type': oa.contentType, 'Content-Length': Buffer.byteLength(oa.body), ...oa.headers})
          res.end(oa.body)
          return
        }
        const d = this.deps.api.discovery(info.path)
        if (d === undefined) {
          // Paths outside the API groups get the Go mux's plain 404.
          res.writeHead(404, {'Content-Type': 'text/plain; charset=utf-8'})
          res.end('404 page not found\n')
          return
        }
        return sendJson(res, 200, d)
      }
      const def = this.deps.api.resolve(info)
      if (def.resource === 'pods' && def.group === '') {
        const ns = info.namespace
        switch (info.subresource) {
          case 'exec':
          case 'attach':
          case 'portforward':
            // Streaming needs an upgrade (SPDY or WebSocket).
            if (!this.deps.store.get('pods', ns, info.name)) throw notFound('', 'pods', info.name)
            throw badRequest('Upgrade request required')
          case 'log':
            if (req.method !== 'GET') throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {})
            return handleLog(info, res, this.deps.store, this.deps.logs, this.follows)
          case 'proxy':
            return await handleProxy(info, req, res, body, this.deps.store, this.deps.network, this.deps.proxy)
        }
      }
      if (def.resource === 'services' && def.group === '' && info.subresource === 'proxy') {
        return await handleServiceProxy(info, req, res, body, this.deps.store, this.deps.network)
      }
      if (def.resource === 'nodes' && info.subresource === 'proxy') throw new ApiError(503, 'ServiceUnavailable', `error trying to reach service: dial tcp ${this.deps.network.nodeIp(info.name.split(':')[0]!) ?? info.name}:10250: connect: connection refused`)
      this.deps.api.handle(def, info, req, res, subject, body.toString('utf8'))
    } catch (e) {
      if (res.headersSent) {
        res.destroy()
        return
      }
      if (e instanceof ApiError) return sendError(res, e)
      sendError(res, new ApiError(500, 'InternalError', `Internal error occurred: ${(e as Error).message}`, {causes: [{message: (e as Error).message}]}))
    }
  }

  private rejectUpgrade(socket: Duplex, err: ApiError): void {
    const body = JSON.stringify(err.body())
    socket.end(`HTTP/1.1 ${err.code} ${STATUS_CODES[err.code]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
  }

  private async onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const info = parseRequestInfo(req.method ?? 'GET', req.url ?? '/')
    const rec = this.record(req, info)
    socket.on('error', () => socket.destroy())
    socket.on('close', () => {
      rec.finishedAt = Date.now()
    })
    await this.delay()
    try {
      this.admit(req, info, rec, true)
      const kind = info.subresource
      if (!(info.isResource && info.resource === 'pods' && info.apiGroup === '' && (kind === 'exec' || kind === 'portforward' || kind === 'attach'))) {
        throw badRequest('the server does not support upgrading this request')
      }
      const pod = this.deps.store.get('pods', info.namespace, info.name)
      if (!pod) throw notFound('', 'pods', info.name)
      const q = info.query
      if (kind === 'attach') throw badRequest('attach is not emulated by the lab')
      // SPDY/3.1 (kubectl before 1.30, client-go's remotecommand) is not spoken here: refuse it in words rather
      // than with the WebSocket library's "Invalid HTTP method" (README "Lab fidelity").
      if (String(req.headers.upgrade ?? '').toLowerCase() !== 'websocket') throw badRequest(`unable to upgrade connection: the lab serves ${kind} over WebSocket only, not ${String(req.headers.upgrade ?? 'no upgrade')}`)
      if (kind === 'exec') {
        const container = resolveContainer(pod, q.get('container'))
        const argv = q.getAll('command')
        // PodExecOptions validation: command is required.
        if (argv.length === 0) throw badRequest('you must specify at least 1 command')
        const flags = {stdout: queryBool(q, 'stdout'), stderr: queryBool(q, 'stderr'), tty: queryBool(q, 'tty')}
        if (!flags.stdout && !flags.stderr && !queryBool(q, 'stdin')) throw badRequest('you must specify at least 1 of stdin, stdout, stderr')
        const st = (pod.status?.containerStatuses ?? []).find((x: {name: string}) => x.name === container)
        if (!st?.state?.running) {
          // The kubelet refuses before upgrading: kubectl shows `unable to upgrade connection:
          // container not found ("<name>")`; the body is the kubelet's plain-text error.
          const text = `container not found ("${container}")`
          rec.status = 404
          socket.end(`HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`)
          return
        }
        this.wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
          rec.status = 101
          void runExec(ws, this.deps.exec, this.deps.store, pod, container, argv, flags)
        })
        return
      }
      const ports = q.getAll('ports').flatMap((p) => p.split(',')).filter(Boolean).map(Number)
      if (ports.length === 0) throw badRequest('query parameter "port" is required')
      for (const p of ports) if (!Number.isInteger(p) || p <= 0 || p > 65535) throw badRequest(`unable to parse "${p}" as a port: must be in the range 1..65535`)
      this.wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
        rec.status = 101
        runPortForward(ws, this.deps.network, pod, ports, this.tcp)
      })
    } catch (e) {
      const err = e instanceof ApiError ? e : new ApiError(500, 'InternalError', `Internal error occurred: ${(e as Error).message}`)
      rec.status = err.code
      this.rejectUpgrade(socket, err)
    }
  }
}
