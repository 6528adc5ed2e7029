// Human and JUnit renderings of a validate report, grouped by stage (the shared reporters group by layer).
import {Chalk} from 'chalk'

import type {Layer, Report, Status} from '../../engine/types.js'
import {renderJunit} from '../../report/junit.js'
import {STAGES, STAGE_TITLE, type StepResult, type ValidateReport} from './types.js'

export function renderValidateHuman(report: ValidateReport, opts: {color: boolean; verbose?: boolean}): string {
  const c = new Chalk({level: opts.color ? 1 : 0})
  const symbol: Record<Status, string> = {pass: c.green('✔'), warn: c.yellow('‼'), fail: c.red('×'), skip: c.dim('–'), 'not-evaluated': c.dim('–')}
  const width = Math.max(...report.checks.map((r) => r.id.length), 10)
  const lines: string[] = []
  const r = report.run
  if (r.pod) lines.push(c.dim(`probe ${r.namespace}/${r.pod} on ${r.node ?? '?'}${r.created ? ` (image ${r.image})` : ''}, url ${r.url}${r.profile ? `, profile ${r.profile}, dataset ${r.dataset}` : ''}`), '')
  for (const stage of STAGES) {
    const steps = report.checks.filter((s) => s.stage === stage)
    if (steps.length === 0) continue
    lines.push(c.bold(STAGE_TITLE[stage]))
    for (const s of steps) lines.push(...renderStep(s, width, symbol, c, opts.verbose))
    lines.push('')
  }
  const s = report.summary
  const parts = [`${s.pass} passed`, `${s.warn} warnings`, `${s.fail} failed`, `${s.skip} skipped`, `${s.notEvaluated} not evaluated`]
  if (report.interrupted) parts.push(report.interrupted === 'timeout' ? 'stopped at --timeout' : `interrupted by ${report.interrupted}`)
  lines.push(`${c.bold('Summary:')} ${parts.join(', ')} (${(report.durationMs / 1000).toFixed(1)} s, exit ${report.exitCode})`)
  return lines.join('\n')
}

function renderStep(r: StepResult, width: number, symbol: Record<Status, string>, c: InstanceType<typeof Chalk>, verbose?: boolean): string[] {
  const msg = r.status === 'not-evaluated' ? c.dim(`not evaluated: ${r.message}`) : r.status === 'skip' ? c.dim(`skipped: ${r.message}`) : r.message
  const out = [`  ${symbol[r.status]} ${r.id.padEnd(width)}  ${msg}`]
  const indent = ' '.repeat(width + 6)
  if (r.hint && r.status !== 'pass') out.push(...r.hint.split('\n').map((h, i) => `${indent}${i === 0 ? c.cyan('fix: ') : '     '}${h}`))
  if (r.docs && (r.status === 'fail' || r.status === 'warn')) out.push(`${indent}${c.dim(`docs: ${r.docs}`)}`)
  if (verbose && r.evidence) out.push(`${indent}${c.dim(JSON.stringify(r.evidence))}`)
  return out
}

/** One testsuite per stage (the shared renderer makes one per group key). */
export function renderValidateJunit(report: ValidateReport): string {
  const byStage = {...report, checks: report.checks.map((s) => ({...s, layer: s.stage as unknown as Layer}))} as unknown as Report
  return renderJunit(byStage)
}
