// Kibana access for tetractl (Fleet and saved-objects APIs, elastic.md §4): its own URL and credentials
// (falling back to the Elasticsearch ones, since Kibana authenticates against the same cluster), a CA
// file, `kbn-xsrf` on every write, per-request timeouts, one-line errors naming the setting to fix.
// Plain node:https so a custom CA works without extra dependencies. Never echoes a secret.

import {existsSync, readFileSync} from 'node:fs'
import {request as httpRequest} from 'node:http'
import {request as httpsRequest} from 'node:https'

import {UnreachableError, UserError, redact} from '../engine/errors.js'
import {normaliseApiKey} from './elasticsearch.js'

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
      // Kibana rejects non-GET API requests without kbn-xsrf (elastic.md §4).
      if (req.method !== 'GET') headers['kbn-xsrf'] = 'true'
      const send = u.protocol === 'https:' ? httpsRequest : httpRequest
      return new Promise<{statusCode: number; body: T}>((resolve, reject) => {
        const r = send(u, {method: req.method, headers, timeout, ...(u.protocol === 'https:' ? {ca, rejectUnauthorized: !opts.insecure} : {}), signal}, (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8')
            let body: unknown = text
            try {
              body = text ? JSON.parse(text) : undefined
            } catch {
              /* not JSON */
            }
            const status = res.statusCode ?? 0
            if (status >= 200 && status < 300) return resolve({statusCode: status, body: body as T})
            if (req.ignore?.includes(status)) return resolve({statusCode: status, body: body as T})
            const message = redact(String((body as {message?: string})?.message ?? text).split('\n')[0]).slice(0, 300)
            if (status === 401) return reject(new KibanaUnreachableError(`Kibana rejected the credentials (401).`, `Check ${KIBANA_SETTINGS.apiKey} or ${KIBANA_SETTINGS.username}/${KIBANA_SETTINGS.password} (they default to the ELASTICSEARCH_* ones).`))
            if (status === 403) return reject(new KibanaForbiddenError(`Kibana denied ${req.method} ${req.path} (403): ${message}`))
            reject(new KibanaRequestError(`Kibana answered ${status} to ${req.method} ${req.path}: ${message}`, undefined, status))
          })
        })
        r.on('timeout', () => r.destroy(new Error(`timeout after ${timeout} ms`)))
        r.on('error', (e: NodeJS.ErrnoException) => {
          if (e.name === 'AbortError') return reject(e)
          const msg = redact(e.message)
          if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') return reject(new KibanaUnreachableError(`Cannot resolve the host ${u.host} of ${KIBANA_SETTINGS.url}.`, 'Check the hostname and DNS.'))
          if (e.code === 'ECONNREFUSED') return reject(new KibanaUnreachableError(`Nothing listens at ${origin} (connection refused).`, `Check ${KIBANA_SETTINGS.url}.`))
          if (/certificate|self[- ]signed|CERT_|issuer/i.test(msg)) return reject(new KibanaUnreachableError(`TLS verification of ${u.host} failed: ${msg}.`, `Set ${KIBANA_SETTINGS.caFile} to the CA that signed the Kibana certificate.`))
          reject(new KibanaUnreachableError(`Cannot reach Kibana at ${origin}: ${msg}.`, `Check ${KIBANA_SETTINGS.url}.`))
        })
        if (payload !== undefined) r.write(payload)
        r.end()
      })
    },
  }
}
