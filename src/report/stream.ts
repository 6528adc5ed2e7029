// doctor on a terminal (issue #14 items 1–2), after `linkerd check`: one short line per check as it finishes, under
// its category's heading; a failure's message, fix and docs link under it; the checks a failure blocked as one line
// under that failure; one verdict line. Pure: results in, lines out (the caller prints them and runs the spinner).
import {Chalk} from 'chalk'

import {CATEGORIES, NEEDED_FOR, categoryOf} from '../checks/categories.js'
import {safeText} from '../engine/redact.js'
import {HINT_COMMANDS} from '../engine/runner.js'
import type {CheckResult, Status} from '../engine/types.js'
import {summaryLine, type HumanSummary} from './human.js'
import {columns, wrapProse} from './wrap.js'

/** A check as the run planned it: the renderer needs the requirement graph to know when a failure's consequences are all in. */
export interface PlannedCheck {
  id: string
  requires: string[]
}

export interface StreamOptions {
  /** Terminal columns; prose never exceeds them. */
  width: number
  color: boolean
  verbose?: boolean
}

/** Checks a test registry has that categories.ts does not know go last, under this heading. */
const OTHER = 'Other checks'
const INDENT = '    '
const CMD_INDENT = '      '

export class StreamRenderer {
  private readonly results = new Map<string, CheckResult>()
  private readonly arrival: string[] = []
  private readonly emitted = new Set<string>()
  private readonly headed = new Set<string>()
  private readonly categories: string[]
  private readonly members = new Map<string, string[]>()
  /** id → every planned check that requires it, directly or through others. */
  private readonly dependents = new Map<string, Set<string>>()
  private current = 0
  private readonly c: InstanceType<typeof Chalk>

  constructor(
    plan: PlannedCheck[],
    private readonly opts: StreamOptions,
  ) {
    this.c = new Chalk({level: opts.color ? 1 : 0})
    for (const p of plan) {
      const cat = this.categoryOf(p.id)
      this.members.set(cat, [...(this.members.get(cat) ?? []), p.id])
    }
    this.categories = [...CATEGORIES, OTHER].filter((cat) => this.members.has(cat))
    const direct = new Map<string, string[]>()
    for (const p of plan) for (const r of p.requires) direct.set(r, [...(direct.get(r) ?? []), p.id])
    for (const p of plan) {
      const seen = new Set<string>()
      const walk = (id: string) => {
        for (const d of direct.get(id) ?? []) {
          if (seen.has(d)) continue
          seen.add(d)
          walk(d)
        }
      }
      walk(p.id)
      this.dependents.set(p.id, seen)
    }
  }

  /** A check finished: the lines that can be shown now (none while an earlier category is still running). */
  add(result: CheckResult): string[] {
    if (!this.results.has(result.id)) this.arrival.push(result.id)
    this.results.set(result.id, result)
    return this.flush(false)
  }

  /** The run is over: whatever is still held back, in category order, then the verdict line. */
  finish(report: HumanSummary): string[] {
    const out = this.flush(true)
    if (out.length > 0 || this.headed.size > 0) out.push('')
    const line = summaryLine(report, {omitZero: true})
    const colour = report.exitCode === 0 ? this.c.green : report.summary.fail > 0 || report.exitCode !== 1 ? this.c.red : this.c.yellow
    out.push(...wrapProse(line, this.opts.width, '', '  ').map((l, i) => (i === 0 ? l.replace(/^Summary:/, this.c.bold('Summary:')) : l)).map((l) => colour(l)))
    return out
  }

  private categoryOf(id: string): string {
    return categoryOf(id) ?? OTHER
  }

  /** The check whose failure (or skip) kept this one from being evaluated, through chains of such checks. */
  private rootOf(r: CheckResult): CheckResult {
    let cur = r
    const seen = new Set<string>()
    while (cur.status === 'not-evaluated' && typeof cur.evidence?.requires === 'string' && !seen.has(cur.id)) {
      seen.add(cur.id)
      const next = this.results.get(cur.evidence.requires)
      if (!next) break
      cur = next
    }
    return cur
  }

  private collapsed(r: CheckResult): boolean {
    return this.rootOf(r) !== r
  }

  private flush(force: boolean): string[] {
    const out: string[] = []
    while (this.current < this.categories.length) {
      const cat = this.categories[this.current]
      for (const id of this.arrival.filter((a) => this.categoryOf(a) === cat && !this.emitted.has(a))) {
        const r = this.results.get(id)!
        if (this.collapsed(r)) {
          this.emitted.add(id)
          continue
        }
        // A check that blocks others is shown with the count of what it blocked: wait until they are all in.
        const blocks = r.status !== 'pass' && r.status !== 'warn'
        if (!force && blocks && ![...(this.dependents.get(id) ?? [])].every((d) => this.results.has(d))) return out
        if (!this.headed.has(cat)) {
          if (this.headed.size > 0) out.push('')
          out.push(this.c.bold(cat))
          this.headed.add(cat)
        }
        out.push(...this.block(r))
        this.emitted.add(id)
      }
      if (!force && !(this.members.get(cat) ?? []).every((m) => this.emitted.has(m))) return out
      this.current++
    }
    return out
  }

  private block(r: CheckResult): string[] {
    const {c, opts} = this
    const w = opts.width
    const symbol: Record<Status, string> = {pass: c.green('✔'), warn: c.yellow('‼'), fail: c.red('×'), skip: c.dim('–'), 'not-evaluated': c.dim('–')}
    const title = safeText(r.title || r.id).replace(/\s+/g, ' ')
    const head = r.status === 'pass' ? title : `${title} (${r.id})`
    const out = wrapProse(head, w, INDENT, INDENT).map((l, i) => (i === 0 ? `  ${symbol[r.status]} ${l.slice(INDENT.length)}` : l))
    if (r.status !== 'pass') {
      const last = out.length - 1
      out[last] = out[last].replace(` (${r.id})`, c.dim(` (${r.id})`))
    }
    const quiet = r.status === 'skip' || r.status === 'not-evaluated'
    if (r.status !== 'pass' || opts.verbose) {
      const label = r.status === 'skip' ? 'skipped: ' : r.status === 'not-evaluated' ? 'not evaluated: ' : ''
      const lines = wrapProse(`${label}${safeText(r.message)}`, w, INDENT, INDENT)
      out.push(...lines.map((l) => (quiet || r.status === 'pass' ? c.dim(l) : l)))
    }
    if (r.hint && r.status !== 'pass') out.push(...this.fix(safeText(r.hint)))
    if (r.docs && (r.status === 'fail' || r.status === 'warn')) out.push(...whole(`${INDENT}docs: `, safeText(r.docs), w).map((l) => c.dim(l)))
    const blocked = this.blockedBy(r)
    if (blocked.length > 0) {
      const n = blocked.length
      const needs = NEEDED_FOR[r.id] ?? `${r.id} to pass`
      const text = `– ${n} ${n === 1 ? 'check' : 'checks'} not evaluated: ${n === 1 ? 'it needs' : 'they need'} ${needs}${opts.verbose ? ` (${blocked.join(', ')})` : ''}`
      out.push(...wrapProse(text, w, INDENT, `${INDENT}  `).map((l) => c.dim(l)))
    }
    if (opts.verbose && r.evidence) out.push(...evidenceLines(safeText(JSON.stringify(r.evidence, null, 2)), w).map((l) => c.dim(l)))
    return out
  }

  /** The checks not evaluated because of this one (directly or through others), in arrival order. */
  private blockedBy(r: CheckResult): string[] {
    return this.arrival.filter((id) => id !== r.id && this.rootOf(this.results.get(id)!) === r)
  }

  /** A fix: prose wraps; every command line is printed whole, indented when it fits, else from column 0 so it pastes. */
  private fix(hint: string): string[] {
    const {c} = this
    const w = this.opts.width
    const lines = hint.split('\n')
    const out: string[] = []
    const first = lines[0] ?? ''
    let continued = false
    const kind = (line: string): 'command' | 'comment' | 'prose' => {
      const t = line.trim()
      if (continued) return 'command'
      if (t.startsWith('#')) return 'comment'
      return HINT_COMMANDS.includes(t.split(/\s/)[0]) ? 'command' : 'prose'
    }
    if (kind(first) === 'prose') {
      out.push(...wrapProse(first.trim(), w, `${INDENT}fix: `, `${INDENT}     `).map((l, i) => (i === 0 ? l.replace('fix:', c.cyan('fix:')) : l)))
      lines.shift()
    } else out.push(`${INDENT}${c.cyan('fix:')}`)
    for (const line of lines) {
      const k = kind(line)
      continued = /\\\s*$/.test(line)
      if (k === 'command') out.push(columns(CMD_INDENT) + columns(line.trim()) <= w ? `${CMD_INDENT}${line.trim()}` : line.trim())
      else if (k === 'comment') out.push(...wrapProse(line.trim().replace(/^#\s*/, ''), w, `${CMD_INDENT}# `, `${CMD_INDENT}# `).map((l) => c.dim(l)))
      else out.push(...wrapProse(line.trim(), w, CMD_INDENT, CMD_INDENT))
    }
    return out
  }
}

/** `label value` on one line when it fits; otherwise the label, then the value whole from column 0 (a link stays clickable). */
function whole(label: string, value: string, width: number): string[] {
  if (columns(label) + columns(value) <= width) return [`${label}${value}`]
  return [label.trimEnd(), value]
}

/** Pretty-printed JSON under a result: each line keeps its indent; a long one continues two columns further in. */
function evidenceLines(json: string, width: number): string[] {
  return json.split('\n').flatMap((line) => {
    const indent = `${CMD_INDENT}${/^\s*/.exec(line)![0]}`
    const text = line.trim()
    if (columns(indent) + columns(text) <= width) return [`${indent}${text}`]
    return wrapProse(text, width, indent, `${indent}  `)
  })
}

/** The whole stream for a finished run at once (tests; the command feeds results one by one). */
export function renderStream(plan: PlannedCheck[], results: CheckResult[], report: HumanSummary, opts: StreamOptions): string[] {
  const r = new StreamRenderer(plan, opts)
  return [...results.flatMap((x) => r.add(x)), ...r.finish(report)]
}
