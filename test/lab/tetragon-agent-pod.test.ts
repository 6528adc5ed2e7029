// What the real agent image and chart put in the agent container, seen through exec as a user does
// (`kubectl exec -n kube-system ds/tetragon -c tetragon -- tetra status`, as the Tetragon docs run it).
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {KubeClient} from '../../src/clients/kube.js'
import {startLab} from '../../src/lab/index.js'
import {getScenario} from '../../src/lab/scenarios.js'
import {tempDir} from '../helpers.js'

type Lab = Awaited<ReturnType<typeof startLab>>

async function labWith(name: string): Promise<{lab: Lab; kube: KubeClient; agentPod: string; collectorPod: string}> {
  const lab = await startLab(getScenario(name)!)
  const dir = tempDir()
  await lab.writeFiles(dir)
  const kube = KubeClient.load({kubeconfig: join(dir, 'kubeconfig'), requestTimeoutMs: 20_000})
  const pods = lab.kube.store.list('pods', 'kube-system')
  const agentPod = pods.find((p) => p.metadata.labels?.['app.kubernetes.io/name'] === 'tetragon')!.metadata.name!
  const collectorPod = pods.find((p) => p.metadata.labels?.app === 'elastic-agent')!.metadata.name!
  return {lab, kube, agentPod, collectorPod}
}

describe('the agent container (healthy, v1.7.0)', () => {
  let t: Awaited<ReturnType<typeof labWith>>
  beforeAll(async () => {
    t = await labWith('healthy')
  })
  afterAll(() => t?.lab.stop())
  const run = (argv: string[], pod = t.agentPod, container = 'tetragon') => t.kube.exec('kube-system', pod, container, argv, {timeoutMs: 20_000})

  it('tetra status → "Health Status: running" (cmd/tetra/status)', async () => {
    expect(await run(['tetra', 'status'])).toMatchObject({stdout: 'Health Status: running\n', exitCode: 0})
  })

  it('tetra version [-s] → the CLI and server versions (cmd/tetra/version)', async () => {
    expect(await run(['tetra', 'version'])).toMatchObject({stdout: 'CLI version: v1.7.0\n', exitCode: 0})
    expect(await run(['tetra', 'version', '--server'])).toMatchObject({stdout: 'CLI version: v1.7.0\nServer version: v1.7.0\n', exitCode: 0})
    expect(await run(['tetra', '--server-address', 'unix:///var/run/tetragon/tetragon.sock', 'version', '-s'])).toMatchObject({exitCode: 0})
  })

  it('tetra only in the agent image: elsewhere the runtime cannot start it', async () => {
    const r = await run(['tetra', 'status'], t.collectorPod, 'elastic-agent')
    expect(r.notFound).toBe(true)
    expect(r.message).toMatch(/exec: "tetra": executable file not found in \$PATH/)
    const op = await run(['tetra', 'status'], t.agentPod, 'export-stdout')
    expect(op.notFound).toBe(true)
  })

  it('the ConfigMap as files under /etc/tetragon/tetragon.conf.d/, one per key, readable with cat', async () => {
    const cm = t.lab.kube.store.get('configmaps', 'kube-system', 'tetragon-config')!
    const keys = Object.keys(cm.data)
    expect(keys).toEqual(expect.arrayContaining(['server-address', 'export-filename', 'enable-process-cred']))
    for (const key of ['server-address', 'export-filename', 'export-allowlist', 'export-denylist', 'debug']) {
      const r = await run(['cat', `/etc/tetragon/tetragon.conf.d/${key}`])
      expect(r, key).toMatchObject({stdout: cm.data[key], exitCode: 0})
    }
    // A key the ConfigMap does not have is no file; other containers do not mount the volume.
    expect(await run(['cat', '/etc/tetragon/tetragon.conf.d/no-such-key'])).toMatchObject({exitCode: 1, stderr: 'cat: /etc/tetragon/tetragon.conf.d/no-such-key: No such file or directory\n'})
    expect((await run(['cat', '/etc/tetragon/tetragon.conf.d/server-address'], t.collectorPod, 'elastic-agent')).exitCode).toBe(1)
    // The mounted files follow the ConfigMap.
    t.lab.kube.store.modify('configmaps', 'kube-system', 'tetragon-config', (o) => {
      o.data['debug'] = 'true'
    })
    expect((await run(['cat', '/etc/tetragon/tetragon.conf.d/debug'])).stdout).toBe('true')
  })
})

describe('the agent container with gRPC disabled (server-address "")', () => {
  let t: Awaited<ReturnType<typeof labWith>>
  beforeAll(async () => {
    t = await labWith('grpc-disabled')
  })
  afterAll(() => t?.lab.stop())

  it('tetra status reports the dial error on stdout; version -s dies on the nil response', async () => {
    const status = await t.kube.exec('kube-system', t.agentPod, 'tetragon', ['tetra', 'status'], {timeoutMs: 20_000})
    expect(status.exitCode).toBe(0)
    expect(status.stdout).toMatch(/^status error: rpc error: code = Unavailable desc = /)
    const version = await t.kube.exec('kube-system', t.agentPod, 'tetragon', ['tetra', 'version', '-s'], {timeoutMs: 20_000})
    expect(version.exitCode).toBe(2)
    expect(version.stdout).toBe('CLI version: v1.7.0\n')
    expect(version.stderr).toMatch(/msg="error retrieving server version"/)
  })
})

describe('large-cluster: agents start on first connect', () => {
  // Only the first 10 nodes' agents run from the start; the others start when something first dials their ports.
  // A port-forward is such a dial (the runtime connects to localhost:<port> in the hostNetwork pod's namespace).
  it('a port-forward to an agent no one has dialled yet reaches its gRPC server (GetVersion answers)', async () => {
    const lab = await startLab(getScenario('large-cluster')!)
    try {
      const dir = tempDir()
      await lab.writeFiles(dir)
      const kube = KubeClient.load({kubeconfig: join(dir, 'kubeconfig'), requestTimeoutMs: 20_000})
      const agents = lab.kube.store.list('pods', 'kube-system').filter((p) => p.metadata.labels?.['app.kubernetes.io/name'] === 'tetragon')
      const far = agents.find((p) => p.spec?.nodeName === 'node-4321')!
      const forward = await kube.portForward('kube-system', far.metadata.name!, 54321)
      const {connectTetragon} = await import('../../src/clients/tetragon.js')
      const client = connectTetragon({address: `${forward.host}:${forward.port}`}, {timeoutMs: 20_000})
      try {
        expect(await client.getVersion()).toMatch(/^v1\./)
        expect(forward.errors).toEqual([])
      } finally {
        client.close()
        await forward.close()
      }
    } finally {
      await lab.stop()
    }
  })
})
