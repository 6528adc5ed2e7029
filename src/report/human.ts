import {Chalk} from 'chalk'

import {safeText} from '../engine/redact.js'
import {LAYERS, type Report, type Status} from '../engine/types.js'

const LAYER_TITLE: Record<string, string> = {kubernetes: 'Kubernetes', tetragon: 'Tetragon', elastic: 'Elasticsearch', kibana: 'Kibana'}

/** Colour only on a TTY and never with NO_COLOR (no-color.org). */
export function colorLevel(stream: NodeJS.WriteStream): 0 | 1 {
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return 0
  return stream.isTTY ? 1 : 0
}

/** What the human renderer needs of a result: doctor's checks and validate's steps both have it. */
export interface HumanResult {
  id: string
  status: Status
  message: string
  hint?: string
  docs?: string
  evidence?: Record<string, unknown>
}

export interface HumanSummary {
  summary: Report['summary']
  interrupted?: string
  durationMs: number
  exitCode: number
}

/** Titled sections of results (✔ ‼ × –, the fix under each finding), then the summary line. */
export function renderSections(sections: Array<{title: string; results: HumanResult[]}>, report: HumanSummary, opts: {color: boolean; verbose?: boolean; preface?: string[]}): string {
  const c = new Chalk({level: opts.color ? 1 : 0})
  const symbol: Record<Status, string> = {
    pass: c.green('✔'),
    warn: c.yellow('‼'),
    fail: c.red('×'),
    skip: c.dim('–'),
    'not-evaluated': c.dim('–'),
  }
  const all = sections.flatMap((s) => s.results)
  const width = Math.max(...all.map((r) => r.id.length), 10)
  const lines: string[] = (opts.preface ?? []).map((l) => c.dim(safeText(l)))
  if (lines.length > 0) lines.push('')
  for (const section of sections) {
    if (section.results.length === 0) continue
    lines.push(c.bold(section.title))
    for (const r of section.results) lines.push(...renderResult(r, width, symbol, c, opts.verbose))
    lines.push('')
  }
  lines.push(summaryLine(report).replace(/^Summary:/, c.bold('Summary:')))
  return lines.join('\n')
}

/** "Summary: 25 passed, 1 warning, 2 failed, … (5.9 s, exit 1)"; with omitZero, counts of 0 (but passed) are left out. */
export function summaryLine(report: HumanSummary, opts: {omitZero?: boolean} = {}): string {
  const s = report.summary
  const count = (n: number, one: string, many = one) => `${n} ${n === 1 ? one : many}`
  const parts = (
    [
      [s.pass, count(s.pass, 'passed')],
      [s.warn, count(s.warn, 'warning', 'warnings')],
      [s.fail, count(s.fail, 'failed')],
      [s.skip, count(s.skip, 'skipped')],
      [s.notEvaluated, count(s.notEvaluated, 'not evaluated')],
    ] as Array<[number, string]>
  )
    .filter(([n], i) => !opts.omitZero || i === 0 || n !== 0)
    .map(([, text]) => text)
  if (report.interrupted) parts.push(report.interrupted === 'timeout' ? 'stopped at --timeout' : `interrupted by ${report.interrupted}`)
  return `Summary: ${parts.join(', ')} (${(report.durationMs / 1000).toFixed(1)} s, exit ${report.exitCode})`
}

export function renderHuman(report: Report, opts: {color: boolean; verbose?: boolean}): string {
  const sections = LAYERS.map((layer) => ({title: LAYER_TITLE[layer] ?? layer, results: report.checks.filter((r) => r.layer === layer)}))
  return renderSections(sections, report, opts)
}

function renderResult(r: HumanResult, width: number, symbol: Record<Status, string>, c: InstanceType<typeof Chalk>, verbose?: boolean): string[] {
  // Messages quote servers (error reasons, documents, pod output): no escape sequence or control character reaches
  // the terminal, no credential is shown, and a message's further lines stay indented under it (no forged result line).
  const indent = ' '.repeat(width + 6)
  const text = safeText(r.message).split('\n').join(`\n${indent}`)
  const msg = r.status === 'not-evaluated' ? c.dim(`not evaluated: ${text}`) : r.status === 'skip' ? c.dim(`skipped: ${text}`) : text
  const out = [`  ${symbol[r.status]} ${r.id.padEnd(width)}  ${msg}`]
  // A fix under every result that is not a pass and has one (a skipped step's hint says how to enable it).
  if (r.hint && r.status !== 'pass') out.push(...safeText(r.hint).split('\n').map((h, i) => `${indent}${i === 0 ? c.cyan('fix: ') : '     '}${h}`))
  if (r.docs && (r.status === 'fail' || r.status === 'warn')) out.push(`${indent}${c.dim(`docs: ${safeText(r.docs)}`)}`)
  // Evidence pretty-printed, each line under the result (issue #14 item 2), never one raw line.
  if (verbose && r.evidence) out.push(...safeText(JSON.stringify(r.evidence, null, 2)).split('\n').map((l) => `${indent}${c.dim(l)}`))
  return out
}
