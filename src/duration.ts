import {UserError} from './engine/errors.js'

/** Parse `500ms`, `30s`, `2m`, `1h` or a plain number of seconds; must be > 0. */
export function parseDuration(value: string, flag: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value)
  if (!m) throw new UserError(`--${flag} must be a duration like 30s, 2m or 500ms, not "${value}".`, `See --help.`)
  const n = Number(m[1])
  const ms = n * ({ms: 1, s: 1000, m: 60_000, h: 3_600_000}[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'])
  if (!(ms > 0)) throw new UserError(`--${flag} must be greater than 0 (got "${value}").`, 'Use e.g. 30s.')
  return ms
}
