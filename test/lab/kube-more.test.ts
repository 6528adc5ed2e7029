// Kubernetes lab: writes, custom resources, watch, the network and DNS models.
import net from 'node:net'
import {Writable} from 'node:stream'

import * as k8s from '@kubernetes/client-node'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {type KubeLab, startKubeLab} from '../../src/lab/kube/index.js'
import {getScenario} from '../../src/lab/scenarios.js'

function setup(lab: KubeLab) {
  const kc = new k8s.KubeConfig()
  kc.loadFromString(lab.kubeconfig())
  return {kc, core: kc.makeApiClient(k8s.CoreV1Api), apps: kc.makeApiClient(k8s.AppsV1Api), custom: kc.makeApiClient(k8s.CustomObjectsApi), authz: kc.makeApiClient(k8s.AuthorizationV1Api)}
}

async function run(kc: k8s.KubeConfig, ns: string, pod: string, container: string | undefined, cmd: string[]) {
  let stdout = ''
  let stderr = ''
  let status: any
  const out = new Writable({write(c, _e, cb) { stdout += c; cb() }})
  const err = new Writable({write(c, _e, cb) { stderr += c; cb() }})
  const ws = await new k8s.Exec(kc).exec(ns, pod, container as string, cmd, out, err, null, false, (s) => (status = s))
  await new Promise<void>((r) => (ws.readyState === ws.CLOSED ? r() : ws.on('close', () => r())))
  const code = status?.status === 'Success' ? 0 : Number(status?.details?.causes?.find((c: any) => c.reason === 'ExitCode')?.message)
  return {stdout, stderr, status, code}
}

async function failure(p: Promise<unknown>): Promise<{code: number; body: any}> {
  try {
    await p
  } catch (e: any) {
    return {code: e.code, body: typeof e.body === 'string' && e.body ? JSON.parse(e.body) : e.body}
  }
  throw new Error('expected a failure')
}

async function until(cond: () => boolean, ms = 3000) {
  const end = Date.now() + ms
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10))
}

describe('kube lab: writes and network', () => {
  let lab: KubeLab
  let c: ReturnType<typeof setup>
  beforeAll(async () => {
    lab = await startKubeLab(getScenario('healthy')!)
    c = setup(lab)
  })
  afterAll(() => lab?.stop())

  it('TracingPolicy (cluster) and TracingPolicyNamespaced: create, get, list, delete', async () => {
    const tp = {apiVersion: 'cilium.io/v1alpha1', kind: 'TracingPolicy', metadata: {name: 'probe-shadow'}, spec: {kprobes: [{call: 'security_file_permission', syscall: false}]}}
    const created: any = await c.custom.createClusterCustomObject({group: 'cilium.io', version: 'v1alpha1', plural: 'tracingpolicies', body: tp})
    expect(created.metadata.uid).toMatch(/^[0-9a-f-]{36}$/)
    const list: any = await c.custom.listClusterCustomObject({group: 'cilium.io', version: 'v1alpha1', plural: 'tracingpolicies'})
    expect(list.items.map((i: any) => i.metadata.name).sort()).toEqual(['connect', 'file-monitoring-filtered', 'probe-shadow'])
    const dup = await failure(c.custom.createClusterCustomObject({group: 'cilium.io', version: 'v1alpha1', plural: 'tracingpolicies', body: tp}))
    expect(dup.code).toBe(409)
    expect(dup.body.message).toBe('tracingpolicies.cilium.io "probe-shadow" already exists')
    await c.custom.deleteClusterCustomObject({group: 'cilium.io', version: 'v1alpha1', plural: 'tracingpolicies', name: 'probe-shadow'})
    const gone = await failure(c.custom.getClusterCustomObject({group: 'cilium.io', version: 'v1alpha1', plural: 'tracingpolicies', name: 'probe-shadow'}))
    expect(gone.code).toBe(404)
    const tpn = {apiVersion: 'cilium.io/v1alpha1', kind: 'TracingPolicyNamespaced', metadata: {name: 'ns-policy'}, spec: {}}
    await c.custom.createNamespacedCustomObject({group: 'cilium.io', version: 'v1alpha1', namespace: 'default', plural: 'tracingpoliciesnamespaced', body: tpn})
    const got: any = await c.custom.getNamespacedCustomObject({group: 'cilium.io', version: 'v1alpha1', namespace: 'default', plural: 'tracingpoliciesnamespaced', name: 'ns-policy'})
    expect(got.metadata.namespace).toBe('default')
  })

  it('deleting a namespace deletes what is in it', async () => {
    await c.core.createNamespace({body: {metadata: {name: 'probe'}}})
    await c.core.createNamespacedConfigMap({namespace: 'probe', body: {metadata: {name: 'x'}}})
    const missingNs = await failure(c.core.createNamespacedConfigMap({namespace: 'nowhere', body: {metadata: {name: 'x'}}}))
    expect(missingNs.body.message).toBe('namespaces "nowhere" not found')
    const del = await c.core.deleteNamespace({name: 'probe'})
    expect((del as any).status.phase).toBe('Terminating')
    expect((await failure(c.core.readNamespacedConfigMap({name: 'x', namespace: 'probe'}))).code).toBe(404)
  })

  it('watch: initial ADDED events, then MODIFIED when a pod changes', async () => {
    const events: Array<[string, string]> = []
    const ctl = await new k8s.Watch(c.kc).watch('/api/v1/namespaces/kube-system/pods', {labelSelector: 'app=elastic-agent'}, (type, obj) => events.push([type, obj.metadata.name]), () => {})
    await until(() => events.length >= 3)
    const name = events[0]![1]
    lab.store.modify('pods', 'kube-system', name, (p) => {
      p.metadata.labels!.probe = 'yes'
    })
    await until(() => events.length >= 4)
    ctl.abort()
    expect(events.slice(0, 3).every(([t]) => t === 'ADDED')).toBe(true)
    expect(events[3]).toEqual(['MODIFIED', name])
    expect(lab.requests().some((r) => r.verb === 'watch' && r.resource === 'pods')).toBe(true)
  })

  it('nc through the Service reaches a listener on the node IPs (kube-proxy model)', async () => {
    const srv = net.createServer((s) => s.end())
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()))
    const port = (srv.address() as net.AddressInfo).port
    const offs = ['node-1', 'node-2', 'node-3'].map((n) => lab.network.listen(lab.network.nodeIp(n)!, 54321, {host: '127.0.0.1', port}))
    try {
      const ea = (await c.core.listNamespacedPod({namespace: 'kube-system', labelSelector: 'app=elastic-agent'})).items[0]!.metadata!.name!
      const ok = await run(c.kc, 'kube-system', ea, undefined, ['sh', '-c', 'nc -z -v -w 2 tetragon-grpc.kube-system.svc.cluster.local 54321'])
      expect(ok.code).toBe(0)
      expect(ok.stderr).toMatch(/^Connection to tetragon-grpc\.kube-system\.svc\.cluster\.local \(10\.\d+\.\d+\.\d+\) 54321 port \[tcp\/\*\] succeeded!\n$/)
      const unknownPort = await run(c.kc, 'kube-system', ea, undefined, ['nc', '-z', '-w', '1', 'tetragon-grpc.kube-system.svc.cluster.local', '1234'])
      expect(unknownPort.code).toBe(1)
      const noName = await run(c.kc, 'kube-system', ea, undefined, ['nc', '-z', 'tetragon-grpc.monitoring.svc.cluster.local', '54321'])
      expect(noName.stderr).toBe('nc: getaddrinfo for host "tetragon-grpc.monitoring.svc.cluster.local" port 54321: Name or service not known\n')
      const r = await lab.network.connect((await c.core.readNamespacedService({name: 'tetragon-grpc', namespace: 'kube-system'})).spec!.clusterIP!, 54321)
      expect(r).toEqual({host: '127.0.0.1', port})
    } finally {
      offs.forEach((f) => f())
      await new Promise((r) => srv.close(r))
    }
  })

  it('custom exec handlers get the pod, container, argv and node', async () => {
    const seen: any[] = []
    const off = lab.exec.register('tetra', (ctx) => {
      seen.push({ns: ctx.namespace, pod: ctx.pod.metadata.name, container: ctx.container, argv: ctx.argv, node: ctx.node?.metadata.name})
      return {stdout: 'v1.7.0\n', exitCode: 0}
    })
    try {
      const pod = (await c.core.listNamespacedPod({namespace: 'kube-system', labelSelector: 'app.kubernetes.io/name=tetragon', fieldSelector: 'spec.nodeName=node-2'})).items[0]!.metadata!.name!
      const r = await run(c.kc, 'kube-system', pod, 'tetragon', ['tetra', 'version'])
      expect(r.stdout).toBe('v1.7.0\n')
      expect(seen).toEqual([{ns: 'kube-system', pod, container: 'tetragon', argv: ['tetra', 'version'], node: 'node-2'}])
      const fails = await run(c.kc, 'kube-system', pod, 'tetragon', ['sh', '-c', 'cat /nope; exit 3'])
      expect(fails.code).toBe(3)
      expect(fails.stderr).toBe('cat: /nope: No such file or directory\n')
      expect(fails.status.message).toBe('command terminated with non-zero exit code: error executing command [sh -c cat /nope; exit 3], exit code 3')
    } finally {
      off()
    }
  })

  it('SelfSubjectRulesReview lists the admin rules', async () => {
    const r = await c.authz.createSelfSubjectRulesReview({body: {spec: {namespace: 'kube-system'}}})
    expect(r.status!.resourceRules[0]).toEqual({verbs: ['*'], apiGroups: ['*'], resources: ['*']})
    expect(r.status!.incomplete).toBe(false)
  })
})

describe('kube lab: degraded clusters', () => {
  it('no ready CoreDNS: lookups time out', async () => {
    const lab = await startKubeLab({...getScenario('healthy')!, corednsReady: 0})
    try {
      const c = setup(lab)
      const ea = (await c.core.listNamespacedPod({namespace: 'kube-system', labelSelector: 'app=elastic-agent'})).items[0]!.metadata!.name!
      const r = await run(c.kc, 'kube-system', ea, undefined, ['nslookup', 'tetragon-grpc.kube-system.svc.cluster.local'])
      expect(r.code).toBe(1)
      expect(r.stdout).toBe(';; connection timed out; no servers could be reached\n\n')
      expect((await c.apps.readNamespacedDeployment({name: 'coredns', namespace: 'kube-system'})).status!.conditions![0]).toMatchObject({type: 'Available', status: 'False'})
    } finally {
      await lab.stop()
    }
  })

  it('partial-rollout: a crash-looping agent is not Ready and cannot be exec-ed into', async () => {
    const lab = await startKubeLab(getScenario('partial-rollout')!, {latencyMs: 5})
    try {
      const c = setup(lab)
      const pods = (await c.core.listNamespacedPod({namespace: 'kube-system', labelSelector: 'app.kubernetes.io/name=tetragon'})).items
      const bad = pods.filter((p) => !p.status!.conditions!.some((x) => x.type === 'Ready' && x.status === 'True'))
      expect(bad).toHaveLength(1)
      expect(bad[0]!.status!.containerStatuses!.find((s) => s.name === 'tetragon')!.state!.waiting!.reason).toBe('CrashLoopBackOff')
      await expect(run(c.kc, 'kube-system', bad[0]!.metadata!.name!, 'tetragon', ['whoami'])).rejects.toThrow(/Unexpected server response: 404/)
      const ds = await c.apps.readNamespacedDaemonSet({name: 'tetragon', namespace: 'kube-system'})
      expect(ds.status).toMatchObject({desiredNumberScheduled: 3, numberReady: 2, numberUnavailable: 1})
      const r = lab.requests()[0]!
      expect(r.finishedAt! - r.startedAt).toBeGreaterThanOrEqual(5)
    } finally {
      await lab.stop()
    }
  })
})
