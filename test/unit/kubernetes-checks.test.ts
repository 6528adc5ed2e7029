// The gRPC Service checks and tetragon.daemonset against an in-memory cluster (test/fakes/cluster.ts): every verdict
// and the command each finding prints, with no lab and no CLI. The same situations also run end to end through the
// built CLI against the lab's Kubernetes API (test/e2e/doctor-kubernetes.test.ts, the hints tests).
import {describe, expect, it} from 'vitest'

import {grpcServiceExists} from '../../src/checks/kubernetes/service-exists.js'
import {serviceHasReadyEndpoints} from '../../src/checks/kubernetes/service-endpoints.js'
import {serviceSelectsAgentPods} from '../../src/checks/kubernetes/service-selector.js'
import {tetragonDaemonSetReady} from '../../src/checks/tetragon/daemonset.js'
import type {Check} from '../../src/engine/types.js'
import type {CheckContext, DoctorOptions} from '../../src/checks/context.js'
import {agentDaemonSet, agentPod, endpointSlice, FakeCluster, fakeCheckContext, grpcService, operatorPod, type ClusterObjects} from '../fakes/cluster.js'

const pods = (n: number, notReady: number[] = []) => Array.from({length: n}, (_, i) => agentPod(i, {ready: !notReady.includes(i)}))
const ips = (n: number) => Array.from({length: n}, (_, i) => `10.0.0.${i + 1}`)

/** A healthy install: 3 agents, the gRPC Service selecting them, one ready endpoint each. */
function healthy(over: ClusterObjects = {}): ClusterObjects {
  return {daemonSets: [agentDaemonSet()], pods: pods(3), services: [grpcService()], endpointSlices: [endpointSlice({ready: ips(3)})], nodes: 3, ...over}
}

async function verdict(check: Check<CheckContext>, objects: ClusterObjects, opts: Partial<DoctorOptions> = {}) {
  const cluster = new FakeCluster(objects)
  const r = await check.run(fakeCheckContext(cluster, opts), new AbortController().signal)
  return {...r, calls: cluster.calls}
}

describe('service.exists', () => {
  it('passes with the Service\'s type and ports', async () => {
    const r = await verdict(grpcServiceExists, healthy())
    expect(r.status).toBe('pass')
    expect(r.message).toBe('Service kube-system/tetragon-grpc (ClusterIP 10.96.0.50, ports 54321→54321)')
  })

  it('fails when the chart\'s install has no gRPC Service, and prints one that selects the agents', async () => {
    const r = await verdict(grpcServiceExists, healthy({services: []}))
    expect(r.status).toBe('fail')
    expect(r.message).toContain('Service kube-system/tetragon-grpc not found')
    const manifest = JSON.parse(/^echo '(.*)' \| kubectl apply -f -$/m.exec(r.hint ?? '')![1]!)
    expect(manifest).toEqual({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {name: 'tetragon-grpc', namespace: 'kube-system'},
      spec: {selector: {'app.kubernetes.io/name': 'tetragon'}, ports: [{name: 'grpc', port: 54321, targetPort: 54321}]},
    })
  })

  it('looks in --service-namespace when given, and under --service-name', async () => {
    const svc = grpcService({namespace: 'observability', name: 'tg'})
    const r = await verdict(grpcServiceExists, healthy({services: [svc]}), {serviceNamespace: 'observability', serviceName: 'tg'})
    expect(r.status).toBe('pass')
    expect(r.calls).toContain('get service observability/tg')
  })
})

describe('service.selector', () => {
  it('passes when the selector matches every agent and nothing else', async () => {
    const r = await verdict(serviceSelectsAgentPods, healthy({pods: [...pods(3), operatorPod()]}))
    expect(r.status).toBe('pass')
    expect(r.message).toBe('Service kube-system/tetragon-grpc selects all 3 Tetragon pods (app.kubernetes.io/name=tetragon)')
    // The strangers are asked for with one narrow selector, not by listing the namespace.
    expect(r.calls).toContain('list pods kube-system app.kubernetes.io/name=tetragon,app.kubernetes.io/name!=tetragon')
  })

  it('fails on a selector that matches no agent, and the patch removes the wrong key', async () => {
    const r = await verdict(serviceSelectsAgentPods, healthy({services: [grpcService({selector: {app: 'tetragon'}})]}))
    expect(r.status).toBe('fail')
    expect(r.message).toMatch(/selector app=tetragon matches none of the 3 Tetragon pods.*use app\.kubernetes\.io\/name=tetragon$/)
    expect(r.hint).toContain(`kubectl -n kube-system patch service tetragon-grpc --type=merge -p '{"spec":{"selector":{"app":null,"app.kubernetes.io/name":"tetragon"}}}'`)
    expect(r.hint).toContain('tetractl doctor --fix --only service.selector')
  })

  it('fails when the Service lives in another namespace than the agents (a selector only sees its own)', async () => {
    const r = await verdict(serviceSelectsAgentPods, healthy({services: [grpcService({namespace: 'monitoring'})]}), {serviceNamespace: 'monitoring'})
    expect(r.status).toBe('fail')
    expect(r.message).toContain('cannot select the Tetragon pods, which run in namespace kube-system')
  })

  it('warns when a broad selector also sends collectors to the operator', async () => {
    const r = await verdict(serviceSelectsAgentPods, healthy({pods: [...pods(3), operatorPod()], services: [grpcService({selector: {'app.kubernetes.io/part-of': 'tetragon'}})]}))
    expect(r.status).toBe('warn')
    expect(r.message).toContain('selects 3 agent pods but also tetragon-operator-7d9f, which serve no Tetragon gRPC')
    expect(r.hint).toContain(`'{"spec":{"selector":{"app.kubernetes.io/part-of":null,"app.kubernetes.io/name":"tetragon"}}}'`)
  })

  it('warns when it selects only some agents', async () => {
    const odd = agentPod(3, {labels: {'app.kubernetes.io/name': 'tetragon'}})
    const r = await verdict(serviceSelectsAgentPods, healthy({pods: [...pods(3), odd], services: [grpcService({selector: {'app.kubernetes.io/name': 'tetragon', 'app.kubernetes.io/instance': 'tetragon'}})]}))
    expect(r.status).toBe('warn')
    expect(r.message).toBe('Service kube-system/tetragon-grpc selects 3 of 4 Tetragon pods')
  })

  it('warns on a Service without a selector (endpoints kept by hand)', async () => {
    const r = await verdict(serviceSelectsAgentPods, healthy({services: [grpcService({selector: null})]}))
    expect(r.status).toBe('warn')
    expect(r.message).toContain('has no selector')
    expect(r.hint).toContain(`-p '{"spec":{"selector":{"app.kubernetes.io/name":"tetragon"}}}'`)
  })
})

describe('service.endpoints', () => {
  it('passes with one ready endpoint per ready agent on the gRPC port', async () => {
    const r = await verdict(serviceHasReadyEndpoints, healthy())
    expect(r.status).toBe('pass')
    expect(r.message).toBe('Service kube-system/tetragon-grpc: 3 ready endpoints (one per ready agent) on port 54321')
  })

  it('fails with no ready endpoint, counting the not-ready ones the controller lists', async () => {
    const r = await verdict(serviceHasReadyEndpoints, healthy({pods: pods(3, [0, 1, 2]), endpointSlices: [endpointSlice({notReady: ips(3)})]}))
    expect(r.status).toBe('fail')
    expect(r.message).toBe('Service kube-system/tetragon-grpc has no ready endpoint (3 not ready; 0 of 3 agent pods ready): collectors get connection refused')
    expect(r.hint).toContain('kubectl -n kube-system get endpointslices -l kubernetes.io/service-name=tetragon-grpc')
  })

  it('fails with no endpoint at all when the selector matches no pod (the placeholder slice: endpoints null, no ports)', async () => {
    const r = await verdict(serviceHasReadyEndpoints, healthy({services: [grpcService({selector: {app: 'tetragon'}})], endpointSlices: [endpointSlice({})]}))
    expect(r.status).toBe('fail')
    expect(r.message).toBe('Service kube-system/tetragon-grpc has no ready endpoint (0 not ready; 3 of 3 agent pods ready): collectors get connection refused')
  })

  it('fails when the endpoints point at another port than gRPC, with the JSON patch of the targetPort', async () => {
    const r = await verdict(serviceHasReadyEndpoints, healthy({endpointSlices: [endpointSlice({ready: ips(3), port: 2112})]}))
    expect(r.status).toBe('fail')
    expect(r.message).toContain("sends traffic to port 2112, but Tetragon's gRPC listens on 54321")
    expect(r.hint).toBe(`kubectl -n kube-system patch service tetragon-grpc --type=json -p '[{"op":"replace","path":"/spec/ports/0/targetPort","value":54321}]'`)
  })

  it('counts addresses across slices and fails when ready endpoints and ready agents differ', async () => {
    const slices = [endpointSlice({ready: ips(2)}), endpointSlice({ready: ['10.0.0.9'], notReady: ['10.0.0.3'], suffix: 'fghij'})]
    const r = await verdict(serviceHasReadyEndpoints, healthy({endpointSlices: slices, pods: pods(3, [2])}))
    expect(r.status).toBe('fail')
    expect(r.message).toBe('Service kube-system/tetragon-grpc has 3 ready endpoints but 2 agent pods are ready')
  })
})

describe('tetragon.daemonset', () => {
  it('passes with every agent ready on every node, naming the version', async () => {
    const r = await verdict(tetragonDaemonSetReady, healthy())
    expect(r.status).toBe('pass')
    expect(r.message).toBe('kube-system/tetragon v1.7.0: 3/3 agents ready on 3 nodes')
  })

  it('fails with no agent DaemonSet, and prints the install with gRPC enabled', async () => {
    const r = await verdict(tetragonDaemonSetReady, healthy({daemonSets: []}))
    expect(r.status).toBe('fail')
    expect(r.message).toBe('no DaemonSet labelled app.kubernetes.io/name=tetragon in any namespace')
    expect(r.hint).toContain('helm install tetragon cilium/tetragon -n kube-system')
  })

  it('fails when agents are not ready, naming the pod to describe', async () => {
    const r = await verdict(tetragonDaemonSetReady, healthy({daemonSets: [agentDaemonSet({ready: 2})], pods: pods(3, [1])}))
    expect(r.status).toBe('fail')
    expect(r.message).toBe('kube-system/tetragon: 2 of 3 agent pods ready (not ready: tetragon-1 on node-1)')
    expect(r.hint).toBe('kubectl -n kube-system rollout status ds/tetragon\nkubectl -n kube-system describe pod tetragon-1')
  })

  it('warns when some nodes run no agent', async () => {
    const r = await verdict(tetragonDaemonSetReady, healthy({nodes: 5}))
    expect(r.status).toBe('warn')
    expect(r.message).toBe('kube-system/tetragon: agents scheduled on 3 of 5 nodes; events from the other 2 are not collected')
  })

  // A cluster-wide list comes sorted by namespace, then name (the API server lists in storage key order), so an
  // older install in "cilium" comes before kube-system's.
  it('checks kube-system\'s DaemonSet and names the other installs, wherever the list puts them', async () => {
    const other = agentDaemonSet({namespace: 'cilium'})
    const both = await verdict(tetragonDaemonSetReady, healthy({daemonSets: [agentDaemonSet(), other]}))
    expect(both.message).toMatch(/^kube-system\/tetragon /)
    expect(both.evidence).toMatchObject({alsoFound: ['cilium/tetragon']})
  })

  it('reads only --namespace when given', async () => {
    const other = agentDaemonSet({namespace: 'cilium', ready: 1})
    const inCilium = [0, 1, 2].map((i) => agentPod(i, {namespace: 'cilium', ready: i === 0}))
    const r = await verdict(tetragonDaemonSetReady, healthy({daemonSets: [agentDaemonSet(), other], pods: [...pods(3), ...inCilium]}), {namespace: 'cilium'})
    expect(r.status).toBe('fail')
    expect(r.message).toBe('cilium/tetragon: 1 of 3 agent pods ready (not ready: tetragon-1 on node-1, tetragon-2 on node-2)')
    expect(r.hint).toBe('kubectl -n cilium rollout status ds/tetragon\nkubectl -n cilium describe pod tetragon-1')
    expect(r.evidence).not.toHaveProperty('alsoFound')
  })
})
