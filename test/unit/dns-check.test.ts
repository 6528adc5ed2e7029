// dns.service against an in-memory cluster: the collector's address resolved from an Elastic Agent pod (cluster
// DNS), with getent or BusyBox's nslookup, against the gRPC Service's name, namespace, ClusterIP and port.
import {describe, expect, it} from 'vitest'

import {collectorResolvesService} from '../../src/checks/kubernetes/dns.js'
import type {DoctorOptions} from '../../src/checks/context.js'
import {agentDaemonSet, agentPod, collectorPod, corednsPod, FakeCluster, fakeCheckContext, grpcService, type ClusterObjects} from '../fakes/cluster.js'

const FQDN = 'tetragon-grpc.kube-system.svc.cluster.local'
const CLUSTER_IP = '10.96.0.50'

async function dns(over: ClusterObjects = {}, opts: Partial<DoctorOptions> = {}) {
  const cluster = new FakeCluster({
    daemonSets: [agentDaemonSet()],
    pods: [agentPod(0), collectorPod(), corednsPod(0), corednsPod(1)],
    services: [grpcService()],
    dns: {[FQDN]: [CLUSTER_IP], 'tetragon-grpc.kube-system.svc': [CLUSTER_IP], 'tetragon-grpc.kube-system': [CLUSTER_IP]},
    ...over,
  })
  const r = await collectorResolvesService.run(fakeCheckContext(cluster, {collectorAddress: `${FQDN}:54321`, ...opts}), new AbortController().signal)
  return {...r, execs: cluster.calls.filter((c) => c.startsWith('exec '))}
}

describe('dns.service', () => {
  it('passes when the name resolves to the Service\'s ClusterIP from a collector pod', async () => {
    const r = await dns()
    expect(r.status).toBe('pass')
    expect(r.message).toBe(`${FQDN} resolves to ${CLUSTER_IP} (ClusterIP of kube-system/tetragon-grpc) from kube-system/elastic-agent-x7k2p`)
    expect(r.execs).toEqual([`exec kube-system/elastic-agent-x7k2p -c elastic-agent -- getent hosts ${FQDN}`])
  })

  it('falls back to nslookup where the image has no getent, and reads its answer without the resolver\'s own address', async () => {
    const r = await dns({missingBinaries: {'elastic-agent-x7k2p': ['getent']}})
    expect(r.status).toBe('pass')
    expect(r.evidence).toMatchObject({resolved: [CLUSTER_IP]})
    expect(r.execs.map((c) => c.split(' -- ')[1])).toEqual([`getent hosts ${FQDN}`, `nslookup ${FQDN}`])
  })

  it.each(['10.96.0.10', '172.20.0.10', '10.43.0.10'])('nslookup through the cluster resolver %s: only the answer counts, not the resolver', async (resolver) => {
    const r = await dns({resolver, missingBinaries: {'elastic-agent-x7k2p': ['getent']}})
    expect(r.status).toBe('pass')
    expect(r.message).toBe(`${FQDN} resolves to ${CLUSTER_IP} (ClusterIP of kube-system/tetragon-grpc) from kube-system/elastic-agent-x7k2p`)
    const wrong = await dns({resolver, missingBinaries: {'elastic-agent-x7k2p': ['getent']}, dns: {[FQDN]: ['10.96.7.7']}})
    expect(wrong.message).toBe(`${FQDN} resolves to 10.96.7.7, not to kube-system/tetragon-grpc's ClusterIP ${CLUSTER_IP}`)
  })

  it('fails when the name does not resolve, with the exec to retry it', async () => {
    const r = await dns({dns: {}})
    expect(r.status).toBe('fail')
    expect(r.message).toBe(`${FQDN} does not resolve from kube-system/elastic-agent-x7k2p`)
    expect(r.hint?.split('\n')[0]).toBe(`kubectl -n kube-system exec elastic-agent-x7k2p -c elastic-agent -- getent hosts ${FQDN}`)
  })

  it('fails on the documented address in the wrong namespace', async () => {
    const r = await dns({dns: {'tetragon-grpc.tetragon.svc.cluster.local': []}}, {collectorAddress: 'tetragon-grpc.tetragon.svc.cluster.local:54321'})
    expect(r.status).toBe('fail')
    expect(r.message).toBe('collector address tetragon-grpc.tetragon.svc.cluster.local:54321 names namespace tetragon, but Service tetragon-grpc lives in kube-system (tetragon-grpc.tetragon.svc.cluster.local does not resolve)')
    expect(r.hint).toBe(`Manual step: set the collector's gRPC address to ${FQDN}:54321 (for tetractl's own view: --collector-address or TETRACTL_COLLECTOR_ADDRESS)`)
  })

  it('fails when the name resolves elsewhere than the ClusterIP', async () => {
    const r = await dns({dns: {[FQDN]: ['10.96.7.7']}})
    expect(r.status).toBe('fail')
    expect(r.message).toBe(`${FQDN} resolves to 10.96.7.7, not to kube-system/tetragon-grpc's ClusterIP ${CLUSTER_IP}`)
  })

  it('fails when the collector dials a port the Service does not expose', async () => {
    const r = await dns({}, {collectorAddress: `${FQDN}:50051`})
    expect(r.status).toBe('fail')
    expect(r.message).toBe('collector dials port 50051, but Service kube-system/tetragon-grpc exposes 54321')
  })

  it('fails with no ready CoreDNS pod, before any exec', async () => {
    const r = await dns({pods: [agentPod(0), collectorPod(), corednsPod(0, false), corednsPod(1, false)]})
    expect(r.status).toBe('fail')
    expect(r.message).toBe('CoreDNS has no ready pod (0 of 2): no Service name resolves in the cluster')
    expect(r.execs).toEqual([])
  })

  it('is not evaluated without a ready collector pod on cluster DNS (Tetragon pods use host DNS)', async () => {
    const r = await dns({pods: [agentPod(0), collectorPod({dnsPolicy: 'Default'}), corednsPod(0)]})
    expect(r.status).toBe('not-evaluated')
    expect(r.message).toContain(`no ready collector pod with cluster DNS to resolve from (label app=elastic-agent); run: kubectl run -it --rm dnsprobe --image=busybox:1.36 -- nslookup ${FQDN}`)
  })
})
