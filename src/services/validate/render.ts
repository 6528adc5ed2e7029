// Human rendering of a validate report, one section per stage (the shared renderer draws each section), so the live
// view can print a stage's section when it finishes and the rest at the end: the text is the same either way.
import {Chalk} from 'chalk'

import {safeText} from '../../engine/redact.js'
import {renderSections, type HumanSummary} from '../../report/human.js'
import {wrapProse} from '../../report/wrap.js'
import {STAGES, STAGE_TITLE, type Stage, type StepResult, type ValidateReport, type ValidateRun} from './types.js'

export interface RenderOptions {
  color: boolean
  verbose?: boolean
  /** The terminal's columns when output is live on one: text is fitted to it. */
  width?: number
}

const NO_SUMMARY: HumanSummary = {summary: {pass: 0, warn: 0, fail: 0, skip: 0, notEvaluated: 0}, durationMs: 0, exitCode: 0}

/** The lines of one stage's section (title, then a line per step with its fix); none when the stage has no step. */
export function renderStage(stage: Stage, steps: StepResult[], opts: RenderOptions): string[] {
  const results = steps.filter((s) => s.stage === stage)
  if (results.length === 0) return []
  // The shared renderer ends with its summary line: what comes before it is the section.
  const full = renderSections([{title: STAGE_TITLE[stage], results}], NO_SUMMARY, opts)
  const summary = renderSections([], NO_SUMMARY, opts)
  return full.slice(0, full.length - summary.length).replace(/\n+$/, '').split('\n')
}

/** Where the probe ran and what was searched: one line before the summary. */
export function runLine(r: ValidateRun): string | undefined {
  return r.pod ? `probe ${r.namespace}/${r.pod} on ${r.node ?? '?'}${r.created ? ` (image ${r.image})` : ''}, url ${r.url}${r.profile ? `, profile ${r.profile}, dataset ${r.dataset}` : ''}` : undefined
}

/** The whole report, minus the sections a live view printed already. */
export function renderValidateHuman(report: ValidateReport, opts: RenderOptions, printed: ReadonlySet<Stage> = new Set()): string {
  const lines: string[] = []
  for (const stage of STAGES) {
    if (printed.has(stage)) continue
    const section = renderStage(stage, report.checks, opts)
    if (section.length > 0) lines.push(...section, '')
  }
  const run = runLine(report.run)
  if (run) {
    const dim = new Chalk({level: opts.color ? 1 : 0}).dim
    lines.push(...(opts.width ? wrapProse(safeText(run), opts.width, '', '  ') : [safeText(run)]).map((l) => dim(l)))
  }
  // With no section, the shared renderer draws only the summary line.
  lines.push(renderSections([], report, opts))
  return lines.join('\n')
}
