// Issue #14 item 3, through the built CLI: every hint a check produces in a lab scenario is something to paste.
// The scenarios are split over hints-*.test.ts (one doctor run each, about 150 s in all): shard k of n takes every
// n-th scenario from the k-th, so the files run side by side.
// A hint is either shell (it passes `bash -n`, and holds no `...` / `<value>` placeholder) or starts with
// "Manual step:" (then a value to fill in must be named, never a bare `...`). Lines of a command hint start with one
// of HINT_COMMANDS or are `#` comments (a comment is how a command hint explains itself).
import {execFile} from 'node:child_process'

import {describe, expect, it} from 'vitest'

import {startLab} from '../../src/lab/index.js'
import {scenarios, getScenario} from '../../src/lab/scenarios.js'
import {HINT_COMMANDS} from '../../src/engine/runner.js'
import {runCli, tempDir} from '../helpers.js'

// Scenarios whose findings the other scenarios already cover, or that cost minutes (5,000 nodes).
const SKIP = new Set(['large-cluster', 'slow-ingest'])

export const bashSyntax = (script: string) =>
  new Promise<string | undefined>((resolve) => {
    const child = execFile('bash', ['-n'], {timeout: 10_000}, (err, _out, stderr) => resolve(err ? stderr || String(err) : undefined))
    child.stdin?.end(script)
  })

const MANUAL = /^Manual step: /
export const PLACEHOLDER = /\.\.\.|…|<[A-Za-z][A-Za-z0-9 _-]*>/

export const SHARDS = 3

/** The scenarios a shard collects hints from (every scenario is in exactly one shard). */
export function shardScenarios(shard: number): string[] {
  return [...scenarios.keys()].filter((n) => !SKIP.has(n)).filter((_, i) => i % SHARDS === shard)
}

export function hintsAreCommands(shard: number): void {
  const hints = new Map<string, {scenario: string; id: string}>()
  describe(`hints are commands you can paste (shard ${shard + 1} of ${SHARDS})`, () => {
    const names = shardScenarios(shard)
    it.each(names)('collects the hints of %s', async (name) => {
      const lab = await startLab(getScenario(name)!)
      await lab.writeFiles(tempDir())
      try {
        const res = await runCli(['doctor', '--json', '--timeout=60s'], {env: {...lab.env}, timeoutMs: 120_000})
        const report = res.json()
        for (const c of report.checks) if (c.hint && !hints.has(c.hint)) hints.set(c.hint, {scenario: name, id: c.id})
      } finally {
        await lab.stop()
      }
    }, 180_000)

    it('every hint is a command (bash -n, no placeholder) or labelled a manual step', async () => {
      const problems: string[] = []
      for (const [hint, where] of hints) {
        const at = `${where.id} (${where.scenario})`
        if (MANUAL.test(hint)) {
          if (/\.\.\.|…/.test(hint)) problems.push(`${at}: manual step with a bare "...": ${hint}`)
          continue
        }
        if (PLACEHOLDER.test(hint)) problems.push(`${at}: placeholder in a command: ${hint}`)
        // The human report indents a hint's later lines under "fix:": a heredoc's EOF would be indented and never close.
        if (/<<-?\s*['"]?\w+/.test(hint)) problems.push(`${at}: heredoc (its terminator is indented when the report is pasted): ${hint}`)
        // bash -n accepts much prose ("Check the shipper: kubectl ..." is a valid command name): each line must start with a command or be a comment.
        const prose = hint.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#') && !HINT_COMMANDS.includes(l.trim().split(/\s/)[0]))
        if (prose.length) problems.push(`${at}: prose line(s) not labelled "Manual step:": ${prose.join(' | ')}`)
        const err = await bashSyntax(hint)
        if (err) problems.push(`${at}: not valid bash (${err.trim().split('\n')[0]}): ${hint}`)
      }
      if (process.env.HINTS_DUMP) for (const [hint, w] of hints) console.log(`--- ${w.id} (${w.scenario})\n${hint}`)
      expect(hints.size).toBeGreaterThan(10)
      expect(problems, problems.join('\n\n')).toEqual([])
    }, 60_000)
  })
}
