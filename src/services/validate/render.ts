// Human and JUnit renderings of a validate report, grouped by stage (the shared reporters group by layer).
import type {Layer, Report} from '../../engine/types.js'
import {renderSections} from '../../report/human.js'
import {renderJunit} from '../../report/junit.js'
import {STAGES, STAGE_TITLE, type ValidateReport} from './types.js'

export function renderValidateHuman(report: ValidateReport, opts: {color: boolean; verbose?: boolean}): string {
  const r = report.run
  const preface = r.pod ? [`probe ${r.namespace}/${r.pod} on ${r.node ?? '?'}${r.created ? ` (image ${r.image})` : ''}, url ${r.url}${r.profile ? `, profile ${r.profile}, dataset ${r.dataset}` : ''}`] : []
  const sections = STAGES.map((stage) => ({title: STAGE_TITLE[stage], results: report.checks.filter((s) => s.stage === stage)}))
  return renderSections(sections, report, {...opts, preface})
}

/** One testsuite per stage (the shared renderer makes one per group key). */
export function renderValidateJunit(report: ValidateReport): string {
  const byStage = {...report, checks: report.checks.map((s) => ({...s, layer: s.stage as unknown as Layer}))} as unknown as Report
  return renderJunit(byStage)
}
