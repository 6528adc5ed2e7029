import {Chalk} from 'chalk'

import {safeText} from '../engine/redact.js'
import {HINT_COMMANDS} from '../engine/runner.js'
import {LAYERS, type Report, type Status} from '../engine/types.js'
import {columns as wrapColumns, wrapProse} from './wrap.js'

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
/** `width`: fit the text to a terminal of that many columns (prose wraps, commands stay whole); unset: no wrapping. */
export function renderSections(sections: Array<{title: string; results: HumanResult[]}>, report: HumanSummary, opts: {color: boolean; verbose?: boolean; preface?: string[]; width?: number}): string {
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
    for (const r of section.results) lines.push(...(opts.width ? fittedResult(r, width, opts.width, c, opts.verbose) : renderResult(r, width, symbol, c, opts.verbose)))
    lines.push('')
  }
  // On a terminal, counts of zero are left out (as doctor's streamed verdict does) and the line wraps if it must.
  const summary = opts.width ? wrapProse(summaryLine(report, {omitZero: true}), opts.width, '', '  ') : [summaryLine(report)]
  lines.push(...summary.map((l, i) => (i === 0 ? l.replace(/^Summary:/, c.bold('Summary:')) : l)))
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

const PLAIN_SYMBOL: Record<Status, string> = {pass: '✔', warn: '‼', fail: '×', skip: '–', 'not-evaluated': '–'}

/**
 * One result fitted to `columns` (issue #14 item 2): the message wraps under itself, a fix's commands are printed
 * whole (indented when they fit, else from column 0 so they paste), its comments and prose wrap, a docs link is
 * never split. Colour is added after fitting, so escape sequences never count as columns.
 */
function fittedResult(r: HumanResult, idWidth: number, columns: number, c: InstanceType<typeof Chalk>, verbose?: boolean): string[] {
  const indent = ' '.repeat(idWidth + 6)
  const quiet = r.status === 'not-evaluated' || r.status === 'skip'
  const label = r.status === 'not-evaluated' ? 'not evaluated: ' : r.status === 'skip' ? 'skipped: ' : ''
  const head = `  ${PLAIN_SYMBOL[r.status]} ${r.id.padEnd(idWidth)}  `
  const colour: Record<Status, (s: string) => string> = {pass: c.green, warn: c.yellow, fail: c.red, skip: c.dim, 'not-evaluated': c.dim}
  const out = wrapProse(`${label}${safeText(r.message)}`, columns, head, indent).map((l, i) => {
    const text = i === 0 ? l.slice(head.length) : l.slice(indent.length)
    const lead = i === 0 ? `  ${colour[r.status](PLAIN_SYMBOL[r.status])} ${r.id.padEnd(idWidth)}  ` : indent
    return `${lead}${quiet ? c.dim(text) : text}`
  })
  if (r.hint && r.status !== 'pass') {
    let continued = false
    safeText(r.hint).split('\n').forEach((line, i) => {
      const lead = `${indent}${i === 0 ? 'fix: ' : '     '}`
      const t = line.trim()
      const command = continued || HINT_COMMANDS.includes(t.split(/\s/)[0] ?? '')
      continued = /\\\s*$/.test(line)
      const paint = (l: string) => (i === 0 ? l.replace('fix: ', c.cyan('fix: ')) : l)
      if (command) out.push(wrapColumns(lead) + wrapColumns(t) <= columns ? paint(`${lead}${t}`) : t)
      else out.push(...wrapProse(t, columns, lead, `${indent}     ${t.startsWith('#') ? '# ' : ''}`).map((l, j) => (j === 0 ? paint(l) : l)))
    })
  }
  if (r.docs && (r.status === 'fail' || r.status === 'warn')) {
    const docs = safeText(r.docs)
    out.push(...(wrapColumns(indent) + 6 + wrapColumns(docs) <= columns ? [`${indent}${c.dim(`docs: ${docs}`)}`] : [`${indent}${c.dim('docs:')}`, c.dim(docs)]))
  }
  if (verbose && r.evidence) {
    for (const line of safeText(JSON.stringify(r.evidence, null, 2)).split('\n')) {
      const lead = `${indent}${/^\s*/.exec(line)![0]}`
      out.push(...wrapProse(line.trim(), columns, lead, `${lead}  `).map((l) => c.dim(l)))
    }
  }
  return out
}
