import {mkdir, writeFile} from 'node:fs/promises'
import path from 'node:path'

import {type KubeLab, type KubeLabOptions, startKubeLab} from './kube/index.js'
import type {LabSpec} from './spec.js'

// The whole simulated environment of one scenario. Each sub-lab (Kubernetes today; Tetragon gRPC
// and Elasticsearch later) is started here, contributes environment variables and files, and is
// stopped in reverse order.

/** Kubernetes lab options (port, tokens, latencyMs, hang), flat or under `kube`. */
export interface LabOptions extends KubeLabOptions {
  kube?: KubeLabOptions
}

/** A started sub-lab as `startLab` composes it. */
export interface LabPart {
  name: string
  env?: Record<string, string>
  /** Extra files for DIR; paths relative to DIR. */
  files?: (dir: string) => Record<string, string>
  stop(): Promise<void>
}

export interface Lab {
  spec: LabSpec
  kube: KubeLab
  /** Environment for a tetractl process; KUBECONFIG is filled in by writeFiles(dir). */
  env: Record<string, string>
  /** Adds another sub-lab (started by its own module) to the composition. */
  add(part: LabPart): void
  /** Writes DIR/kubeconfig and DIR/env (`export KEY='value'` lines). */
  writeFiles(dir: string): Promise<void>
  stop(): Promise<void>
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`

export async function startLab(spec: LabSpec, opts: LabOptions = {}): Promise<Lab> {
  const {kube: kubeOpts, ...flat} = opts
  const kube = await startKubeLab(spec, {...flat, ...kubeOpts})
  const parts: LabPart[] = [{name: 'kube', stop: () => kube.stop(), files: () => ({kubeconfig: kube.kubeconfig()})}]
  const env: Record<string, string> = {TETRACTL_COLLECTOR_ADDRESS: spec.collectorAddress}

  const lab: Lab = {
    spec,
    kube,
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
          await writeFile(path.join(abs, rel), content, {mode: 0o600})
        }
      }
      env.KUBECONFIG = path.join(abs, 'kubeconfig')
      const lines = Object.entries(env).map(([k, v]) => `export ${k}=${shellQuote(v)}`)
      await writeFile(path.join(abs, 'env'), `${lines.join('\n')}\n`, {mode: 0o600})
    },
    async stop() {
      for (const p of [...parts].reverse()) await p.stop()
    },
  }
  return lab
}
