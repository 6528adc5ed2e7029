// Emulation of the log shipper between Tetragon's JSON export and Elasticsearch. The package documents a
// Filebeat sidecar (elastic/integrations packages/tetragon/docs/README.md): a filestream input on /var/run/cilium/tetragon/*.log, no JSON
// decoding (`message` = the raw line, `@timestamp` = the time Filebeat read it), output index
// `logs-cilium_tetragon.log-default`; the ingest pipeline does the parsing. A Fleet-managed Elastic Agent
// (elastic/elastic-agent deploy/kubernetes manifest; the lab cluster's kube-system/elastic-agent DaemonSet) reads the export-stdout
// containers' logs instead and adds what Fleet's stream processors add: data_stream.*, event.dataset,
// elastic_agent.* (issue #10 item 2; unverified against a running agent). Each line is shipped by the
// shipper of the node named in it. Other labs call `ingest(line)` with export lines. Only the lab imports
// this file.

import {randomUUID} from 'node:crypto'

import type {JsonMap} from './ingest.js'
import {PACKAGE_DATASET} from './pipeline.js'
import type {EsStore} from './store.js'

export type ShipperMode =
  /** The package README's Filebeat sidecar reading the export file (elastic/integrations packages/tetragon/docs/README.md). */
  | 'filebeat-sidecar'
  /**
   * The commonly documented path `/var/log/containers/*export-stdout*.log` read with the container
   * parser and add_kubernetes_metadata: the event also carries `container.*` / `kubernetes.*` of the
   * Tetragon pod (Beats "Kubernetes fields": kubernetes.container.image is an alias of
   * container.image.name), so the pipeline's rename into `container.*` fails (the package's ingest_pipeline/default.yml).
   */
  | 'container-logs'
  /** The same path read without a container parser: `message` is the CRI line `<ts> stdout F {json}`, which the pipeline's json processor rejects. */
  | 'container-logs-raw'
  /** The export-stdout container's log read with the container parser only (no Kubernetes metadata). */
  | 'container-parser'

/** Who ships: Filebeat (sidecar or DaemonSet) or a Fleet-managed Elastic Agent. */
export type ShipperKind = 'filebeat' | 'elastic-agent'

/** The export-stdout container of the Tetragon pod on a node: its log file under /var/log/containers. */
export interface ExportContainer {
  pod: string
  namespace: string
  /** Container ID without the runtime prefix. */
  containerId: string
}

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
  /** Filebeat version of the sidecar image the README sets (or the Elastic Agent version). */
  version?: string
  kind?: ShipperKind
  /** Where the node's export-stdout container logs (the lab cluster's pods); a made-up one otherwise. */
  exportContainer?(node: string): ExportContainer | undefined
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
  const defaultNode = opts.nodeName ?? 'kind-control-plane'
  const kind = opts.kind ?? 'filebeat'
  const namespace = opts.namespace ?? 'default'
  // One shipper per node: its own agent id and file offsets.
  const agents = new Map<string, {id: string; ephemeralId: string; offsets: Map<string, number>}>()
  const agentOn = (node: string) => {
    let a = agents.get(node)
    if (!a) agents.set(node, (a = {id: randomUUID(), ephemeralId: randomUUID(), offsets: new Map()}))
    return a
  }
  const version = opts.version ?? (kind === 'elastic-agent' ? '8.19.0' : '8.15.3')
  let down = opts.down ?? false
  const pending = new Set<Promise<void>>()
  const timers = new Map<NodeJS.Timeout, () => void>()
  const stats: ShipperStats = {read: 0, indexed: 0, rejected: 0, dropped: 0}

  /** The node whose Tetragon wrote the line (its node_name); the shipper on that node reads it. */
  const nodeOf = (line: string): string => {
    const m = /"node_name"\s*:\s*"([^"]+)"/.exec(line)
    return m ? m[1] : defaultNode
  }
  const containerLogPath = (node: string) => {
    const c = opts.exportContainer?.(node) ?? {pod: `tetragon-${node.replace(/[^a-z0-9]/g, '').slice(-5)}`, namespace: 'kube-system', containerId: '0c8f0e2a5d1b7c3e9f4a6b8d0e2c4a6b8d0f2e4c6a8b0d2f4e6c8a0b2d4f6e8a'}
    // kubelet's symlink name: <pod>_<namespace>_<container>-<container id>.log
    return {path: `/var/log/containers/${c.pod}_${c.namespace}_export-stdout-${c.containerId}.log`, container: c}
  }

  const event = (line: string, readAt: number): JsonMap => {
    const ts = new Date(readAt).toISOString()
    const node = nodeOf(line)
    const agent = agentOn(node)
    // hostNetwork pods (the Tetragon DaemonSet, the elastic-agent DaemonSet) have the node's hostname.
    const base: JsonMap = {
      '@timestamp': ts,
      // Beats add agent.*, ecs.version, host.name (unless publisher_pipeline.disable_host) and the
      // filestream input's log.* fields; Filebeat alone does not send data_stream.*.
      agent: {type: 'filebeat', version, name: node, id: agent.id, ephemeral_id: agent.ephemeralId},
      ecs: {version: '8.0.0'},
      host: {name: node},
      input: {type: 'filestream'},
    }
    if (kind === 'elastic-agent') {
      base.data_stream = {type: 'logs', dataset, namespace}
      base.event = {dataset}
      base.elastic_agent = {id: agent.id, version, snapshot: false}
    }
    const next = (path: string, message: string) => {
      const offset = agent.offsets.get(path) ?? 0
      agent.offsets.set(path, offset + Buffer.byteLength(message) + 1)
      return offset
    }
    if (mode === 'filebeat-sidecar') {
      const path = '/var/run/cilium/tetragon/tetragon.log'
      return {...base, message: line, log: {file: {path}, offset: next(path, line)}}
    }
    const {path, container} = containerLogPath(node)
    const message = mode === 'container-logs-raw' ? `${ts} stdout F ${line}` : line
    const e: JsonMap = {...base, message, log: {file: {path}, offset: next(path, message)}}
    if (mode === 'container-parser') e.stream = 'stdout'
    if (mode === 'container-logs') {
      e.stream = 'stdout'
      e.container = {id: container.containerId, runtime: 'containerd', image: {name: 'quay.io/cilium/hubble-export-stdout:v1.0.4'}}
      e.kubernetes = {
        pod: {name: container.pod, uid: '3f1c9a52-8f0e-4c8a-9b1d-2e7f4a6c8d0e'},
        namespace: container.namespace,
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
