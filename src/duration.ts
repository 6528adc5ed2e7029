import {UserError} from './engine/errors.js'

/**
 * The longest a Node.js timer waits: setTimeout stores the delay as a signed 32-bit integer and turns anything
 * larger into 1 ms (with a TimeoutOverflowWarning), so a longer duration would fire at once.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1

const UNIT_MS = {ms: 1, s: 1000, m: 60_000, h: 3_600_000} as const

/**
 * Parse `500ms`, `30s`, `2m`, `1h` or a plain number of seconds into milliseconds, at least 1 ms and at most
 * MAX_TIMER_MS. `setting` names where the value came from (`--timeout`, or `TETRACTL_X (--x)`).
 */
export function durationMs(value: string, setting: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value)
  if (!m) throw new UserError(`${setting} must be a duration like 30s, 2m or 500ms, not "${value}".`, 'See --help.')
  const ms = Number(m[1]) * UNIT_MS[(m[2] ?? 's') as keyof typeof UNIT_MS]
  if (!(ms > 0)) throw new UserError(`${setting} must be greater than 0 (got "${value}").`, 'Use e.g. 30s.')
  if (ms < 1) throw new UserError(`${setting} must be at least 1ms (got "${value}").`, 'Use e.g. 500ms.')
  if (ms > MAX_TIMER_MS) {
    throw new UserError(`${setting} must be at most ${Math.floor(MAX_TIMER_MS / UNIT_MS.h)}h (${MAX_TIMER_MS} ms, the longest a Node.js timer can wait), not "${value}".`, 'Use a shorter duration.')
  }
  return Math.round(ms)
}
