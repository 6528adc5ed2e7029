// setup's failure modes: one `Error:` line, the documented exit code, no stack trace, and either
// nothing changed or an exact account of what was and was not applied.
import {request} from 'node:https'

import {describe, expect, it} from 'vitest'

import {oneLineError, withLab, type Harness} from '../fixtures/helm/harness.js'

/** A server-side apply by another client (here `kubectl`), straight to the lab's API. */
function applyAs(h: Harness, manager: string, body: Record<string, unknown>): Promise<number> {
  const md = body.metadata as {name: string; namespace: string}
  const url = new URL(`${h.lab.kube.url}/api/v1/namespaces/${md.namespace}/services/${md.name}?fieldManager=${manager}`)
  return new Promise((resolve, reject) => {
    const req = request(url, {method: 'PATCH', ca: Buffer.from(h.lab.kube.caData, 'base64'), headers: {authorization: `Bearer ${h.lab.kube.token}`, 'content-type': 'application/apply-patch+yaml'}}, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', reject)
    req.end(JSON.stringify(body))
  })
}

describe('setup, bad input', () => {
  it('helm missing → exit 2, nothing changed', async () => {
    await withLab('grpc-localhost', async (h) => {
      const res = await h.cli(['setup'], {PATH: '/nonexistent'})
      expect(res.code).toBe(2)
      expect(oneLineError(res)).toMatch(/`helm` was not found on PATH.*Install Helm 3/)
      expect(h.writes()).toEqual([])
    })
  })

  it('helm 2 → exit 2, nothing changed', async () => {
    await withLab('grpc-localhost', async (h) => {
      const res = await h.cli(['setup'], {TETRACTL_FAKE_HELM_VERSION: 'v2.17.0'})
      expect(res.code).toBe(2)
      expect(oneLineError(res)).toMatch(/Helm v2\.17\.0; tetractl needs Helm 3/)
      expect(h.writes()).toEqual([])
    })
  })

  it('helm failing → its stderr in one line, exit 1, what was and was not applied', async () => {
    await withLab('no-service', async (h) => {
      const res = await h.cli(['setup'], {TETRACTL_FAKE_HELM_FAIL: 'upgrade'})
      expect(res.code).toBe(1)
      const line = oneLineError(res)
      expect(line).toMatch(/`helm upgrade --install tetragon cilium\/tetragon .*` failed: UPGRADE FAILED: another operation \(install\/upgrade\/rollback\) is in progress/)
      expect(line).toMatch(/Applied before the failure: nothing\. Not applied: Helm release kube-system\/tetragon, Service kube-system\/tetragon-grpc\./)
      expect(h.writes()).toEqual([])
      expect(h.lab.kube.store.get('services', 'kube-system', 'tetragon-grpc')).toBeUndefined()
    }, (spec) => {
      // Values that need an upgrade, and a Service to create after it.
      spec.tetragon.serverAddress = 'localhost:54321'
    })
  })

  it('the release present in another namespace → exit 2, nothing changed', async () => {
    await withLab('healthy', async (h) => {
      const res = await h.cli(['setup', '-n', 'kube-system'])
      expect(res.code).toBe(2)
      expect(oneLineError(res)).toMatch(/already installed by Helm release tetragon in namespace security, not kube-system.*Nothing was changed\. Pass -n security/)
      expect(h.writes()).toEqual([])
      expect(h.mutatingHelmCalls()).toEqual([])
    }, (spec) => {
      spec.tetragon.namespace = 'security'
      spec.grpcService = null
    })
  })

  it('a Service owned by another field manager → conflict named, exit 1; --force-conflicts takes it over', async () => {
    await withLab('selector-mismatch', async (h) => {
      const svc = h.lab.kube.store.get('services', 'kube-system', 'tetragon-grpc')!
      expect(await applyAs(h, 'kubectl', {apiVersion: 'v1', kind: 'Service', metadata: {name: 'tetragon-grpc', namespace: 'kube-system'}, spec: {selector: svc.spec.selector, ports: svc.spec.ports}})).toBe(200)
      h.reset()
      const res = await h.cli(['setup'])
      expect(res.code).toBe(1)
      expect(oneLineError(res)).toMatch(/Service kube-system\/tetragon-grpc: Apply failed with 1 conflict: conflict with "kubectl": \.spec\.selector\. Nothing was changed\..*--force-conflicts/)
      expect(h.writes()).toEqual([])
      expect(h.mutatingHelmCalls()).toEqual([])

      const forced = await h.cli(['setup', '--force-conflicts'])
      expect(forced.code, forced.stderr).toBe(0)
      const now = h.lab.kube.store.get('services', 'kube-system', 'tetragon-grpc')!
      expect(now.spec.selector).toEqual({'app.kubernetes.io/name': 'tetragon'})
      expect(now.metadata.managedFields.find((m: {manager: string}) => m.manager === 'tetractl')?.operation).toBe('Apply')
    })
    // Two whole setup runs (each ends with a doctor run): a bound for a loaded machine, not a measurement.
  }, 180_000)

  it('no permission to create the Service → exit 1 before any change, naming the verbs', async () => {
    await withLab('no-service', async (h) => {
      const res = await h.cli(['setup'])
      expect(res.code).toBe(1)
      expect(oneLineError(res)).toMatch(/Not allowed to patch services in namespace kube-system \(for Service kube-system\/tetragon-grpc\), create services in namespace kube-system .*Nothing was changed\..*kubectl create role -n kube-system tetractl-setup --verb=patch,create --resource=services/)
      expect(h.writes()).toEqual([])
      expect(h.mutatingHelmCalls()).toEqual([])
    }, (spec) => {
      spec.rbac = [
        {apiGroups: ['*'], resources: ['*'], verbs: ['get', 'list', 'watch']},
        {apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews'], verbs: ['create']},
        // What helm needs, but no write on services.
        {apiGroups: [''], resources: ['secrets', 'configmaps'], verbs: ['create', 'patch', 'update']},
        {apiGroups: ['apps'], resources: ['daemonsets'], verbs: ['create', 'patch', 'update']},
      ]
    })
  })

  it('a failure after the first change says exactly what was applied and what was not', async () => {
    await withLab('no-endpoints', async (h) => {
      // Agents never become ready, so the rollout cannot finish once helm has upgraded the release.
      const res = await h.cli(['setup', '--wait-timeout', '2s'])
      expect(res.code).toBe(1)
      const line = oneLineError(res)
      expect(line).toMatch(/DaemonSet kube-system\/tetragon did not finish rolling out within 2 s \(3 of 3 agents updated, 0 available\)\./)
      expect(line).toMatch(/Applied before the failure: Helm release kube-system\/tetragon upgraded \(revision 2\)\. Not applied: rollout of DaemonSet kube-system\/tetragon, Service kube-system\/tetragon-grpc\./)
      expect(h.lab.kube.store.get('services', 'kube-system', 'tetragon-grpc')).toBeUndefined()
      expect(h.mutatingHelmCalls().some((a) => a[0] === 'upgrade')).toBe(true)
    }, (spec) => {
      spec.tetragon.serverAddress = 'localhost:54321'
      spec.grpcService = null
    })
  })
})
