import {mkdir, rename, writeFile} from 'node:fs/promises'
import {dirname, resolve} from 'node:path'

import {safeText} from '../engine/redact.js'
import type {Report} from '../engine/types.js'

const escapeXml = (s: string) =>
  // Server text without escape sequences or credentials (CI keeps JUnit files as artefacts).
  safeText(s)
    // XML 1.0 forbids most control characters, even escaped.
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')

/** One testsuite per layer, one testcase per check (the shape CI systems' JUnit readers expect). */
export function renderJunit(report: Report): string {
  const layers = [...new Set(report.checks.map((c) => c.layer))]
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>']
  const s = report.summary
  lines.push(
    `<testsuites name="tetractl ${escapeXml(report.command)}" tests="${report.checks.length}" failures="${s.fail}" skipped="${s.skip + s.notEvaluated}" time="${(report.durationMs / 1000).toFixed(3)}" timestamp="${report.startedAt}">`,
  )
  for (const layer of layers) {
    const checks = report.checks.filter((c) => c.layer === layer)
    const failures = checks.filter((c) => c.status === 'fail').length
    const skipped = checks.filter((c) => c.status === 'skip' || c.status === 'not-evaluated').length
    const time = checks.reduce((t, c) => t + c.durationMs, 0) / 1000
    lines.push(`  <testsuite name="${layer}" tests="${checks.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${time.toFixed(3)}">`)
    for (const c of checks) {
      const open = `    <testcase classname="tetractl.${layer}" name="${escapeXml(c.id)}" time="${(c.durationMs / 1000).toFixed(3)}"`
      const detail = [c.message, c.hint && `hint: ${c.hint}`, c.docs && `docs: ${c.docs}`].filter(Boolean).join('\n')
      if (c.status === 'pass') {
        lines.push(`${open}/>`)
      } else if (c.status === 'fail') {
        lines.push(`${open}>`, `      <failure message="${escapeXml(c.message)}" type="fail">${escapeXml(detail)}</failure>`, '    </testcase>')
      } else if (c.status === 'warn') {
        lines.push(`${open}>`, `      <system-out>${escapeXml(`WARNING: ${detail}`)}</system-out>`, '    </testcase>')
      } else {
        lines.push(`${open}>`, `      <skipped message="${escapeXml(`${c.status}: ${c.message}`)}"/>`, '    </testcase>')
      }
    }
    lines.push('  </testsuite>')
  }
  lines.push('</testsuites>', '')
  return lines.join('\n')
}

/** Write next to the target and rename, so a reader never sees half a file. */
export async function writeFileAtomic(file: string, content: string): Promise<void> {
  const target = resolve(file)
  await mkdir(dirname(target), {recursive: true})
  const tmp = `${target}.${process.pid}.tmp`
  await writeFile(tmp, content)
  await rename(tmp, target)
}
