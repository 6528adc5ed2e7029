// Debian's kubectl 1.20 (a client the project did not write) against the lab, as a sandbox user runs it after
// `tetractl sandbox start`. kubectl asks for meta.k8s.io Tables, /openapi/v2 (protobuf) for validation, and
// speaks SPDY for exec/port-forward.
import {spawn} from 'node:child_process'
import {existsSync} from 'node:fs'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {KUBECTL, type Sandbox, clientAvailable, kubectl, startSandbox} from './support.js'

const available = clientAvailable('kubectl', () => existsSync(KUBECTL))

describe.skipIf(!available)('kubectl', () => {
  let sb: Sandbox
  beforeAll(async () => {
    sb = await startSandbox()
  })
  afterAll(() => sb?.stop())

  const ok = async (args: string[], input?: string) => {
    const r = await kubectl(sb, args, input)
    expect(r.stderr, `kubectl ${args.join(' ')}`).not.toMatch(/error|Error/)
    expect(r.code, r.stderr).toBe(0)
    return r.stdout
  }

  it('version reaches the server', async () => {
    const v = JSON.parse(await ok(['version', '-o', 'json']))
    expect(v.serverVersion.gitVersion).toMatch(/^v1\./)
  })

  it('get pods -A prints the Table columns of the pod printer', async () => {
    const out = await ok(['get', 'pods', '-A'])
    const [header, ...rows] = out.trim().split('\n')
    expect(header!.split(/\s{2,}/)).toEqual(['NAMESPACE', 'NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'])
    const agent = rows.find((r) => /^kube-system\s+tetragon-[a-z0-9]{5}\s/.test(r))
    expect(agent).toMatch(/\s2\/2\s+Running\s+0\s+\d+[smhdy]/)
  })

  it('get pods -o wide adds the priority-1 columns', async () => {
    const out = await ok(['get', 'pods', '-n', 'kube-system', '-o', 'wide', '-l', 'app.kubernetes.io/name=tetragon'])
    expect(out.split('\n')[0]!.split(/\s{2,}/)).toEqual(['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE', 'NOMINATED NODE', 'READINESS GATES'])
    expect(out.trim().split('\n')).toHaveLength(4)
  })

  it('get with a label selector and pagination (--chunk-size) returns every pod once', async () => {
    const all = await ok(['get', 'pods', '-A', '-o', 'name'])
    const chunked = await ok(['get', 'pods', '-A', '-o', 'name', '--chunk-size=2'])
    expect(chunked.trim().split('\n').sort()).toEqual(all.trim().split('\n').sort())
    const sel = await ok(['get', 'pods', '-n', 'kube-system', '-l', 'app.kubernetes.io/name in (tetragon)', '-o', 'name'])
    expect(sel.trim().split('\n')).toHaveLength(3)
  })

  it('get daemonsets, services, nodes print their printers\' columns', async () => {
    expect((await ok(['get', 'ds', '-n', 'kube-system'])).split('\n')[0]!.split(/\s{2,}/)).toEqual(['NAME', 'DESIRED', 'CURRENT', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'NODE SELECTOR', 'AGE'])
    expect((await ok(['get', 'svc', '-n', 'default'])).split('\n')[0]!.split(/\s{2,}/)).toEqual(['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE'])
    expect((await ok(['get', 'nodes'])).split('\n')[0]!.split(/\s{2,}/)).toEqual(['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION'])
  })

  it('get events answers (an empty list is "No resources found")', async () => {
    const r = await kubectl(sb, ['get', 'events', '-n', 'default'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout + r.stderr).toMatch(/No resources found in default namespace|LAST SEEN/)
  })

  it('describe pod shows status, containers and the events section', async () => {
    const name = (await ok(['get', 'pods', '-n', 'kube-system', '-l', 'app.kubernetes.io/name=tetragon', '-o', 'jsonpath={.items[0].metadata.name}'])).trim()
    const out = await ok(['describe', 'pod', '-n', 'kube-system', name])
    expect(out).toMatch(/^Status:\s+Running$/m)
    expect(out).toMatch(/^Containers:$/m)
    expect(out).toMatch(/^Events:/m)
  })

  it('logs of the agent container', async () => {
    const name = (await ok(['get', 'pods', '-n', 'kube-system', '-l', 'app.kubernetes.io/name=tetragon', '-o', 'jsonpath={.items[0].metadata.name}'])).trim()
    const out = await ok(['logs', '-n', 'kube-system', name, '-c', 'tetragon', '--tail=5'])
    expect(out.trim().split('\n').length).toBeGreaterThan(0)
  })

  it('auth can-i and can-i --list (SelfSubjectAccessReview / SelfSubjectRulesReview)', async () => {
    expect((await ok(['auth', 'can-i', 'list', 'pods', '-A'])).trim()).toBe('yes')
    const list = await ok(['auth', 'can-i', '--list'])
    expect(list.split('\n')[0]!.split(/\s{2,}/)).toEqual(['Resources', 'Non-Resource URLs', 'Resource Names', 'Verbs'])
    expect(list).toMatch(/^\*\.\*\s+\[\]\s+\[\]\s+\[\*\]/m)
  })

  it('impersonation (--as) is authorized and then acts as the impersonated user', async () => {
    const r = await kubectl(sb, ['get', 'secrets', '-n', 'default', '--as', 'nobody'])
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain('secrets is forbidden: User "nobody" cannot list resource "secrets" in API group "" in the namespace "default"')
    expect((await kubectl(sb, ['auth', 'can-i', 'list', 'secrets', '--as', 'nobody'])).stdout.trim()).toBe('no')
    expect((await ok(['auth', 'can-i', 'list', 'secrets', '--as', 'nobody', '--as-group', 'system:masters'])).trim()).toBe('yes')
  })

  const svc = (labels: string) => `apiVersion: v1
kind: Service
metadata:
  name: conf-svc
  namespace: default
  labels: {${labels}}
spec:
  selector: {app: conf}
  ports:
  - port: 8080
`

  it('apply --server-side --dry-run=server validates against OpenAPI and persists nothing', async () => {
    const out = await ok(['apply', '--server-side', '--dry-run=server', '-f', '-'], svc('audit: "yes"'))
    expect(out.trim()).toBe('service/conf-svc serverside-applied (server dry run)')
    const r = await kubectl(sb, ['get', 'svc', 'conf-svc', '-n', 'default'])
    expect(r.stderr).toContain('NotFound')
  })

  it('apply --server-side creates with defaults and a FieldsV1 managedFields entry', async () => {
    expect((await ok(['apply', '--server-side', '-f', '-'], svc('audit: "yes"'))).trim()).toBe('service/conf-svc serverside-applied')
    const o = JSON.parse(await ok(['get', 'svc', 'conf-svc', '-n', 'default', '-o', 'json']))
    expect(o.spec).toMatchObject({type: 'ClusterIP', sessionAffinity: 'None', ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack', ports: [{port: 8080, protocol: 'TCP', targetPort: 8080}]})
    expect(o.spec.clusterIP).toMatch(/^10\./)
    expect(o.metadata).not.toHaveProperty(['labels.audit'])
    const mine = o.metadata.managedFields.find((m: any) => m.manager === 'kubectl')
    expect(mine.operation).toBe('Apply')
    expect(mine.fieldsV1['f:metadata']['f:labels']).toEqual({'f:audit': {}})
  })

  it('apply refuses an unknown field (client-side OpenAPI validation)', async () => {
    const r = await kubectl(sb, ['apply', '--server-side', '-f', '-'], svc('a: b').replace('  ports:', '  bogusField: 1\n  ports:'))
    expect(r.code).not.toBe(0)
    expect(r.stderr).toMatch(/unknown field "bogusField"/)
  })

  it('patch: merge, strategic and JSON patch', async () => {
    await ok(['create', 'configmap', 'conf-cm', '-n', 'default', '--from-literal=a=1'])
    await ok(['patch', 'configmap', 'conf-cm', '-n', 'default', '--type=merge', '-p', '{"data":{"b":"2"}}'])
    await ok(['patch', 'configmap', 'conf-cm', '-n', 'default', '--type=strategic', '-p', '{"data":{"c":"3"}}'])
    await ok(['patch', 'configmap', 'conf-cm', '-n', 'default', '--type=json', '-p', '[{"op":"remove","path":"/data/a"}]'])
    const o = JSON.parse(await ok(['get', 'cm', 'conf-cm', '-n', 'default', '-o', 'json']))
    expect(o.data).toEqual({b: '2', c: '3'})
  })

  it('rollout status returns for a rolled-out DaemonSet (watch sends its headers at once)', async () => {
    const out = await ok(['rollout', 'status', 'daemonset/tetragon', '-n', 'kube-system', '--timeout=60s'])
    expect(out).toContain('daemon set "tetragon" successfully rolled out')
  })

  it('get --watch-only from the current resourceVersion sees a change', async () => {
    const child = spawn(KUBECTL, ['get', 'cm', '-n', 'default', '--watch-only', '-o', 'name'], {env: {PATH: process.env.PATH, ...sb.env}})
    let out = ''
    child.stdout.on('data', (c) => (out += c))
    try {
      // Creates until the watch reports one (the watch may open after the first create): bounded, no timing assumption.
      for (let i = 0; i < 30 && !out.includes('configmap/conf-watch-'); i++) {
        await ok(['create', 'configmap', `conf-watch-${i}`, '-n', 'default'])
        for (let j = 0; j < 20 && !out.includes('configmap/conf-watch-'); j++) await new Promise((r) => setTimeout(r, 50))
      }
    } finally {
      child.kill()
    }
    expect(out).toMatch(/configmap\/conf-watch-\d+/)
  })

  // kubectl 1.20 upgrades exec/port-forward with SPDY/3.1; the lab speaks WebSocket only (README "Lab fidelity").
  // What is checked here is that the refusal is explicit and immediate, never a hang or a silent success.
  it('exec over SPDY is refused explicitly (the lab speaks WebSocket only)', async () => {
    const name = (await ok(['get', 'pods', '-n', 'kube-system', '-l', 'app.kubernetes.io/name=tetragon', '-o', 'jsonpath={.items[0].metadata.name}'])).trim()
    const r = await kubectl(sb, ['exec', '-n', 'kube-system', name, '-c', 'tetragon', '--', 'echo', 'hi'])
    expect(r.code).not.toBe(0)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(/upgrad/i)
  })
})
