import {determineExitCode, type FailOn} from './exit-codes.js'
import type {RunResult} from './runner.js'
import type {Report, Summary} from './types.js'

export function summarize(results: RunResult['results']): Summary {
  const summary: Summary = {pass: 0, warn: 0, fail: 0, skip: 0, notEvaluated: 0}
  for (const r of results) {
    if (r.status === 'not-evaluated') summary.notEvaluated++
    else summary[r.status]++
  }
  return summary
}

export function buildReport(args: {
  command: string
  version: string
  startedAt: Date
  target: Report['target']
  run: RunResult
  failOn: FailOn
}): Report {
  const {results, interrupted} = args.run
  return {
    tool: 'tetractl',
    command: args.command,
    version: args.version,
    startedAt: args.startedAt.toISOString(),
    durationMs: Math.round(Date.now() - args.startedAt.getTime()),
    target: args.target,
    summary: summarize(results),
    checks: results,
    ...(interrupted ? {interrupted} : {}),
    exitCode: determineExitCode(results, args.failOn, interrupted),
  }
}
