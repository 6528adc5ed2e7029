// Preflight stage: the doctor checks validate depends on, plus validate's own access review, through the same
// runner as doctor, so their results are doctor's check results with the stage `preflight`.
import {checks} from '../../checks/index.js'
import {plannedIds, runChecks} from '../../engine/runner.js'
import {validateAccess} from './access.js'
import type {StageContext} from './context.js'

const PREFLIGHT = ['k8s.connect', 'tetragon.daemonset', 'tetragon.policies', 'es.connect']

export interface Preflight {
  /** Why the later stages cannot run (a failed or unevaluated check), if they cannot. */
  blocked?: string
  /** es.connect passed or warned: the Elasticsearch stage has a cluster to search. */
  esConfigured: boolean
}

export async function preflight(sc: StageContext, probe: {namespace: string; create: boolean}): Promise<Preflight> {
  const registry = [...checks, validateAccess(probe)]
  const only = [...PREFLIGHT.filter((id) => registry.some((c) => c.id === id)), 'validate.rbac']
  const planned = plannedIds(registry, sc.checks, {only}).length
  let done = 0
  const show = () => sc.progress.waiting('preflight', `${done} of ${planned} doctor checks done`)
  show()
  const pre = await runChecks(registry, sc.checks, {
    only,
    concurrency: 8,
    checkTimeoutMs: Math.min(20_000, sc.remaining()),
    globalTimeoutMs: sc.remaining(),
    signal: sc.interrupts,
    onResult: () => {
      done++
      show()
    },
  })
  for (const r of pre.results) sc.steps.push({...r, stage: 'preflight'})
  if (pre.interrupted === 'timeout') sc.timedOut()
  const es = pre.results.find((r) => r.id === 'es.connect')?.status
  const blocking = pre.results.filter((r) => r.status === 'fail' || r.status === 'not-evaluated')
  return {
    blocked: blocking.length > 0 ? `preflight failed: ${blocking.map((b) => b.id).join(', ')}` : undefined,
    esConfigured: es === 'pass' || es === 'warn',
  }
}
