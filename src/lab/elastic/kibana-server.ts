// Simulated Kibana over HTTPS: status, the Fleet package / policy / agent routes and the saved-objects
// search tetractl reads (Fleet routes: elastic/kibana fleet common/constants/routes.ts), with Kibana's rules: `kbn-xsrf` required on writes, 401/403
// bodies in Kibana's `{statusCode, error, message}` form, authentication against the same users and API
// keys as the Elasticsearch lab. Installing the package puts its Elasticsearch assets into the lab's store.
// Only tests and the lab import this file.

import {randomUUID} from 'node:crypto'
import type {IncomingMessage} from 'node:http'
import {createServer, type Server} from 'node:https'
import type {AddressInfo} from 'node:net'

import type {RequestLogEntry} from './es-server.js'
import {DEFAULT_PACKAGE_VERSION, PACKAGE_DATASET, PACKAGE_NAME} from './pipeline.js'
import {AuthError, authenticate, kibanaAllowed, type LabApiKey, type LabUser, type Principal, principalName} from './security.js'
import type {EsStore} from './store.js'
import {labTls} from './tls.js'

export interface KibanaServerOptions {
  store: EsStore
  version: string
  users: LabUser[]
  apiKeys: LabApiKey[]
  packageInstalled: boolean
  /** Version Fleet would install / has installed. */
  packageVersion?: string
  overall?: 'available' | 'degraded' | 'unavailable' | 'critical'
  /** Dashboards present in the space (the package has no kibana/ directory, so none: elastic/integrations#11610). */
  dashboards?: Array<{id: string; title: string}>
}

export interface KibanaServer {
  url: string
  requests(): RequestLogEntry[]
  clearRequests(): void
  /** Installed assets, as Fleet records them. */
  installed(): Array<{id: string; type: string}> | undefined
  stop(): Promise<void>
}

class KbnError extends Error {
  constructor(
    readonly statusCode: number,
    readonly error: string,
    message: string,
  ) {
    super(message)
  }
}

const MANIFEST = {
  name: PACKAGE_NAME,
  title: 'Cilium Tetragon',
  type: 'integration',
  format_version: '3.1.4',
  categories: ['security', 'cloud', 'cloudsecurity_cdr', 'kubernetes', 'observability'],
  conditions: {kibana: {version: '^8.13.0 || ^9.0.0'}, elastic: {subscription: 'basic'}},
  owner: {github: 'elastic/integration-experience', type: 'elastic'},
  policy_templates: [{name: PACKAGE_NAME, title: 'Cilium Tetragon', description: 'log', inputs: [{type: 'filestream', title: 'log : filestream', description: 'log'}]}],
  // The released data stream manifest has only `title: log` / `type: logs`: no streams (elastic/integrations packages/tetragon/data_stream/log/manifest.yml).
  data_streams: [{type: 'logs', dataset: PACKAGE_DATASET, title: 'log', release: 'ga', ingest_pipeline: 'default', path: 'log', package: PACKAGE_NAME, elasticsearch: {}}],
}

export async function startKibanaServer(opts: KibanaServerOptions): Promise<KibanaServer> {
  const tls = await labTls()
  const log: RequestLogEntry[] = []
  const version = opts.packageVersion ?? DEFAULT_PACKAGE_VERSION
  let installed: Array<{id: string; type: string}> | undefined = opts.packageInstalled ? opts.store.installPackageAssets(version) : undefined
  const installedAt = new Date().toISOString()
  const packagePolicies: Array<Record<string, unknown>> = []

  const server: Server = createServer({cert: tls.cert, key: tls.key}, (req, res) => {
    const started = performance.now()
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'https://localhost')
      const entry: RequestLogEntry = {method: req.method ?? 'GET', path: url.pathname, query: Object.fromEntries(url.searchParams), status: 0, ms: 0}
      const send = (status: number, body: unknown) => {
        entry.status = status
        entry.ms = Math.round(performance.now() - started)
        log.push(entry)
        res.writeHead(status, {'content-type': 'application/json; charset=utf-8', 'kbn-name': 'lab-kibana'})
        res.end(JSON.stringify(body))
      }
      try {
        let principal: Principal
        try {
          principal = authenticate(req.headers.authorization, '/_security/_authenticate', opts.users, opts.apiKeys)
        } catch (e) {
          if (e instanceof AuthError) {
            // Kibana relays Elasticsearch's security_exception in its own error shape.
            const message = req.headers.authorization ? `[security_exception\n\tRoot causes:\n\t\tsecurity_exception: ${e.reason}]: ${e.reason}` : 'Unauthorized'
            return send(401, {statusCode: 401, error: 'Unauthorized', message})
          }
          throw e
        }
        entry.principal = principalName(principal)
        const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined
        send(...route(req, url, principal, body))
      } catch (e) {
        if (e instanceof KbnError) return send(e.statusCode, {statusCode: e.statusCode, error: e.error, message: e.message})
        send(500, {statusCode: 500, error: 'Internal Server Error', message: 'An internal server error occurred.'})
      }
    })
  })

  const forbid = (p: Principal, feature: string) => {
    if (!kibanaAllowed(p, feature)) throw new KbnError(403, 'Forbidden', 'Forbidden')
  }
  const requireXsrf = (req: IncomingMessage) => {
    // Kibana's XSRF protection: every non-GET API request needs a kbn-xsrf header (Kibana Fleet API docs).
    if (!req.headers['kbn-xsrf']) throw new KbnError(400, 'Bad Request', 'Request must contain a kbn-xsrf header.')
  }

  function packageItem() {
    const isInstalled = installed !== undefined
    return {
      ...MANIFEST,
      version,
      latestVersion: version,
      status: isInstalled ? 'installed' : 'not_installed',
      assets: {elasticsearch: {ingest_pipeline: [{file: 'default.yml', dataset: 'log'}]}, kibana: {}},
      ...(isInstalled
        ? {
            installationInfo: {
              type: 'epm-packages',
              created_at: installedAt,
              updated_at: installedAt,
              namespaces: [],
              installed_kibana: [],
              installed_kibana_space_id: 'default',
              installed_es: installed,
              name: PACKAGE_NAME,
              version,
              install_status: 'installed',
              install_source: 'registry',
              install_format_schema_version: '1.3.0',
              verification_status: 'verified',
              verification_key_id: 'd27d666cd88e42b4',
              latest_install_failed_attempts: [],
            },
          }
        : {}),
    }
  }

  function route(req: IncomingMessage, url: URL, p: Principal, body: any): [number, unknown] {
    const m = req.method ?? 'GET'
    const path = url.pathname.replace(/^\/s\/[^/]+/, '')
    if (path === '/api/status' && m === 'GET') {
      const level = opts.overall ?? 'available'
      return [
        200,
        {
          name: 'lab-kibana',
          uuid: '5b2de169-2785-441b-ae8c-186a1936b17d',
          version: {number: opts.version, build_hash: '0000000000000000000000000000000000000000', build_number: 1, build_snapshot: false},
          status: {
            overall: {level, summary: level === 'available' ? 'All services and plugins are available' : `Kibana is ${level}`},
            core: {elasticsearch: {level: 'available', summary: 'Elasticsearch is available'}, savedObjects: {level: 'available', summary: 'SavedObjects service has completed migrations and is available'}},
            plugins: {},
          },
          metrics: {last_updated: new Date().toISOString(), collection_interval_in_millis: 5000},
        },
      ]
    }
    const pkg = /^\/api\/fleet\/epm\/packages\/([^/]+)(?:\/([^/]+))?$/.exec(path)
    if (pkg) {
      const [, name, ver] = pkg
      if (name !== PACKAGE_NAME) throw new KbnError(404, 'Not Found', `[${name}] package not found in registry`)
      if (m === 'GET') {
        forbid(p, 'fleet:read')
        if (ver && ver !== version) throw new KbnError(404, 'Not Found', `[${name}-${ver}] package not found in registry`)
        return [200, {item: packageItem(), metadata: {has_policies: packagePolicies.length > 0}}]
      }
      if (m === 'POST') {
        requireXsrf(req)
        forbid(p, 'fleet:all')
        if (ver && ver !== version) throw new KbnError(404, 'Not Found', `[${name}-${ver}] package not found in registry`)
        installed ??= opts.store.installPackageAssets(version)
        return [200, {items: installed, _meta: {install_source: 'registry', name: PACKAGE_NAME}}]
      }
    }
    if (path === '/api/fleet/agent_policies' && m === 'GET') {
      forbid(p, 'fleet:read')
      return [200, {items: [], total: 0, page: 1, perPage: Number(url.searchParams.get('perPage') ?? 20)}]
    }
    if (path === '/api/fleet/package_policies') {
      if (m === 'GET') {
        forbid(p, 'fleet:read')
        return [200, {items: packagePolicies, total: packagePolicies.length, page: 1, perPage: Number(url.searchParams.get('perPage') ?? 20)}]
      }
      if (m === 'POST') {
        requireXsrf(req)
        forbid(p, 'fleet:all')
        if (!body?.name || !(body.policy_id || body.policy_ids) || !body.package?.name) {
          throw new KbnError(400, 'Bad Request', '[request body]: name, policy_id(s) and package.name are required')
        }
        if (body.package.name === PACKAGE_NAME) installed ??= opts.store.installPackageAssets(version)
        const policyIds: string[] = body.policy_ids ?? [body.policy_id]
        const item = {
          id: randomUUID(),
          version: 'WzEsMV0=',
          name: body.name,
          namespace: body.namespace ?? 'default',
          description: body.description ?? '',
          package: {name: body.package.name, title: MANIFEST.title, version: body.package.version ?? version},
          enabled: true,
          policy_id: policyIds[0],
          policy_ids: policyIds,
          // The released data stream defines no streams, so the input has none.
          inputs: [{type: 'filestream', policy_template: PACKAGE_NAME, enabled: true, streams: []}],
          revision: 1,
          created_at: new Date().toISOString(),
          created_by: principalName(p),
        }
        packagePolicies.push(item)
        return [200, {item}]
      }
    }
    if ((path === '/api/fleet/agent_status' || path === '/api/fleet/agent-status') && m === 'GET') {
      forbid(p, 'fleet:read')
      return [200, {results: {active: 0, all: 0, error: 0, events: 0, inactive: 0, offline: 0, online: 0, orphaned: 0, other: 0, unenrolled: 0, uninstalled: 0, updating: 0}}]
    }
    if (path === '/api/saved_objects/_find' && m === 'GET') {
      forbid(p, 'saved_objects:read')
      const type = url.searchParams.getAll('type')
      if (type.length === 0) throw new KbnError(400, 'Bad Request', '[request query.type]: expected value of type [string] but got [undefined]')
      const search = (url.searchParams.get('search') ?? '').replace(/^"|"$/g, '').replace(/\*$/, '').toLowerCase()
      const all = type.includes('dashboard') ? opts.dashboards ?? [] : []
      const found = all.filter((d) => !search || d.title.toLowerCase().includes(search))
      return [
        200,
        {
          page: 1,
          per_page: Number(url.searchParams.get('per_page') ?? 20),
          total: found.length,
          saved_objects: found.map((d) => ({id: d.id, type: 'dashboard', attributes: {title: d.title}, references: [], score: 1})),
        },
      ]
    }
    throw new KbnError(404, 'Not Found', 'Not Found')
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const port = (server.address() as AddressInfo).port
  return {
    url: `https://localhost:${port}`,
    requests: () => log.map((e) => ({...e})),
    clearRequests: () => {
      log.length = 0
    },
    installed: () => installed,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
