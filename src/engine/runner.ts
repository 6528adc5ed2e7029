import {setMaxListeners} from 'node:events'

import {ForbiddenError, SkipError, UserError, redact} from './errors.js'
import {closest} from './suggest.js'
import {serverText} from './text.js'
import {requirementsOf, type Check, type CheckResult, type Layer, type Outcome} from './types.js'

export interface RunOptions {
  /** Run only these ids or layers (their requirements are still evaluated first). */
  only?: string[]
  /** Skip these ids or layers; dependants become not-evaluated. */
  skip?: string[]
  /** Checks running at once. */
  concurrency?: number
  /** Per-check timeout, unless the check sets its own. */
  checkTimeoutMs?: number
  /** The whole run; checks still running are reported not-evaluated. */
  globalTimeoutMs?: number
  /** Aborted by the command on SIGINT/SIGTERM/SIGHUP (reason: the signal's name). */
  signal?: AbortSignal
  /** Progress, for spinners and the streamed terminal report: the checks this run will report, with their requirements. */
  onPlan?(plan: Array<{id: string; requires: string[]}>): void
  onStart?(check: Check<any>): void
  onResult?(result: CheckResult): void
}

export interface RunResult {
  results: CheckResult[]
  /** Why evaluation stopped early, if it did. */
  interrupted?: 'timeout' | 'SIGINT' | 'SIGTERM' | 'SIGHUP'
}

const matches = (check: Check<any>, sel: string[]) => sel.includes(check.id) || sel.includes(check.layer)

/** Validate --only/--skip against the registry; a typo is a usage error, not a silent no-op. */
export function validateSelectors(checks: Check<any>[], selectors: string[], flag: string): void {
  const known = new Set<string>([...checks.map((c) => c.id), ...checks.map((c) => c.layer)])
  const unknown = selectors.filter((s) => !known.has(s))
  if (unknown.length > 0) {
    const suggestions = unknown.map((u) => closest(u, known)).filter((s): s is string => s !== undefined)
    const tryMessage = suggestions.length > 0 ? `Did you mean ${suggestions.join(', ')}? Known: ${[...known].join(', ')}.` : `Known: ${[...known].join(', ')}.`
    throw new UserError(`Unknown check id or layer for ${flag}: ${unknown.join(', ')}.`, tryMessage)
  }
}

/** Checks in the order of the registry, with the requirements of --only added in. */
function select(checks: Check<any>[], opts: RunOptions, requires: (c: Check<any>) => string[]): {selected: Check<any>[]; skipped: Set<string>} {
  const byId = new Map(checks.map((c) => [c.id, c]))
  let selected = checks
  if (opts.only && opts.only.length > 0) {
    const want = new Set<string>()
    const add = (c: Check<any>) => {
      if (want.has(c.id)) return
      want.add(c.id)
      // A check the user skips needs nothing evaluated for it.
      if (opts.skip && matches(c, opts.skip)) return
      for (const r of requires(c)) {
        const dep = byId.get(r)
        if (dep) add(dep)
      }
    }
    for (const c of checks) if (matches(c, opts.only)) add(c)
    selected = checks.filter((c) => want.has(c.id))
  }
  const skipped = new Set(selected.filter((c) => opts.skip && matches(c, opts.skip)).map((c) => c.id))
  return {selected, skipped}
}

/** The ids a run with these options will evaluate (registry order), e.g. to prefetch only what they read. */
export function plannedIds<Ctx>(checks: Check<Ctx>[], ctx: Ctx, opts: Pick<RunOptions, 'only' | 'skip'>): string[] {
  const {selected, skipped} = select(checks, opts, (c) => requirementsOf(c, ctx))
  return selected.map((c) => c.id).filter((id) => !skipped.has(id))
}

/** The commands a hint may start a line with; anything else is prose, labelled as a manual step. */
export const HINT_COMMANDS = ['kubectl', 'helm', 'curl', 'tetractl', 'echo']

/** A hint is shell to paste or says it is a manual step (issue #14 item 3): errors carry prose "what to do". */
export function labelHint(text: string | undefined): string | undefined {
  if (!text) return text
  const isCommand = text.split('\n').every((l) => !l.trim() || l.trim().startsWith('#') || HINT_COMMANDS.includes(l.trim().split(/\s/)[0]))
  return isCommand || text.startsWith('Manual step: ') ? text : `Manual step: ${text}`
}

/** Turn whatever a check threw into an outcome. Permissions become not-evaluated, naming the verb. */
export function outcomeFromError(err: unknown): Outcome {
  if (err instanceof SkipError) return {status: 'skip', message: err.message}
  if (err instanceof ForbiddenError) {
    return {
      status: 'not-evaluated',
      message: `not allowed to ${err.verb} ${err.resource}${err.namespace ? ` in namespace ${err.namespace}` : ''}`,
      hint: `kubectl auth can-i ${err.verb} ${err.resource}${err.namespace ? ` -n ${err.namespace}` : ''}  # answers no for tetractl's identity: grant it as the k8s.rbac hint shows`,
      evidence: {verb: err.verb, resource: err.resource, namespace: err.namespace},
    }
  }
  if (err instanceof UserError) {
    return {status: 'fail', message: redact(err.message), hint: labelHint(err.tryMessage), unreachable: err.exitCode === 3}
  }
  // Anything else is a bug of tetractl's own (clients turn every server answer into a UserError).
  const message = err instanceof Error ? err.message : String(err)
  return {
    status: 'fail',
    message: `check crashed: ${redact(serverText(message.split('\n')[0]))}`,
    hint: 'this is a bug in tetractl, not a finding about your installation: please report it with the output of `--json --debug` (redact anything private first)',
  }
}

/**
 * Runs checks in dependency order, independent ones concurrently (bounded), each under a timeout.
 * A check whose requirement did not pass or warn is not evaluated, with the reason.
 */
export async function runChecks<Ctx>(checks: Check<Ctx>[], ctx: Ctx, opts: RunOptions = {}): Promise<RunResult> {
  const requires = (c: Check<any>) => requirementsOf(c, ctx)
  const {selected, skipped} = select(checks, opts, requires)
  const concurrency = Math.max(1, opts.concurrency ?? 8)
  const checkTimeoutMs = opts.checkTimeoutMs ?? 20_000
  const done = new Map<string, CheckResult>()
  const running = new Map<string, {check: Check<Ctx>; started: number; abort: AbortController; promise: Promise<void>}>()
  const selectedIds = new Set(selected.map((c) => c.id))
  opts.onPlan?.(selected.map((c) => ({id: c.id, requires: requires(c).filter((r) => selectedIds.has(r))})))
  let interrupted: RunResult['interrupted']

  const stop = new AbortController()
  // Every running check listens for the stop; the count is bounded by the registry, not a leak.
  setMaxListeners(0, stop.signal)
  const onAbort = () => {
    const reason = opts.signal?.reason
    interrupted = reason === 'SIGTERM' || reason === 'SIGHUP' ? reason : 'SIGINT'
    stop.abort()
  }
  if (opts.signal?.aborted) onAbort()
  else opts.signal?.addEventListener('abort', onAbort, {once: true})
  const globalTimer =
    opts.globalTimeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          interrupted ??= 'timeout'
          stop.abort()
        }, opts.globalTimeoutMs)

  const record = (check: Check<Ctx>, outcome: Outcome, durationMs: number) => {
    const result: CheckResult = {id: check.id, layer: check.layer, title: check.title, durationMs: Math.round(durationMs), ...outcome}
    done.set(check.id, result)
    opts.onResult?.(result)
  }

  const blockedBy = (check: Check<Ctx>): CheckResult | 'wait' | undefined => {
    for (const r of requires(check)) {
      if (!selectedIds.has(r)) continue // requirement not part of this run (e.g. --skip'd layer removed it)
      const res = done.get(r)
      if (!res) return 'wait'
      if (res.status !== 'pass' && res.status !== 'warn') return res
    }
    return undefined
  }

  const start = (check: Check<Ctx>) => {
    const abort = new AbortController()
    const started = performance.now()
    const timeoutMs = check.timeoutMs ?? checkTimeoutMs
    opts.onStart?.(check)
    const promise = (async () => {
      let timer: NodeJS.Timeout | undefined
      const onStop = () => abort.abort(stop.signal.reason)
      stop.signal.addEventListener('abort', onStop, {once: true})
      try {
        const timeout = new Promise<Outcome>((resolve) => {
          timer = setTimeout(() => {
            abort.abort(new Error('timeout'))
            resolve({status: 'fail', message: `timed out after ${timeoutMs} ms`, evidence: {timeoutMs}})
          }, timeoutMs)
        })
        const aborted = new Promise<Outcome>((resolve) => {
          const onAbort = () =>
            resolve({status: 'not-evaluated', message: interrupted === 'timeout' ? 'global --timeout reached before this check finished' : `interrupted (${interrupted})`, interrupted: true})
          if (stop.signal.aborted) onAbort()
          else stop.signal.addEventListener('abort', onAbort, {once: true})
        })
        const outcome = await Promise.race([check.run(ctx, abort.signal).catch(outcomeFromError), timeout, aborted])
        if (!done.has(check.id)) {
          record(check, outcome, performance.now() - started)
          if (outcome.status === 'pass' || outcome.status === 'warn') check.prefetchOnPass?.(ctx)
        }
      } finally {
        clearTimeout(timer)
        stop.signal.removeEventListener('abort', onStop)
        running.delete(check.id)
      }
    })()
    running.set(check.id, {check, started, abort, promise})
  }

  const stopped = new Promise<void>((r) => stop.signal.addEventListener('abort', () => r(), {once: true}))
  const pending = [...selected]
  while (pending.length > 0 || running.size > 0) {
    if (stop.signal.aborted) break
    let progressed = false
    for (let i = 0; i < pending.length && running.size < concurrency; ) {
      const check = pending[i]
      if (skipped.has(check.id)) {
        record(check, {status: 'skip', message: 'skipped by --skip'}, 0)
        pending.splice(i, 1)
        progressed = true
        continue
      }
      const blocker = blockedBy(check)
      if (blocker === 'wait') {
        i++
        continue
      }
      pending.splice(i, 1)
      progressed = true
      if (blocker) {
        const why = blocker.status === 'skip' ? 'was skipped' : blocker.status === 'not-evaluated' ? 'was not evaluated' : 'failed'
        record(check, {status: 'not-evaluated', message: `requires ${blocker.id}, which ${why}`, evidence: {requires: blocker.id}}, 0)
        continue
      }
      start(check)
    }
    if (running.size > 0) {
      await Promise.race([...[...running.values()].map((r) => r.promise), stopped])
    } else if (!progressed) {
      // Requirements that can never be met (a cycle or an id missing from the registry).
      for (const check of pending.splice(0)) record(check, {status: 'not-evaluated', message: `unresolvable requirement: ${requires(check).join(', ')}`}, 0)
    }
  }

  // Whatever is still running or pending after an interrupt or the global timeout.
  if (stop.signal.aborted) {
    await Promise.allSettled([...running.values()].map((r) => r.promise))
    for (const check of pending) {
      if (!done.has(check.id)) {
        record(check, {status: 'not-evaluated', message: interrupted === 'timeout' ? 'global --timeout reached before this check started' : `interrupted (${interrupted})`, interrupted: true}, 0)
      }
    }
  }
  clearTimeout(globalTimer)
  opts.signal?.removeEventListener('abort', onAbort)

  // Report in registry order, whatever order they finished in.
  const results = selected.map((c) => done.get(c.id)!).filter(Boolean)
  return {results, interrupted}
}

export function layerOf(results: CheckResult[], layer: Layer): CheckResult[] {
  return results.filter((r) => r.layer === layer)
}
