// Start API of the Elastic lab: a simulated Elasticsearch and Kibana over HTTPS, a shipper that turns
// Tetragon export lines into documents the way Filebeat and the package's ingest pipeline would, and a
// store seeded per scenario with documents built from the real Tetragon fixtures. Only tests and
// `tetractl sandbox` import this file.

import {randomBytes} from 'node:crypto'
import {mkdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {writePrivateFileSync} from '../private-file.js'
import {type EsServer, type FailureInjection, type RequestLogEntry, startEsServer} from './es-server.js'
import {type KibanaServer, startKibanaServer} from './kibana-server.js'
import {DEFAULT_PACKAGE_VERSION, PACKAGE_DATASET} from './pipeline.js'
import type {LabApiKey, LabUser} from './security.js'
import {createShipper, type Shipper, type ShipperOptions, type ShipperStats} from './shipper.js'
import {EsStore} from './store.js'

export type ElasticScenario =
  | 'healthy'
  | 'no-data'
  | 'seed-dataset'
  | 'package-dataset'
  | 'pipeline-errors'
  | 'stale-data'
  | 'es-8'
  | 'es-9'
  | 'es-auth-failure'
  | 'template-missing'
  | 'kibana-package-missing'

export const ELASTIC_SCENARIOS: Record<ElasticScenario, string> = {
  healthy: 'package installed, fresh data under logs-cilium_tetragon.log-default, no pipeline errors',
  'no-data': 'package installed, the shipper is down: no documents at all',
  'seed-dataset': 'data only under logs-tetragon.log-default (the commonly documented dataset), unparsed',
  'package-dataset': "data under the package's dataset logs-cilium_tetragon.log-default",
  'pipeline-errors': 'container logs shipped with add_kubernetes_metadata: the pipeline fails on container.id (event.kind pipeline_error)',
  'stale-data': 'the shipper stopped 3 hours ago: the newest document is 3 hours old and no newer one arrives',
  'es-8': 'Elasticsearch 8.19',
  'es-9': 'Elasticsearch 9.1 (REST compatibility with the 8.x client)',
  'es-auth-failure': 'the credentials exported in env() are wrong',
  'template-missing': 'the data stream was created before the integration was installed: write index without the package pipeline, documents unparsed',
  'kibana-package-missing': 'the integration is not installed in Kibana: no index template, no ingest pipeline, documents unparsed',
}

export interface ElasticLabOptions {
  scenario?: ElasticScenario | ElasticScenario[]
  esMajor?: 8 | 9
  /** Full version `GET /` reports (default 8.19.2 / 9.1.0). */
  esVersion?: string
  /** Which credentials env() exports: an API key (default) or username/password. */
  auth?: 'apiKey' | 'basic'
  /** Extra users / API keys (the lab always has `elastic`, `tetractl`, `no-logs`). */
  users?: LabUser[]
  apiKeys?: LabApiKey[]
  notElasticsearch?: boolean
  failures?: FailureInjection[]
  shipper?: ShipperOptions
  /** Seed: how many documents, the age of the newest one and the spacing (ms). */
  seed?: {count?: number; newestAgeMs?: number; spacingMs?: number}
  kibana?: {packageInstalled?: boolean; packageVersion?: string; version?: string; overall?: 'available' | 'degraded' | 'unavailable'; dashboards?: Array<{id: string; title: string}>}
}

export interface ElasticLab {
  esUrl: string
  kibanaUrl: string
  caPem: string
  scenarios: ElasticScenario[]
  /** Writes the CA to `<dir>/elastic-lab-ca.pem` and returns the path. */
  caFile(dir: string): string
  /** Valid credentials of the read-only diagnostics user (`tetractl`); see env() for the exported ones. */
  credentials: {username: string; password: string; apiKey: string}
  /** Superuser credentials (setup flows). */
  admin: {username: string; password: string}
  /** Environment for tetractl: ELASTICSEARCH_URL, credentials, ELASTICSEARCH_CA_CERT, KIBANA_URL. */
  env(dir: string): Record<string, string>
  /** Hands a Tetragon export line to the shipper. */
  ingest(line: string): void
  flush(): Promise<void>
  shipperStats(): ShipperStats
  /** Elasticsearch request log (never holds an Authorization header). */
  requests(): RequestLogEntry[]
  kibanaRequests(): RequestLogEntry[]
  clearRequests(): void
  store: EsStore
  shipper: Shipper
  stop(): Promise<void>
}

const SAMPLE_EVENTS = fileURLToPath(new URL('../../../fixtures/elastic/tetragon-sample-events.jsonl', import.meta.url))

/** The real Tetragon export lines of the package's pipeline tests (fixtures/elastic/README.md). */
export function sampleTetragonLines(): string[] {
  return readFileSync(SAMPLE_EVENTS, 'utf8').split('\n').filter(Boolean)
}

const secret = () => randomBytes(18).toString('base64url')

export async function startElasticLab(opts: ElasticLabOptions = {}): Promise<ElasticLab> {
  const scenarios = ([] as ElasticScenario[]).concat(opts.scenario ?? 'healthy')
  const has = (s: ElasticScenario) => scenarios.includes(s)
  const major: 8 | 9 = opts.esMajor ?? (has('es-9') ? 9 : 8)
  const version = opts.esVersion ?? (major === 9 ? '9.1.0' : '8.19.2')
  const store = new EsStore(major)

  const adminPassword = secret()
  const readerPassword = secret()
  const readerKey = {id: randomBytes(10).toString('base64url'), key: secret()}
  // A read-only diagnostics role: the privileges the checks' calls need (not yet confirmed against the Elasticsearch docs).
  const readerRole = {
    cluster: ['monitor', 'read_pipeline', 'manage_index_templates'],
    indices: [{names: ['logs-*'], privileges: ['read', 'view_index_metadata', 'monitor']}],
    kibana: ['fleet:read', 'saved_objects:read'],
  }
  const users: LabUser[] = [
    {username: 'elastic', password: adminPassword, roles: ['superuser'], cluster: ['all'], indices: [{names: ['*'], privileges: ['all']}], kibana: ['all']},
    {username: 'tetractl', password: readerPassword, roles: ['tetractl_reader'], ...readerRole},
    // Can reach the cluster but read no logs: 403 on searches.
    {username: 'no-logs', password: readerPassword, roles: ['monitoring_user'], cluster: ['monitor'], indices: [], kibana: []},
    ...(opts.users ?? []),
  ]
  const apiKeys: LabApiKey[] = [{id: readerKey.id, key: readerKey.key, name: 'tetractl-diagnostics', username: 'tetractl', ...readerRole}, ...(opts.apiKeys ?? [])]

  const packageInstalled = opts.kibana?.packageInstalled ?? !has('kibana-package-missing')
  const packageVersion = opts.kibana?.packageVersion ?? DEFAULT_PACKAGE_VERSION
  // Standalone, the package's Filebeat sidecar ships; in the lab cluster its Elastic Agent DaemonSet does,
  // reading the export-stdout containers' logs (see ../index.ts).
  const kind = opts.shipper?.kind ?? 'filebeat'
  const shipperOpts: ShipperOptions = {
    dataset: has('seed-dataset') ? 'tetragon.log' : PACKAGE_DATASET,
    mode: has('pipeline-errors') ? 'container-logs' : kind === 'elastic-agent' ? 'container-parser' : 'filebeat-sidecar',
    down: has('no-data'),
    ...opts.shipper,
  }
  const shipper = createShipper(store, shipperOpts)

  // Seed history from the real fixtures, newest first going back in time.
  const seed = () => {
    const lines = sampleTetragonLines()
    const count = opts.seed?.count ?? lines.length
    const newestAge = opts.seed?.newestAgeMs ?? (has('stale-data') ? 3 * 3_600_000 : 30_000)
    const spacing = opts.seed?.spacingMs ?? 10_000
    const now = store.now()
    for (let i = count - 1; i >= 0; i--) shipper.shipAt(lines[i % lines.length], now - newestAge - i * spacing)
  }
  // stale-data: the shipper stopped after the last seeded document (3 hours ago) and stays stopped, so the
  // newest document ages for the scenario's whole life whatever the agents keep exporting.
  const afterSeed = () => {
    if (has('stale-data')) shipper.setDown(true)
  }
  if (has('template-missing')) {
    // Filebeat wrote before the integration was installed: the data stream (and its write index) came
    // from the built-in `logs` template, without the package pipeline.
    seed()
    if (packageInstalled) store.installPackageAssets(packageVersion)
  } else {
    if (packageInstalled) store.installPackageAssets(packageVersion)
    seed()
  }
  afterSeed()

  const es: EsServer = await startEsServer({store, version, users, apiKeys, notElasticsearch: opts.notElasticsearch, failures: opts.failures})
  const kibana: KibanaServer = await startKibanaServer({
    store,
    version: opts.kibana?.version ?? version,
    users,
    apiKeys,
    packageInstalled,
    packageVersion,
    overall: opts.kibana?.overall,
    dashboards: opts.kibana?.dashboards,
  })

  const encodedKey = Buffer.from(`${readerKey.id}:${readerKey.key}`).toString('base64')
  const caFile = (dir: string) => {
    mkdirSync(dir, {recursive: true})
    const file = join(dir, 'elastic-lab-ca.pem')
    writePrivateFileSync(file, es.caPem)
    return file
  }

  return {
    esUrl: es.url,
    kibanaUrl: kibana.url,
    caPem: es.caPem,
    scenarios,
    caFile,
    credentials: {username: 'tetractl', password: readerPassword, apiKey: encodedKey},
    admin: {username: 'elastic', password: adminPassword},
    env(dir) {
      const env: Record<string, string> = {ELASTICSEARCH_URL: es.url, ELASTICSEARCH_CA_CERT: caFile(dir), KIBANA_URL: kibana.url}
      const wrong = has('es-auth-failure')
      if ((opts.auth ?? 'apiKey') === 'apiKey') {
        // A syntactically valid key whose secret is wrong (e.g. an invalidated / regenerated key).
        env.ELASTICSEARCH_API_KEY = wrong ? Buffer.from(`${readerKey.id}:${secret()}`).toString('base64') : encodedKey
      } else {
        env.ELASTICSEARCH_USERNAME = 'tetractl'
        env.ELASTICSEARCH_PASSWORD = wrong ? secret() : readerPassword
      }
      return env
    },
    ingest: (line) => shipper.ingest(line),
    flush: () => shipper.flush(),
    shipperStats: () => shipper.stats(),
    requests: () => es.requests(),
    kibanaRequests: () => kibana.requests(),
    clearRequests: () => {
      es.clearRequests()
      kibana.clearRequests()
    },
    store,
    shipper,
    async stop() {
      // A slow shipper (slow-ingest: minutes) must not hold the lab's stop: undelivered lines are dropped.
      shipper.close()
      await Promise.all([es.stop(), kibana.stop()])
    },
  }
}
