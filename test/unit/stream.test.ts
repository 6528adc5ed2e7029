// Issue #14 items 1–2: the streamed terminal report as a pure function of the results, at 120 and 80 columns.
import {describe, expect, it} from 'vitest'

import {checks} from '../../src/checks/index.js'
import {summarize} from '../../src/engine/report.js'
import {requirementsOf, type CheckResult, type Status} from '../../src/engine/types.js'
import {renderStream, StreamRenderer, type PlannedCheck} from '../../src/report/stream.js'

const ctx = {opts: {}} as any
const plan: PlannedCheck[] = checks.map((c) => ({id: c.id, requires: requirementsOf(c, ctx)}))
const HELM = 'helm upgrade tetragon cilium/tetragon -n kube-system --reuse-values --set tetragon.grpc.enabled=true --set tetragon.grpc.address=0.0.0.0:54321'
const LONG = 'gRPC answers through a port-forward (Tetragon v1.6.1) but the collector path to kube-system/tetragon-grpc:54321 is refused: the agent listens on localhost only (server-address localhost:54321), so nothing in the cluster reaches it'

function result(id: string, status: Status, extra: Partial<CheckResult> = {}): CheckResult {
  const c = checks.find((x) => x.id === id)!
  return {id, layer: c.layer, title: c.title, status, message: `${id} says ${status}`, durationMs: 1, ...extra}
}

/** What the runner records for a check whose requirement did not pass. */
const blocked = (id: string, by: string) => result(id, 'not-evaluated', {message: `requires ${by}, which failed`, durationMs: 0, evidence: {requires: by}})

const summary = (results: CheckResult[], exitCode: number) => ({summary: summarize(results), durationMs: 2700, exitCode})

/** Every check passes but those given. */
function run(overrides: CheckResult[]): CheckResult[] {
  const byId = new Map(overrides.map((r) => [r.id, r]))
  return checks.map((c) => byId.get(c.id) ?? result(c.id, 'pass'))
}

function unreachableApi(): CheckResult[] {
  const first = result('k8s.connect', 'fail', {
    message: 'TLS verification of the Kubernetes API at https://127.0.0.1:32909 failed: self-signed certificate.',
    hint: "Manual step: The kubeconfig's certificate-authority-data must match the server certificate; refresh the kubeconfig.",
    unreachable: true,
  })
  const out: CheckResult[] = [first]
  for (const c of checks.slice(1)) {
    const reqs = requirementsOf(c, ctx)
    const req = reqs.find((r) => out.some((o) => o.id === r && o.status !== 'pass'))
    out.push(req ? blocked(c.id, req) : result(c.id, 'pass'))
  }
  return out
}

const plainLen = (l: string) => [...l].length

for (const width of [120, 80]) {
  describe(`at ${width} columns`, () => {
    it('an unreachable API: one failure with its fix, then ONE line for every check it blocked', () => {
      const results = unreachableApi()
      const notEvaluated = results.filter((r) => r.status === 'not-evaluated').length
      expect(notEvaluated).toBeGreaterThan(10)
      const lines = renderStream(plan, results, summary(results, 3), {width, color: false})
      expect(lines.filter((l) => /not evaluated/.test(l) && !l.startsWith("Summary"))).toEqual([`    – ${notEvaluated} checks not evaluated: they need a reachable Kubernetes API`])
      // No blocked check has a line of its own: only the failure and the passes are listed.
      expect(lines.filter((l) => /^ {2}[✔‼×–] /.test(l)).length).toBe(results.length - notEvaluated)
      expect(lines.some((l) => l.includes('(k8s.connect)') && l.startsWith('  × '))).toBe(true)
      expect(lines.join('\n')).toMatch(/fix: Manual step: The kubeconfig's/)
      for (const l of lines) expect(plainLen(l), l).toBeLessThanOrEqual(width)
      expect(lines.at(-1)).toBe(`Summary: ${results.length - notEvaluated - 1} passed, 1 failed, ${notEvaluated} not evaluated (2.7 s, exit 3)`)
      // Categories whose every check was blocked get no heading; no heading twice.
      const headings = lines.filter((l) => /^[A-Z]/.test(l) && !l.startsWith('Summary'))
      expect(headings).toEqual(['Kubernetes access', 'Elasticsearch', 'Kibana'])
    })

    it('a failure with a long command: prose wrapped with a hanging indent, the command whole on one line', () => {
      const results = run([
        result('tetragon.grpc-bind', 'fail', {message: LONG, hint: `${HELM}\n# or: tetractl doctor --fix --only tetragon.grpc-bind, which runs the same upgrade for you after showing the plan`, docs: 'https://tetragon.io/docs/reference/helm-chart/'}),
        result('tetragon.grpc-reachable', 'fail', {message: LONG, hint: 'kubectl -n kube-system get svc tetragon-grpc', docs: 'https://tetragon.io/docs/reference/helm-chart/'}),
      ])
      const lines = renderStream(plan, results, summary(results, 1), {width, color: false})
      // The command is one line, unbroken, from column 0 when it does not fit indented.
      expect(lines).toContain(HELM)
      expect(lines).toContain('      kubectl -n kube-system get svc tetragon-grpc')
      for (const l of lines.filter((x) => x !== HELM)) expect(plainLen(l), l).toBeLessThanOrEqual(width)
      // Message continuation lines hang under the first one.
      const msg = lines.findIndex((l) => l.startsWith('    gRPC answers through'))
      expect(msg).toBeGreaterThan(0)
      expect(lines[msg + 1]).toMatch(/^ {4}\S/)
      // A long comment wraps as comment lines, each still starting with '#'.
      const comment = lines.filter((l) => l.startsWith('      # '))
      expect(comment.length).toBeGreaterThan(width === 80 ? 1 : 0)
      expect(lines).toContain('    docs: https://tetragon.io/docs/reference/helm-chart/')
      // A pass is one short line: its title, no message.
      expect(lines).toContain('  ✔ Kubernetes API reachable')
      expect(lines.join('\n')).not.toContain('k8s.connect says pass')
      expect(lines.at(-1)).toBe(`Summary: ${results.length - 2} passed, 2 failed (2.7 s, exit 1)`)
    })
  })
}

describe('streaming', () => {
  it('shows a category when its first check finishes, holds later categories until the earlier ones are complete', () => {
    const r = new StreamRenderer(plan, {width: 100, color: false})
    // An Elasticsearch result first: nothing yet, Kubernetes access is still running.
    expect(r.add(result('es.connect', 'pass'))).toEqual([])
    expect(r.add(result('k8s.connect', 'pass'))).toEqual(['Kubernetes access', '  ✔ Kubernetes API reachable'])
    const more = r.add(result('k8s.rbac', 'pass'))
    expect(more).toEqual(['  ✔ Permissions the checks need'])
    // Tetragon install has started: its heading appears with its first finished check.
    expect(r.add(result('tetragon.daemonset', 'warn', {message: '2/3 agents ready'}))).toEqual([
      '',
      'Tetragon install',
      '  ‼ Tetragon DaemonSet runs a ready agent on every node (tetragon.daemonset)',
      '    2/3 agents ready',
    ])
  })

  it('a failure is shown once everything it blocks is in, with the count', () => {
    const r = new StreamRenderer(plan, {width: 100, color: false})
    expect(r.add(result('k8s.connect', 'pass'))).toHaveLength(2)
    expect(r.add(result('k8s.rbac', 'pass'))).toHaveLength(1)
    for (const id of ['tetragon.daemonset', 'tetragon.version', 'tetragon.liveness', 'tetragon.policies', 'tetragon.dropped-events', 'tetragon.grpc-bind', 'tetragon.schema']) r.add(result(id, 'pass'))
    r.add(result('tetragon.grpc-reachable', 'pass'))
    expect(r.add(result('service.exists', 'fail', {hint: 'kubectl apply -f tetragon-grpc.yaml'}))).toEqual([])
    r.add(blocked('service.selector', 'service.exists'))
    r.add(blocked('dns.service', 'service.exists'))
    const out = r.add(result('service.endpoints', 'not-evaluated', {message: 'requires service.selector, which was not evaluated', evidence: {requires: 'service.selector'}}))
    expect(out).toEqual([
      '',
      'Service and DNS',
      '  × gRPC Service exists (service.exists)',
      '    service.exists says fail',
      '    fix:',
      '      kubectl apply -f tetragon-grpc.yaml',
      '    – 3 checks not evaluated: they need the gRPC Service',
    ])
  })

  it('the verdict says "1 warning" and "2 warnings"', () => {
    const one = run([result('es.freshness', 'warn')])
    expect(renderStream(plan, one, summary(one, 0), {width: 80, color: false}).at(-1)).toMatch(/ 1 warning \(/)
    const two = run([result('es.freshness', 'warn'), result('es.fields', 'warn')])
    expect(renderStream(plan, two, summary(two, 0), {width: 80, color: false}).at(-1)).toMatch(/ 2 warnings \(/)
  })

  it('evidence only with -v, pretty-printed and indented', () => {
    const results = run([result('es.fields', 'warn', {evidence: {missing: ['event.action'], counts: {kprobe: 14}}})])
    const quiet = renderStream(plan, results, summary(results, 0), {width: 80, color: false})
    expect(quiet.join('\n')).not.toContain('event.action')
    const verbose = renderStream(plan, results, summary(results, 0), {width: 80, color: false, verbose: true})
    expect(verbose).toContain('        "missing": [')
    expect(verbose).toContain('          "event.action"')
    expect(verbose).toContain('          "kprobe": 14')
  })

  it('colour never breaks the width: escape sequences wrap the text, they do not count', () => {
    const results = unreachableApi()
    const lines = renderStream(plan, results, summary(results, 3), {width: 80, color: true})
    expect(lines.join('\n')).toMatch(/\u001b\[/)
    // eslint-disable-next-line no-control-regex
    for (const l of lines) expect(plainLen(l.replace(/\u001b\[[0-9;]*m/g, ''))).toBeLessThanOrEqual(80)
  })
})
