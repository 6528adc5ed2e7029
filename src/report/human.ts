import {Chalk} from 'chalk'

import {LAYERS, type CheckResult, type Report, type Status} from '../engine/types.js'

const LAYER_TITLE: Record<string, string> = {kubernetes: 'Kubernetes', tetragon: 'Tetragon', elastic: 'Elasticsearch', kibana: 'Kibana'}

/** Colour only on a TTY and never with NO_COLOR (no-color.org). */
export function colorLevel(stream: NodeJS.WriteStream): 0 | 1 {
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return 0
  return stream.isTTY ? 1 : 0
}

export function renderHuman(report: Report, opts: {color: boolean; verbose?: boolean}): string {
  const c = new Chalk({level: opts.color ? 1 : 0})
  const symbol: Record<Status, string> = {
    pass: c.green('✔'),
    warn: c.yellow('‼'),
    fail: c.red('×'),
    skip: c.dim('–'),
    'not-evaluated': c.dim('–'),
  }
  const lines: string[] = []
  const width = Math.max(...report.checks.map((r) => r.id.length), 10)
  for (const layer of LAYERS) {
    const checks = report.checks.filter((r) => r.layer === layer)
    if (checks.length === 0) continue
    lines.push(c.bold(LAYER_TITLE[layer] ?? layer))
    for (const r of checks) lines.push(...renderCheck(r, width, symbol, c, opts.verbose))
    lines.push('')
  }
  const s = report.summary
  const parts = [`${s.pass} passed`, `${s.warn} warnings`, `${s.fail} failed`, `${s.skip} skipped`, `${s.notEvaluated} not evaluated`]
  if (report.interrupted) parts.push(report.interrupted === 'timeout' ? 'stopped at --timeout' : `interrupted by ${report.interrupted}`)
  lines.push(`${c.bold('Summary:')} ${parts.join(', ')} (${(report.durationMs / 1000).toFixed(1)} s, exit ${report.exitCode})`)
  return lines.join('\n')
}

function renderCheck(r: CheckResult, width: number, symbol: Record<Status, string>, c: InstanceType<typeof Chalk>, verbose?: boolean): string[] {
  const msg = r.status === 'not-evaluated' ? c.dim(`not evaluated: ${r.message}`) : r.status === 'skip' ? c.dim(`skipped: ${r.message}`) : r.message
  const out = [`  ${symbol[r.status]} ${r.id.padEnd(width)}  ${msg}`]
  const indent = ' '.repeat(width + 6)
  if (r.status === 'fail' || r.status === 'warn' || (r.status === 'not-evaluated' && r.hint)) {
    if (r.hint) out.push(...r.hint.split('\n').map((h, i) => `${indent}${i === 0 ? c.cyan('fix: ') : '     '}${h}`))
    if (r.docs) out.push(`${indent}${c.dim(`docs: ${r.docs}`)}`)
  }
  if (verbose && r.evidence) out.push(`${indent}${c.dim(JSON.stringify(r.evidence))}`)
  return out
}
