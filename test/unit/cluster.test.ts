// The cluster domain (src/cluster) against an in-memory Kubernetes: install facts, the server address, the
// choice of agent, and the RBAC rule matching k8s.rbac uses. No lab, no sockets: each case is deterministic.
import type {V1ConfigMap, V1DaemonSet, V1Pod} from '@kubernetes/client-node'
import {describe, expect, it} from 'vitest'

import {rulesAllow} from '../../src/checks/kubernetes/rbac.js'
import {pickReadyAgent, tetragonAccess} from '../../src/cluster/agents.js'
import {clusterContext, type ClusterKube} from '../../src/cluster/context.js'
import {daemonSets, firstAgentPods, matchesSelector, tetragonInstall, tetragonPods} from '../../src/cluster/facts.js'
import {serverAddress} from '../../src/cluster/server-address.js'
import {ForbiddenError} from '../../src/engine/errors.js'
import {Memo} from '../../src/engine/memo.js'

const ds = (namespace: string, name: string, labels: Record<string, string>, container: Record<string, unknown> = {}): V1DaemonSet => ({
  metadata: {namespace, name, labels},
  spec: {selector: {matchLabels: labels}, template: {spec: {containers: [{name: 'tetragon', ...container}]}}},
})
const pod = (name: string, ready: boolean): V1Pod => ({
  metadata: {name, namespace: 'kube-system', labels: {'app.kubernetes.io/name': 'tetragon'}},
  spec: {nodeName: `node-${name}`, containers: [{name: 'tetragon'}]},
  status: {conditions: [{type: 'Ready', status: ready ? 'True' : 'False'}], containerStatuses: [{name: 'tetragon', ready, restartCount: 0, image: '', imageID: '', state: {running: {}}}]},
})

/** An in-memory cluster: agent pods come in pages; the second page is held until `release()`. */
class FakeKube {
  calls: string[] = []
  forwards: string[] = []
  private releasePages!: () => void
  private readonly held = new Promise<void>((r) => (this.releasePages = r))
  constructor(
    private readonly sets: V1DaemonSet[],
    private readonly pages: V1Pod[][],
    private readonly configMap?: V1ConfigMap,
    private readonly forbidClusterList = false,
  ) {}
  release() {
    this.releasePages()
  }
  async listDaemonSets(labelSelector: string | undefined, _signal?: AbortSignal, namespace?: string) {
    this.calls.push(`daemonsets ${namespace ?? '*'} ${labelSelector ?? ''}`)
    if (!namespace && this.forbidClusterList) throw new ForbiddenError('list', 'daemonsets')
    return this.sets.filter((d) => (!namespace || d.metadata?.namespace === namespace) && (!labelSelector || matchesSelector(labelSelector, d.metadata?.labels)))
  }
  async listPods<T>(namespace: string | undefined, opts: {labelSelector?: string; onFirstPage?: (items: T[]) => void}, map: (p: V1Pod) => T) {
    this.calls.push(`pods ${namespace} ${opts.labelSelector}`)
    const out: T[] = []
    for (const [i, page] of this.pages.entries()) {
      if (i === 1) await this.held
      out.push(...page.map(map))
      if (i === 0) opts.onFirstPage?.(out.slice())
    }
    return out
  }
  async readConfigMap(namespace: string, name: string) {
    this.calls.push(`configmap ${namespace}/${name}`)
    return this.configMap
  }
  async readService() {
    return undefined
  }
  async listEndpointSlices() {
    return []
  }
  async countNodes() {
    return this.pages.flat().length
  }
  async portForward(namespace: string, name: string, port: number) {
    this.forwards.push(`${namespace}/${name}:${port}`)
    return {host: '127.0.0.1', port: 1, errors: [], close: async () => {}}
  }
  streamVerb(): 'get' | 'create' {
    return 'get'
  }
}

const contextOf = (kube: FakeKube, namespace?: string) =>
  clusterContext(kube as unknown as ClusterKube, new Memo(), {namespace, serviceName: 'tetragon-grpc', grpcTimeoutMs: 1000})

describe('cluster facts on an in-memory cluster', () => {
  const sets = [
    ds('monitoring', 'tetragon', {'app.kubernetes.io/name': 'tetragon'}),
    ds('kube-system', 'tetragon', {'app.kubernetes.io/name': 'tetragon'}, {args: ['--server-address=0.0.0.0:54321']}),
    ds('elastic', 'elastic-agent', {app: 'elastic-agent'}),
  ]

  it('reads every DaemonSet once and finds the agent by label, preferring kube-system', async () => {
    const kube = new FakeKube(sets, [[pod('a', true)]])
    const ctx = contextOf(kube)
    const [install, all] = await Promise.all([tetragonInstall(ctx), daemonSets(ctx)])
    expect(install.namespace).toBe('kube-system')
    expect(install.all).toHaveLength(2)
    expect(all).toHaveLength(3)
    expect(kube.calls.filter((c) => c.startsWith('daemonsets'))).toEqual(['daemonsets * '])
  })

  it('without a cluster-wide list, looks for the agent in --namespace only', async () => {
    const kube = new FakeKube(sets, [[pod('a', true)]], undefined, true)
    const install = await tetragonInstall(contextOf(kube, 'monitoring'))
    expect(install.namespace).toBe('monitoring')
    expect(kube.calls).toEqual(['daemonsets * ', 'daemonsets monitoring app.kubernetes.io/name=tetragon'])
  })

  it('server address: container args win over the ConfigMap', async () => {
    const kube = new FakeKube(sets, [[pod('a', true)]], {data: {'server-address': 'localhost:54321'}})
    const addr = await serverAddress(contextOf(kube))
    expect(addr).toMatchObject({source: 'container args', kind: 'all-interfaces', port: 54321})
    expect(kube.calls).toContain('configmap kube-system/tetragon-config')
  })

  it('the agent to talk to comes from the first page, before the rest of the list arrives', async () => {
    const kube = new FakeKube(sets, [[pod('a', false), pod('b', true)], [pod('c', true)]])
    const ctx = contextOf(kube)
    const access = await tetragonAccess(ctx)
    expect(access.target).toBe('kube-system/b')
    expect(kube.forwards).toEqual(['kube-system/b:54321'])
    // The whole list is still held back: the access did not wait for it.
    let all: unknown
    void tetragonPods(ctx).then((p) => (all = p))
    await Promise.resolve()
    expect(all).toBeUndefined()
    kube.release()
    expect(await tetragonPods(ctx)).toHaveLength(3)
    expect(kube.calls.filter((c) => c.startsWith('pods'))).toHaveLength(1)
    await ctx.close()
  })

  it('waits for the whole list when no pod of the first page is ready', async () => {
    const kube = new FakeKube(sets, [[pod('a', false)], [pod('c', true)]])
    const ctx = contextOf(kube)
    const pending = tetragonAccess(ctx)
    expect(await firstAgentPods(ctx)).toHaveLength(1)
    kube.release()
    expect((await pending).target).toBe('kube-system/c')
    await ctx.close()
  })

  it('a refused pod list reaches the readers of the whole list, and no one else (no unhandled rejection)', async () => {
    const kube = new FakeKube(sets, [])
    kube.listPods = async () => {
      throw new ForbiddenError('list', 'pods', 'kube-system')
    }
    const ctx = contextOf(kube)
    await expect(tetragonPods(ctx)).rejects.toBeInstanceOf(ForbiddenError)
    // vitest fails the run on an unhandled rejection: let the first-page promise settle unobserved.
    await new Promise((r) => setImmediate(r))
  })

  it('prefers a pod whose tetragon container is ready', () => {
    const notReadyContainer = {...pod('x', true), status: {...pod('x', true).status, containerStatuses: [{name: 'tetragon', ready: false, restartCount: 3, image: '', imageID: ''}]}}
    const pods = [notReadyContainer, pod('y', true)].map((p) => ({
      name: p.metadata!.name!, namespace: 'kube-system', ready: true, labels: {},
      containers: [{name: 'tetragon', ready: Boolean(p.status?.containerStatuses?.[0]?.ready), restarts: 0, state: 'running', args: [], env: {}}],
    }))
    expect(pickReadyAgent(pods)?.name).toBe('y')
  })
})

describe('RBAC rule matching (kubernetes pkg/apis/rbac/v1/evaluation_helpers.go)', () => {
  const need = {verb: 'get', resource: 'pods', subresource: 'portforward'}
  it('matches verb, group and resource/subresource as the authorizer does', () => {
    expect(rulesAllow([{verbs: ['get'], apiGroups: [''], resources: ['pods/portforward']}], need)).toBe(true)
    expect(rulesAllow([{verbs: ['get'], apiGroups: [''], resources: ['pods']}], need)).toBe(false)
    expect(rulesAllow([{verbs: ['*'], apiGroups: ['*'], resources: ['*']}], need)).toBe(true)
    expect(rulesAllow([{verbs: ['get'], apiGroups: [''], resources: ['*/portforward']}], need)).toBe(true)
    expect(rulesAllow([{verbs: ['create'], apiGroups: [''], resources: ['pods/portforward']}], need)).toBe(false)
    expect(rulesAllow([{verbs: ['list'], apiGroups: ['apps'], resources: ['daemonsets']}], {verb: 'list', resource: 'daemonsets', group: 'apps'})).toBe(true)
    expect(rulesAllow([{verbs: ['list'], apiGroups: [''], resources: ['daemonsets']}], {verb: 'list', resource: 'daemonsets', group: 'apps'})).toBe(false)
  })
  it('a rule limited to resource names grants no list', () => {
    expect(rulesAllow([{verbs: ['get'], apiGroups: [''], resources: ['configmaps'], resourceNames: ['tetragon-config']}], {verb: 'get', resource: 'configmaps'})).toBe(false)
  })
  it('equality label selectors', () => {
    expect(matchesSelector('app=a,tier=b', {app: 'a', tier: 'b', x: 'y'})).toBe(true)
    expect(matchesSelector('app=a,tier=b', {app: 'a'})).toBe(false)
    expect(matchesSelector('app=a', undefined)).toBe(false)
  })
})
