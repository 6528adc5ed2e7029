// Elasticsearch access for tetractl: configuration from flags and environment, validated up front with
// one-line errors naming the flag or variable to fix, the official 8.19 client (its compatible-with=8
// suits 8.x and 9.x servers; 8.x servers refuse the 9.x client's =9, elastic/elasticsearch-js#2909) loaded lazily,
// bounded retries with backoff on 429/502/503/504, and translation of client errors (product check, 401, 403, DNS, TLS). Never puts a
// secret into an error, a log line or evidence.

import {existsSync, readFileSync} from 'node:fs'

import {UnreachableError, UserError, redact} from '../engine/errors.js'
import {sleep} from '../engine/sleep.js'
import {serverText} from '../engine/text.js'

/** Largest Elasticsearch response body tetractl reads (bytes); its searches ask for a few documents. */
export const ES_MAX_RESPONSE_BYTES = 16 * 1024 * 1024

/** Names of the settings, for messages: variable and flag. The commands define the flags. */
export const ES_SETTINGS = {
  url: 'ELASTICSEARCH_URL (--es-url)',
  cloudId: 'ELASTICSEARCH_CLOUD_ID (--es-cloud-id)',
  apiKey: 'ELASTICSEARCH_API_KEY (--es-api-key)',
  username: 'ELASTICSEARCH_USERNAME (--es-username)',
  password: 'ELASTICSEARCH_PASSWORD (--es-password)',
  caFile: 'ELASTICSEARCH_CA_CERT (--es-ca-cert)',
  insecure: 'ELASTICSEARCH_INSECURE (--es-insecure)',
} as const

export interface EsConnectionOptions {
  url?: string
  cloudId?: string
  apiKey?: string
  username?: string
  password?: string
  caFile?: string
  insecure?: boolean
  /** Timeout of each request (ms). Default 10 s. */
  requestTimeoutMs?: number
  /** Retries on 429/502/503/504 (bounded, exponential backoff). Default 2. */
  maxRetries?: number
  /** Base backoff (ms). Default 250. */
  backoffMs?: number
}

/** Reads ELASTICSEARCH_* variables; explicit flags win. Undefined when nothing is configured. */
export function esOptionsFromEnv(env: NodeJS.ProcessEnv = process.env, flags: Partial<EsConnectionOptions> = {}): EsConnectionOptions | undefined {
  const pick = (flag: string | undefined, name: string) => (flag !== undefined && flag !== '' ? flag : env[name] || undefined)
  const o: EsConnectionOptions = {
    url: pick(flags.url, 'ELASTICSEARCH_URL'),
    cloudId: pick(flags.cloudId, 'ELASTICSEARCH_CLOUD_ID'),
    apiKey: pick(flags.apiKey, 'ELASTICSEARCH_API_KEY'),
    username: pick(flags.username, 'ELASTICSEARCH_USERNAME'),
    password: pick(flags.password, 'ELASTICSEARCH_PASSWORD'),
    caFile: pick(flags.caFile, 'ELASTICSEARCH_CA_CERT'),
    insecure: flags.insecure ?? /^(1|true|yes)$/i.test(env.ELASTICSEARCH_INSECURE ?? ''),
    requestTimeoutMs: flags.requestTimeoutMs,
    maxRetries: flags.maxRetries,
    backoffMs: flags.backoffMs,
  }
  if (!o.url && !o.cloudId) return undefined
  return o
}

/** Accepts the `encoded` value (base64 of `id:api_key`) or the raw `id:api_key` pair; returns the encoded form. */
export function normaliseApiKey(raw: string): string {
  const value = raw.trim()
  const bad = () => new UserError(`${ES_SETTINGS.apiKey} is not a valid API key.`, "Use the 'encoded' value returned by POST /_security/api_key, or 'id:api_key'.")
  if (/\s/.test(value) || value === '') throw bad()
  if (value.includes(':')) {
    const [id, key] = value.split(':', 2)
    if (!id || !key) throw bad()
    return Buffer.from(`${id}:${key}`).toString('base64')
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value) || value.length % 4 === 1) throw bad()
  const decoded = Buffer.from(value, 'base64').toString('utf8')
  const sep = decoded.indexOf(':')
  if (sep <= 0 || sep === decoded.length - 1 || !/^[\x20-\x7e]+$/.test(decoded)) throw bad()
  return value
}

/** `<name>:<base64 of host$es_uuid$kibana_uuid>` (Elastic Cloud ID). */
function validateCloudId(id: string): string {
  const sep = id.indexOf(':')
  const decoded = sep > 0 ? Buffer.from(id.slice(sep + 1), 'base64').toString('utf8') : ''
  const [host, esUuid] = decoded.split('$')
  if (!host || !esUuid) throw new UserError(`${ES_SETTINGS.cloudId} is not a valid Cloud ID.`, 'Copy it from the deployment page of the Elastic Cloud console.')
  return `https://${esUuid}.${host.split(':')[0]}`
}

export interface ValidatedEsConfig {
  url: string
  auth?: {apiKey: string} | {username: string; password: string}
  ca?: string
  insecure: boolean
  cloudId?: string
}

/** Validates settings without touching the network. Throws UserError naming what to fix. */
export function validateEsOptions(o: EsConnectionOptions): ValidatedEsConfig {
  let url: string
  if (o.cloudId && !o.url) url = validateCloudId(o.cloudId)
  else {
    const raw = (o.url ?? '').trim()
    if (!/^https?:\/\//i.test(raw)) {
      throw new UserError(`${ES_SETTINGS.url} must start with https:// or http:// (got '${safeUrl(raw)}').`, `Example: https://elasticsearch.example.com:9200`)
    }
    let parsed: URL
    try {
      parsed = new URL(raw)
    } catch {
      throw new UserError(`${ES_SETTINGS.url} is not a valid URL (got '${safeUrl(raw)}').`, 'Example: https://elasticsearch.example.com:9200')
    }
    if (parsed.username || parsed.password) {
      throw new UserError(`${ES_SETTINGS.url} must not contain credentials.`, `Pass them with ${ES_SETTINGS.apiKey} or ${ES_SETTINGS.username}/${ES_SETTINGS.password}.`)
    }
    url = parsed.toString().replace(/\/$/, '')
  }
  let auth: ValidatedEsConfig['auth']
  if (o.apiKey) auth = {apiKey: normaliseApiKey(o.apiKey)}
  else if (o.username || o.password) {
    if (!o.username) throw new UserError(`${ES_SETTINGS.password} is set but ${ES_SETTINGS.username} is not.`)
    if (!o.password) throw new UserError(`${ES_SETTINGS.username} is set but ${ES_SETTINGS.password} is not.`)
    auth = {username: o.username, password: o.password}
  }
  let ca: string | undefined
  if (o.caFile) {
    if (!existsSync(o.caFile)) throw new UserError(`${ES_SETTINGS.caFile} file not found: ${o.caFile}.`, 'Point it at the PEM file of the CA that signed the Elasticsearch certificate.')
    ca = readFileSync(o.caFile, 'utf8')
    if (!ca.includes('-----BEGIN CERTIFICATE-----')) throw new UserError(`${ES_SETTINGS.caFile} is not a PEM certificate: ${o.caFile}.`)
  }
  return {url, auth, ca, insecure: o.insecure ?? false, cloudId: o.cloudId}
}

/** The URL without userinfo, for messages. */
export function safeUrl(raw: string): string {
  return redact(raw.replace(/\/\/[^/@\s]*@/, '//[REDACTED]@'))
}

export interface EsInfo {
  name?: string
  cluster_name?: string
  version: {number: string; build_flavor?: string; distribution?: string}
  tagline?: string
}

export interface EsRequest {
  method: 'GET' | 'POST' | 'HEAD' | 'PUT'
  path: string
  querystring?: Record<string, string | number | boolean>
  body?: unknown
  /** Statuses returned instead of thrown (e.g. [404]). */
  ignore?: number[]
}

export interface EsResponse<T> {
  statusCode: number
  body: T
}

/** What checks use: one connection, generic requests, the server version. */
export interface EsHandle {
  url: string
  request<T = unknown>(req: EsRequest, signal?: AbortSignal): Promise<EsResponse<T>>
  /** `GET /`, memoised. */
  info(signal?: AbortSignal): Promise<EsInfo>
  /** Major version of the server (after info()). */
  serverMajor(signal?: AbortSignal): Promise<number>
  close(): Promise<void>
}

/** A refused or failed Elasticsearch request with a one-line, secret-free message. */
export class EsRequestError extends UserError {
  constructor(
    message: string,
    tryMessage: string | undefined,
    readonly statusCode: number | undefined,
    readonly esType: string | undefined,
    exitCode?: number,
  ) {
    super(message, tryMessage, exitCode)
    this.name = 'EsRequestError'
  }
}

/** The server refused us: wrong URL, not Elasticsearch, DNS, TLS, 401. The run cannot evaluate Elastic. */
export class EsUnreachableError extends UnreachableError {
  constructor(
    message: string,
    tryMessage?: string,
    readonly statusCode?: number,
  ) {
    super(message, tryMessage)
    this.name = 'EsUnreachableError'
  }
}

/** 403: authenticated but lacking a privilege; `privileges` are the ones that would grant it. */
export class EsForbiddenError extends EsRequestError {
  constructor(
    message: string,
    readonly action: string | undefined,
    readonly privileges: string[],
  ) {
    super(message, privileges.length ? `Grant one of the privileges [${privileges.join(', ')}] to the user or API key.` : undefined, 403, 'security_exception')
    this.name = 'EsForbiddenError'
  }
}

const RETRYABLE = new Set([429, 502, 503, 504])

/** Creates the handle; validates settings now, loads the client module lazily (keeps --help fast). */
export async function createEsHandle(opts: EsConnectionOptions): Promise<EsHandle> {
  const cfg = validateEsOptions(opts)
  const {Client, errors} = await import('@elastic/elasticsearch')
  const client = new Client({
    ...(cfg.cloudId && !opts.url ? {cloud: {id: cfg.cloudId}} : {node: cfg.url}),
    ...(cfg.auth ? {auth: cfg.auth} : {}),
    tls: {...(cfg.ca ? {ca: cfg.ca} : {}), rejectUnauthorized: !cfg.insecure},
    // The transport's timeout is an idle timeout (undici bodyTimeout): a server that drips its body never
    // trips it. Ours below is total; this one stays as a backstop.
    requestTimeout: opts.requestTimeoutMs ?? 10_000,
    // Retries are ours (the transport retries 502/503/504 only, never 429).
    maxRetries: 0,
    compression: false,
    // The transport stops reading past this size, even without Content-Length (@elastic/transport UndiciConnection).
    maxResponseSize: ES_MAX_RESPONSE_BYTES,
    maxCompressedResponseSize: ES_MAX_RESPONSE_BYTES,
  })
  const timeoutMs = opts.requestTimeoutMs ?? 10_000
  const maxRetries = Math.max(0, opts.maxRetries ?? 2)
  const backoff = opts.backoffMs ?? 250
  const host = new URL(cfg.url).host

  const translate = (e: unknown): Error => {
    if (e instanceof errors.ProductNotSupportedError) {
      // A login page or proxy error page: say what answered instead.
      const type = String((e as {meta?: {headers?: Record<string, unknown>}}).meta?.headers?.['content-type'] ?? '').split(';')[0].trim()
      if (type && !/json/i.test(type)) return notElasticsearch(`answered ${serverText(type, 60)}`)
      return new EsUnreachableError(
        `The server at ${cfg.url} is not Elasticsearch: its responses lack the x-elastic-product header.`,
        `Check ${ES_SETTINGS.url}: a proxy that strips headers, OpenSearch and Elasticsearch < 7.14 all cause this.`,
      )
    }
    if (e instanceof errors.ResponseError) {
      const status = e.statusCode
      const body = (e.body && typeof e.body === 'object' ? e.body : {}) as {error?: {type?: string; reason?: string; caused_by?: {reason?: string}}}
      const type = typeof body?.error?.type === 'string' ? serverText(body.error.type, 80) : undefined
      const reason = redact(serverText(typeof body?.error?.reason === 'string' ? body.error.reason : typeof body?.error === 'string' ? body.error : e.message))
      if (status === 401) {
        const which = cfg.auth && 'apiKey' in cfg.auth ? ES_SETTINGS.apiKey : cfg.auth ? `${ES_SETTINGS.username} / ${ES_SETTINGS.password}` : `${ES_SETTINGS.apiKey} or ${ES_SETTINGS.username} / ${ES_SETTINGS.password}`
        return new EsUnreachableError(`Elasticsearch rejected the credentials (401${type ? ` ${type}` : ''}).`, `Check ${which}.`, 401)
      }
      if (status === 403) {
        const m = /action \[([^\]]+)\].*granted by the (?:index|cluster) privileges \[([^\]]+)\]/.exec(reason)
        return new EsForbiddenError(`Elasticsearch denied ${m?.[1] ?? 'the request'} (403): ${reason}`, m?.[1], m?.[2].split(',') ?? [])
      }
      // Still overloaded or unavailable after our bounded retries: the cluster cannot be evaluated now.
      if (status !== undefined && RETRYABLE.has(status)) {
        return new EsUnreachableError(`Elasticsearch answered ${status}${type ? ` ${type}` : ''} ${maxRetries + 1} times in a row: ${reason}`, `The cluster is overloaded or unavailable; check GET _cluster/health and retry (${ES_SETTINGS.url}).`, status)
      }
      if (status === 400 && type === 'media_type_header_exception') {
        return new EsUnreachableError(`Elasticsearch refused the client's REST compatibility headers: ${redact(serverText(body.error?.caused_by?.reason ?? reason))}`, 'Use an 8.x client against an 8.x server (elastic/elasticsearch-js#2909).', 400)
      }
      return new EsRequestError(`Elasticsearch answered ${status}${type ? ` ${type}` : ''}: ${reason}`, undefined, status, type)
    }
    if (e instanceof errors.ConnectionError || e instanceof errors.TimeoutError) {
      const msg = redact(String((e as Error).message))
      if (/ENOTFOUND|EAI_AGAIN/.test(msg)) return new EsUnreachableError(`Cannot resolve the host ${host} of ${ES_SETTINGS.url}.`, 'Check the hostname and DNS.')
      if (/ECONNREFUSED/.test(msg)) return new EsUnreachableError(`Nothing listens at ${cfg.url} (connection refused).`, `Check ${ES_SETTINGS.url} and that Elasticsearch is running.`)
      if (/self[- ]signed|unable to verify|certificate|CERT_|issuer/i.test(msg)) {
        return new EsUnreachableError(`TLS verification of ${host} failed: ${msg.split('\n')[0]}.`, `Set ${ES_SETTINGS.caFile} to the CA that signed the Elasticsearch certificate (or ${ES_SETTINGS.insecure} for a test cluster).`)
      }
      if (e instanceof errors.TimeoutError) return new EsUnreachableError(`Elasticsearch at ${cfg.url} did not answer within ${opts.requestTimeoutMs ?? 10_000} ms.`, 'Check the network path or raise the request timeout.')
      return new EsUnreachableError(`Cannot connect to Elasticsearch at ${cfg.url}: ${msg.split('\n')[0]}.`, `Check ${ES_SETTINGS.url}.`)
    }
    if (e instanceof errors.DeserializationError) return notElasticsearch('answered a body that is not valid JSON')
    if (e instanceof errors.RequestAbortedError) {
      if (/bigger than the maximum allowed/.test(e.message)) {
        return new EsUnreachableError(`Elasticsearch at ${cfg.url} sent a response larger than the ${ES_MAX_RESPONSE_BYTES / 1048576} MiB tetractl reads.`, `Check ${ES_SETTINGS.url}: tetractl's requests ask for a few documents only.`)
      }
      return e as Error
    }
    return e instanceof Error ? new Error(redact(e.message)) : new Error(String(e))
  }
  const notElasticsearch = (detail: string) =>
    new EsUnreachableError(`The server at ${cfg.url} ${detail}: not Elasticsearch — a proxy or login page?`, `Check ${ES_SETTINGS.url} and any proxy in front of Elasticsearch.`)

  /** One attempt under a total timeout of our own (the transport's is idle-only). */
  const attempt = async (req: EsRequest, signal?: AbortSignal) => {
    const ac = new AbortController()
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      ac.abort()
    }, timeoutMs)
    const onAbort = () => ac.abort(signal?.reason)
    if (signal?.aborted) onAbort()
    else signal?.addEventListener('abort', onAbort, {once: true})
    try {
      return await client.transport.request(
        {method: req.method, path: req.path, querystring: req.querystring, body: req.body as Record<string, unknown> | undefined},
        {meta: true, ignore: req.ignore, signal: ac.signal},
      )
    } catch (e) {
      if (timedOut) throw new EsUnreachableError(`Elasticsearch at ${cfg.url} did not answer within ${timeoutMs} ms (${req.method} ${req.path}).`, 'Check the network path or raise the request timeout.')
      throw e
    } finally {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
    }
  }

  const request = async <T>(req: EsRequest, signal?: AbortSignal): Promise<EsResponse<T>> => {
    for (let n = 0; ; n++) {
      try {
        const r = await attempt(req, signal)
        const statusCode = r.statusCode ?? 200
        // Every API tetractl calls answers a JSON object (HEAD answers no body): text, null or a scalar means
        // something other than Elasticsearch answered (the transport returns non-JSON bodies as strings).
        if (req.method !== 'HEAD' && statusCode < 300 && (r.body === null || typeof r.body !== 'object')) {
          const type = String(r.headers?.['content-type'] ?? '').split(';')[0]
          throw notElasticsearch(r.body === null ? 'answered null where an object belongs' : type && !/json/i.test(type) ? `answered ${serverText(type, 60)}` : `answered ${typeof r.body} where an object belongs`)
        }
        return {statusCode, body: r.body as T}
      } catch (e) {
        if (e instanceof UserError) throw e
        const status = e instanceof errors.ResponseError ? e.statusCode : undefined
        if (status !== undefined && RETRYABLE.has(status) && n < maxRetries && !signal?.aborted) {
          const wait = Math.min(4000, backoff * 2 ** n) * (0.75 + Math.random() / 2)
          await sleep(wait, signal)
          continue
        }
        throw translate(e)
      }
    }
  }

  let infoP: Promise<EsInfo> | undefined
  const info = (signal?: AbortSignal) => {
    infoP ??= request<EsInfo>({method: 'GET', path: '/'}, signal).then((r) => {
      // GET / always names the version (version.number): without it, this is not Elasticsearch.
      if (typeof r.body?.version?.number !== 'string') throw notElasticsearch('answered GET / without version.number')
      return r.body
    })
    // A failed attempt may be retried by the next caller.
    infoP.catch(() => (infoP = undefined))
    return infoP
  }

  return {
    url: cfg.url,
    request,
    info,
    async serverMajor(signal) {
      return Number((await info(signal)).version.number.split('.')[0])
    },
    close: () => client.close(),
  }
}
