// The end of every checking command (doctor, validate): the report in each requested format, the one-line errors a
// script reads on stderr, and the exit code. One sequence, so both commands write the same files the same way.
import {ExitCode, nothingEvaluated} from '../engine/exit-codes.js'
import {safeText} from '../engine/redact.js'
import type {Report} from '../engine/types.js'
import {renderGithubAnnotations} from './github.js'
import {writeFileAtomic} from '../clients/files.js'
import {renderJunit} from './junit.js'

export interface FinishOptions<R extends Report> {
  /** --json: stdout carries only the JSON document (oclif prints it from the returned report). */
  json: boolean
  /** --junit FILE. */
  junit?: string
  /** The JUnit testsuite of a result (doctor: its layer, validate: its stage). */
  junitGroup?: (c: R['checks'][number]) => string
  /** Human output (stdout, redacted by the command). */
  log(text: string): void
  /** The human rendering still to print (not called with --json); '' when a live view printed it all. */
  human(report: R): string
  /** Said after "Nothing was proven (exit 1)" when no check reached a verdict: what the user can change. */
  nothingProvenAdvice?: string
  /** Prints one closing error line (default: as is on stderr; a terminal view may fit it to the width). */
  errorLine?(text: string): void
  /** The unreachable error repeats the first line of its fix (default); a view that printed the fix whole says no. */
  fixInError?: boolean
}

/** JUnit, GitHub annotations, human output, the one-line errors on stderr, then the exit code; returns the report. */
export async function finish<R extends Report>(report: R, o: FinishOptions<R>): Promise<R> {
  const {stderr, stdout} = process
  const errorLine = o.errorLine ?? ((text: string) => stderr.write(`${text}\n`))
  if (o.junit) await writeFileAtomic(o.junit, renderJunit(report, o.junitGroup))
  if (process.env.GITHUB_ACTIONS === 'true') {
    // The runner reads workflow commands from both streams; keep stdout pure JSON with --json.
    const out = renderGithubAnnotations(report).join('\n')
    if (out) (o.json ? stderr : stdout).write(`${out}\n`)
  }
  if (!o.json) {
    const text = o.human(report)
    if (text) o.log(text)
  }
  if (report.exitCode === ExitCode.UNREACHABLE) {
    const first = report.checks.find((c) => c.unreachable)
    const fix = first?.hint && o.fixInError !== false ? ` ${first.hint.split('\n')[0]}` : ''
    errorLine(`Error: ${safeText(`${first?.message}${fix}`).replace(/\n/g, ' ')}`)
  }
  const noVerdict = report.interrupted ? undefined : nothingEvaluated(report.checks)
  if (noVerdict) errorLine(`Error: ${noVerdict}. Nothing was proven (exit 1)${o.nothingProvenAdvice ? `: ${o.nothingProvenAdvice}` : ''}.`)
  process.exitCode = report.exitCode
  return report
}
