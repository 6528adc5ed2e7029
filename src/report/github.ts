import {safeText} from '../engine/redact.js'
import type {Report} from '../engine/types.js'

// GitHub Actions workflow commands: data must escape %, CR and LF; properties also : and ,.
const escapeData = (s: string) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')
const escapeProperty = (s: string) => escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C')

/** `::error` / `::warning` lines for failing and warning checks. */
export function renderGithubAnnotations(report: Report): string[] {
  const out: string[] = []
  for (const c of report.checks) {
    if (c.status !== 'fail' && c.status !== 'warn') continue
    const level = c.status === 'fail' ? 'error' : 'warning'
    // The runner prints annotations in the job log: no credential, no escape sequence from a server's text.
    const body = safeText([c.message, c.hint && `Fix: ${c.hint}`, c.docs && `Docs: ${c.docs}`].filter(Boolean).join('\n'))
    out.push(`::${level} title=${escapeProperty(`tetractl ${c.id}`)}::${escapeData(body)}`)
  }
  return out
}
