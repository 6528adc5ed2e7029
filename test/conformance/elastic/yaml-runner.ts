// A small runner for Elasticsearch's YAML REST test format (rest-api-spec/src/yamlRestTest, described in
// rest-api-spec/src/yamlRestTest/resources/rest-api-spec/test/README.asciidoc upstream): `setup` / `teardown`
// sections, `skip` / `requires`, and the steps `do` (with `catch`, `headers`, `allowed_warnings`), `match`, `length`,
// `is_true`, `is_false`, `set`, `gt`, `gte`, `lt`, `lte`. Requests are built from the REST API spec the lab routes
// with (fixtures/elastic/rest-api-spec), so a test calling an API the lab does not serve fails at that call.
import {request as httpsRequest} from 'node:https'
import {parseAllDocuments} from 'yaml'

import {restApiSpecs} from '../../../src/lab/elastic/rest-spec.js'

export type Step = Record<string, any>

export interface YamlTest {
  file: string
  name: string
  setup: Step[]
  steps: Step[]
  /** Why the test's own skip / requires section leaves it out on this server, if it does. */
  selfSkip?: string
}

/** Test-runner features this runner implements (the `features` a skip / requires section may ask for). */
const FEATURES = new Set(['headers', 'allowed_warnings', 'allowed_warnings_regex'])

export function parseYamlTests(file: string, text: string, version: string): YamlTest[] {
  const docs = parseAllDocuments(text).map((d) => d.toJS() as Record<string, Step[]> | null).filter((d): d is Record<string, Step[]> => d !== null)
  let setup: Step[] = []
  const tests: Array<[string, Step[]]> = []
  for (const doc of docs) {
    for (const [name, steps] of Object.entries(doc)) {
      if (name === 'setup') setup = steps
      else if (name !== 'teardown') tests.push([name, steps])
    }
  }
  const setupSkip = skipReason(setup, version)
  return tests.map(([name, steps]) => ({file, name, setup, steps, selfSkip: setupSkip ?? skipReason(steps, version)}))
}

function versionNumber(v: string): number {
  const [a = 0, b = 0, c = 0] = v.trim().split('.').map(Number)
  return a * 1_000_000 + b * 1_000 + c
}

/** skip.version ranges ("all", " - 7.99.99", "8.0.0 - 8.1.0", comma-separated), features and cluster_features. */
function skipReason(steps: Step[], version: string): string | undefined {
  const v = versionNumber(version)
  for (const step of steps) {
    const s = step.skip ?? step.requires
    if (!s) continue
    const isSkip = step.skip !== undefined
    if (isSkip && s.version !== undefined) {
      for (const range of String(s.version).split(',')) {
        if (range.trim() === 'all') return `skip version all: ${s.reason ?? ''}`
        const [lo, hi] = range.split('-').map((x) => x.trim())
        if ((lo === '' || v >= versionNumber(lo)) && (hi === '' || hi === undefined || v <= versionNumber(hi))) return `skip version [${range.trim()}]: ${s.reason ?? ''}`
      }
    }
    const features = ([] as string[]).concat(s.features ?? [], s.test_runner_features ?? [])
    for (const f of features) if (!FEATURES.has(f)) return `needs runner feature [${f}] this runner does not implement`
    if (s.capabilities) return 'needs the capabilities API'
    for (const f of ([] as string[]).concat(isSkip ? [] : (s.cluster_features ?? []))) {
      const m = /^gte_v(\d+\.\d+\.\d+)$/.exec(f)
      if (!m) return `requires cluster feature [${f}]`
      if (v < versionNumber(m[1])) return `requires ${f}`
    }
    if (isSkip && s.cluster_features) {
      for (const f of [].concat(s.cluster_features)) {
        const m = /^gte_v(\d+\.\d+\.\d+)$/.exec(f)
        if (m && v >= versionNumber(m[1])) return `skip on ${f}: ${s.reason ?? ''}`
      }
    }
  }
  return undefined
}

export interface Target {
  url: string
  ca: string
  authorization: string
}

interface Response {
  status: number
  body: any
}

const CATCH_STATUS: Record<string, number> = {missing: 404, bad_request: 400, conflict: 409, forbidden: 403, unauthorized: 401, request_timeout: 408, unavailable: 503}

function send(t: Target, method: string, path: string, body: string | undefined, contentType: string, headers: Record<string, string>): Promise<Response> {
  return new Promise((resolve, reject) => {
    const h: Record<string, string> = {authorization: t.authorization, accept: 'application/json', ...headers}
    if (body !== undefined) {
      h['content-type'] ??= contentType
      h['content-length'] = String(Buffer.byteLength(body))
    }
    const req = httpsRequest(new URL(path, t.url), {method, headers: h, ca: t.ca, timeout: 30_000}, (res) => {
      let data = ''
      res.on('data', (c) => (data += c))
      res.on('end', () => {
        let parsed: unknown = data
        try {
          parsed = data ? JSON.parse(data) : undefined
        } catch {
          // not JSON: kept as text
        }
        // HEAD APIs (exists, ping) answer true / false in the runner's model.
        resolve({status: res.statusCode ?? 0, body: method === 'HEAD' ? (res.statusCode ?? 0) < 300 : parsed})
      })
    })
    req.on('timeout', () => req.destroy(new Error('request timed out')))
    req.on('error', reject)
    if (body !== undefined) req.write(body)
    req.end()
  })
}

/** Runs one test (its file's setup first) against a fresh server. Throws with a reason on the first failed step. */
export async function runYamlTest(t: Target, test: YamlTest): Promise<void> {
  const stash = new Map<string, unknown>()
  let last: Response | undefined
  const resolve = (v: unknown): unknown => {
    if (typeof v === 'string') {
      if (/^\$\w+$/.test(v) && stash.has(v.slice(1))) return stash.get(v.slice(1))
      return v.replace(/\$\{(\w+)\}/g, (m, k: string) => (stash.has(k) ? String(stash.get(k)) : m))
    }
    if (Array.isArray(v)) return v.map(resolve)
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolve(x)]))
    return v
  }
  const lookup = (path: string): unknown => {
    if (path === '$body' || path === '') return last?.body
    const keys = path.split(/(?<!\\)\./).map((k) => k.replace(/\\\./g, '.'))
    let node: any = last?.body
    for (const raw of keys) {
      const k = String(resolve(raw))
      if (node === null || node === undefined) return undefined
      node = node[k]
    }
    return node
  }
  for (const [i, step] of [...test.setup, ...test.steps].entries()) {
    const where = `${i < test.setup.length ? 'setup' : 'test'} step ${i < test.setup.length ? i + 1 : i - test.setup.length + 1}`
    const [kind, arg] = Object.entries(step)[0] as [string, any]
    if (kind === 'skip' || kind === 'requires') continue
    if (kind === 'do') {
      last = await doStep(t, resolve(arg) as Record<string, any>, where)
      continue
    }
    const [path, expected] = Object.entries(arg ?? {})[0] ?? [arg, undefined]
    const p = typeof arg === 'string' ? arg : String(path)
    const actual = lookup(p)
    const fail = (what: string) => {
      throw new Error(`${where}: ${kind} ${p}: ${what} (response: ${JSON.stringify(last?.body).slice(0, 600)})`)
    }
    switch (kind) {
      case 'match': {
        const exp = resolve(expected)
        if (typeof exp === 'string' && exp.length > 1 && exp.startsWith('/') && exp.endsWith('/')) {
          if (!yamlRegex(exp).test(String(actual))) fail(`expected to match ${exp}, got ${JSON.stringify(actual)}`)
        } else if (!looselyEqual(actual, exp)) fail(`expected ${JSON.stringify(exp)}, got ${JSON.stringify(actual)}`)
        break
      }
      case 'length': {
        const n = Array.isArray(actual) ? actual.length : actual && typeof actual === 'object' ? Object.keys(actual).length : typeof actual === 'string' ? actual.length : undefined
        if (n !== Number(resolve(expected))) fail(`expected length ${expected}, got ${n}`)
        break
      }
      case 'is_true':
        if (actual === undefined || actual === null || actual === false || actual === '' || actual === 'false' || actual === 0) fail(`expected a true value, got ${JSON.stringify(actual)}`)
        break
      case 'is_false':
        if (!(actual === undefined || actual === null || actual === false || actual === '' || actual === 'false' || actual === 0)) fail(`expected a false value, got ${JSON.stringify(actual)}`)
        break
      case 'set':
        stash.set(String(expected), actual)
        break
      case 'gt':
      case 'gte':
      case 'lt':
      case 'lte': {
        const a = Number(actual)
        const e = Number(resolve(expected))
        const ok = kind === 'gt' ? a > e : kind === 'gte' ? a >= e : kind === 'lt' ? a < e : a <= e
        if (!ok) fail(`expected ${kind} ${e}, got ${JSON.stringify(actual)}`)
        break
      }
      default:
        throw new Error(`${where}: step [${kind}] is not implemented by this runner`)
    }
  }
}

async function doStep(t: Target, d: Record<string, any>, where: string): Promise<Response> {
  const {catch: expectCatch, headers = {}, allowed_warnings: _a, allowed_warnings_regex: _r, warnings, node_selector: _n, ...rest} = d
  if (warnings !== undefined) throw new Error(`${where}: expects deprecation warnings (the lab emits none)`)
  const [api, rawParams = {}] = Object.entries(rest)[0] as [string, Record<string, any>]
  const spec = restApiSpecs().get(api)
  if (!spec) throw new Error(`${where}: API [${api}] is not in fixtures/elastic/rest-api-spec (the lab does not serve it)`)
  const {body, ignore, ...params} = rawParams
  const ignored = new Set(([] as unknown[]).concat(ignore ?? []).map(Number))
  const str = (v: unknown) => (Array.isArray(v) ? v.join(',') : String(v))
  // The path whose parts are all given, with the most parts (what the client libraries pick).
  const paths = spec.paths.filter((p) => p.segments.every((s) => !('part' in s) || params[s.part] !== undefined))
  paths.sort((a, b) => b.segments.filter((s) => 'part' in s).length - a.segments.filter((s) => 'part' in s).length)
  const chosen = paths[0]
  if (!chosen) throw new Error(`${where}: no path of [${api}] fits the parameters ${JSON.stringify(Object.keys(params))}`)
  const used = new Set<string>()
  const path = '/' + chosen.segments.map((s) => ('part' in s ? (used.add(s.part), encodeURIComponent(str(params[s.part])).replace(/%2C/g, ',').replace(/%2A/g, '*')) : s.literal)).join('/')
  const qs = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (!used.has(k)) qs.set(k, str(v))
  let payload: string | undefined
  let contentType = 'application/json'
  if (body !== undefined) {
    if (Array.isArray(body)) {
      payload = body.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n'
      contentType = 'application/x-ndjson'
    } else payload = typeof body === 'string' ? body : JSON.stringify(body)
  }
  const methods = chosen.methods
  const method = payload !== undefined && !methods.includes('GET') ? methods[0] : payload !== undefined && methods.includes('POST') ? 'POST' : methods[0]
  const q = qs.toString()
  const r = await send(t, method, q ? `${path}?${q}` : path, payload, contentType, Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), String(v)])))
  const text = JSON.stringify(r.body)
  if (expectCatch !== undefined) {
    const c = String(expectCatch)
    if (c.startsWith('/') && c.endsWith('/')) {
      // DoSection: the `error` of the response must contain a match of the plain (not COMMENTS-mode) regex.
      if (r.status < 400 || !new RegExp(c.slice(1, -1)).test(JSON.stringify(r.body?.error ?? null))) throw new Error(`${where}: expected an error matching ${c}, got ${r.status} ${text.slice(0, 600)}`)
    } else if (c === 'request') {
      if (r.status < 400) throw new Error(`${where}: expected an error, got ${r.status}`)
    } else if (c === 'param') {
      throw new Error(`${where}: catch: param is a client-side check this runner does not make`)
    } else if (CATCH_STATUS[c] !== r.status) {
      throw new Error(`${where}: expected ${c} (${CATCH_STATUS[c]}), got ${r.status} ${text.slice(0, 600)}`)
    }
  } else if (r.status >= 400 && !ignored.has(r.status)) {
    throw new Error(`${where}: ${api} answered ${r.status} ${text.slice(0, 600)}`)
  }
  return r
}

/** `match` regexes are Java COMMENTS-mode patterns (MatchAssertion): whitespace and #-comments are not part of the pattern. */
function yamlRegex(s: string): RegExp {
  const body = s.slice(1, -1).split('\n').map((l) => l.replace(/(?<!\\)#.*$/, '')).join('').replace(/(?<!\\)\s+/g, '')
  return new RegExp(body, 's')
}

function looselyEqual(a: unknown, b: unknown): boolean {
  // MatchAssertion: numbers compare by value (1 == 1.0), everything else by type and value.
  if (typeof a === 'number' && typeof b === 'number') return a === b
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => looselyEqual(x, b[i]))
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a as object)
    const kb = Object.keys(b as object)
    return ka.length === kb.length && ka.every((k) => looselyEqual((a as any)[k], (b as any)[k]))
  }
  return a === b
}
