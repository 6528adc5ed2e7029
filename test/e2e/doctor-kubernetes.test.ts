// The built `tetractl doctor` against the Kubernetes lab, one scenario at a time.
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {XMLValidator} from 'fast-xml-parser'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {startLab} from '../../src/lab/index.js'
import {getScenario} from '../../src/lab/scenarios.js'
import {idsWithStatus, runCli, tempDir} from '../helpers.js'

type Lab = Awaited<ReturnType<typeof startLab>>

async function withScenario<T>(name: string, fn: (lab: Lab, dir: string) => Promise<T>): Promise<T> {
  const spec = getScenario(name)
  if (!spec) throw new Error(`no scenario ${name}`)
  const lab = await startLab(spec)
  const dir = tempDir()
  await lab.writeFiles(dir)
  try {
    return await fn(lab, dir)
  } finally {
    await lab.stop()
  }
}

function envFile(dir: string): Record<string, string> {
  const env: Record<string, string> = {}
  for (const line of readFileSync(join(dir, 'env'), 'utf8').split('\n')) {
    const m = /^export ([A-Z0-9_]+)=(.*)$/.exec(line.trim())
    if (m) env[m[1]] = m[2].replace(/^'(.*)'$/, '$1').replace(/^"(.*)"$/, '$1')
  }
  return env
}

const K8S_LAYERS = '--only=kubernetes,tetragon.daemonset,tetragon.grpc-bind,tetragon.export'

// Scenario → exact failing check ids, warning ids and exit code (issue #2 acceptance).
const expectations: Array<[string, string[], string[], number]> = [
  ['healthy', [], [], 0],
  ['grpc-localhost', ['tetragon.grpc-bind'], [], 1],
  ['grpc-unix-socket', ['tetragon.grpc-bind'], [], 1],
  ['grpc-disabled', ['tetragon.grpc-bind'], [], 1],
  ['selector-mismatch', ['service.selector'], [], 1],
  ['no-service', ['service.exists'], [], 1],
  ['no-endpoints', ['service.endpoints', 'tetragon.daemonset'], [], 1],
  ['dns-wrong-namespace', ['dns.service'], [], 1],
  ['rbac-limited', ['k8s.rbac'], [], 1],
  ['partial-rollout', ['tetragon.daemonset'], [], 1],
  ['large-cluster', [], [], 0],
]

describe('doctor, Kubernetes side, per scenario', () => {
  for (const [scenario, failing, warning, exitCode] of expectations) {
    it(`${scenario}: fails ${failing.join(', ') || 'nothing'}, exit ${exitCode}`, async () => {
      await withScenario(scenario, async (lab, dir) => {
        const res = await runCli(['doctor', '--kubeconfig', join(dir, 'kubeconfig'), '--json', K8S_LAYERS], {env: envFile(dir), timeoutMs: 90_000})
        const report = res.json()
        expect(idsWithStatus(report, 'fail'), res.stdout).toEqual(failing)
        expect(idsWithStatus(report, 'warn')).toEqual(warning)
        expect(report.exitCode).toBe(exitCode)
        expect(res.code).toBe(exitCode)
        // doctor is read-only: access and rules reviews (which store nothing) are the only POSTs it may send.
        const writes = lab.kube.requests().filter((r: any) => ['create', 'update', 'patch', 'delete', 'deletecollection'].includes(r.verb) && !['selfsubjectaccessreviews', 'selfsubjectrulesreviews'].includes(r.resource))
        expect(writes).toEqual([])
      })
    })
  }

  it('rbac-limited: the checks that lack a permission are not evaluated and name it', async () => {
    await withScenario('rbac-limited', async (_lab, dir) => {
      const report = (await runCli(['doctor', '--kubeconfig', join(dir, 'kubeconfig'), '--json', K8S_LAYERS], {env: envFile(dir)})).json()
      const byId = Object.fromEntries(report.checks.map((c: any) => [c.id, c]))
      expect(byId['service.endpoints'].status).toBe('not-evaluated')
      expect(byId['service.endpoints'].message).toMatch(/list endpointslices/)
      expect(byId['dns.service'].status).toBe('not-evaluated')
      expect(byId['dns.service'].message).toMatch(/get pods\/exec/)
      expect(byId['k8s.rbac'].message).toMatch(/endpointslices/)
    })
  })

  it('selector-mismatch: names the pods\' real labels and the selector to use, in the human report', async () => {
    await withScenario('selector-mismatch', async (_lab, dir) => {
      const res = await runCli(['doctor', '--kubeconfig', join(dir, 'kubeconfig'), K8S_LAYERS], {env: envFile(dir)})
      expect(res.code).toBe(1)
      expect(res.stdout).toMatch(/× service\.selector +Service kube-system\/tetragon-grpc selector app=tetragon matches none of the 3 Tetragon pods/)
      expect(res.stdout).toContain('app.kubernetes.io/name=tetragon')
      expect(res.stdout).toContain(`kubectl -n kube-system patch service tetragon-grpc --type=merge -p '{"spec":{"selector":{"app":null,"app.kubernetes.io/name":"tetragon"}}}'`)
    })
  })

  it('grpc-localhost: the fix is the helm upgrade with the 0.0.0.0 address', async () => {
    await withScenario('grpc-localhost', async (_lab, dir) => {
      const report = (await runCli(['doctor', '--kubeconfig', join(dir, 'kubeconfig'), '--json', K8S_LAYERS], {env: envFile(dir)})).json()
      const bind = report.checks.find((c: any) => c.id === 'tetragon.grpc-bind')
      expect(bind.message).toMatch(/localhost:54321/)
      expect(bind.hint).toContain('helm upgrade tetragon cilium/tetragon -n kube-system --reuse-values --set tetragon.grpc.enabled=true --set tetragon.grpc.address=0.0.0.0:54321')
      expect(bind.evidence).toMatchObject({serverAddress: 'localhost:54321', source: 'ConfigMap', chart: 'tetragon-1.6.1'})
    })
  })

  it('prints GitHub Actions annotations when GITHUB_ACTIONS=true, keeping --json stdout pure', async () => {
    await withScenario('no-service', async (_lab, dir) => {
      const human = await runCli(['doctor', '--kubeconfig', join(dir, 'kubeconfig'), K8S_LAYERS], {env: {...envFile(dir), GITHUB_ACTIONS: 'true'}})
      expect(human.stdout).toMatch(/^::error title=tetractl service\.exists::Service kube-system\/tetragon-grpc not found/m)
      const json = await runCli(['doctor', '--kubeconfig', join(dir, 'kubeconfig'), K8S_LAYERS, '--json'], {env: {...envFile(dir), GITHUB_ACTIONS: 'true'}})
      expect(json.json().exitCode).toBe(1)
      expect(json.stderr).toMatch(/^::error title=tetractl service\.exists::/m)
    })
  })

  it('writes valid JUnit XML, one testcase per check', async () => {
    await withScenario('no-service', async (_lab, dir) => {
      // The folder must exist (issue #12: --junit never creates folders).
      const junit = join(dir, 'report.xml')
      const res = await runCli(['doctor', '--kubeconfig', join(dir, 'kubeconfig'), K8S_LAYERS, '--junit', junit], {env: envFile(dir)})
      expect(res.code).toBe(1)
      const xml = readFileSync(junit, 'utf8')
      expect(XMLValidator.validate(xml)).toBe(true)
      expect(xml.match(/<testcase /g)?.length).toBe(9)
      expect(xml).toMatch(/<testcase classname="tetractl.kubernetes" name="service.exists"[^>]*>\s*<failure /)
    })
  })
})

describe('doctor, bad input', () => {
  let lab: Lab
  let dir: string
  beforeAll(async () => {
    lab = await startLab(getScenario('healthy')!, {tokens: {'no-rights': []}} as any)
    dir = tempDir()
    await lab.writeFiles(dir)
  })
  afterAll(() => lab?.stop())

  const expectOneLine = (stderr: string) => {
    const lines = stderr.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^Error: /)
    expect(stderr).not.toMatch(/\n\s+at /)
  }

  it('no kubeconfig anywhere → exit 2', async () => {
    const res = await runCli(['doctor', '--only', 'kubernetes'])
    expect(res.code).toBe(2)
    expectOneLine(res.stderr)
    expect(res.stderr).toMatch(/No kubeconfig found/)
  })

  it('garbage kubeconfig → exit 2', async () => {
    const file = join(dir, 'garbage')
    writeFileSync(file, 'clusters: [oops\n')
    const res = await runCli(['doctor', '--kubeconfig', file])
    expect(res.code).toBe(2)
    expectOneLine(res.stderr)
    expect(res.stderr).toMatch(/not valid YAML/)
  })

  it('unknown context → exit 2, listing the known ones', async () => {
    const res = await runCli(['doctor', '--kubeconfig', join(dir, 'kubeconfig'), '--context', 'prod'])
    expect(res.code).toBe(2)
    expectOneLine(res.stderr)
    expect(res.stderr).toMatch(/Context "prod" is not in .*Use one of: tetractl-lab/)
  })

  it('closed port → exit 3', async () => {
    const file = join(dir, 'closed')
    const net = await import('node:net')
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as any).port
        s.close(() => resolve(p))
      })
    })
    writeFileSync(file, readFileSync(join(dir, 'kubeconfig'), 'utf8').replace(/server: https:\/\/127\.0\.0\.1:\d+/, `server: https://127.0.0.1:${port}`))
    const res = await runCli(['doctor', '--kubeconfig', file, '--json'])
    expect(res.code).toBe(3)
    expectOneLine(res.stderr)
    expect(res.stderr).toMatch(/connection refused/)
    expect(res.json().checks.find((c: any) => c.id === 'k8s.connect').status).toBe('fail')
  })

  it('401 with a wrong token → exit 3, token never printed', async () => {
    const file = join(dir, 'badtoken')
    const token = 'wrong-token-value-1234567890'
    writeFileSync(file, readFileSync(join(dir, 'kubeconfig'), 'utf8').replace(/token: .*/, `token: ${token}`))
    const res = await runCli(['doctor', '--kubeconfig', file, '--json'])
    expect(res.code).toBe(3)
    expectOneLine(res.stderr)
    expect(res.stderr).toMatch(/401 Unauthorized/)
    expect(res.stdout + res.stderr).not.toContain(token)
  })

  it('403 everywhere → exit 3', async () => {
    const file = join(dir, 'norights')
    writeFileSync(file, readFileSync(join(dir, 'kubeconfig'), 'utf8').replace(/token: .*/, 'token: no-rights'))
    const res = await runCli(['doctor', '--kubeconfig', file, '--json', K8S_LAYERS])
    expect(res.code).toBe(3)
    expectOneLine(res.stderr)
    expect(res.stderr).toMatch(/may do none of/)
  })

  it('an API that never answers → doctor ends within --timeout, exit 3', async () => {
    const hung = await startLab(getScenario('healthy')!, {hang: true} as any)
    const hdir = tempDir()
    await hung.writeFiles(hdir)
    try {
      const res = await runCli(['doctor', '--kubeconfig', join(hdir, 'kubeconfig'), '--timeout', '3s', '--json'], {timeoutMs: 30_000})
      expect(res.code, `${res.stderr}\n${res.stdout.slice(0, 3000)}`).toBe(3)
      expectOneLine(res.stderr)
      // 2000 ms (--timeout minus 1 s), or less when the request started late: it must end before the run does.
      expect(res.stderr).toMatch(/did not answer within \d+ ms/)
      expect(Number(/within (\d+) ms/.exec(res.stderr)![1])).toBeLessThanOrEqual(2000)
      // Bounded by --timeout plus process start-up, far from the 30 s kill.
      expect(res.durationMs).toBeLessThan(15_000)
    } finally {
      await hung.stop()
    }
  })

  it.each([
    [['--fail-on', 'sometimes'], /Expected --fail-on=sometimes to be one of: fail, warn/],
    [['--timeout', '0'], /--timeout must be greater than 0/],
    [['--timeout', 'soon'], /--timeout must be a duration/],
    [['--only', 'no.such.check'], /Unknown check id or layer for --only: no.such.check/],
    [['--concurrency', '0'], /concurrency/],
    [['--no-such-flag'], /Nonexistent flag: --no-such-flag/],
  ])('invalid flag %j → exit 2', async (args, pattern) => {
    const res = await runCli(['doctor', '--kubeconfig', join(dir, 'kubeconfig'), ...args])
    expect(res.code).toBe(2)
    expectOneLine(res.stderr)
    expect(res.stderr).toMatch(pattern)
  })
})
