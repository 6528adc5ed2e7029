// The built `tetractl setup` against the lab, with the fake helm first on PATH (issue #6 acceptance).
import {execFile} from 'node:child_process'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {describe, expect, it, vi} from 'vitest'

import {releaseSecret} from '../../src/lab/kube/helm-release.js'
import {getScenario} from '../../src/lab/scenarios.js'
import {FAKE_HELM_DIR, problems, withLab} from '../fixtures/helm/harness.js'

const LAYERS = ['--only', 'kubernetes,tetragon']

// Each case runs the CLI three to five times (setup, doctor, setup again) and the fake helm several times more: on a
// loaded 2-core machine that alone took over a minute. A bound, not a measurement.
vi.setConfig({testTimeout: 240_000})

describe('setup brings a broken installation to a passing doctor, once', () => {
  for (const scenario of ['grpc-localhost', 'grpc-unix-socket', 'grpc-disabled', 'selector-mismatch', 'no-service']) {
    it(scenario, async () => {
      await withLab(scenario, async (h) => {
        // The scenario is broken to begin with (so this test can fail).
        const before = await h.cli(['doctor', '--json', ...LAYERS])
        expect(problems(before.json()).length, before.stdout).toBeGreaterThan(0)

        const first = await h.cli(['setup', '--json'])
        expect(first.code, first.stderr).toBe(0)
        const result = first.json()
        expect(result.changed).toBe(true)
        expect(problems(result.doctor)).toEqual([])
        expect(result.doctor.checks.map((c: {id: string}) => c.id)).toEqual(expect.arrayContaining(['tetragon.grpc-bind', 'service.exists', 'service.selector', 'service.endpoints']))

        // A separate doctor run sees the same: the change is in the cluster, not in setup's memory.
        const after = await h.cli(['doctor', '--json', ...LAYERS])
        expect(problems(after.json())).toEqual([])
        expect(after.code).toBe(0)

        // Second run: nothing to change, no write request, no mutating helm call.
        h.reset()
        const second = await h.cli(['setup'])
        expect(second.code, second.stderr).toBe(0)
        expect(second.stdout).toMatch(/Nothing to change/)
        expect(h.writes()).toEqual([])
        expect(h.mutatingHelmCalls()).toEqual([])
      })
    })
  }

  it('the gRPC fix goes through helm upgrade with the merged values, keeping the chart version', async () => {
    await withLab('grpc-localhost', async (h) => {
      const res = await h.cli(['setup'])
      expect(res.code, res.stderr).toBe(0)
      const upgrade = h.helmCalls().find((a) => a[0] === 'upgrade')!
      expect(upgrade.slice(0, 6)).toEqual(['upgrade', '--install', 'tetragon', 'cilium/tetragon', '-n', 'kube-system'])
      expect(upgrade).toEqual(expect.arrayContaining(['--version', '1.6.1', '--kube-context', 'tetractl-lab']))
      // Repo added first because it was missing.
      expect(h.helmCalls().filter((a) => a[0] === 'repo' && a[1] !== 'list')).toEqual([['repo', 'add', 'cilium', 'https://helm.cilium.io/'], ['repo', 'update', 'cilium']])
      // The chart's ConfigMap now says 0.0.0.0:54321, rendered by helm from the values.
      const cm = h.lab.kube.store.get('configmaps', 'kube-system', 'tetragon-config')!
      expect(cm.data['server-address']).toBe('0.0.0.0:54321')
      expect(res.stdout).toMatch(/\+ tetragon\.grpc\.address: "0\.0\.0\.0:54321"/)
      // The values file was temporary.
      const file = upgrade[upgrade.indexOf('--values') + 1]!
      const {existsSync} = await import('node:fs')
      expect(existsSync(file)).toBe(false)
    })
  })

  it('--policies network,file applies the two TracingPolicies, and only once', async () => {
    await withLab('no-service', async (h) => {
      const res = await h.cli(['setup', '--policies', 'network,file'])
      expect(res.code, res.stderr).toBe(0)
      const connect = h.lab.kube.store.get('tracingpolicies', undefined, 'connect')!
      expect(connect.spec.kprobes.map((k: {call: string}) => k.call)).toEqual(['tcp_connect', 'tcp_close', 'tcp_sendmsg'])
      const file = h.lab.kube.store.get('tracingpolicies', undefined, 'sensitive-file-reads')!
      expect(file.spec.kprobes[0].call).toBe('security_file_permission')
      expect(JSON.stringify(file.spec)).toContain('/etc/shadow')
      expect(file.metadata.managedFields.map((m: {manager: string}) => m.manager)).toEqual(['tetractl'])
      h.reset()
      const again = await h.cli(['setup', '--policies', 'network,file'])
      expect(again.stdout).toMatch(/Nothing to change/)
      expect(h.writes()).toEqual([])
    }, (spec) => {
      spec.tetragon.policies = []
    })
  })
})

describe('setup --dry-run', () => {
  it('prints the helm commands, the values diff and the manifests, and changes nothing', async () => {
    await withLab('grpc-localhost', async (h) => {
      const res = await h.cli(['setup', '--dry-run', '--policies', 'network,file'])
      expect(res.code, res.stderr).toBe(0)
      expect(res.stdout).toContain('$ helm repo add cilium https://helm.cilium.io/')
      expect(res.stdout).toMatch(/\$ helm upgrade --install tetragon cilium\/tetragon -n kube-system --values .* --version 1\.6\.1/)
      expect(res.stdout).toMatch(/\+ tetragon\.grpc\.enabled: true/)
      expect(res.stdout).toMatch(/kind: Service[\s\S]*app\.kubernetes\.io\/name: tetragon[\s\S]*port: 54321/)
      expect(res.stdout).toMatch(/kind: TracingPolicy[\s\S]*name: connect/)
      expect(res.stdout).toMatch(/nothing was changed/)
      expect(h.writes()).toEqual([])
      expect(h.mutatingHelmCalls()).toEqual([])
      // It did read: the release and its values.
      expect(h.helmCalls().map((a) => a.slice(0, 2).join(' '))).toEqual(expect.arrayContaining(['list -A', 'get values']))
      expect(h.lab.kube.store.get('services', 'kube-system', 'tetragon-grpc')).toBeUndefined()
    }, (spec) => {
      spec.grpcService = null
      spec.tetragon.policies = []
    })
  })
})

describe('setup with Kibana', () => {
  it('installs cilium_tetragon through Fleet, adds the package policy and says it has no gRPC input', async () => {
    await withLab(getScenario('kibana-package-missing')!, async (h) => {
      const admin = {KIBANA_USERNAME: 'elastic', KIBANA_PASSWORD: h.lab.elastic!.admin.password}
      const res = await h.cli(['setup', '--agent-policy', 'agent-policy-1'], admin)
      expect(res.code, res.stderr).toBe(0)
      expect(res.stdout).toMatch(/✔ Fleet package cilium_tetragon installed/)
      expect(res.stdout).toMatch(/✔ Fleet package policy cilium_tetragon-tetractl added/)
      expect(res.stdout).toMatch(/has no gRPC input/)
      const posts = h.lab.elastic!.kibanaRequests().filter((r: {method: string}) => r.method === 'POST').map((r: {path: string}) => r.path)
      expect(posts).toEqual(['/api/fleet/epm/packages/cilium_tetragon', '/api/fleet/package_policies'])
      h.reset()
      h.lab.elastic!.clearRequests()
      const again = await h.cli(['setup', '--agent-policy', 'agent-policy-1'], admin)
      expect(again.stdout).toMatch(/Nothing to change/)
      expect(h.lab.elastic!.kibanaRequests().filter((r: {method: string}) => r.method === 'POST')).toEqual([])
    })
  })
})

describe('setup and the user\'s own values', () => {
  it('keeps them through the upgrade and never prints a secret among them', async () => {
    await withLab('grpc-localhost', async (h) => {
      const secret = 'hunter2-do-not-print'
      const config = {tetragon: {clusterName: 'prod-eu'}, export: {filebeat: {username: 'elastic', password: secret}}, extraEnv: 'ELASTIC_PASSWORD=' + secret}
      h.lab.kube.store.modify('secrets', 'kube-system', 'sh.helm.release.v1.tetragon.v1', (o) => {
        o.data = releaseSecret({name: 'tetragon', namespace: 'kube-system', version: 1, status: 'deployed', chartVersion: '1.6.1', appVersion: '1.6.1', config, deployed: '2025-01-01T00:00:00Z'}).data
      })
      const dry = await h.cli(['setup', '--dry-run'])
      expect(dry.code, dry.stderr).toBe(0)
      expect(dry.stdout).toMatch(/password: "\[REDACTED\]"/)
      expect(dry.stdout + dry.stderr).not.toContain(secret)
      const res = await h.cli(['setup'])
      expect(res.code, res.stderr).toBe(0)
      expect(res.stdout + res.stderr).not.toContain(secret)
      // The release now holds the user's values plus the gRPC ones.
      // Asked the way a user would (async: the lab answers from this process).
      const {stdout} = await promisify(execFile)(join(FAKE_HELM_DIR, 'helm'), ['get', 'values', 'tetragon', '-n', 'kube-system', '-o', 'json'], {env: h.env})
      const values = JSON.parse(stdout)
      expect(values).toEqual({...config, tetragon: {clusterName: 'prod-eu', grpc: {enabled: true, address: '0.0.0.0:54321'}}})
      expect(h.lab.kube.store.get('configmaps', 'kube-system', 'tetragon-config')!.data['cluster-name']).toBe('prod-eu')
    })
  })
})
