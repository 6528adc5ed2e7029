// The built `tetractl doctor` against the lab, Tetragon gRPC side (issue #3): one scenario at a time.
import {readFileSync} from 'node:fs'
import net from 'node:net'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {startLab} from '../../src/lab/index.js'
import {getScenario} from '../../src/lab/scenarios.js'
import {startTetragonAgent, type TetragonAgent} from '../../src/lab/tetragon/agent.js'
import {idsWithStatus, runCli, tempDir} from '../helpers.js'

type Lab = Awaited<ReturnType<typeof startLab>>
type Report = {exitCode: number; checks: Array<{id: string; status: string; message: string; hint?: string; evidence?: any}>}

function envFile(dir: string): Record<string, string> {
  const env: Record<string, string> = {}
  for (const line of readFileSync(join(dir, 'env'), 'utf8').split('\n')) {
    const m = /^export ([A-Z0-9_]+)=(.*)$/.exec(line.trim())
    if (m) env[m[1]] = m[2].replace(/^'(.*)'$/, '$1')
  }
  return env
}

async function doctorOn(scenario: string, extra: string[] = []): Promise<{report: Report; code: number | null; stdout: string; stderr: string; lab: Lab}> {
  const spec = getScenario(scenario)
  if (!spec) throw new Error(`no scenario ${scenario}`)
  const lab = await startLab(spec)
  const dir = tempDir()
  await lab.writeFiles(dir)
  try {
    const res = await runCli(['doctor', '--kubeconfig', join(dir, 'kubeconfig'), '--json', '--only', 'kubernetes,tetragon', ...extra], {env: {...envFile(dir), TETRACTL_SCHEMA_SAMPLE: '3s'}, timeoutMs: 90_000})
    return {report: res.json(), code: res.code, stdout: res.stdout, stderr: res.stderr, lab}
  } finally {
    await lab.stop()
  }
}

const byId = (r: Report, id: string) => r.checks.find((c) => c.id === id)!

// Scenario → exact failing ids, warning ids, exit code.
const expectations: Array<[string, string[], string[], number]> = [
  ['healthy', [], [], 0],
  ['grpc-localhost', ['tetragon.grpc-bind', 'tetragon.grpc-reachable'], [], 1],
  ['grpc-unix-socket', ['tetragon.grpc-bind', 'tetragon.grpc-reachable'], [], 1],
  ['grpc-disabled', ['tetragon.grpc-bind', 'tetragon.grpc-reachable'], [], 1],
  ['tetragon-v0.8.0', ['tetragon.version'], ['tetragon.schema'], 1],
  ['schema-drift', [], ['tetragon.schema', 'tetragon.version'], 0],
  ['dropped-events', ['tetragon.dropped-events'], [], 1],
  ['no-policies', [], ['tetragon.policies'], 0],
  ['liveness-failing', ['tetragon.liveness'], [], 1],
]

describe('doctor --only kubernetes,tetragon, per scenario', () => {
  const reports = new Map<string, Report>()
  for (const [scenario, failing, warning, exitCode] of expectations) {
    it(`${scenario}: fails ${failing.join(', ') || 'nothing'}, warns ${warning.join(', ') || 'nothing'}, exit ${exitCode}`, async () => {
      const {report, code, stdout, lab} = await doctorOn(scenario)
      reports.set(scenario, report)
      expect(idsWithStatus(report, 'fail'), stdout).toEqual(failing)
      expect(idsWithStatus(report, 'warn'), stdout).toEqual(warning)
      expect(report.exitCode).toBe(exitCode)
      expect(code).toBe(exitCode)
      // Read-only: access and rules reviews (which store nothing) are the only POSTs doctor may send.
      const writes = lab.kube.requests().filter((r: any) => ['create', 'update', 'patch', 'delete', 'deletecollection'].includes(r.verb) && !['selfsubjectaccessreviews', 'selfsubjectrulesreviews'].includes(r.resource))
      expect(writes).toEqual([])
      // Every new check was evaluated (or said why not) on every scenario.
      for (const id of ['tetragon.grpc-reachable', 'tetragon.version', 'tetragon.schema', 'tetragon.liveness', 'tetragon.policies', 'tetragon.dropped-events']) {
        expect(report.checks.map((c) => c.id)).toContain(id)
      }
    })
  }

  it('grpc-localhost: names the localhost symptom (port-forward works, collector path refused) and the helm fix', () => {
    const c = byId(reports.get('grpc-localhost')!, 'tetragon.grpc-reachable')
    expect(c.message).toMatch(/port-forward .*collector's path .* refused: the agent listens on localhost only/)
    expect(c.hint).toContain('helm upgrade tetragon cilium/tetragon -n kube-system --reuse-values --set tetragon.grpc.enabled=true --set tetragon.grpc.address=0.0.0.0:54321')
    expect(c.evidence.collectorPath).toMatch(/^refused: .*connection refused/)
    expect(c.evidence.handshake).toMatch(/GetVersion v1\.6\.1 via port-forward/)
    // The API itself works through the port-forward, so the API checks still ran.
    expect(byId(reports.get('grpc-localhost')!, 'tetragon.version').status).toBe('pass')
  })

  it('grpc-unix-socket / grpc-disabled: both paths refused, named as such; the API checks are not evaluated', () => {
    const unix = reports.get('grpc-unix-socket')!
    expect(byId(unix, 'tetragon.grpc-reachable').message).toMatch(/unix socket \(\/var\/run\/tetragon\/tetragon\.sock\): refused both/)
    expect(byId(unix, 'tetragon.version').status).toBe('not-evaluated')
    expect(byId(unix, 'tetragon.version').message).toMatch(/connection refused inside the pod.*tetragon\.grpc-reachable/)
    // The health server is separate from the API and still answers.
    expect(byId(unix, 'tetragon.liveness').status).toBe('pass')
    expect(byId(reports.get('grpc-disabled')!, 'tetragon.grpc-reachable').message).toMatch(/disabled/)
  })

  it('healthy: the collector path reaches an HTTP/2 server, policies are found from the TracingPolicy resources', () => {
    const r = reports.get('healthy')!
    expect(byId(r, 'tetragon.grpc-reachable').evidence.collectorPath).toMatch(/^http2: .*malformed HTTP response/)
    expect(byId(r, 'tetragon.policies').evidence.resources.join('\n')).toMatch(/connect: tcp_connect/)
    expect(byId(r, 'tetragon.dropped-events').evidence.scraped).toBe(3)
  })

  it('tetragon-v0.8.0: wire-incompatible, legacy numbering reported, ListTracingPolicies skipped', () => {
    const r = reports.get('tetragon-v0.8.0')!
    expect(byId(r, 'tetragon.version').message).toMatch(/v0\.8\.0 is wire-incompatible/)
    expect(byId(r, 'tetragon.schema').message).toMatch(/legacy EventType numbering/)
    expect(byId(r, 'tetragon.policies').status).toBe('skip')
  })

  it('schema-drift: lists field numbers with their message path and the likely cause', () => {
    const r = reports.get('schema-drift')!
    const schema = byId(r, 'tetragon.schema')
    // Which events the sample window catches varies; the message names the first kinds, the evidence all.
    expect(schema.message).toMatch(/unknown field #\d+ in tetragon\.\w+/)
    expect(schema.evidence.findings.join('\n')).toMatch(/#22 in tetragon\.Process at process_(exec|exit)\.process/)
    expect(schema.message).toMatch(/newer than tetractl's proto/)
    expect(byId(r, 'tetragon.version').message).toMatch(/unreleased build/)
  })

  it('dropped-events: totals per node, the events-loss log line, the buffer flags in the hint', () => {
    const c = byId(reports.get('dropped-events')!, 'tetragon.dropped-events')
    expect(c.message).toMatch(/lost 206200 events/)
    expect(c.evidence.perNode).toHaveLength(3)
    expect(c.evidence.logs[0]).toMatch(/BPF events statistics: .*% events loss/)
    expect(c.hint).toMatch(/tetragon\.extraArgs\.rb-size-total=.*rb-queue-size/)
  })

  it('no-policies: the setup hint and the upstream example policy', () => {
    const c = byId(reports.get('no-policies')!, 'tetragon.policies')
    expect(c.hint).toContain('tetractl setup --policies network,file')
    expect(c.hint).toContain('examples/tracingpolicy/tcp-connect.yaml')
  })

  it('liveness-failing: the logs hint', () => {
    const c = byId(reports.get('liveness-failing')!, 'tetragon.liveness')
    expect(c.message).toMatch(/NOT_SERVING/)
    expect(c.hint).toMatch(/^kubectl -n kube-system logs tetragon-\S+ -c tetragon/)
  })
})

// Issue #10: the real cluster is less lenient than the lab was.
describe('doctor on a partial rollout and with missing permissions', () => {
  it('partial-rollout: only tetragon.daemonset fails; every other check evaluates the 2 ready agents and names the crash-looping one', async () => {
    const {report, code, stdout} = await doctorOn('partial-rollout', ['--only', 'agent.shipper'])
    expect(idsWithStatus(report, 'fail'), stdout).toEqual(['tetragon.daemonset'])
    expect(idsWithStatus(report, 'not-evaluated'), stdout).toEqual([])
    expect(code).toBe(1)
    const crashLoop = /1 of 3 agents not ready: tetragon-\S+ on node-3 \(tetragon: waiting: CrashLoopBackOff, \d+ restarts\)/
    for (const id of ['tetragon.version', 'tetragon.schema', 'tetragon.liveness', 'tetragon.policies']) {
      const c = byId(report, id)
      expect(c.status, `${id}: ${c.message}`).toBe('pass')
      expect(c.message).toMatch(/2 of 3 agents checked/)
      expect(c.message).toMatch(crashLoop)
      // Each ready agent was asked, once per node.
      expect(c.evidence.agents.map((l: string) => l.split(' ')[0]).sort()).toEqual(['node-1', 'node-2'])
    }
    expect(byId(report, 'tetragon.grpc-reachable').message).toMatch(/GetVersion answered on 2 of 3 agents/)
    expect(byId(report, 'tetragon.grpc-reachable').message).toMatch(crashLoop)
    expect(byId(report, 'tetragon.dropped-events').message).toMatch(/no lost events on 2 of 3 agents/)
    expect(byId(report, 'tetragon.dropped-events').evidence.notReady[0]).toMatch(/CrashLoopBackOff/)
    expect(byId(report, 'tetragon.export').message).toMatch(crashLoop)
    expect(byId(report, 'tetragon.grpc-bind').status).toBe('pass')
    expect(byId(report, 'agent.shipper').status).toBe('pass')
    expect(byId(report, 'agent.shipper').message).toMatch(/ready on all 3 Tetragon nodes .*\(1 of 3 Tetragon agents not ready/)
  })

  it('rbac-no-portforward: the API checks are not evaluated and name get pods/portforward; no verdict about the agent', async () => {
    const {report, stdout} = await doctorOn('rbac-no-portforward')
    expect(idsWithStatus(report, 'fail'), stdout).toEqual(['k8s.rbac'])
    expect(byId(report, 'k8s.rbac').message).toMatch(/get pods\/portforward in kube-system/)
    expect(byId(report, 'k8s.rbac').message).toMatch(/tetragon\.liveness/)
    expect(byId(report, 'k8s.rbac').hint).toMatch(/--resource=pods\/portforward/)
    for (const id of ['tetragon.grpc-reachable', 'tetragon.version', 'tetragon.schema', 'tetragon.liveness', 'tetragon.policies']) {
      const c = byId(report, id)
      expect(c.status, `${id}: ${c.message}`).toBe('not-evaluated')
      expect(c.message).toBe('not allowed to get pods/portforward in namespace kube-system')
    }
    // The proxies are allowed: the metrics are read.
    expect(byId(report, 'tetragon.dropped-events').status).toBe('pass')
  })

  it('rbac-limited: k8s.rbac reviews the proxies and port-forward; a 403 on the pod proxy is not-evaluated, not a failed scrape', async () => {
    const {report, stdout} = await doctorOn('rbac-limited')
    const rbac = byId(report, 'k8s.rbac')
    for (const denied of ['get pods/portforward in kube-system', 'get services/proxy in kube-system', 'get pods/proxy in kube-system', 'list tracingpolicies.cilium.io (cluster-wide)']) expect(rbac.message).toContain(denied)
    expect(byId(report, 'tetragon.dropped-events').status, stdout).toBe('not-evaluated')
    expect(byId(report, 'tetragon.dropped-events').message).toBe('not allowed to get pods/proxy in namespace kube-system')
    expect(byId(report, 'tetragon.liveness').status).toBe('not-evaluated')
    expect(idsWithStatus(report, 'fail')).toEqual(['k8s.rbac'])
  })
})

// Issue #10 item 11: validate fails on export-filtered because the export drops the namespace; doctor must say so.
describe('doctor: tetragon.export-filters', () => {
  it('export-filtered: fails naming the namespaces the allow list drops, new ones included; --event-namespace default passes', async () => {
    const {report, stdout} = await doctorOn('export-filtered', ['--only', 'tetragon.export-filters'])
    const c = byId(report, 'tetragon.export-filters')
    expect(c.status, stdout).toBe('fail')
    expect(c.message).toMatch(/the export filters drop PROCESS_EXEC, PROCESS_EXIT, PROCESS_KPROBE events of \d+ of \d+ namespaces you care about \(.*monitoring.*\) and any namespace created later \(like validate's probe namespace\)/)
    expect(c.message).toContain('export-allowlist {"namespace":["default"]')
    expect(c.hint).toContain(`helm upgrade tetragon cilium/tetragon -n kube-system --reuse-values --set-string 'tetragon.exportAllowList={"event_set":["PROCESS_EXEC"\\,"PROCESS_EXIT"`)
    expect(c.evidence.droppedByChartDefault).toEqual(['kube-system'])
    expect(c.evidence.source).toBe('ConfigMap')
    const only = await doctorOn('export-filtered', ['--only', 'tetragon.export-filters', '--event-namespace', 'default'])
    expect(byId(only.report, 'tetragon.export-filters').status).toBe('pass')
    expect(byId(only.report, 'tetragon.export-filters').message).toMatch(/keeps PROCESS_EXEC, PROCESS_EXIT, PROCESS_KPROBE events of namespace default/)
  })

  it('healthy (chart defaults): passes and reports what the default lists drop; asking for kube-system fails on the deny list', async () => {
    const {report} = await doctorOn('healthy', ['--only', 'tetragon.export-filters'])
    const c = byId(report, 'tetragon.export-filters')
    expect(c.status).toBe('pass')
    expect(c.message).toMatch(/drops kube-system \(the chart's default deny list\), drops health-check execs, never exports PROCESS_LOADER, PROCESS_THROTTLE, PROCESS_USDT/)
    const ks = await doctorOn('healthy', ['--only', 'tetragon.export-filters', '--event-namespace', 'kube-system'])
    const k = byId(ks.report, 'tetragon.export-filters')
    expect(k.status).toBe('fail')
    expect(k.message).toContain('export-denylist {"namespace":["","cilium","kube-system"]} drops PROCESS_EXEC in namespace kube-system')
    expect(k.hint).toContain("--set-string 'tetragon.exportDenyList={\"health_check\":true}'")
  })
})

describe('doctor with --tetragon-address (standalone agent, no cluster)', () => {
  let agent: TetragonAgent
  beforeAll(async () => {
    agent = await startTetragonAgent({version: 'v1.7.0', nodeName: 'host-1', serverAddress: '127.0.0.1:0', policies: ['network'], backgroundIntervalMs: 200})
  })
  afterAll(() => agent?.stop())
  const address = () => {
    const g = agent.grpc as {host: string; port: number}
    return `${g.host}:${g.port}`
  }

  it('runs the API checks with just the handshake; the cluster checks are skipped or not evaluated', async () => {
    const res = await runCli(['doctor', '--json', '--only', 'tetragon', '--tetragon-address', address(), '--tetragon-health-address', `127.0.0.1:${agent.healthPort}`])
    const report = res.json()
    const status = Object.fromEntries(report.checks.map((c: any) => [c.id, c.status]))
    expect(status['tetragon.grpc-reachable']).toBe('pass')
    expect(status['tetragon.version']).toBe('pass')
    expect(status['tetragon.liveness']).toBe('pass')
    // Names only without a cluster: "connect" is recognised, no file policy.
    expect(status['tetragon.policies']).toBe('warn')
    expect(status['tetragon.daemonset']).toBe('not-evaluated')
    expect(res.code).toBe(0)
  })

  it('an agent that is not there → grpc-reachable fails, exit 3, one line on stderr', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port
        s.close(() => resolve(p))
      })
    })
    const res = await runCli(['doctor', '--json', '--only', 'tetragon.grpc-reachable', '--tetragon-address', `127.0.0.1:${port}`])
    expect(res.code).toBe(3)
    expect(res.json().checks.find((c: any) => c.id === 'tetragon.grpc-reachable').message).toMatch(/connection refused/)
    expect(res.stderr.trim().split('\n')).toHaveLength(1)
    expect(res.stderr).toMatch(/^Error: /)
  })
})
