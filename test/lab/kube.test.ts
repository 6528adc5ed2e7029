// The Kubernetes lab against the real @kubernetes/client-node 1.4 over HTTPS/WebSocket.
import {mkdtempSync, readFileSync} from 'node:fs'
import net from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {PassThrough, Writable} from 'node:stream'

import * as k8s from '@kubernetes/client-node'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {startLab} from '../../src/lab/index.js'
import {type KubeLab, startKubeLab} from '../../src/lab/kube/index.js'
import {getScenario} from '../../src/lab/scenarios.js'

function client(kubeconfig: string) {
  const kc = new k8s.KubeConfig()
  kc.loadFromString(kubeconfig)
  return {kc, core: kc.makeApiClient(k8s.CoreV1Api), apps: kc.makeApiClient(k8s.AppsV1Api), discovery: kc.makeApiClient(k8s.DiscoveryV1Api), authz: kc.makeApiClient(k8s.AuthorizationV1Api), version: kc.makeApiClient(k8s.VersionApi)}
}

async function apiError(p: Promise<unknown>): Promise<{code: number; body: any}> {
  try {
    await p
  } catch (e: any) {
    let body: any = e.body
    try {
      body = typeof body === 'string' && body ? JSON.parse(body) : body
    } catch {}
    return {code: e.code, body}
  }
  throw new Error('expected the call to fail')
}

function sink() {
  let text = ''
  const w = new Writable({write(c, _e, cb) { text += c.toString(); cb() }})
  return {w, text: () => text}
}

/** Runs a command through client-node's Exec and waits for the socket to close (client-node 1.4 Exec). */
async function exec(kc: k8s.KubeConfig, ns: string, pod: string, container: string | undefined, cmd: string[]) {
  const out = sink()
  const err = sink()
  let status: any
  const ws = await new k8s.Exec(kc).exec(ns, pod, container as string, cmd, out.w, err.w, null, false, (s) => (status = s))
  await new Promise<void>((resolve) => (ws.readyState === ws.CLOSED ? resolve() : ws.on('close', () => resolve())))
  return {stdout: out.text(), stderr: err.text(), status}
}

const exitCode = (status: any) => (status?.status === 'Success' ? 0 : Number(status?.details?.causes?.find((c: any) => c.reason === 'ExitCode')?.message ?? NaN))

describe('kube lab: healthy scenario', () => {
  let lab: KubeLab
  let c: ReturnType<typeof client>
  const NS = 'kube-system'

  beforeAll(async () => {
    lab = await startKubeLab(getScenario('healthy')!, {tokens: {'no-rights': []}})
    c = client(lab.kubeconfig())
  })
  afterAll(() => lab?.stop())

  it('serves /version and the kubeconfig the client-node loads', async () => {
    const v = await c.version.getCode()
    expect(v.gitVersion).toBe('v1.31.4')
    expect(v.minor).toBe('31')
    expect(lab.kubeconfig()).toContain('certificate-authority-data:')
    expect(lab.kubeconfig()).toContain('current-context: tetractl-lab')
  })

  it('lists pods with equality and set-based label selectors', async () => {
    const agents = await c.core.listNamespacedPod({namespace: NS, labelSelector: 'app.kubernetes.io/name=tetragon'})
    expect(agents.items).toHaveLength(3)
    expect(agents.items.map((p) => p.spec!.nodeName).sort()).toEqual(['node-1', 'node-2', 'node-3'])
    for (const p of agents.items) {
      expect(p.metadata!.name).toMatch(/^tetragon-[bcdfghjklmnpqrstvwxz2456789]{5}$/)
      expect(p.status!.podIP).toBe(p.status!.hostIP)
      expect(p.spec!.dnsPolicy).toBe('Default')
      expect(p.spec!.containers.map((x) => x.name)).toEqual(['export-stdout', 'tetragon'])
      // Items of a List carry no kind/apiVersion, as the API server sends them.
      expect((p as any).kind).toBeUndefined()
    }
    const both = await c.core.listNamespacedPod({namespace: NS, labelSelector: 'app.kubernetes.io/name in (tetragon, tetragon-operator)'})
    expect(both.items).toHaveLength(4)
    const notAgent = await c.core.listNamespacedPod({namespace: NS, labelSelector: 'app.kubernetes.io/part-of=tetragon,app.kubernetes.io/name!=tetragon'})
    expect(notAgent.items.map((p) => p.metadata!.labels!['app.kubernetes.io/name'])).toEqual(['tetragon-operator'])
    const dns = await c.core.listNamespacedPod({namespace: NS, labelSelector: 'k8s-app,!app'})
    expect(dns.items).toHaveLength(2)
    const notin = await c.core.listPodForAllNamespaces({labelSelector: 'app notin (elastic-agent),k8s-app notin (kube-dns)'})
    expect(notin.items).toHaveLength(4)
    const onNode = await c.core.listNamespacedPod({namespace: NS, labelSelector: 'app.kubernetes.io/name=tetragon', fieldSelector: 'spec.nodeName=node-2'})
    expect(onNode.items).toHaveLength(1)
    const bad = await apiError(c.core.listNamespacedPod({namespace: NS, fieldSelector: 'spec.bogus=x'}))
    expect(bad.code).toBe(400)
    expect(bad.body.message).toBe('field label not supported: spec.bogus')
  })

  it('renders the chart: DaemonSet status, ConfigMap, Services and their EndpointSlices', async () => {
    const ds = await c.apps.readNamespacedDaemonSet({name: 'tetragon', namespace: NS})
    expect(ds.spec!.selector.matchLabels).toEqual({'app.kubernetes.io/name': 'tetragon', 'app.kubernetes.io/instance': 'tetragon'})
    expect(ds.metadata!.labels!['app.kubernetes.io/component']).toBe('agent')
    expect(ds.status).toMatchObject({desiredNumberScheduled: 3, numberReady: 3, numberAvailable: 3})
    const cm = await c.core.readNamespacedConfigMap({name: 'tetragon-config', namespace: NS})
    expect(cm.data!['server-address']).toBe('0.0.0.0:54321')
    expect(cm.data!['export-filename']).toBe('/var/run/cilium/tetragon/tetragon.log')
    const svc = await c.core.readNamespacedService({name: 'tetragon-grpc', namespace: NS})
    expect(svc.spec!.clusterIP).toMatch(/^10\.(9[6-9]|10\d|11[01])\./)
    const slices = await c.discovery.listNamespacedEndpointSlice({namespace: NS, labelSelector: 'kubernetes.io/service-name=tetragon-grpc'})
    expect(slices.items).toHaveLength(1)
    expect(slices.items[0]!.endpoints.filter((e) => e.conditions!.ready)).toHaveLength(3)
    expect(slices.items[0]!.ports![0]).toMatchObject({name: 'grpc', port: 54321, protocol: 'TCP'})
  })

  it('404 comes back as a Status body', async () => {
    const e = await apiError(c.core.readNamespacedService({name: 'nope', namespace: NS}))
    expect(e.code).toBe(404)
    expect(e.body).toEqual({kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'services "nope" not found', reason: 'NotFound', details: {name: 'nope', kind: 'services'}, code: 404})
    const ds = await apiError(c.apps.readNamespacedDaemonSet({name: 'nope', namespace: NS}))
    expect(ds.body.message).toBe('daemonsets.apps "nope" not found')
  })

  it('401 for an unknown token', async () => {
    const bad = client(lab.kubeconfig('tetractl-lab', {token: 'wrong-token'}))
    const e = await apiError(bad.core.listNamespace())
    expect(e.code).toBe(401)
  })

  it('a token without rights: 403 on resources, discovery still readable, SSAR answers', async () => {
    const none = client(lab.kubeconfig('tetractl-lab', {token: 'no-rights'}))
    const e = await apiError(none.core.listNamespacedPod({namespace: NS}))
    expect(e.code).toBe(403)
    expect(e.body.message).toBe('pods is forbidden: User "system:serviceaccount:default:extra-1" cannot list resource "pods" in API group "" in the namespace "kube-system"')
    expect(e.body.details).toEqual({kind: 'pods'})
    expect((await none.version.getCode()).gitVersion).toBe('v1.31.4')
    const r = await none.authz.createSelfSubjectAccessReview({body: {spec: {resourceAttributes: {verb: 'list', resource: 'pods', namespace: NS}}}})
    expect(r.status!.allowed).toBe(false)
  })

  it('exec whoami: stdout and Success status', async () => {
    const pods = await c.core.listNamespacedPod({namespace: NS, labelSelector: 'app.kubernetes.io/name=tetragon'})
    const r = await exec(c.kc, NS, pods.items[0]!.metadata!.name!, 'tetragon', ['whoami'])
    expect(r.stdout).toBe('root\n')
    expect(r.status).toEqual({metadata: {}, status: 'Success'})
  })

  it('exec: an unknown binary fails to start (runtime error); through sh it exits 127', async () => {
    const pod = (await c.core.listNamespacedPod({namespace: NS, labelSelector: 'app=elastic-agent'})).items[0]!.metadata!.name!
    const direct = await exec(c.kc, NS, pod, undefined, ['no-such-binary'])
    expect(direct.status.status).toBe('Failure')
    expect(direct.status.reason).toBe('InternalError')
    expect(direct.status.message).toMatch(/exec: "no-such-binary": executable file not found in \$PATH: unknown$/)
    const viaSh = await exec(c.kc, NS, pod, undefined, ['sh', '-c', 'no-such-binary --version'])
    expect(exitCode(viaSh.status)).toBe(127)
    expect(viaSh.status.reason).toBe('NonZeroExitCode')
    expect(viaSh.stderr).toBe('sh: 1: no-such-binary: not found\n')
  })

  it('exec without container on a two-container pod is refused (400)', async () => {
    const pod = (await c.core.listNamespacedPod({namespace: NS, labelSelector: 'app.kubernetes.io/name=tetragon'})).items[0]!.metadata!.name!
    await expect(exec(c.kc, NS, pod, undefined, ['whoami'])).rejects.toThrow(/Unexpected server response: 400/)
    await expect(exec(c.kc, NS, 'tetragon-zzzzz', 'tetragon', ['whoami'])).rejects.toThrow(/Unexpected server response: 404/)
  })

  it('DNS: ClusterFirstWithHostNet resolves the Service; dnsPolicy Default does not', async () => {
    const svc = await c.core.readNamespacedService({name: 'tetragon-grpc', namespace: NS})
    const ea = (await c.core.listNamespacedPod({namespace: NS, labelSelector: 'app=elastic-agent'})).items[0]!.metadata!.name!
    const ok = await exec(c.kc, NS, ea, 'elastic-agent', ['getent', 'hosts', 'tetragon-grpc.kube-system.svc.cluster.local'])
    expect(ok.stdout).toBe(`${svc.spec!.clusterIP!.padEnd(15)} tetragon-grpc.kube-system.svc.cluster.local\n`)
    expect(exitCode(ok.status)).toBe(0)
    const short = await exec(c.kc, NS, ea, 'elastic-agent', ['getent', 'hosts', 'tetragon-grpc'])
    expect(short.stdout).toContain(svc.spec!.clusterIP!)
    const wrongNs = await exec(c.kc, NS, ea, 'elastic-agent', ['getent', 'hosts', 'tetragon-grpc.monitoring.svc.cluster.local'])
    expect(exitCode(wrongNs.status)).toBe(2)
    const ag = (await c.core.listNamespacedPod({namespace: NS, labelSelector: 'app.kubernetes.io/name=tetragon'})).items[0]!.metadata!.name!
    const fail = await exec(c.kc, NS, ag, 'tetragon', ['getent', 'hosts', 'tetragon-grpc.kube-system.svc.cluster.local'])
    expect(fail.stdout).toBe('')
    expect(exitCode(fail.status)).toBe(2)
    const resolv = await exec(c.kc, NS, ea, 'elastic-agent', ['cat', '/etc/resolv.conf'])
    expect(resolv.stdout).toBe('search kube-system.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n')
  })

  it('port-forward bridges to a real listener on the node loopback; Service traffic does not reach it', async () => {
    const echo = net.createServer((s) => s.pipe(s))
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()))
    const port = (echo.address() as net.AddressInfo).port
    const off = lab.network.listen('127.0.0.1@node-1', 54321, {host: '127.0.0.1', port})
    try {
      const agent = (await c.core.listNamespacedPod({namespace: NS, labelSelector: 'app.kubernetes.io/name=tetragon', fieldSelector: 'spec.nodeName=node-1'})).items[0]!.metadata!.name!
      const input = new PassThrough()
      const out = sink()
      const ws = await new k8s.PortForward(c.kc).portForward(NS, agent, [54321], out.w, null, input)
      input.write('hello through the tunnel')
      await vi_waitFor(() => out.text() === 'hello through the tunnel')
      expect(out.text()).toBe('hello through the tunnel')
      ;(ws as any).close()
      // The collector's path (Service → node IP:54321) is refused: loopback only.
      const ea = (await c.core.listNamespacedPod({namespace: NS, labelSelector: 'app=elastic-agent'})).items[0]!.metadata!.name!
      const nc = await exec(c.kc, NS, ea, 'elastic-agent', ['nc', '-z', '-v', '-w', '2', 'tetragon-grpc.kube-system.svc.cluster.local', '54321'])
      expect(exitCode(nc.status)).toBe(1)
      expect(nc.stderr).toMatch(/port 54321 \(tcp\) failed: Connection refused/)
      // From the agent pod itself (host network), localhost works.
      const local = await exec(c.kc, NS, agent, 'tetragon', ['nc', '-z', '-w', '2', 'localhost', '54321'])
      expect(exitCode(local.status)).toBe(0)
    } finally {
      off()
      await new Promise((r) => echo.close(r))
    }
  })

  it('port-forward to a closed port writes the runtime error on the error channel', async () => {
    const agent = (await c.core.listNamespacedPod({namespace: NS, labelSelector: 'app.kubernetes.io/name=tetragon'})).items[0]!.metadata!.name!
    const out = sink()
    const err = sink()
    const ws = await new k8s.PortForward(c.kc).portForward(NS, agent, [54321], out.w, err.w, new PassThrough())
    await new Promise<void>((resolve) => ((ws as any).readyState === 3 ? resolve() : (ws as any).on('close', () => resolve())))
    expect(err.text()).toMatch(/^error forwarding port 54321 to pod [0-9a-f]{64}, uid : failed to execute portforward in network namespace "host": failed to connect to localhost:54321 inside namespace "[0-9a-f]{64}", IPv4: dial tcp4 127\.0\.0\.1:54321: connect: connection refused IPv6 dial tcp6: address localhost: no suitable address $/)
  })

  it('pod proxy reaches a registered handler; nothing listening → 503', async () => {
    const pod = (await c.core.listNamespacedPod({namespace: NS, labelSelector: 'app.kubernetes.io/name=tetragon'})).items[1]!
    const off = lab.proxy.register(pod.status!.podIP!, 2112, (req) => ({status: 200, headers: {'content-type': 'text/plain'}, body: `tetragon_build_info 1 ${req.path}\n`}))
    try {
      const text = await c.core.connectGetNamespacedPodProxyWithPath({name: `${pod.metadata!.name}:2112`, namespace: NS, path: 'metrics'})
      expect(text).toBe('tetragon_build_info 1 /metrics\n')
    } finally {
      off()
    }
    const e = await apiError(c.core.connectGetNamespacedPodProxyWithPath({name: `${pod.metadata!.name}:2112`, namespace: NS, path: 'metrics'}))
    expect(e.code).toBe(503)
    expect(e.body.message).toBe(`error trying to reach service: dial tcp ${pod.status!.podIP}:2112: connect: connection refused`)
  })

  it('pod logs: container required, tailLines, follow', async () => {
    const pod = (await c.core.listNamespacedPod({namespace: NS, labelSelector: 'app.kubernetes.io/name=tetragon'})).items[0]!.metadata!.name!
    lab.logs.set(NS, pod, 'export-stdout', ['{"a":1}', '{"a":2}', '{"a":3}'])
    expect(await c.core.readNamespacedPodLog({name: pod, namespace: NS, container: 'export-stdout', tailLines: 2})).toBe('{"a":2}\n{"a":3}\n')
    const e = await apiError(c.core.readNamespacedPodLog({name: pod, namespace: NS}))
    expect(e.code).toBe(400)
    expect(e.body.message).toBe(`a container name must be specified for pod ${pod}, choose one of: [export-stdout tetragon]`)
    const out = sink()
    const ctl = await new k8s.Log(c.kc).log(NS, pod, 'export-stdout', out.w, {follow: true, tailLines: 1})
    await vi_waitFor(() => out.text() === '{"a":3}\n')
    lab.logs.append(NS, pod, 'export-stdout', ['{"a":4}'])
    await vi_waitFor(() => out.text() === '{"a":3}\n{"a":4}\n')
    expect(out.text()).toBe('{"a":3}\n{"a":4}\n')
    ctl.abort()
  })

  it('server-side apply: a second manager changing an owned field conflicts (409) unless forced', async () => {
    const base = {apiVersion: 'v1', kind: 'Service', metadata: {name: 'applied', namespace: 'default'}, spec: {selector: {app: 'one'}, ports: [{port: 80}]}}
    const opts = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply)
    const created = await c.core.patchNamespacedService({name: 'applied', namespace: 'default', body: base, fieldManager: 'first'}, opts)
    expect(created.metadata!.managedFields![0]).toMatchObject({manager: 'first', operation: 'Apply'})
    const other = {...base, spec: {...base.spec, selector: {app: 'two'}}}
    const e = await apiError(c.core.patchNamespacedService({name: 'applied', namespace: 'default', body: other, fieldManager: 'second'}, opts))
    expect(e.code).toBe(409)
    expect(e.body.reason).toBe('Conflict')
    expect(e.body.message).toBe('Apply failed with 1 conflict: conflict with "first": .spec.selector')
    expect(e.body.details.causes).toEqual([{reason: 'FieldManagerConflict', message: 'conflict with "first"', field: '.spec.selector'}])
    const forced = await c.core.patchNamespacedService({name: 'applied', namespace: 'default', body: other, fieldManager: 'second', force: true}, opts)
    expect(forced.spec!.selector).toEqual({app: 'two'})
    const merged = await c.core.patchNamespacedService({name: 'applied', namespace: 'default', body: {metadata: {labels: {x: 'y'}}}}, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch))
    expect(merged.metadata!.labels).toEqual({x: 'y'})
    await c.core.deleteNamespacedService({name: 'applied', namespace: 'default'})
    expect((await apiError(c.core.readNamespacedService({name: 'applied', namespace: 'default'}))).code).toBe(404)
  })

  it('logs every request with its Kubernetes verb and a token label, never the token', async () => {
    lab.clearRequests()
    await c.core.listNamespacedPod({namespace: NS, labelSelector: 'app.kubernetes.io/name=tetragon'})
    const pod = (await c.core.listNamespacedPod({namespace: NS, labelSelector: 'app=elastic-agent'})).items[0]!.metadata!.name!
    await c.core.readNamespacedPod({name: pod, namespace: NS})
    await exec(c.kc, NS, pod, undefined, ['true'])
    await c.core.createNamespacedConfigMap({namespace: 'default', body: {metadata: {name: 'logged'}, data: {a: 'b'}}})
    await c.core.deleteNamespacedConfigMap({name: 'logged', namespace: 'default'})
    await apiError(client(lab.kubeconfig('x', {token: 'no-rights'})).core.listNode())
    const log = lab.requests()
    expect(log.map((r) => [r.verb, r.resource, r.subresource, r.status])).toEqual([
      ['list', 'pods', '', 200],
      ['list', 'pods', '', 200],
      ['get', 'pods', '', 200],
      ['connect', 'pods', 'exec', 101],
      ['create', 'configmaps', '', 201],
      ['delete', 'configmaps', '', 200],
      ['list', 'nodes', '', 403],
    ])
    expect(log[0]!.query).toEqual({labelSelector: 'app.kubernetes.io/name=tetragon'})
    expect(log[2]).toMatchObject({method: 'GET', namespace: NS, name: pod, apiGroup: '', token: 'sandbox'})
    expect(log[6]!.token).toBe('extra-1')
    expect(log.every((r) => r.seq > 0 && r.startedAt <= (r.finishedAt ?? Infinity))).toBe(true)
    expect(JSON.stringify(log)).not.toContain(lab.token)
  })
})

describe('kube lab: other scenarios', () => {
  it('rbac-limited: 403 on EndpointSlices and pods/exec, SSAR answers from the same rules', async () => {
    const lab = await startKubeLab(getScenario('rbac-limited')!)
    try {
      const c = client(lab.kubeconfig())
      const e = await apiError(c.discovery.listNamespacedEndpointSlice({namespace: 'kube-system'}))
      expect(e.code).toBe(403)
      expect(e.body.message).toBe('endpointslices.discovery.k8s.io is forbidden: User "system:serviceaccount:kube-system:tetractl" cannot list resource "endpointslices" in API group "discovery.k8s.io" in the namespace "kube-system"')
      expect(e.body.details).toEqual({group: 'discovery.k8s.io', kind: 'endpointslices'})
      expect((await c.core.listNamespacedPod({namespace: 'kube-system'})).items.length).toBeGreaterThan(0)
      const ssar = (verb: string, resource: string, subresource?: string) =>
        c.authz.createSelfSubjectAccessReview({body: {spec: {resourceAttributes: {verb, resource, subresource, namespace: 'kube-system'}}}})
      expect((await ssar('create', 'pods', 'exec')).status!.allowed).toBe(false)
      expect((await ssar('list', 'pods')).status).toMatchObject({allowed: true, reason: expect.stringMatching(/^RBAC: allowed by ClusterRoleBinding/)})
      const pod = (await c.core.listNamespacedPod({namespace: 'kube-system', labelSelector: 'app=elastic-agent'})).items[0]!.metadata!.name!
      await expect(exec(c.kc, 'kube-system', pod, undefined, ['whoami'])).rejects.toThrow(/Unexpected server response: 403/)
    } finally {
      await lab.stop()
    }
  })

  it('rbac-no-portforward: the WebSocket port-forward upgrade is refused with the apiserver\'s 403 Status, exec and proxies are not', async () => {
    const lab = await startKubeLab(getScenario('rbac-no-portforward')!)
    try {
      const c = client(lab.kubeconfig())
      const agent = (await c.core.listNamespacedPod({namespace: 'kube-system', labelSelector: 'app.kubernetes.io/name=tetragon'})).items[0]!.metadata!.name!
      const https = await import('node:https')
      // A WebSocket upgrade is a GET: before 1.35 it is authorized as `get` on pods/portforward (the lab runs v1.31.4).
      const refused = await new Promise<{status: number; body: any}>((resolve, reject) => {
        const req = https.request(`${lab.url}/api/v1/namespaces/kube-system/pods/${agent}/portforward?ports=54321`, {
          ca: Buffer.from(lab.caData, 'base64'),
          headers: {authorization: `Bearer ${lab.token}`, connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-protocol': 'v4.channel.k8s.io'},
        })
        req.on('response', (res) => {
          let t = ''
          res.on('data', (d) => (t += d))
          res.on('end', () => resolve({status: res.statusCode!, body: JSON.parse(t)}))
        })
        req.on('upgrade', () => reject(new Error('the upgrade was accepted')))
        req.on('error', reject)
        req.end()
      })
      expect(refused.status).toBe(403)
      expect(refused.body).toMatchObject({
        kind: 'Status',
        status: 'Failure',
        reason: 'Forbidden',
        code: 403,
        message: `pods "${agent}" is forbidden: User "system:serviceaccount:kube-system:tetractl" cannot get resource "pods/portforward" in API group "" in the namespace "kube-system"`,
        details: {name: agent, kind: 'pods'},
      })
      // client-node surfaces the refusal only as the HTTP code, without the body.
      const out = sink()
      await expect(new k8s.PortForward(c.kc).portForward('kube-system', agent, [54321], out.w, null, new PassThrough())).rejects.toThrow(/Unexpected server response: 403/)
      const ssar = (verb: string, resource: string, subresource?: string) =>
        c.authz.createSelfSubjectAccessReview({body: {spec: {resourceAttributes: {verb, resource, subresource, namespace: 'kube-system'}}}})
      expect((await ssar('get', 'pods', 'portforward')).status!.allowed).toBe(false)
      expect((await ssar('get', 'pods', 'proxy')).status!.allowed).toBe(true)
      expect((await ssar('get', 'services', 'proxy')).status!.allowed).toBe(true)
      const ea = (await c.core.listNamespacedPod({namespace: 'kube-system', labelSelector: 'app=elastic-agent'})).items[0]!.metadata!.name!
      expect(exitCode((await exec(c.kc, 'kube-system', ea, 'elastic-agent', ['whoami'])).status)).toBe(0)
    } finally {
      await lab.stop()
    }
  })

  it('no-endpoints and selector-mismatch: EndpointSlices tell not-ready from none', async () => {
    const a = await startKubeLab(getScenario('no-endpoints')!)
    const b = await startKubeLab(getScenario('selector-mismatch')!)
    try {
      const ca = client(a.kubeconfig())
      const sa = (await ca.discovery.listNamespacedEndpointSlice({namespace: 'kube-system', labelSelector: 'kubernetes.io/service-name=tetragon-grpc'})).items[0]!
      expect(sa.endpoints).toHaveLength(3)
      expect(sa.endpoints.every((e) => e.conditions!.ready === false && e.conditions!.serving === false && e.conditions!.terminating === false)).toBe(true)
      expect((await ca.apps.readNamespacedDaemonSet({name: 'tetragon', namespace: 'kube-system'})).status).toMatchObject({numberReady: 0, numberUnavailable: 3})
      const ep = await ca.core.readNamespacedEndpoints({name: 'tetragon-grpc', namespace: 'kube-system'})
      expect(ep.subsets![0]!.addresses).toBeUndefined()
      expect(ep.subsets![0]!.notReadyAddresses).toHaveLength(3)
      // The raw slice of a selector matching nothing has `endpoints: null`, not [].
      const res = await fetchJson(b, '/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dtetragon-grpc')
      expect(res.items).toHaveLength(1)
      expect(res.items[0].endpoints).toBeNull()
    } finally {
      await Promise.all([a.stop(), b.stop()])
    }
  })

  it('large-cluster: limit/continue pagination over 5,000 nodes; Endpoints truncated, slices complete', async () => {
    const lab = await startKubeLab(getScenario('large-cluster')!)
    try {
      const c = client(lab.kubeconfig())
      const names = new Set<string>()
      const ips = new Set<string>()
      let cont: string | undefined
      let pages = 0
      let firstRemaining: number | undefined
      do {
        const page = await c.core.listNode({limit: 500, _continue: cont})
        if (pages === 0) firstRemaining = page.metadata!.remainingItemCount
        pages++
        for (const n of page.items) {
          names.add(n.metadata!.name!)
          ips.add(n.status!.addresses!.find((a) => a.type === 'InternalIP')!.address)
        }
        cont = page.metadata!._continue
      } while (cont)
      expect(pages).toBe(10)
      expect(firstRemaining).toBe(4500)
      expect(names.size).toBe(5000)
      expect(ips.size).toBe(5000)
      const ep = await c.core.readNamespacedEndpoints({name: 'tetragon-grpc', namespace: 'kube-system'})
      expect(ep.metadata!.annotations!['endpoints.kubernetes.io/over-capacity']).toBe('truncated')
      expect(ep.subsets![0]!.addresses).toHaveLength(1000)
      const slices = await c.discovery.listNamespacedEndpointSlice({namespace: 'kube-system', labelSelector: 'kubernetes.io/service-name=tetragon-grpc'})
      expect(slices.items.reduce((n, s) => n + s.endpoints.filter((e) => e.conditions!.ready).length, 0)).toBe(5000)
      const bad = await apiError(c.core.listNode({limit: 10, _continue: 'garbage'}))
      expect(bad.code).toBe(400)
    } finally {
      await lab.stop()
    }
  })

  it('startLab writes DIR/kubeconfig and DIR/env', async () => {
    const spec = getScenario('dns-wrong-namespace')!
    const lab = await startLab(spec)
    try {
      const dir = mkdtempSync(join(tmpdir(), 'kube-lab-'))
      await lab.writeFiles(dir)
      const env = readFileSync(join(dir, 'env'), 'utf8')
      expect(env).toContain(`export KUBECONFIG='${join(dir, 'kubeconfig')}'`)
      expect(env).toContain("export TETRACTL_COLLECTOR_ADDRESS='tetragon-grpc.monitoring.svc.cluster.local:54321'")
      const kc = new k8s.KubeConfig()
      kc.loadFromFile(join(dir, 'kubeconfig'))
      const ns = await kc.makeApiClient(k8s.CoreV1Api).readNamespace({name: 'monitoring'})
      expect(ns.status!.phase).toBe('Active')
    } finally {
      await lab.stop()
    }
  })

  it('hang: accepts connections and never answers', async () => {
    const lab = await startKubeLab(getScenario('healthy')!, {hang: true})
    try {
      const c = client(lab.kubeconfig())
      const r = await Promise.race([c.core.listNamespace().then(() => 'answered', () => 'failed'), new Promise((res) => setTimeout(() => res('pending'), 500))])
      expect(r).toBe('pending')
    } finally {
      await lab.stop()
    }
  })
})

async function fetchJson(lab: KubeLab, path: string): Promise<any> {
  const https = await import('node:https')
  return new Promise((resolve, reject) => {
    https.get(`${lab.url}${path}`, {ca: Buffer.from(lab.caData, 'base64'), headers: {authorization: `Bearer ${lab.token}`}}, (res) => {
      let t = ''
      res.on('data', (d) => (t += d))
      res.on('end', () => resolve(JSON.parse(t)))
    }).on('error', reject)
  })
}

async function vi_waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) return
    await new Promise((r) => setTimeout(r, 10))
  }
}
