// The only module that talks to the Kubernetes API. Imported lazily from command run()s:
// @kubernetes/client-node costs ~0.9 s to import (measured on Node 20 with client-node 1.4).
import {existsSync, readFileSync} from 'node:fs'
import net from 'node:net'
import {homedir} from 'node:os'
import {delimiter, join} from 'node:path'
import {PassThrough, Writable} from 'node:stream'

import * as k8s from '@kubernetes/client-node'

import {ForbiddenError, UnreachableError, UserError, redact} from '../engine/errors.js'
import {ExitCode} from '../engine/exit-codes.js'
import {serverText} from '../engine/text.js'
import {NotKubernetesError, kubeHttpLibrary} from './kube-http.js'

export interface KubeOptions {
  kubeconfig?: string
  context?: string
  /** Per-request timeout. */
  requestTimeoutMs?: number
  /**
   * When the current run must end (epoch ms), if it must: a request started late gets only what is left, so an API
   * that never answers is reported by the request's own timeout (unreachable) rather than cut off by the run's.
   */
  deadline?: () => number | undefined
}

export interface ExecResult {
  stdout: string
  stderr: string
  exitCode: number
  /** The Status message when the command failed. */
  message?: string
  /**
   * The executable does not exist in the container: the runtime could not start it (containerd / CRI-O send a
   * Failure Status without an ExitCode cause, "executable file not found in $PATH" or "stat …: no such file or
   * directory"), or a shell answered 127.
   */
  notFound?: boolean
}

export interface ListOptions {
  labelSelector?: string
  fieldSelector?: string
  /** Page size; the client follows `continue` tokens. */
  pageSize?: number
}

type Resource = {verb: string; resource: string; namespace?: string; group?: string}

/** Pages one list may take (500 items each: 500,000 items) before tetractl stops following `continue`. */
export const MAX_LIST_PAGES = 1000
/** Items per list page: bounded pages keep memory flat however large the cluster (client-node pages with `_continue`). */
export const DEFAULT_PAGE_SIZE = 500

/** Resources whose answer is the pod's or Service's own body, not API JSON. */
// Not JSON by design: proxied answers are the backend's own, and pods/log is text/plain (core/v1 PodLogOptions).
const PASS_THROUGH = new Set(['pods/proxy', 'services/proxy', 'pods/log'])

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'EPROTO',
  'ERR_SSL_WRONG_VERSION_NUMBER',
])

/** Where the kubeconfig comes from, in kubectl's order. */
function locateKubeconfig(flag?: string): {files: string[]} | {inCluster: true} {
  if (flag) {
    if (!existsSync(flag)) throw new UserError(`Kubeconfig ${flag} (from --kubeconfig) does not exist.`, 'Pass an existing file with --kubeconfig.')
    return {files: [flag]}
  }
  const env = process.env.KUBECONFIG
  if (env) {
    const files = env.split(delimiter).filter((f) => f && existsSync(f))
    if (files.length === 0) throw new UserError(`KUBECONFIG=${env} names no existing file.`, 'Fix KUBECONFIG or pass --kubeconfig FILE.')
    return {files}
  }
  const home = join(homedir(), '.kube', 'config')
  if (existsSync(home)) return {files: [home]}
  if (process.env.KUBERNETES_SERVICE_HOST && existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token')) return {inCluster: true}
  throw new UserError(
    'No kubeconfig found (looked at --kubeconfig, KUBECONFIG, ~/.kube/config and the in-cluster service account).',
    'Pass --kubeconfig FILE, set KUBECONFIG, or run `tetractl sandbox start` for a simulated cluster.',
  )
}

export function loadKubeConfig(opts: KubeOptions): {kc: k8s.KubeConfig; source: string} {
  const where = locateKubeconfig(opts.kubeconfig)
  const kc = new k8s.KubeConfig()
  let source: string
  if ('inCluster' in where) {
    kc.loadFromCluster()
    source = 'in-cluster service account'
  } else {
    source = where.files.join(delimiter)
    for (const [i, file] of where.files.entries()) {
      let text: string
      try {
        text = readFileSync(file, 'utf8')
      } catch (error) {
        throw new UserError(`Cannot read kubeconfig ${file}: ${(error as Error).message}.`, 'Check the path and its permissions.')
      }
      const one = new k8s.KubeConfig()
      try {
        one.loadFromString(text)
      } catch (error) {
        const first = redact(String((error as Error).message).split('\n')[0])
        throw new UserError(`Kubeconfig ${file} is not valid YAML: ${first}.`, 'Fix the file or pass another with --kubeconfig.')
      }
      if (one.getContexts().length === 0 || one.getClusters().length === 0) {
        throw new UserError(`Kubeconfig ${file} defines no context or cluster.`, 'Pass a kubeconfig with at least one context (kubectl config get-contexts).')
      }
      if (i === 0) {
        kc.loadFromString(text)
        kc.makePathsAbsolute(join(file, '..'))
      } else kc.mergeConfig(one, true)
    }
  }
  if (opts.context) {
    if (!kc.getContextObject(opts.context)) {
      const known = kc.getContexts().map((c) => c.name)
      throw new UserError(`Context "${opts.context}" is not in ${source}.`, `Use one of: ${known.join(', ') || '(none)'} (--context).`)
    }
    kc.setCurrentContext(opts.context)
  }
  const ctx = kc.getContextObject(kc.getCurrentContext())
  if (!ctx) throw new UserError(`Kubeconfig ${source} has no current-context.`, 'Pass --context NAME.')
  const cluster = kc.getCluster(ctx.cluster)
  if (!cluster) throw new UserError(`Context "${ctx.name}" names cluster "${ctx.cluster}", which ${source} does not define.`, 'Fix the kubeconfig or pick another --context.')
  let server: URL
  try {
    server = new URL(cluster.server)
  } catch {
    throw new UserError(`Cluster "${cluster.name}" has an invalid server URL "${redact(cluster.server)}".`, 'Fix the kubeconfig.')
  }
  // client-node refuses plain HTTP unless the cluster sets insecure-skip-tls-verify
  // (kubernetes-client/javascript 1.4.0 src/config.ts createAgent).
  if (server.protocol === 'http:' && !cluster.skipTLSVerify) {
    throw new UserError(
      `Cluster "${cluster.name}" uses a plain http:// server (${redact(cluster.server)}) without insecure-skip-tls-verify.`,
      'Use the https:// address of the API server (kubectl config view --minify).',
    )
  }
  if (server.protocol !== 'https:' && server.protocol !== 'http:') {
    throw new UserError(`Cluster "${cluster.name}" has a server URL "${redact(cluster.server)}" that is not https://.`, 'Use the https:// address of the API server.')
  }
  return {kc, source}
}

export class KubeClient {
  readonly core: k8s.CoreV1Api
  readonly apps: k8s.AppsV1Api
  readonly discovery: k8s.DiscoveryV1Api
  readonly authz: k8s.AuthorizationV1Api
  readonly custom: k8s.CustomObjectsApi
  readonly contextName: string
  readonly server: string
  readonly requestTimeoutMs: number
  private readonly deadline?: () => number | undefined

  constructor(
    readonly kc: k8s.KubeConfig,
    opts: KubeOptions,
  ) {
    this.core = kc.makeApiClient(k8s.CoreV1Api)
    this.apps = kc.makeApiClient(k8s.AppsV1Api)
    this.discovery = kc.makeApiClient(k8s.DiscoveryV1Api)
    this.authz = kc.makeApiClient(k8s.AuthorizationV1Api)
    this.custom = kc.makeApiClient(k8s.CustomObjectsApi)
    this.contextName = kc.getCurrentContext()
    this.server = kc.getCurrentCluster()?.server ?? ''
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 10_000
    this.deadline = opts.deadline
  }

  /** This request's timeout: the configured one, or less when the run's deadline is nearer (never below 200 ms). */
  private timeoutNow(): number {
    const deadline = this.deadline?.()
    if (deadline === undefined) return this.requestTimeoutMs
    return Math.max(200, Math.min(this.requestTimeoutMs, Math.floor(deadline - Date.now())))
  }

  static load(opts: KubeOptions): KubeClient {
    const {kc} = loadKubeConfig(opts)
    return new KubeClient(kc, opts)
  }

  /** Per-call options: the signal that aborts the underlying fetch. */
  private options(signal: AbortSignal, expectJson: boolean): k8s.ConfigurationOptions {
    // ObjectParamAPI hands options to the Observable API, whose middleware returns client-node's Observable.
    const observable = <T>(value: T) => new k8s.Observable(Promise.resolve(value))
    return {
      // Our HTTP layer: bounded body, JSON only where the API speaks JSON (kube-http.ts).
      httpApi: kubeHttpLibrary({expectJson}),
      middleware: [
        {
          pre: (ctx: k8s.RequestContext) => {
            ctx.setSignal(signal)
            return observable(ctx)
          },
          post: (rsp: k8s.ResponseContext) => observable(rsp),
        },
      ],
      middlewareMergeStrategy: 'append',
    }
  }

  /** Run one API call; translate transport and HTTP failures into the project's errors. */
  async call<T>(what: Resource, fn: (options: k8s.ConfigurationOptions) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const timeoutMs = this.timeoutNow()
    // A timer of our own rather than AbortSignal.any([AbortSignal.timeout(ms), signal]): in Node 20 a timeout
    // signal that only a composite refers to can be garbage-collected before it fires, and the request then never
    // times out (nodejs/node#57736, fixed by nodejs/node#57867).
    const ac = new AbortController()
    const timer = setTimeout(() => ac.abort(new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError')), timeoutMs)
    const onAbort = () => ac.abort(signal?.reason)
    if (signal?.aborted) onAbort()
    else signal?.addEventListener('abort', onAbort, {once: true})
    const expectJson = !PASS_THROUGH.has(what.resource)
    try {
      const result = await fn(this.options(ac.signal, expectJson))
      // `null` or a scalar where the API always answers an object: not a Kubernetes API.
      if (expectJson && (result === null || result === undefined || typeof result !== 'object')) {
        throw new NotKubernetesError(`answered ${result === null ? 'null' : typeof result} where an object belongs`, 'shape')
      }
      return result
    } catch (error) {
      throw this.translate(error, what, timeoutMs)
    } finally {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
    }
  }

  /** A read that may legitimately find nothing: 404 → undefined. */
  async read<T>(what: Resource, fn: (options: k8s.ConfigurationOptions) => Promise<T>, signal?: AbortSignal): Promise<T | undefined> {
    try {
      return await this.call(what, fn, signal)
    } catch (error) {
      if (error instanceof NotFound) return undefined
      throw error
    }
  }

  translate(error: unknown, what: Resource, timeoutMs = this.requestTimeoutMs): Error {
    const e = error as {code?: number | string; body?: unknown; type?: string; name?: string; message?: string; errno?: string}
    if (error instanceof k8s.ApiException) {
      const code = error.code
      const status = parseStatus(error.body)
      if (code === 401) {
        return new UnreachableError(
          `The Kubernetes API at ${this.server} refused the credentials of context "${this.contextName}" (401 Unauthorized).`,
          'Refresh the credentials (e.g. your cloud CLI\'s get-credentials) or pick another --context.',
        )
      }
      if (code === 403) return new ForbiddenError(what.verb, what.resource, what.namespace)
      if (code === 404) return new NotFound(status?.message ?? `${what.resource} not found`)
      // An HTTP error of the API is a finding about the target, not a bug of ours (no "check crashed").
      return new UserError(`Kubernetes API ${what.verb} ${what.resource}: HTTP ${code}${status?.message ? `: ${redact(serverText(status.message))}` : ''}`, undefined, ExitCode.FINDINGS)
    }
    if (error instanceof NotKubernetesError) return this.notKubernetes(error.message, what, error.kind === 'too-large')
    // The generated response processors JSON.parse the body: a SyntaxError means the body was not JSON.
    if (error instanceof SyntaxError) return this.notKubernetes('answered a body that is not valid JSON', what)
    const message = String(e?.message ?? error)
    const code = String(e?.code ?? e?.errno ?? '')
    if (e?.name === 'AbortError' || e?.type === 'aborted' || /aborted/i.test(message)) {
      return new UnreachableError(
        `The Kubernetes API at ${this.server} did not answer within ${timeoutMs} ms (${what.verb} ${what.resource}).`,
        'Check that the API server is reachable from here (VPN, firewall) and try again.',
      )
    }
    if (code === 'ECONNREFUSED' || /ECONNREFUSED/.test(message)) {
      return new UnreachableError(`Cannot reach the Kubernetes API at ${this.server}: connection refused.`, 'Is the cluster running, and is --context / the kubeconfig pointing at it?')
    }
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || /ENOTFOUND|EAI_AGAIN/.test(message)) {
      return new UnreachableError(`Cannot resolve the Kubernetes API host of ${this.server}.`, 'Check the server URL in the kubeconfig and your DNS.')
    }
    if (code === 'ECONNRESET' || code === 'EHOSTUNREACH' || code === 'ETIMEDOUT' || code === 'ENETUNREACH') {
      return new UnreachableError(`Cannot reach the Kubernetes API at ${this.server}: ${code}.`, 'Check the network path to the API server.')
    }
    const tls = [...TLS_CODES].find((c) => code === c || message.includes(c)) ?? (/certificate|self[- ]signed|SSL/i.test(message) ? 'TLS' : undefined)
    if (tls) {
      return new UnreachableError(
        `TLS verification of the Kubernetes API at ${this.server} failed: ${redact(message.replace(/^.*reason: /, ''))}.`,
        'The kubeconfig\'s certificate-authority-data must match the server certificate; refresh the kubeconfig.',
      )
    }
    return error instanceof Error ? error : new Error(message)
  }

  /** One line for a server that does not speak the Kubernetes API (or not within our bounds): exit 3. */
  notKubernetes(detail: string, what: Resource, tooLarge = false): UnreachableError {
    if (tooLarge) {
      return new UnreachableError(
        `The Kubernetes API at ${this.server} ${redact(detail)} (${what.verb} ${what.resource}).`,
        'A list page that large means the server ignores `limit`; narrow the query (--namespace) or report it to the cluster operator.',
      )
    }
    return new UnreachableError(
      `The server at ${this.server} ${redact(detail)} (${what.verb} ${what.resource}): not a Kubernetes API — a proxy or login page?`,
      'Check the server URL of the kubeconfig context and any proxy in front of the API server.',
    )
  }

  // --- reads used by the checks -------------------------------------------------------------

  /** Server version, from k8s.connect; decides version-dependent verbs. */
  serverMinor?: number

  async version(signal?: AbortSignal): Promise<{gitVersion: string}> {
    const api = this.kc.makeApiClient(k8s.VersionApi)
    const what = {verb: 'get', resource: 'version'}
    const info = await this.call(what, (o) => api.getCode({}, o), signal)
    // /version always carries gitVersion (k8s.io/apimachinery pkg/version.Info).
    if (typeof info.gitVersion !== 'string' || info.gitVersion === '') throw this.notKubernetes('answered /version without a gitVersion', what)
    const minor = Number.parseInt(String(info.minor ?? ''), 10)
    if (Number.isFinite(minor)) this.serverMinor = minor
    return info
  }

  /**
   * The verb RBAC checks for a WebSocket exec or port-forward: `get` before Kubernetes 1.35
   * (a WebSocket upgrade is a GET), `create` from 1.35 (KEP-4006 closed that gap).
   */
  streamVerb(): 'get' | 'create' {
    return (this.serverMinor ?? 0) >= 35 ? 'create' : 'get'
  }

  /** Lists every page (limit/continue) and maps each item, so large lists never sit in memory whole. */
  async listAll<TItem, TOut>(
    what: Resource,
    page: (cont: string | undefined, limit: number, o: k8s.ConfigurationOptions) => Promise<{items: TItem[]; metadata?: {_continue?: string}}>,
    map: (item: TItem) => TOut,
    opts: {pageSize?: number; signal?: AbortSignal; onFirstPage?: (items: TOut[]) => void} = {},
  ): Promise<TOut[]> {
    const out: TOut[] = []
    let cont: string | undefined
    const limit = opts.pageSize ?? DEFAULT_PAGE_SIZE
    const seen = new Set<string>()
    for (let pages = 1; ; pages++) {
      const list = await this.call(what, (o) => page(cont, limit, o), opts.signal)
      if (!Array.isArray(list.items)) throw this.notKubernetes('answered a list without an items array', what)
      for (const item of list.items) out.push(map(item))
      if (pages === 1) opts.onFirstPage?.(out.slice())
      cont = list.metadata?._continue || undefined
      if (!cont) return out
      // A continue token encodes the position of the next page (apiserver storage); the same one twice is a loop.
      if (seen.has(cont)) {
        throw new UnreachableError(
          `The Kubernetes API at ${this.server} sent the same continue token twice (${what.verb} ${what.resource}): its pagination loops, so tetractl stopped after ${pages} pages.`,
          'A proxy in front of the API server that drops the `continue` parameter causes this; check it.',
        )
      }
      seen.add(cont)
      if (pages >= MAX_LIST_PAGES) {
        throw new UnreachableError(
          `The Kubernetes API at ${this.server} was still paginating ${what.resource} after ${MAX_LIST_PAGES} pages of ${limit} (${what.verb} ${what.resource}).`,
          'Narrow the query (--namespace) or check the API server: tetractl stops there.',
        )
      }
    }
  }

  /** `onFirstPage` sees the first page's items as soon as it arrives, before the rest is read. */
  listPods<T>(namespace: string | undefined, opts: ListOptions & {signal?: AbortSignal; onFirstPage?: (items: T[]) => void}, map: (p: k8s.V1Pod) => T): Promise<T[]> {
    const what = {verb: 'list', resource: 'pods', namespace}
    return this.listAll(
      what,
      (cont, limit, o) =>
        namespace
          ? this.core.listNamespacedPod({namespace, labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector, limit, _continue: cont}, o)
          : this.core.listPodForAllNamespaces({labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector, limit, _continue: cont}, o),
      map,
      {pageSize: opts.pageSize, signal: opts.signal, onFirstPage: opts.onFirstPage},
    )
  }

  /** Node count in one request: limit=1 plus remainingItemCount (set by the API server for unfiltered lists). */
  async countNodes(signal?: AbortSignal): Promise<number> {
    const list = await this.call({verb: 'list', resource: 'nodes'}, (o) => this.core.listNode({limit: 1}, o), signal)
    const remaining = list.metadata?.remainingItemCount
    if (remaining !== undefined && remaining !== null) return list.items.length + Number(remaining)
    if (!list.metadata?._continue) return list.items.length
    const all = await this.listAll({verb: 'list', resource: 'nodes'}, (cont, limit, o) => this.core.listNode({limit, _continue: cont}, o), () => 1, {signal})
    return all.length
  }

  /** DaemonSets in every namespace, or in one. */
  listDaemonSets(labelSelector: string | undefined, signal?: AbortSignal, namespace?: string): Promise<k8s.V1DaemonSet[]> {
    return this.listAll(
      {verb: 'list', resource: 'daemonsets', group: 'apps', namespace},
      (cont, limit, o) =>
        namespace
          ? this.apps.listNamespacedDaemonSet({namespace, labelSelector, limit, _continue: cont}, o)
          : this.apps.listDaemonSetForAllNamespaces({labelSelector, limit, _continue: cont}, o),
      (d) => d,
      {signal},
    )
  }

  readConfigMap(namespace: string, name: string, signal?: AbortSignal): Promise<k8s.V1ConfigMap | undefined> {
    return this.read({verb: 'get', resource: 'configmaps', namespace}, (o) => this.core.readNamespacedConfigMap({name, namespace}, o), signal)
  }

  readService(namespace: string, name: string, signal?: AbortSignal): Promise<k8s.V1Service | undefined> {
    return this.read({verb: 'get', resource: 'services', namespace}, (o) => this.core.readNamespacedService({name, namespace}, o), signal)
  }

  listServices(namespace: string | undefined, signal?: AbortSignal): Promise<k8s.V1Service[]> {
    return this.listAll(
      {verb: 'list', resource: 'services', namespace},
      (cont, limit, o) => (namespace ? this.core.listNamespacedService({namespace, limit, _continue: cont}, o) : this.core.listServiceForAllNamespaces({limit, _continue: cont}, o)),
      (s) => s,
      {signal},
    )
  }

  listEndpointSlices(namespace: string, serviceName: string, signal?: AbortSignal): Promise<k8s.V1EndpointSlice[]> {
    return this.listAll(
      {verb: 'list', resource: 'endpointslices', namespace, group: 'discovery.k8s.io'},
      (cont, limit, o) => this.discovery.listNamespacedEndpointSlice({namespace, labelSelector: `kubernetes.io/service-name=${serviceName}`, limit, _continue: cont}, o),
      (s) => s,
      {signal},
    )
  }

  async canI(verb: string, resource: string, opts: {group?: string; namespace?: string; subresource?: string}, signal?: AbortSignal): Promise<{allowed: boolean; reason?: string}> {
    const review = await this.call(
      {verb: 'create', resource: 'selfsubjectaccessreviews', group: 'authorization.k8s.io'},
      (o) =>
        this.authz.createSelfSubjectAccessReview(
          {body: {apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: {resourceAttributes: {verb, resource, group: opts.group ?? '', namespace: opts.namespace, subresource: opts.subresource}}}},
          o,
        ),
      signal,
    )
    return {allowed: Boolean(review.status?.allowed), reason: review.status?.reason}
  }

  /** The rules the credentials have in one namespace (SelfSubjectRulesReview): one request for many permissions. */
  async rulesReview(namespace: string, signal?: AbortSignal): Promise<{rules: k8s.V1ResourceRule[]; incomplete: boolean}> {
    const review = await this.call(
      {verb: 'create', resource: 'selfsubjectrulesreviews', group: 'authorization.k8s.io'},
      (o) => this.authz.createSelfSubjectRulesReview({body: {apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', spec: {namespace}}}, o),
      signal,
    )
    const rules = review.status?.resourceRules
    if (!Array.isArray(rules)) throw this.notKubernetes('answered a SelfSubjectRulesReview without status.resourceRules', {verb: 'create', resource: 'selfsubjectrulesreviews'})
    return {rules, incomplete: Boolean(review.status?.incomplete)}
  }

  /** GET through the API server's pod proxy (e.g. a Tetragon pod's :2112/metrics). */
  async proxyGet(namespace: string, pod: string, port: number, path: string, signal?: AbortSignal): Promise<string> {
    return this.call(
      {verb: 'get', resource: 'pods/proxy', namespace},
      (o) => this.core.connectGetNamespacedPodProxyWithPath({name: `${pod}:${port}`, namespace, path: path.replace(/^\//, '')}, o),
      signal,
    )
  }

  /**
   * Run a command in a container over the exec WebSocket. Resolves when the command ends
   * (client-node 1.4's Exec.exec resolves when the socket opens), bounded by timeoutMs.
   */
  async exec(namespace: string, pod: string, container: string, command: string[], opts: {timeoutMs?: number; signal?: AbortSignal} = {}): Promise<ExecResult> {
    const timeoutMs = opts.timeoutMs ?? this.requestTimeoutMs
    let stdout = ''
    let stderr = ''
    const sink = (append: (s: string) => void) =>
      new Writable({
        write(chunk, _enc, cb) {
          append(chunk.toString())
          cb()
        },
      })
    let status: k8s.V1Status | undefined
    const exec = new k8s.Exec(this.kc)
    let socket: {close(): void; terminate?(): void; on(ev: string, fn: (...args: any[]) => void): void} | undefined
    const result = new Promise<ExecResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket?.terminate?.()
        reject(new Error(`exec in ${namespace}/${pod} did not finish within ${timeoutMs} ms`))
      }, timeoutMs)
      const onAbort = () => {
        clearTimeout(timer)
        socket?.terminate?.()
        reject(new Error('aborted'))
      }
      opts.signal?.addEventListener('abort', onAbort, {once: true})
      exec
        .exec(namespace, pod, container, command, sink((s) => (stdout += s)), sink((s) => (stderr += s)), null, false, (s) => (status = s))
        .then((ws) => {
          socket = ws
          ws.on('close', () => {
            clearTimeout(timer)
            opts.signal?.removeEventListener('abort', onAbort)
            resolve(execResult(stdout, stderr, status))
          })
          ws.on('error', (err: Error) => {
            clearTimeout(timer)
            reject(err)
          })
        })
        .catch((error: Error) => {
          clearTimeout(timer)
          opts.signal?.removeEventListener('abort', onAbort)
          // client-node reports a refused upgrade only as "Unexpected server response: 403" (measured, 1.4).
          const m = /Unexpected server response: (\d+)/.exec(String(error?.message))
          if (m?.[1] === '403') reject(new ForbiddenError(this.streamVerb(), 'pods/exec', namespace))
          else if (m?.[1] === '401') reject(this.translate(new k8s.ApiException(401, 'Unauthorized', '', {}), {verb: 'create', resource: 'pods/exec', namespace}))
          else if (m?.[1] === '404') reject(new NotFound(`pod ${namespace}/${pod} not found`))
          else if (m) reject(new Error(`exec in ${namespace}/${pod} refused: HTTP ${m[1]}`))
          else reject(this.translate(error, {verb: 'create', resource: 'pods/exec', namespace}))
        })
    })
    return result
  }

  /**
   * Forward a local 127.0.0.1 port to a pod port through the API server.
   * Each local connection opens its own port-forward WebSocket (one HTTP/2 connection for gRPC).
   */
  async portForward(namespace: string, pod: string, port: number): Promise<{host: string; port: number; errors: string[]; close(): Promise<void>}> {
    const pf = new k8s.PortForward(this.kc)
    const errors: string[] = []
    const sockets = new Set<net.Socket>()
    const server = net.createServer((sock) => {
      sockets.add(sock)
      // client-node writes the tunnel's data into this socket after the local peer (gRPC) may have ended it,
      // and never listens for its errors: without a listener an EPIPE ("This socket has been ended by the other
      // party") kills the process. A socket error only ends this one connection.
      sock.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code !== 'EPIPE' && error.code !== 'ECONNRESET' && error.code !== 'ERR_STREAM_DESTROYED') errors.push(`local socket: ${error.message}`)
        sock.destroy()
      })
      let ws: {close(): void; terminate?(): void; on(ev: string, fn: (...args: any[]) => void): void; readyState?: number} | undefined
      sock.on('close', () => {
        sockets.delete(sock)
        // The tunnel outlives its local socket otherwise (client-node closes it only when stdin ends cleanly).
        ws?.terminate?.()
      })
      const err = new PassThrough()
      err.on('error', () => {})
      err.on('data', (d) => {
        const text = d.toString().trim()
        if (text) errors.push(text)
        sock.destroy()
      })
      pf.portForward(namespace, pod, [port], sock, err, sock)
        .then((socket) => {
          ws = socket as typeof ws
          // client-node never closes the local socket when the tunnel closes or fails: do it, so gRPC sees the end.
          ws!.on('close', () => sock.destroy())
          ws!.on('error', (error: Error) => {
            errors.push(`port-forward: ${redact(String(error?.message ?? error))}`)
            sock.destroy()
          })
          if (sock.destroyed) ws!.terminate?.()
        })
        .catch((error: Error) => {
          const m = /Unexpected server response: (\d+)/.exec(String(error?.message))
          errors.push(m ? `port-forward refused: HTTP ${m[1]}` : redact(String(error?.message ?? error)))
          sock.destroy()
        })
    })
    server.on('error', (error) => errors.push(`local listener: ${error.message}`))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const address = server.address() as net.AddressInfo
    return {
      host: '127.0.0.1',
      port: address.port,
      errors,
      close: () =>
        new Promise<void>((resolve) => {
          for (const s of sockets) s.destroy()
          server.close(() => resolve())
        }),
    }
  }
}

export class NotFound extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'NotFound'
  }
}

function parseStatus(body: unknown): {message?: string; reason?: string} | undefined {
  if (typeof body !== 'string' || body === '') return typeof body === 'object' && body ? (body as {message?: string; reason?: string}) : undefined
  try {
    const status = JSON.parse(body)
    // A Status is an object with a string message; anything else (HTML, null, a number) carries none.
    return status && typeof status === 'object' && (status.message === undefined || typeof status.message === 'string') ? status : undefined
  } catch {
    return undefined
  }
}

/** Exit code from the exec status channel: Success, or Failure with causes[reason=ExitCode]. */
function execResult(stdout: string, stderr: string, status?: k8s.V1Status): ExecResult {
  if (!status || status.status === 'Success') return {stdout, stderr, exitCode: 0}
  const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode')
  const exitCode = cause?.message ? Number(cause.message) : 1
  const code = Number.isFinite(exitCode) ? exitCode : 1
  // kubelet ServeExec: a process that ran and failed is NonZeroExitCode with an ExitCode cause; one the runtime could
  // not start is an InternalError carrying runc's text (kubernetes staging/src/k8s.io/kubelet/pkg/cri/streaming/remotecommand/exec.go ServeExec).
  const notFound = cause ? code === 127 : /executable file not found in \$PATH|: no such file or directory/.test(status.message ?? '')
  return {stdout, stderr, exitCode: code, message: status.message, ...(notFound ? {notFound} : {})}
}
