// Shared by the validate end-to-end tests: a lab per scenario, the env tetractl gets, and what validate left behind.
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {startLab} from '../../src/lab/index.js'
import {getScenario} from '../../src/lab/scenarios.js'
import {tempDir} from '../helpers.js'

export type Lab = Awaited<ReturnType<typeof startLab>>

export async function withScenario<T>(name: string, fn: (lab: Lab, env: Record<string, string>, dir: string) => Promise<T>): Promise<T> {
  const spec = getScenario(name)
  if (!spec) throw new Error(`no scenario ${name}`)
  const lab = await startLab(spec)
  const dir = tempDir('tetractl-validate-')
  await lab.writeFiles(dir)
  try {
    return await fn(lab, envFile(dir), dir)
  } finally {
    await lab.stop()
  }
}

export function envFile(dir: string): Record<string, string> {
  const env: Record<string, string> = {}
  for (const line of readFileSync(join(dir, 'env'), 'utf8').split('\n')) {
    const m = /^export ([A-Z0-9_]+)=(.*)$/.exec(line.trim())
    if (m) env[m[1]!] = m[2]!.replace(/^'(.*)'$/, '$1')
  }
  return env
}

/** Namespaces and pods validate created that are still in the lab's store. */
export function leftovers(lab: Lab): string[] {
  const ns = lab.kube.store.list('namespaces').filter((n) => n.metadata.name.startsWith('tetractl-validate-') || n.metadata.labels?.['app.kubernetes.io/managed-by'] === 'tetractl')
  const pods = lab.kube.store.list('pods').filter((p) => p.metadata.labels?.['app.kubernetes.io/managed-by'] === 'tetractl' || p.metadata.namespace?.startsWith('tetractl-validate-'))
  return [...ns.map((n) => `namespace/${n.metadata.name}`), ...pods.map((p) => `pod/${p.metadata.namespace}/${p.metadata.name}`)]
}

/** Writes validate sent to the Kubernetes API (access reviews excluded), as `verb resource name`. */
export function writes(lab: Lab): string[] {
  return lab.kube
    .requests()
    .filter((r) => ['create', 'update', 'patch', 'delete', 'deletecollection'].includes(r.verb) && !['selfsubjectaccessreviews', 'selfsubjectrulesreviews'].includes(r.resource))
    // Namespaces are cluster-scoped: the request names them once (a create names none: the name is in the body).
    .map((r) => `${r.verb} ${r.resource}${r.subresource ? `/${r.subresource}` : ''} ${r.resource === 'namespaces' ? r.name : `${r.namespace ? `${r.namespace}/` : ''}${r.name}`}`.trim())
}

export const byId = (report: {checks: Array<{id: string}>}) => Object.fromEntries(report.checks.map((c: any) => [c.id, c]))

/** `id:status@stage` for every step that is not a pass. */
export function notPassing(report: {checks: Array<{id: string; status: string; stage: string}>}): string[] {
  return report.checks.filter((c) => c.status !== 'pass').map((c) => `${c.id}:${c.status}@${c.stage}`)
}
