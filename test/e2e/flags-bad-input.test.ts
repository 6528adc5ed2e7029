// Issue #12, input validation through the built CLI: every bad value is one `Error:` line and exit 2, found
// while parsing the flags, before any work (no cluster, no lab needed to see it).
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {runCli, tempDir} from '../helpers.js'

function expectUsageError(res: {code: number | null; stdout: string; stderr: string}, pattern: RegExp) {
  expect(res.code, res.stderr).toBe(2)
  const lines = res.stderr.trim().split('\n')
  expect(lines, res.stderr).toHaveLength(1)
  expect(lines[0]).toMatch(/^Error: /)
  expect(lines[0]).toMatch(pattern)
  expect(res.stderr).not.toMatch(/\n\s+at |Warning/)
}

// An Elastic-only run with nothing configured: every check skips, so a run that is not refused ends quickly.
const NOTHING = ['--skip', 'kubernetes,tetragon']

/** The flags were accepted: the run went ahead and, evaluating nothing, ends with the honest-verdict exit 1 (not 2). */
function expectAccepted(res: {code: number | null; stderr: string}): void {
  expect(res.code, res.stderr).toBe(1)
  expect(res.stderr.trim()).toMatch(/^Error: no check was evaluated/)
}

describe('durations', () => {
  it.each([
    [['doctor', '--timeout', '597h'], /--timeout must be at most 596h/],
    [['doctor', '--check-timeout', '2147483648ms'], /--check-timeout must be at most/],
    [['doctor', '--request-timeout', '1e3s'], /--request-timeout must be a duration like 30s/],
    [['doctor', '--timeout', '0'], /--timeout must be greater than 0/],
    [['doctor', '--max-age=-5m'], /--max-age must be a duration/],
    [['validate', '--es-timeout', '10000h'], /--es-timeout must be at most/],
    [['setup', '--wait-timeout', '999999h'], /--wait-timeout must be at most/],
    [['events', '--grpc-timeout', '700h'], /--grpc-timeout must be at most/],
  ])('%j → exit 2 before anything runs', async (args, pattern) => {
    const res = await runCli([...args, ...(args[0] === 'doctor' ? NOTHING : [])])
    expectUsageError(res, pattern)
  })

  it('the environment variable of a duration flag is held to the same rule and named', async () => {
    const res = await runCli(['doctor', ...NOTHING], {env: {TETRACTL_SCHEMA_SAMPLE: '597h'}})
    expectUsageError(res, /TETRACTL_SCHEMA_SAMPLE \(--schema-sample\) must be at most/)
  })

  it('setup holds the variables of the doctor flags it runs the checks with to the same rule, before any work', async () => {
    // setup's closing checks read doctor's settings (--schema-sample has no setup flag): a bad value is refused up
    // front with exit 2, not after the cluster was changed (nor as "cannot reach the cluster" here, with none).
    const res = await runCli(['setup', '--dry-run'], {env: {TETRACTL_SCHEMA_SAMPLE: '597h'}})
    expectUsageError(res, /TETRACTL_SCHEMA_SAMPLE \(--schema-sample\) must be at most/)
  })

  it('the largest duration a timer can wait is accepted, and help shows the defaults as written', async () => {
    const res = await runCli(['doctor', ...NOTHING, '--json', '--timeout', '596h'])
    expectAccepted(res)
    const help = (await runCli(['doctor', '--help'])).stdout
    expect(help).toMatch(/--timeout=<value>\s+\[default: 60s\]/)
  })
})

describe('oclif keeps its reason', () => {
  it.each([
    [['doctor', '--concurrency', '0'], /--concurrency: Expected an integer greater than or equal to 1 but received: 0/],
    [['doctor', '--concurrency', 'many'], /--concurrency: Expected an integer but received: many/],
    [['events', '--count', '0'], /--count: Expected an integer greater than or equal to 1 but received: 0/],
  ])('%j', async (args, pattern) => {
    expectUsageError(await runCli(args), pattern)
  })
})

describe('Kubernetes names and data stream names', () => {
  it.each([
    [['doctor', '-n', 'Kube_System'], /--namespace must be a Kubernetes namespace name/],
    [['doctor', '--service-name', 'tetragon-grpc;rm'], /--service-name must be a Kubernetes Service name/],
    [['doctor', '--service-namespace', 'a'.repeat(64)], /--service-namespace must be a Kubernetes namespace name .*at most 63/],
    [['setup', '--release', 'Tetragon'], /--release must be a Helm release name/],
    [['setup', '--release', 'a'.repeat(54)], /--release must be a Helm release name .*at most 53/],
    [['validate', '--pod', 'default/xwing$(id)'], /--pod must be NAMESPACE\/NAME/],
    [['validate', '--pod', 'default/a..b'], /--pod must be NAMESPACE\/NAME/],
    [['validate', '--pod', 'default/xwing', '--container', 'Main'], /--container must be a container name/],
    [['events', '--node', 'node-1/../../x'], /--node must be a Kubernetes node name/],
    [['events', '--event-namespace', 'default,Bad NS'], /--event-namespace must be a Kubernetes namespace name/],
    [['doctor', '--dataset', '../../'], /--dataset must be a data stream dataset/],
    [['doctor', '--dataset', 'Cilium_Tetragon.log'], /--dataset must be a data stream dataset .*lowercase/],
    [['doctor', '--dataset', 'cilium-tetragon'], /--dataset must be a data stream dataset .*'-'/],
    [['validate', '--dataset', '_internal'], /--dataset must be a data stream dataset/],
  ])('%j → exit 2', async (args, pattern) => {
    const res = await runCli([...args, ...(args[0] === 'doctor' ? NOTHING : [])])
    expectUsageError(res, pattern)
  })

  it('valid names pass', async () => {
    const res = await runCli(['doctor', ...NOTHING, '--json', '-n', 'tetragon', '--service-name', 'tetragon-grpc', '--dataset', 'cilium_tetragon.log'])
    expectAccepted(res)
  })
})

describe('--junit FILE is checked before any work', () => {
  const tmpLeftovers = (dir: string, name: string) => readdirSync(dir).filter((f) => f.startsWith(`${name}.`) && f.endsWith('.tmp'))

  it('a file under a folder that cannot exist: exit 2, no hang', async () => {
    expectUsageError(await runCli(['doctor', ...NOTHING, '--junit', '/proc/nope/x.xml'], {timeoutMs: 30_000}), /--junit: the folder \/proc\/nope does not exist/)
    expectUsageError(await runCli(['validate', '--junit', '/proc/nope/x.xml'], {timeoutMs: 30_000}), /--junit: the folder \/proc\/nope does not exist/)
  })

  it('a missing folder is not created: exit 2', async () => {
    const dir = tempDir()
    const res = await runCli(['doctor', ...NOTHING, '--junit', join(dir, 'missing', 'x.xml')])
    expectUsageError(res, /--junit: the folder .*missing does not exist/)
    expect(existsSync(join(dir, 'missing'))).toBe(false)
  })

  it('a directory: exit 2, no temporary file left beside it', async () => {
    const dir = tempDir()
    const res = await runCli(['doctor', ...NOTHING, '--junit', dir])
    expectUsageError(res, /--junit .* is a directory/)
    expect(tmpLeftovers(dirname(dir), basename(dir))).toEqual([])
  })

  it('a writable file is written', async () => {
    const file = join(tempDir(), 'report.xml')
    const res = await runCli(['doctor', ...NOTHING, '--junit', file])
    expectAccepted(res)
    expect(readFileSync(file, 'utf8')).toMatch(/^<\?xml/)
  })
})
