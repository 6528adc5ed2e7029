// Issue #10 items 7–9, through the built CLI: an Elastic-only run is reachable by --skip as by --only,
// each check speaks for its own layer, and no message names a flag or a mechanism that is not there.
import net from 'node:net'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {startLab, type LabOptions} from '../../src/lab/index.js'
import {getScenario} from '../../src/lab/scenarios.js'
import {startTetragonAgent, type TetragonAgent} from '../../src/lab/tetragon/agent.js'
import {idsWithStatus, runCli, tempDir} from '../helpers.js'

type Lab = Awaited<ReturnType<typeof startLab>>

async function withScenario<T>(name: string, fn: (lab: Lab, env: Record<string, string>) => Promise<T>, opts: LabOptions = {}): Promise<T> {
  const lab = await startLab(getScenario(name)!, opts)
  await lab.writeFiles(tempDir())
  try {
    return await fn(lab, {...lab.env})
  } finally {
    await lab.stop()
  }
}

const byId = (report: any, id: string) => report.checks.find((c: any) => c.id === id)

describe('item 7: an Elastic-only run by --skip', () => {
  it('--skip kubernetes,tetragon without a kubeconfig runs the Elastic checks like --only elastic,kibana', async () => {
    await withScenario('healthy', async (_lab, env) => {
      const {KUBECONFIG: _, ...noKube} = env
      const res = await runCli(['doctor', '--json', '--skip', 'kubernetes,tetragon'], {env: noKube})
      expect(res.stderr).not.toMatch(/No kubeconfig found/)
      expect(res.code, res.stderr).toBe(0)
      const report = res.json()
      expect(byId(report, 'k8s.connect').status).toBe('skip')
      expect(byId(report, 'es.connect').status).toBe('pass')
      expect(byId(report, 'kibana.package').status).toBe('pass')
      expect(idsWithStatus(report, 'fail')).toEqual([])
    })
  })

  it('without --skip or --only, a missing kubeconfig is still a usage error', async () => {
    const res = await runCli(['doctor'])
    expect(res.code).toBe(2)
    expect(res.stderr).toMatch(/No kubeconfig found/)
  })
})

describe('item 8: kibana.package speaks for Kibana', () => {
  const args = ['doctor', '--json', '--only', 'elastic,kibana', '--skip', 'agent.shipper']

  it('Elasticsearch that is not Elasticsearch: es.connect fails, kibana.package still reports what Fleet says', async () => {
    await withScenario(
      'healthy',
      async (_lab, env) => {
        const res = await runCli(args, {env})
        const report = res.json()
        expect(byId(report, 'es.connect').status).toBe('fail')
        const pkg = byId(report, 'kibana.package')
        expect(pkg.status, pkg.message).toBe('pass')
        expect(pkg.message).toMatch(/cilium_tetragon 0\.\d+\.\d+ is installed/)
        expect(pkg.message).not.toMatch(/Elasticsearch lacks/)
      },
      {elastic: {notElasticsearch: true}},
    )
  })

  it('package missing and Elasticsearch not Elasticsearch: no claim about missing templates or pipelines', async () => {
    await withScenario(
      'kibana-package-missing',
      async (_lab, env) => {
        const report = (await runCli(args, {env})).json()
        const pkg = byId(report, 'kibana.package')
        expect(pkg.status).toBe('fail')
        expect(pkg.message).toMatch(/not installed in Kibana/)
        expect(pkg.message).not.toMatch(/template|pipeline/)
      },
      {elastic: {notElasticsearch: true}},
    )
  })

  it('package missing, and es.pipeline / es.template found the assets missing: the message says so', async () => {
    await withScenario('kibana-package-missing', async (_lab, env) => {
      const report = (await runCli(args, {env})).json()
      expect(byId(report, 'es.pipeline').status).toBe('fail')
      expect(byId(report, 'es.template').status).toBe('fail')
      expect(byId(report, 'kibana.package').message).toMatch(/not installed in Kibana.*index template logs-cilium_tetragon\.log.*ingest pipeline/)
    })
  })
})

describe('item 9: no untrue text', () => {
  const expectOneLine = (stderr: string) => {
    const lines = stderr.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^Error: /)
  }

  it('Kibana credential errors name only settings that exist', async () => {
    await withScenario('healthy', async (_lab, env) => {
      const run = (extra: Record<string, string>) => runCli(['doctor', '--json', '--only', 'kibana'], {env: {...env, ...extra}})
      const help = (await runCli(['doctor', '--help'])).stdout
      const cases: Array<[Record<string, string>, RegExp]> = [
        [{KIBANA_USERNAME: 'fleet-reader'}, /KIBANA_USERNAME is set but KIBANA_PASSWORD is not/],
        [{KIBANA_CA_CERT: '/nonexistent/kibana-ca.pem'}, /KIBANA_CA_CERT file not found/],
        [{KIBANA_URL: 'https://user:pw@kibana.invalid:5601'}, /KIBANA_URL \(--kibana-url\) must not contain credentials/],
      ]
      for (const [extra, pattern] of cases) {
        const res = await run(extra)
        expect(res.code).toBe(2)
        expectOneLine(res.stderr)
        expect(res.stderr).toMatch(pattern)
        // Every flag the error names is one `doctor --help` lists.
        for (const flag of res.stderr.match(/--[a-z][a-z-]+/g) ?? []) expect(help, `${flag} in: ${res.stderr}`).toContain(flag)
      }
    })
  })

  describe('standalone tetragon.liveness', () => {
    let agent: TetragonAgent
    let closedPort: number
    beforeAll(async () => {
      agent = await startTetragonAgent({version: 'v1.7.0', nodeName: 'host-1', serverAddress: '127.0.0.1:0', backgroundIntervalMs: 200, livenessFailing: true})
      closedPort = await new Promise<number>((resolve) => {
        const s = net.createServer().listen(0, '127.0.0.1', () => {
          const p = (s.address() as net.AddressInfo).port
          s.close(() => resolve(p))
        })
      })
    })
    afterAll(() => agent?.stop())
    const address = () => {
      const g = agent.grpc as {host: string; port: number}
      return `${g.host}:${g.port}`
    }
    const liveness = async (health: string) => {
      const res = await runCli(['doctor', '--json', '--only', 'tetragon.liveness', '--tetragon-address', address(), '--tetragon-health-address', health])
      return byId(res.json(), 'tetragon.liveness')
    }

    it('a health server that does not answer: names the address probed, no kubelet', async () => {
      const c = await liveness(`127.0.0.1:${closedPort}`)
      expect(c.status).toBe('fail')
      expect(c.message).toContain(`127.0.0.1:${closedPort}`)
      expect(`${c.message} ${c.hint}`).not.toMatch(/kubelet|Helm/)
    })

    it('NOT_SERVING: no kubelet will restart a standalone agent', async () => {
      const c = await liveness(`127.0.0.1:${agent.healthPort}`)
      expect(c.status).toBe('fail')
      expect(c.message).toMatch(/NOT_SERVING/)
      expect(c.message).toContain(`127.0.0.1:${agent.healthPort}`)
      expect(`${c.message} ${c.hint}`).not.toMatch(/kubelet/)
    })
  })
})
