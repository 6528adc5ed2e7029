import {mkdir} from 'node:fs/promises'
import path from 'node:path'

import type {ElasticLab, ElasticLabOptions} from './elastic/index.js'
import {type KubeLab, type KubeLabOptions, startKubeLab} from './kube/index.js'
import type {LabSpec} from './spec.js'
import type {TetragonInCluster} from './tetragon/in-cluster.js'
import {writePrivateFileSync} from './private-file.js'
import type {LabPart} from './part.js'

export type {LabPart} from './part.js'

// The whole simulated environment of one scenario. Each sub-lab (Kubernetes today; Tetragon gRPC
// and Elasticsearch later) is started here, contributes environment variables and files, and is
// stopped in reverse order.

/** Kubernetes lab options (port, tokens, latencyMs, hang), flat or under `kube`. */
export interface LabOptions extends KubeLabOptions {
  kube?: KubeLabOptions
  /** Extra Elastic lab options (merged over the scenario's). */
  elastic?: ElasticLabOptions
}

export interface Lab {
  spec: LabSpec
  kube: KubeLab
  /** The Tetragon agents of the agent pods. */
  tetragon: TetragonInCluster
  /** Elasticsearch, Kibana and the shipper; undefined when the scenario has no Elastic side. */
  elastic?: ElasticLab
  /** Environment for a tetractl process; KUBECONFIG is filled in by writeFiles(dir). */
  env: Record<string, string>
  /** Adds another sub-lab (started by its own module) to the composition. */
  add(part: LabPart): void
  /** Writes DIR/kubeconfig and DIR/env (`export KEY='value'` lines). */
  writeFiles(dir: string): Promise<void>
  stop(): Promise<void>
}

/** The export-stdout container of the Tetragon pod on `node`, as kubelet names its log file. */
function exportContainerOn(kube: KubeLab, node: string): {pod: string; namespace: string; containerId: string} | undefined {
  for (const p of kube.store.list('pods')) {
    if (p.spec?.nodeName !== node) continue
    const c = (p.status?.containerStatuses ?? []).find((s: {name?: string}) => s.name === 'export-stdout') as {containerID?: string} | undefined
    if (c?.containerID) return {pod: p.metadata.name!, namespace: p.metadata.namespace!, containerId: c.containerID.replace(/^[a-z]+:\/\//, '')}
  }
  return undefined
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`

export async function startLab(spec: LabSpec, opts: LabOptions = {}): Promise<Lab> {
  const {kube: kubeOpts, elastic: elasticOpts, ...flat} = opts
  const kube = await startKubeLab(spec, {...flat, ...kubeOpts})
  const parts: LabPart[] = [{name: 'kube', stop: () => kube.stop(), files: () => ({kubeconfig: kube.kubeconfig()})}]
  const env: Record<string, string> = {TETRACTL_COLLECTOR_ADDRESS: spec.collectorAddress}

  let elastic: ElasticLab | undefined
  if (spec.elastic !== null) {
    const {startElasticLab} = await import('./elastic/index.js')
    const e = spec.elastic ?? {}
    elastic = await startElasticLab({
      scenario: (e.scenario ?? 'healthy') as ElasticLabOptions['scenario'],
      esMajor: e.esMajor,
      ...elasticOpts,
      ...(e.dashboards ? {kibana: {dashboards: e.dashboards, ...elasticOpts?.kibana}} : {}),
      // The cluster ships with its Elastic Agent DaemonSet (kube/objects.ts), which reads each node's
      // export-stdout container log: the documents name that node and that file.
      shipper: {
        kind: 'elastic-agent',
        exportContainer: (node) => exportContainerOn(kube, node),
        ...(e.shipperDelayMs !== undefined ? {delayMs: e.shipperDelayMs} : {}),
        ...(e.shipperDown ? {down: true} : {}),
        ...elasticOpts?.shipper,
      },
    })
    const el = elastic
    parts.push({name: 'elastic', envFor: (dir) => el.env(dir), stop: () => el.stop()})
  }
  // Agents last: their export feeds the shipper.
  const {attachTetragon} = await import('./tetragon/in-cluster.js')
  const tetragon = await attachTetragon(kube, spec, {onExport: elastic ? (line) => elastic!.ingest(line) : undefined})
  parts.push({name: 'tetragon', stop: () => tetragon.stop()})

  // Fault scenarios: a proxy in front of every server substitutes the answers the faults name.
  if (spec.faults?.length) {
    const {startFaults} = await import('./faults.js')
    parts.push(await startFaults({kube, elastic}, spec.faults as import('./faults.js').FaultSpec[]))
  }

  const lab: Lab = {
    spec,
    kube,
    tetragon,
    elastic,
    env,
    add(part) {
      parts.push(part)
      Object.assign(env, part.env ?? {})
    },
    async writeFiles(dir) {
      const abs = path.resolve(dir)
      await mkdir(abs, {recursive: true})
      for (const p of parts) {
        for (const [rel, content] of Object.entries(p.files?.(abs) ?? {})) {
          writePrivateFileSync(path.join(abs, rel), content)
        }
      }
      for (const p of parts) Object.assign(env, p.envFor?.(abs) ?? {})
      env.KUBECONFIG = path.join(abs, 'kubeconfig')
      const lines = Object.entries(env).map(([k, v]) => `export ${k}=${shellQuote(v)}`)
      writePrivateFileSync(path.join(abs, 'env'), `${lines.join('\n')}\n`)
    },
    async stop() {
      for (const p of [...parts].reverse()) await p.stop()
    },
  }
  return lab
}
