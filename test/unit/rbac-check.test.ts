// k8s.rbac against an in-memory RBAC authorizer (test/fakes/cluster.ts): which of the checks' needs are granted,
// the verb of WebSocket upgrades by server version, the role to create, and how few reviews it takes.
import type {V1PolicyRule} from '@kubernetes/client-node'
import {describe, expect, it} from 'vitest'

import {accessReviewForChecks} from '../../src/checks/kubernetes/rbac.js'
import {agentDaemonSet, agentPod, FakeCluster, fakeCheckContext, type ClusterObjects} from '../fakes/cluster.js'

const rule = (verbs: string[], resources: string[], apiGroups = ['']): V1PolicyRule => ({verbs, apiGroups, resources})
/** What the checks read in Tetragon's namespace, granted by a Role there. */
const NAMESPACED: V1PolicyRule[] = [
  rule(['get', 'list'], ['pods', 'configmaps', 'services', 'pods/log', 'pods/proxy', 'services/proxy']),
  rule(['get', 'create'], ['pods/portforward']),
  rule(['list'], ['endpointslices'], ['discovery.k8s.io']),
]
const CLUSTER: V1PolicyRule[] = [
  rule(['list'], ['daemonsets'], ['apps']),
  rule(['list'], ['namespaces', 'nodes']),
  rule(['get', 'create'], ['pods/exec']),
  rule(['list'], ['tracingpolicies', 'tracingpoliciesnamespaced'], ['cilium.io']),
]

async function rbac(over: ClusterObjects) {
  const cluster = new FakeCluster({daemonSets: [agentDaemonSet()], pods: [agentPod(0)], ...over})
  const r = await accessReviewForChecks.run(fakeCheckContext(cluster), new AbortController().signal)
  return {...r, calls: cluster.calls.filter((c) => /review/.test(c))}
}

describe('k8s.rbac', () => {
  it('passes when a ClusterRole and a Role grant every need, with one rules review and an access review per cluster-wide need', async () => {
    const r = await rbac({rbac: {cluster: CLUSTER, namespaces: {'kube-system': NAMESPACED}}})
    expect(r.status).toBe('pass')
    expect(r.message).toBe('context in-memory may do all 14 things the checks need')
    expect(r.calls.filter((c) => c.startsWith('rules review'))).toEqual(['rules review kube-system'])
    expect(r.calls.filter((c) => c.startsWith('access review'))).toHaveLength(6)
  })

  it('names what is missing, the checks it blocks and the ClusterRole to create', async () => {
    const r = await rbac({rbac: {cluster: CLUSTER.slice(1), namespaces: {'kube-system': NAMESPACED.slice(1)}}})
    expect(r.status).toBe('fail')
    expect(r.message).toBe('not allowed to list daemonsets.apps (cluster-wide); list pods in kube-system; get configmaps in kube-system; get services in kube-system; get services/proxy in kube-system; get pods/proxy in kube-system; get pods/log in kube-system: tetragon.daemonset, agent.shipper, service.selector, tetragon.export, tetragon.grpc-bind, tetragon.export-filters, service.exists, tetragon.grpc-reachable, tetragon.dropped-events, tetragon.dropped-events (its log excerpt) cannot be evaluated')
    expect(r.hint?.split('\n')[1]).toBe('kubectl create clusterrole tetractl-doctor --verb=list,get --resource=daemonsets.apps,pods,configmaps,services,services/proxy,pods/proxy,pods/log')
  })

  it.each([
    [34, 'get', 'pass'],
    [35, 'get', 'fail'],
    [35, 'create', 'pass'],
  ])('Kubernetes 1.%i with %s on pods/portforward and pods/exec: %s', async (minor, verb, status) => {
    const streams = [rule([verb], ['pods/portforward', 'pods/exec'])]
    const r = await rbac({serverMinor: minor, rbac: {cluster: [...CLUSTER.filter((x) => !x.resources?.includes('pods/exec')), ...streams], namespaces: {'kube-system': NAMESPACED.filter((x) => !x.resources?.includes('pods/portforward'))}}})
    expect(r.status).toBe(status)
    if (status === 'fail') expect(r.message).toMatch(/^not allowed to create pods\/exec \(cluster-wide\); create pods\/portforward in kube-system: dns\.service, tetragon\.grpc-reachable/)
  })

  it('a role limited to resourceNames grants no list', async () => {
    const named: V1PolicyRule = {verbs: ['list', 'get'], apiGroups: [''], resources: ['pods'], resourceNames: ['tetragon-0']}
    const r = await rbac({rbac: {cluster: CLUSTER, namespaces: {'kube-system': [named, ...NAMESPACED.slice(1), rule(['get'], ['configmaps', 'services', 'pods/log', 'pods/proxy', 'services/proxy'])]}}})
    expect(r.status).toBe('fail')
    expect(r.message).toMatch(/^not allowed to list pods in kube-system: /)
  })

  it('credentials that may do nothing cannot be evaluated at all (exit 3)', async () => {
    const r = await rbac({rbac: {cluster: [], namespaces: {}}})
    expect(r.status).toBe('fail')
    expect(r.unreachable).toBe(true)
    expect(r.message).toMatch(/^the credentials of context in-memory may do none of the 14 things the checks need/)
  })

  it('warns when the reviews themselves are forbidden', async () => {
    const r = await rbac({rbac: {reviewsForbidden: true}})
    expect(r.status).toBe('warn')
    expect(r.message).toBe('cannot review access (SelfSubjectAccessReview is forbidden); checks will report what they cannot read')
  })
})
