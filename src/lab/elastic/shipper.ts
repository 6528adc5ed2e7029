// Emulation of the log shipper between Tetragon's JSON export and Elasticsearch. The package documents a
// Filebeat sidecar (elastic.md §2.4): a filestream input on /var/run/cilium/tetragon/*.log, no JSON
// decoding (`message` = the raw line, `@timestamp` = the time Filebeat read it), output index
// `logs-cilium_tetragon.log-default`; the ingest pipeline does the parsing. Other labs call `ingest(line)`
// with export lines. Only the lab imports this file.

import {randomUUID} from 'node:crypto'

import type {JsonMap} from './ingest.js'
import {PACKAGE_DATASET} from './pipeline.js'
import type {EsStore} from './store.js'

export type ShipperMode =
  /** The package README's Filebeat sidecar reading the export file (elastic.md §2.4). */
  | 'filebeat-sidecar'
  /**
   * The commonly documented path `/var/log/containers/*export-stdout*.log` read with the container
   * parser and add_kubernetes_metadata: the event also carries `container.*` / `kubernetes.*` of the
   * Tetragon pod (Beats "Kubernetes fields": kubernetes.container.image is an alias of
   * container.image.name), so the pipeline's rename into `container.*` fails (elastic.md §2.5).
   */
  | 'container-logs'
  /** The same path read without a container parser: `message` is the CRI line `<ts> stdout F {json}` (elastic.md §2.5, §5). */
  | 'container-logs-raw'

export interface ShipperOptions {
  /** Dataset of the output index `logs-<dataset>-<namespace>` (default cilium_tetragon.log). */
  dataset?: string
  namespace?: string
  /** Delay between reading a line and the document being indexed (Filebeat batching), ms. Default 500. */
  delayMs?: number
  /** Shipper not running: every line is dropped. */
  down?: boolean
  mode?: ShipperMode
  /** Node the shipper runs on (Filebeat's host.name). */
  nodeName?: string
  /** Filebeat version of the sidecar image the README sets. */
  version?: string
}

export interface ShipperStats {
  read: number
  indexed: number
  /** Documents Elasticsearch refused (Filebeat logs them and drops them). */
  rejected: number
  dropped: number
  lastError?: string
}

export interface Shipper {
  readonly index: string
  /** Hands one Tetragon export line to the shipper; it is indexed after `delayMs`. */
  ingest(line: string): void
  /** Indexes a line now, as read at `readAt` (ms since epoch); used to seed history. */
  shipAt(line: string, readAt: number): void
  /** Resolves when every pending line has been indexed. */
  flush(): Promise<void>
  /** Stops: lines still in flight are dropped (a stopped Filebeat does not index them); resolves at once. */
  close(): void
  setDown(down: boolean): void
  stats(): ShipperStats
}

export function createShipper(store: EsStore, opts: ShipperOptions = {}): Shipper {
  const dataset = opts.dataset ?? PACKAGE_DATASET
  const index = `logs-${dataset}-${opts.namespace ?? 'default'}`
  const mode = opts.mode ?? 'filebeat-sidecar'
  const node = opts.nodeName ?? 'kind-control-plane'
  const agentId = randomUUID()
  const ephemeralId = randomUUID()
  const version = opts.version ?? '8.15.3'
  let down = opts.down ?? false
  let offset = 0
  const pending = new Set<Promise<void>>()
  const timers = new Map<NodeJS.Timeout, () => void>()
  const stats: ShipperStats = {read: 0, indexed: 0, rejected: 0, dropped: 0}

  const event = (line: string, readAt: number): JsonMap => {
    const ts = new Date(readAt).toISOString()
    const base: JsonMap = {
      '@timestamp': ts,
      // Filebeat adds agent.*, ecs.version, host.name (unless publisher_pipeline.disable_host) and
      // the filestream input's log.* fields; it does not send data_stream.* (elastic.md §1).
      agent: {type: 'filebeat', version, name: node, id: agentId, ephemeral_id: ephemeralId},
      ecs: {version: '8.0.0'},
      host: {name: node},
      input: {type: 'filestream'},
    }
    if (mode === 'filebeat-sidecar') {
      const e = {...base, message: line, log: {file: {path: '/var/run/cilium/tetragon/tetragon.log'}, offset}}
      offset += Buffer.byteLength(line) + 1
      return e
    }
    const path = '/var/log/containers/tetragon-7xk2p_kube-system_export-stdout-0c8f0e2a.log'
    const message = mode === 'container-logs' ? line : `${ts} stdout F ${line}`
    const e: JsonMap = {...base, message, log: {file: {path}, offset}}
    offset += Buffer.byteLength(message) + 1
    if (mode === 'container-logs') {
      e.stream = 'stdout'
      e.container = {
        id: '0c8f0e2a5d1b7c3e9f4a6b8d0e2c4a6b8d0f2e4c6a8b0d2f4e6c8a0b2d4f6e8a',
        runtime: 'containerd',
        image: {name: 'quay.io/cilium/hubble-export-stdout:v1.0.4'},
      }
      e.kubernetes = {
        pod: {name: 'tetragon-7xk2p', uid: '3f1c9a52-8f0e-4c8a-9b1d-2e7f4a6c8d0e'},
        namespace: 'kube-system',
        node: {name: node},
        container: {name: 'export-stdout'},
        labels: {'app_kubernetes_io/name': 'tetragon'},
      }
    }
    return e
  }

  const write = (line: string, readAt: number) => {
    const r = store.write(index, event(line, readAt), {opType: 'create'})
    if (r.ok) stats.indexed++
    else {
      stats.rejected++
      stats.lastError = `${String(r.error.type)}: ${String(r.error.reason)}`
    }
  }

  return {
    index,
    ingest(line) {
      stats.read++
      if (down) {
        stats.dropped++
        return
      }
      const readAt = store.now()
      const p = new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          timers.delete(t)
          write(line, readAt)
          resolve()
        }, opts.delayMs ?? 500)
        timers.set(t, resolve)
      })
      pending.add(p)
      void p.then(() => pending.delete(p))
    },
    shipAt(line, readAt) {
      stats.read++
      if (down) {
        stats.dropped++
        return
      }
      write(line, readAt)
    },
    async flush() {
      await Promise.all([...pending])
    },
    close() {
      for (const [t, resolve] of timers) {
        clearTimeout(t)
        stats.dropped++
        resolve()
      }
      timers.clear()
    },
    setDown(d) {
      down = d
    },
    stats: () => ({...stats}),
  }
}
