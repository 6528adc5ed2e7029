import type {CheckResult, Status} from './types.js'

/** The exit-code table, shared by every command; shown in --help and the README. */
export const ExitCode = {
  OK: 0,
  FINDINGS: 1,
  USAGE: 2,
  UNREACHABLE: 3,
  INTERRUPTED: 130,
} as const

export const EXIT_CODE_HELP = [
  '0    at least one check was evaluated and nothing is at or above --fail-on',
  '1    findings at or above --fail-on (default: fail), or no check was evaluated at all (all skipped/not evaluated)',
  '2    usage or configuration error (bad flag, unreadable kubeconfig)',
  '3    the target could not be evaluated at all (API unreachable, authentication refused)',
  '130  interrupted (SIGINT, SIGTERM or SIGHUP): helm stopped, temporary files and probe namespace removed',
  '127  not a tetractl command',
].join('\n')

export type FailOn = 'fail' | 'warn'

const SEVERITY: Record<Status, number> = {pass: 0, skip: 0, 'not-evaluated': 0, warn: 1, fail: 2}

/**
 * Why a run proved nothing: no check reached a verdict (pass, warn or fail). Undefined when at least one did.
 * The reason names the first skipped / not-evaluated check so the user sees what to change.
 */
export function nothingEvaluated(results: Array<Pick<CheckResult, 'id' | 'status' | 'message'>>): string | undefined {
  if (results.some((r) => r.status === 'pass' || r.status === 'warn' || r.status === 'fail')) return undefined
  const first = results[0]
  return first ? `no check was evaluated (${first.id}: ${first.status === 'skip' ? 'skipped' : 'not evaluated'}, ${first.message})` : 'no check was selected'
}

/** The one place that turns results into an exit code. The output format never matters. */
export function determineExitCode(results: CheckResult[], failOn: FailOn, interrupted?: string): number {
  if (interrupted === 'SIGINT' || interrupted === 'SIGTERM' || interrupted === 'SIGHUP') return ExitCode.INTERRUPTED
  if (results.some((r) => r.unreachable)) return ExitCode.UNREACHABLE
  const threshold = failOn === 'warn' ? 1 : 2
  if (results.some((r) => SEVERITY[r.status] >= threshold)) return ExitCode.FINDINGS
  // A global timeout that left checks unevaluated is a finding: the run proved nothing about them.
  if (interrupted === 'timeout') return ExitCode.FINDINGS
  // A run that reached no verdict (everything skipped or not evaluated) proved nothing; a green exit would let a
  // CI job pass on a selection that checks nothing. It is not exit 3: nothing was found unreachable.
  if (nothingEvaluated(results)) return ExitCode.FINDINGS
  return ExitCode.OK
}
