// The result model every check, the runner and every reporter share.
// Check ids are a public contract: users pass them to --only/--skip and CI greps them.

export type Status = 'pass' | 'warn' | 'fail' | 'skip' | 'not-evaluated'

export type Layer = 'kubernetes' | 'tetragon' | 'elastic' | 'kibana'

export const LAYERS: readonly Layer[] = ['kubernetes', 'tetragon', 'elastic', 'kibana']

/** What a check's run() returns. */
export interface Outcome {
  status: Status
  /** One sentence: what was found. */
  message: string
  /** The exact command (or action) that fixes the finding. */
  hint?: string
  /** A documentation link for the finding. */
  docs?: string
  /** Facts the check based its verdict on; must never hold a credential. */
  evidence?: Record<string, unknown>
  /**
   * The target could not be evaluated at all (API unreachable, authentication refused).
   * Decides exit code 3 instead of 1.
   */
  unreachable?: boolean
  /** The run stopped (SIGINT/SIGTERM or global --timeout) before this check reached a verdict. */
  interrupted?: boolean
}

/** A check as it appears in the report. */
export interface CheckResult extends Outcome {
  id: string
  layer: Layer
  title: string
  durationMs: number
}

export interface Check<Ctx = unknown> {
  /** Public, stable id such as `service.selector`. */
  id: string
  layer: Layer
  title: string
  /**
   * Ids of checks that must pass (or warn) before this one can be evaluated; a function when they
   * depend on the run (e.g. a standalone agent needs no cluster check first).
   */
  requires: string[] | ((ctx: Ctx) => string[])
  /** Overrides the runner's per-check timeout. */
  timeoutMs?: number
  run(ctx: Ctx, signal: AbortSignal): Promise<Outcome>
  /**
   * Reads the runner starts once this check passes or warns, for the checks that follow (e.g. the cluster
   * facts once the API answers): fire-and-forget, their errors reach the checks that await the same reads.
   */
  prefetchOnPass?(ctx: Ctx): void
}

export interface Summary {
  pass: number
  warn: number
  fail: number
  skip: number
  notEvaluated: number
}

/** The document `--json` prints and every reporter renders. */
export interface Report {
  tool: 'tetractl'
  command: string
  version: string
  startedAt: string
  durationMs: number
  target: {context?: string; server?: string; elasticsearch?: string; kibana?: string}
  summary: Summary
  checks: CheckResult[]
  /** Set when evaluation stopped early (interrupt or global timeout). */
  interrupted?: 'SIGINT' | 'SIGTERM' | 'SIGHUP' | 'timeout'
  exitCode: number
}

/** The requirements of a check for this run's context. */
export function requirementsOf<Ctx>(check: Check<Ctx>, ctx: Ctx): string[] {
  return typeof check.requires === 'function' ? check.requires(ctx) : check.requires
}

/** Helpers for checks: build outcomes without repeating field names. */
export const pass = (message: string, evidence?: Record<string, unknown>): Outcome => ({status: 'pass', message, evidence})
export const skip = (message: string, evidence?: Record<string, unknown>): Outcome => ({status: 'skip', message, evidence})
export const warn = (message: string, fix: {hint?: string; docs?: string; evidence?: Record<string, unknown>} = {}): Outcome => ({
  status: 'warn',
  message,
  ...fix,
})
export const fail = (message: string, fix: {hint?: string; docs?: string; evidence?: Record<string, unknown>} = {}): Outcome => ({
  status: 'fail',
  message,
  ...fix,
})
export const notEvaluated = (message: string, evidence?: Record<string, unknown>): Outcome => ({
  status: 'not-evaluated',
  message,
  evidence,
})
