// Issue #12: the built CLI against faulty servers and network paths (the lab's fault scenarios,
// src/lab/fault-scenarios.ts). Each run must end with one clear line, the documented exit code, no stack
// trace, and within --timeout (+2 s, measured by the report's own durationMs: process start-up on a loaded
// machine is not the CLI's doing; the wall clock only gets a generous backstop).
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {startLab} from '../../src/lab/index.js'
import {getScenario} from '../../src/lab/scenarios.js'
import {FAULT_SCENARIOS} from '../../src/lab/fault-scenarios.js'
import {runCli, tempDir, type CliResult} from '../helpers.js'

type Lab = Awaited<ReturnType<typeof startLab>>

const TIMEOUT_S = 20
/** Slack over --timeout the report's own durationMs may show. */
const SLACK_MS = 2000

async function withScenario<T>(name: string, fn: (lab: Lab, env: Record<string, string>) => Promise<T>): Promise<T> {
  const spec = getScenario(name)
  if (!spec) throw new Error(`no scenario ${name}`)
  const lab = await startLab(spec)
  await lab.writeFiles(tempDir())
  try {
    return await fn(lab, {...lab.env})
  } finally {
    await lab.stop()
  }
}

function doctor(env: Record<string, string>, only: string): Promise<CliResult> {
  return runCli(['doctor', '--json', `--only=${only}`, '--timeout', `${TIMEOUT_S}s`], {env, timeoutMs: (TIMEOUT_S + 90) * 1000})
}

/** No stack trace, no raw Node error dump, no crash report anywhere in the output. */
function expectNoCrash(res: CliResult): void {
  const all = res.stdout + res.stderr
  expect(all, all).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m)
  expect(all).not.toMatch(/Unhandled|node:internal|check crashed|unexpected error/)
}

/** Exit 3: exactly one `Error:` line on stderr, matching `line`. */
function expectUnreachable(res: CliResult, line: RegExp): void {
  expectNoCrash(res)
  const report = res.json()
  expect(res.code, res.stderr).toBe(3)
  expect(report.exitCode).toBe(3)
  const lines = res.stderr.trim().split('\n')
  expect(lines, res.stderr).toHaveLength(1)
  expect(lines[0]).toMatch(/^Error: /)
  expect(lines[0]).toMatch(line)
  expect(report.durationMs).toBeLessThanOrEqual(TIMEOUT_S * 1000 + SLACK_MS)
}

// Scenario → what to run (--only) and the one line it must end with (exit 3).
const unreachable: Array<[string, string, RegExp]> = [
  ['kube-html', 'kubernetes', /answered text\/html \(get version\): not a Kubernetes API — a proxy or login page\?/],
  ['kube-invalid-json', 'kubernetes', /answered a body that is not valid JSON .*not a Kubernetes API/],
  ['kube-endless-continue', 'kubernetes', /sent the same continue token twice \(list pods\)/],
  ['kube-huge-response', 'kubernetes', /sent more than the 32 MiB tetractl reads/],
  ['kube-drip', 'kubernetes', /did not answer within \d+ ms/],
  ['kube-reset', 'kubernetes', /Cannot reach the Kubernetes API at .*ECONNRESET/],
  ['kube-wrong-cert', 'kubernetes', /TLS verification of the Kubernetes API at .* failed: self-signed certificate/],
  ['es-html', 'es.connect', /answered text\/html: not Elasticsearch — a proxy or login page\?/],
  ['es-invalid-json', 'es.connect', /answered a body that is not valid JSON: not Elasticsearch/],
  ['es-null', 'es.connect', /answered null where an object belongs: not Elasticsearch/],
  ['es-missing-fields', 'es.connect', /answered GET \/ without version\.number: not Elasticsearch/],
  ['es-huge-response', 'es.connect', /sent a response larger than the 16 MiB tetractl reads/],
  ['es-drip', 'es.connect', /did not answer within \d+ ms/],
  ['es-reset', 'es.connect', /Cannot connect to Elasticsearch at .*(other side closed|socket hang up|ECONNRESET)/],
  ['es-wrong-cert', 'es.connect', /TLS verification of 127\.0\.0\.1:\d+ failed: self-signed certificate/],
  ['kibana-html', 'kibana', /answered text\/html \(GET .*\): not Kibana — a proxy or login page\?/],
  ['kibana-invalid-json', 'kibana', /answered a body that is not valid JSON .*not Kibana/],
  ['kibana-null', 'kibana', /answered null where an object belongs .*not Kibana/],
  ['kibana-missing-fields', 'kibana', /answered GET .* without (item\.status|a saved_objects array): not Kibana/],
  ['kibana-huge-response', 'kibana', /sent more than the 16 MiB tetractl reads/],
  ['kibana-drip', 'kibana', /did not answer GET .* within \d+ ms/],
  ['kibana-reset', 'kibana', /broke off its answer|closed the connection before/],
  ['kibana-wrong-cert', 'kibana', /TLS verification of 127\.0\.0\.1:\d+ failed: self-signed certificate/],
]

describe('doctor against faulty servers', () => {
  for (const [scenario, only, line] of unreachable) {
    it(`${scenario}: exit 3 with one line`, {timeout: 180_000}, async () => {
      await withScenario(scenario, async (_lab, env) => expectUnreachable(await doctor(env, only), line))
    })
  }

  for (const [scenario, only, check] of [
    ['es-control-chars', 'es.connect', 'es.connect'],
    ['kibana-control-chars', 'kibana', 'kibana.package'],
  ] as const) {
    it(`${scenario}: the server's error reason reaches the terminal without control characters, --json keeps it escaped (exit 1)`, {timeout: 180_000}, async () => {
      await withScenario(scenario, async (_lab, env) => {
        const res = await doctor(env, only)
        expectNoCrash(res)
        expect(res.code).toBe(1)
        const report = res.json()
        const c = report.checks.find((x: any) => x.id === check)
        expect(c.status).toBe('fail')
        expect(c.message).toMatch(/400.*cleared your terminal.*Error: forged line/)
        // --json keeps what the server said, escaped: no raw control byte in the document, no line break in the message.
        // eslint-disable-next-line no-control-regex
        expect(res.stdout).not.toMatch(/[\u001b\u0007\u009b]/)
        expect(c.message).not.toMatch(/[\r\n]/)
        expect(report.durationMs).toBeLessThanOrEqual(TIMEOUT_S * 1000 + SLACK_MS)
      })
      // The human report too: nothing of the escapes reaches the terminal.
      await withScenario(scenario, async (_lab, env) => {
        const res = await runCli(['doctor', `--only=${only}`, '--timeout', `${TIMEOUT_S}s`], {env, timeoutMs: (TIMEOUT_S + 90) * 1000})
        expect(res.code).toBe(1)
        expect(res.stdout).toContain('cleared your terminal')
        // eslint-disable-next-line no-control-regex
        expect(res.stdout + res.stderr).not.toMatch(/[\u001b\u0007\r\u009b]/)
      })
    })
  }

  it('kube-huge-list: 100,000 agent pods in bounded pages end in a report, not a crash', {timeout: 300_000}, async () => {
    await withScenario('kube-huge-list', async (_lab, env) => {
      const res = await doctor(env, 'tetragon.daemonset')
      expectNoCrash(res)
      const report = res.json()
      // 0 when the 200 pages are read within --timeout (an idle machine), 1 when --timeout cuts the list short.
      expect([0, 1]).toContain(res.code)
      expect(report.exitCode).toBe(res.code)
      expect(report.durationMs).toBeLessThanOrEqual(TIMEOUT_S * 1000 + SLACK_MS)
    })
  })

  it('tetragon-port-forward-drop: dropped tunnels are findings about the agent, not a crash', {timeout: 180_000}, async () => {
    await withScenario('tetragon-port-forward-drop', async (_lab, env) => {
      const res = await doctor(env, 'tetragon')
      expectNoCrash(res)
      const report = res.json()
      expect([1, 3]).toContain(res.code)
      expect(report.exitCode).toBe(res.code)
      const broken = report.checks.filter((c: any) => c.layer === 'tetragon' && c.status !== 'pass')
      expect(broken.length, res.stdout).toBeGreaterThan(0)
      for (const c of broken) expect(c.message).not.toMatch(/crashed/)
      expect(report.durationMs).toBeLessThanOrEqual(TIMEOUT_S * 1000 + SLACK_MS)
    })
  })

  it('every fault scenario is covered here and listed by `sandbox list`', async () => {
    const covered = new Set([...unreachable.map(([s]) => s), 'es-control-chars', 'kibana-control-chars', 'kube-huge-list', 'tetragon-port-forward-drop'])
    expect(FAULT_SCENARIOS.map((f) => f.name).filter((n) => !covered.has(n))).toEqual([])
    const listed = (await runCli(['sandbox', 'list', '--json'])).json().map((s: any) => s.name)
    for (const f of FAULT_SCENARIOS) expect(listed).toContain(f.name)
  })

  it('a kubeconfig whose server is plain http:// is a usage error (exit 2), not a crash', async () => {
    const dir = tempDir()
    const kubeconfig = join(dir, 'kubeconfig')
    writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{name: c, cluster: {server: "http://127.0.0.1:1"}}]',
        'users: [{name: u, user: {token: abc}}]',
        'contexts: [{name: x, context: {cluster: c, user: u}}]',
        'current-context: x',
      ].join('\n'),
    )
    const res = await runCli(['doctor', '--kubeconfig', kubeconfig, '--only=kubernetes'])
    expect(res.code, res.stderr).toBe(2)
    expect(res.stderr.trim().split('\n')).toHaveLength(1)
    expect(res.stderr).toMatch(/plain http:\/\/ server .* without insecure-skip-tls-verify/)
  })
})

// The crash of issue #12: port-forward sockets ended under load killed the process with an unhandled EPIPE.
// 10 concurrent runs against one sandbox, 3 rounds; the Tetragon layer (and what it requires) only, to keep the cost down.
describe('doctor under load', () => {
  it('10 concurrent doctor --json runs against one sandbox, 3 rounds: 30 reports, 0 crashes', {timeout: 1_200_000}, async () => {
    await withScenario('healthy', async (_lab, env) => {
      const results: CliResult[] = []
      for (let round = 0; round < 3; round++) {
        results.push(...(await Promise.all(Array.from({length: 10}, () => runCli(['doctor', '--json', '--only=tetragon'], {env, timeoutMs: 360_000})))))
      }
      const crashed = results.filter((r) => {
        try {
          r.json()
        } catch {
          return true
        }
        return /^\s+at .+:\d+:\d+\)?$/m.test(r.stderr) || /check crashed/.test(r.stdout)
      })
      expect(crashed.map((r) => r.stderr.slice(0, 400))).toEqual([])
      expect(results).toHaveLength(30)
      for (const r of results) {
        expect([0, 1, 3]).toContain(r.code)
        expect(r.json().exitCode).toBe(r.code)
      }
    })
  })
})
