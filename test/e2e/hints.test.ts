// Issue #14 item 3, through the built CLI: every hint a check produces in a lab scenario is something to paste.
// A hint is either shell (it passes `bash -n`, and holds no `...` / `<value>` placeholder) or starts with
// "Manual step:" (then a value to fill in must be named, never a bare `...`). Lines of a command hint start with one
// of HINT_COMMANDS or are `#` comments (a comment is how a command hint explains itself).
import {execFile} from 'node:child_process'

import {describe, expect, it} from 'vitest'

import {startLab} from '../../src/lab/index.js'
import {scenarios, getScenario} from '../../src/lab/scenarios.js'
import {HINT_COMMANDS} from '../../src/engine/runner.js'
import {exportFilterHint} from '../../src/services/validate/index.js'
import {runCli, tempDir} from '../helpers.js'

// Scenarios whose findings the other scenarios already cover, or that cost minutes (5,000 nodes).
const SKIP = new Set(['large-cluster', 'slow-ingest'])

const bashSyntax = (script: string) =>
  new Promise<string | undefined>((resolve) => {
    const child = execFile('bash', ['-n'], {timeout: 10_000}, (err, _out, stderr) => resolve(err ? stderr || String(err) : undefined))
    child.stdin?.end(script)
  })

const MANUAL = /^Manual step: /
const PLACEHOLDER = /\.\.\.|…|<[A-Za-z][A-Za-z0-9 _-]*>/

const hints = new Map<string, {scenario: string; id: string}>()

describe('hints are commands you can paste', () => {
  const names = [...scenarios.keys()].filter((n) => !SKIP.has(n))
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

describe('validate export-filtered hint', () => {
  it('appends the probe namespace to the allow list as one shell word helm reads back as the chart string', async () => {
    const allow = '{"namespace":["default"],"event_set":["PROCESS_EXEC"]}'
    const hint = exportFilterHint({allow, because: 'export-allowlist ... does not match', namespace: 'tetractl-probe-1', tetragonNamespace: 'kube-system'})
    expect(await bashSyntax(hint)).toBeUndefined()
    expect(PLACEHOLDER.test(hint)).toBe(false)
    // What bash hands helm: print the words instead of running helm.
    const words = await new Promise<string[]>((resolve, reject) =>
      execFile('bash', ['-c', hint.replace(/^helm /, "printf '%s\\0' ")], (err, out) => (err ? reject(err) : resolve(out.split('\0').filter(Boolean)))),
    )
    const arg = words.find((w) => w.startsWith('tetragon.exportAllowList='))!
    expect(JSON.parse(arg.slice('tetragon.exportAllowList='.length))).toBe(`${allow}\n{"namespace":["tetractl-probe-1"]}`)
  })
})

describe('a fix pasted into bash fixes the finding', () => {
  it('service.exists (no-service): the hint, run by bash with kubectl against the lab, makes the check pass', async () => {
    const lab = await startLab(getScenario('no-service')!)
    await lab.writeFiles(tempDir())
    try {
      const env = {...lab.env}
      const before = (await runCli(['doctor', '--json', '--only', 'service.exists'], {env})).json()
      const c = before.checks.find((x: any) => x.id === 'service.exists')
      expect(c.status).toBe('fail')
      const out = await new Promise<{code: number; output: string}>((resolve) =>
        // The lab serves no OpenAPI document, which kubectl's client-side validation downloads first (a real API server does).
        execFile('bash', ['-c', c.hint.replace('kubectl apply -f -', 'kubectl apply --validate=false -f -')], {env: {...process.env, ...env}, timeout: 60_000}, (err, stdout, stderr) => resolve({code: err ? 1 : 0, output: `${stdout}${stderr}`})),
      )
      expect(out.code, out.output).toBe(0)
      const after = (await runCli(['doctor', '--json', '--only', 'service.exists'], {env})).json()
      expect(after.checks.find((x: any) => x.id === 'service.exists').status).toBe('pass')
    } finally {
      await lab.stop()
    }
  }, 180_000)
})
