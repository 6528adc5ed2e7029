// Kibana access for tetractl (Fleet and saved-objects APIs): its own URL and credentials
// (falling back to the Elasticsearch ones, since Kibana authenticates against the same cluster), a CA
// file, `kbn-xsrf` on every write, per-request timeouts, one-line errors naming the setting to fix.
// Plain node:https so a custom CA works without extra dependencies. Never echoes a secret.

import {existsSync, readFileSync} from 'node:fs'
import {request as httpRequest} from 'node:http'
import {request as httpsRequest} from 'node:https'

import {UnreachableError, UserError, redact} from '../engine/errors.js'
import {serverText} from '../engine/text.js'
import {normaliseApiKey} from './elasticsearch.js'

/** Largest Kibana response body tetractl reads (bytes): package info and a page of saved objects. */
export const KIBANA_MAX_RESPONSE_BYTES = 16 * 1024 * 1024

export const KIBANA_SETTINGS = {
  url: 'KIBANA_URL (--kibana-url)',
  apiKey: 'KIBANA_API_KEY (--kibana-api-key)',
  // Environment only: no flags exist for these, so the messages name only the variables.
  username: 'KIBANA_USERNAME',
  password: 'KIBANA_PASSWORD',
  caFile: 'KIBANA_CA_CERT',
} as const

export interface KibanaConnectionOptions {
  url?: string
  apiKey?: string
  username?: string
  password?: string
  caFile?: string
  insecure?: boolean
  /** Space id; requests go to /s/<space>/api/… */
  space?: string
  requestTimeoutMs?: number
}

/** KIBANA_* variables, falling back to ELASTICSEARCH_* credentials and CA; flags win. Undefined without a URL. */
export function kibanaOptionsFromEnv(env: NodeJS.ProcessEnv = process.env, flags: Partial<KibanaConnectionOptions> = {}): KibanaConnectionOptions | undefined {
  const pick = (flag: string | undefined, ...names: string[]) => (flag ? flag : names.map((n) => env[n]).find((v) => v !== undefined && v !== ''))
  const url = pick(flags.url, 'KIBANA_URL')
  if (!url) return undefined
  const ownCreds = flags.apiKey || flags.username || env.KIBANA_API_KEY || env.KIBANA_USERNAME
  return {
    url,
    apiKey: ownCreds ? pick(flags.apiKey, 'KIBANA_API_KEY') : pick(undefined, 'ELASTICSEARCH_API_KEY'),
    username: ownCreds ? pick(flags.username, 'KIBANA_USERNAME') : pick(undefined, 'ELASTICSEARCH_USERNAME'),
    password: ownCreds ? pick(flags.password, 'KIBANA_PASSWORD') : pick(undefined, 'ELASTICSEARCH_PASSWORD'),
    caFile: pick(flags.caFile, 'KIBANA_CA_CERT', 'ELASTICSEARCH_CA_CERT'),
    insecure: flags.insecure ?? /^(1|true|yes)$/i.test(env.KIBANA_INSECURE ?? env.ELASTICSEARCH_INSECURE ?? ''),
    space: flags.space,
    requestTimeoutMs: flags.requestTimeoutMs,
  }
}

export interface KibanaRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE'
  path: string
  query?: Record<string, string | number | boolean | string[]>
  body?: unknown
  /** Statuses returned instead of thrown. */
  ignore?: number[]
}

export interface KibanaHandle {
  url: string
  request<T = unknown>(req: KibanaRequest, signal?: AbortSignal): Promise<{statusCode: number; body: T}>
}

export class KibanaRequestError extends UserError {
  constructor(
    message: string,
    tryMessage: string | undefined,
    readonly statusCode: number | undefined,
  ) {
    super(message, tryMessage)
    this.name = 'KibanaRequestError'
  }
}

export class KibanaForbiddenError extends KibanaRequestError {
  constructor(message: string) {
    super(message, 'Grant the user or API key the Fleet / Integrations read privilege in Kibana.', 403)
    this.name = 'KibanaForbiddenError'
  }
}

export class KibanaUnreachableError extends UnreachableError {
  constructor(message: string, tryMessage?: string) {
    super(message, tryMessage)
    this.name = 'KibanaUnreachableError'
  }
}

/** A 2xx answer without the fields the API always returns (e.g. Fleet's `item`, _find's `saved_objects`): not Kibana's API. */
export function kibanaShapeError(handle: Pick<KibanaHandle, 'url'>, what: string, missing: string): KibanaUnreachableError {
  return new KibanaUnreachableError(`The server at ${handle.url} answered ${what} without ${missing}: not Kibana — a proxy or login page?`, `Check ${KIBANA_SETTINGS.url} and any proxy in front of Kibana.`)
}

export function createKibanaHandle(opts: KibanaConnectionOptions): KibanaHandle {
  const raw = (opts.url ?? '').trim()
  if (!/^https?:\/\//i.test(raw)) throw new UserError(`${KIBANA_SETTINGS.url} must start with https:// or http:// (got '${redact(raw)}').`, 'Example: https://kibana.example.com:5601')
  let base: URL
  try {
    base = new URL(raw)
  } catch {
    throw new UserError(`${KIBANA_SETTINGS.url} is not a valid URL.`)
  }
  if (base.username || base.password) throw new UserError(`${KIBANA_SETTINGS.url} must not contain credentials.`, `Pass them with ${KIBANA_SETTINGS.apiKey} or ${KIBANA_SETTINGS.username}/${KIBANA_SETTINGS.password}.`)
  let authorization: string | undefined
  if (opts.apiKey) authorization = `ApiKey ${normaliseApiKey(opts.apiKey)}`
  else if (opts.username) {
    if (!opts.password) throw new UserError(`${KIBANA_SETTINGS.username} is set but ${KIBANA_SETTINGS.password} is not.`)
    authorization = `Basic ${Buffer.from(`${opts.username}:${opts.password}`).toString('base64')}`
  }
  let ca: string | undefined
  if (opts.caFile) {
    if (!existsSync(opts.caFile)) throw new UserError(`${KIBANA_SETTINGS.caFile} file not found: ${opts.caFile}.`)
    ca = readFileSync(opts.caFile, 'utf8')
  }
  const timeout = opts.requestTimeoutMs ?? 10_000
  const prefix = base.pathname.replace(/\/$/, '') + (opts.space && opts.space !== 'default' ? `/s/${encodeURIComponent(opts.space)}` : '')
  const origin = `${base.protocol}//${base.host}`

  return {
    url: `${origin}${base.pathname.replace(/\/$/, '')}`,
    request<T>(req: KibanaRequest, signal?: AbortSignal) {
      const u = new URL(`${prefix}${req.path}`, origin)
      for (const [k, v] of Object.entries(req.query ?? {})) for (const x of ([] as Array<string | number | boolean>).concat(v)) u.searchParams.append(k, String(x))
      const payload = req.body === undefined ? undefined : JSON.stringify(req.body)
      const headers: Record<string, string> = {accept: 'application/json'}
      if (authorization) headers.authorization = authorization
      if (payload !== undefined) headers['content-type'] = 'application/json'
      // Kibana rejects non-GET API requests without kbn-xsrf (any value; Kibana API docs, POST /api/fleet/package_policies).
      if (req.method !== 'GET') headers['kbn-xsrf'] = 'true'
      const send = u.protocol === 'https:' ? httpsRequest : httpRequest
      return new Promise<{statusCode: number; body: T}>((resolve, reject) => {
        let settled = false
        const finish = (fn: () => void) => {
          if (settled) return
          settled = true
          clearTimeout(total)
          fn()
        }
        const fail = (e: Error) => finish(() => reject(e))
        const notKibana = (detail: string) =>
          new KibanaUnreachableError(`The server at ${origin} ${detail} (${req.method} ${req.path}): not Kibana — a proxy or login page?`, `Check ${KIBANA_SETTINGS.url} and any proxy in front of Kibana.`)
        const r = send(u, {method: req.method, headers, timeout, ...(u.protocol === 'https:' ? {ca, rejectUnauthorized: !opts.insecure} : {}), signal}, (res) => {
          const status = res.statusCode ?? 0
          const contentType = String(res.headers['content-type'] ?? '').split(';')[0].trim()
          // Kibana's HTTP APIs answer JSON; HTML on a success is a login page or a proxy.
          if (status >= 200 && status < 300 && contentType && !/json/i.test(contentType)) {
            res.destroy()
            return fail(notKibana(`answered ${serverText(contentType, 60)}`))
          }
          const chunks: Buffer[] = []
          let size = 0
          res.on('data', (c: Buffer) => {
            size += c.length
            if (size > KIBANA_MAX_RESPONSE_BYTES) {
              chunks.length = 0
              res.destroy()
              return fail(new KibanaUnreachableError(`Kibana at ${origin} sent more than the ${KIBANA_MAX_RESPONSE_BYTES / 1048576} MiB tetractl reads in one response (${req.method} ${req.path}).`, `Check ${KIBANA_SETTINGS.url}.`))
            }
            chunks.push(c)
          })
          res.on('error', (e) => fail(new KibanaUnreachableError(`Kibana at ${origin} broke off its answer to ${req.method} ${req.path}: ${serverText(redact(e.message))}.`, `Check ${KIBANA_SETTINGS.url} and the network path.`)))
          res.on('close', () => {
            if (!res.complete) fail(new KibanaUnreachableError(`Kibana at ${origin} closed the connection before its answer to ${req.method} ${req.path} ended.`, `Check ${KIBANA_SETTINGS.url} and the network path.`))
          })
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8')
            let body: unknown = text
            let parsed = false
            try {
              body = text ? JSON.parse(text) : undefined
              parsed = true
            } catch {
              /* not JSON */
            }
            if (status >= 200 && status < 300) {
              if (!parsed) return fail(notKibana('answered a body that is not valid JSON'))
              if (text && (body === null || typeof body !== 'object')) return fail(notKibana(`answered ${body === null ? 'null' : typeof body} where an object belongs`))
              return finish(() => resolve({statusCode: status, body: body as T}))
            }
            if (req.ignore?.includes(status)) return finish(() => resolve({statusCode: status, body: (parsed ? body : undefined) as T}))
            const rawMessage = body && typeof body === 'object' && typeof (body as {message?: unknown}).message === 'string' ? (body as {message: string}).message : text
            const message = redact(serverText(rawMessage))
            if (status === 401) return fail(new KibanaUnreachableError(`Kibana rejected the credentials (401).`, `Check ${KIBANA_SETTINGS.apiKey} or ${KIBANA_SETTINGS.username}/${KIBANA_SETTINGS.password} (they default to the ELASTICSEARCH_* ones).`))
            if (status === 403) return fail(new KibanaForbiddenError(`Kibana denied ${req.method} ${req.path} (403): ${message}`))
            fail(new KibanaRequestError(`Kibana answered ${status} to ${req.method} ${req.path}: ${message}`, undefined, status))
          })
        })
        // `timeout` above is idle-only (socket inactivity): a dripped body never trips it. This one is total.
        const total = setTimeout(() => {
          r.destroy()
          fail(new KibanaUnreachableError(`Kibana at ${origin} did not answer ${req.method} ${req.path} within ${timeout} ms.`, `Check ${KIBANA_SETTINGS.url} and the network path.`))
        }, timeout)
        r.on('timeout', () => r.destroy(new Error(`timeout after ${timeout} ms`)))
        r.on('error', (e: NodeJS.ErrnoException) => {
          if (e.name === 'AbortError') return fail(e)
          const msg = serverText(redact(e.message))
          if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') return fail(new KibanaUnreachableError(`Cannot resolve the host ${u.host} of ${KIBANA_SETTINGS.url}.`, 'Check the hostname and DNS.'))
          if (e.code === 'ECONNREFUSED') return fail(new KibanaUnreachableError(`Nothing listens at ${origin} (connection refused).`, `Check ${KIBANA_SETTINGS.url}.`))
          if (/certificate|self[- ]signed|CERT_|issuer/i.test(msg)) return fail(new KibanaUnreachableError(`TLS verification of ${u.host} failed: ${msg}.`, `Set ${KIBANA_SETTINGS.caFile} to the CA that signed the Kibana certificate.`))
          fail(new KibanaUnreachableError(`Cannot reach Kibana at ${origin}: ${msg}.`, `Check ${KIBANA_SETTINGS.url}.`))
        })
        if (payload !== undefined) r.write(payload)
        r.end()
      })
    },
  }
}
