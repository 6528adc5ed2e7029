// The built `tetractl doctor` against the Elastic lab (and the cluster it ships from), per scenario.

import {describe, expect, it} from 'vitest'

import {startLab, type LabOptions} from '../../src/lab/index.js'
import {getScenario} from '../../src/lab/scenarios.js'
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

const ONLY = '--only=elastic,kibana'

// Scenario → exact failing ids, warning ids, exit code (issue #4 acceptance). The package ships no
// dashboards, so kibana.dashboards warns wherever nobody built one.
const expectations: Array<[string, string[], string[], number]> = [
  // healthy's Kibana has a team-built Tetragon dashboard; every other scenario has none.
  ['healthy', [], [], 0],
  ['no-data', ['es.dataset'], ['kibana.dashboards'], 1],
  ['seed-dataset', ['es.fields'], ['es.dataset', 'kibana.dashboards'], 1],
  ['package-dataset', [], ['kibana.dashboards'], 0],
  ['pipeline-errors', ['es.fields', 'es.pipeline-errors'], ['kibana.dashboards'], 1],
  ['stale-data', ['es.freshness'], ['kibana.dashboards'], 1],
  ['es-8', [], ['kibana.dashboards'], 0],
  ['es-9', [], ['kibana.dashboards'], 0],
  ['es-auth-failure', ['es.connect', 'kibana.dashboards', 'kibana.package'], [], 3],
  ['template-missing', ['es.fields', 'es.template'], ['kibana.dashboards'], 1],
  ['kibana-package-missing', ['es.fields', 'es.pipeline', 'es.template', 'kibana.package'], ['kibana.dashboards'], 1],
]

describe('doctor, Elastic side, per scenario', () => {
  for (const [scenario, failing, warning, exitCode] of expectations) {
    it(`${scenario}: fails ${failing.join(', ') || 'nothing'}, warns ${warning.join(', ') || 'nothing'}, exit ${exitCode}`, async () => {
      await withScenario(scenario, async (lab, env) => {
        lab.elastic!.clearRequests()
        const res = await runCli(['doctor', '--json', ONLY], {env})
        const report = res.json()
        expect(idsWithStatus(report, 'fail'), res.stdout).toEqual(failing)
        expect(idsWithStatus(report, 'warn')).toEqual(warning)
        expect(res.code).toBe(exitCode)
        expect(report.checks.find((c: any) => c.id === 'agent.shipper').status).toBe('pass')
        // All Elastic checks together: at most 9 requests to Elasticsearch (one is _field_caps).
        expect(lab.elastic!.requests().length).toBeLessThanOrEqual(9)
        // tetractl sends only requests a real server accepts: the lab routes and checks them against
        // Elasticsearch's REST API spec, so an unknown route, method, parameter or body key would be a 400/405 here.
        expect(lab.elastic!.requests().filter((r) => r.status === 400 || r.status === 405).map((r) => `${r.method} ${r.path}`)).toEqual([])
        // No credential in the document.
        for (const secret of [lab.elastic!.credentials.apiKey, lab.elastic!.credentials.password, env.ELASTICSEARCH_API_KEY]) {
          if (secret) expect(res.stdout + res.stderr).not.toContain(secret)
        }
      })
    })
  }

  it('seed-dataset: the human report names both datasets and why', async () => {
    await withScenario('seed-dataset', async (_lab, env) => {
      const res = await runCli(['doctor', ONLY], {env})
      expect(res.code).toBe(1)
      expect(res.stdout).toMatch(/‼ es\.dataset .*tetragon\.log/)
      expect(res.stdout).toContain('cilium_tetragon.log')
    })
  })

  it('without a kubeconfig, an Elastic-only run skips the cluster side instead of failing', async () => {
    await withScenario('healthy', async (_lab, env) => {
      const {KUBECONFIG: _, ...noKube} = env
      const res = await runCli(['doctor', '--json', ONLY], {env: noKube})
      const report = res.json()
      expect(res.code).toBe(0)
      expect(report.checks.find((c: any) => c.id === 'k8s.connect').status).toBe('skip')
      expect(report.checks.find((c: any) => c.id === 'agent.shipper').status).toBe('not-evaluated')
      expect(idsWithStatus(report, 'fail')).toEqual([])
    })
  })
})

describe('doctor, Elastic bad input', () => {
  const expectOneLine = (stderr: string) => {
    const lines = stderr.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^Error: /)
    expect(stderr).not.toMatch(/\n\s+at /)
  }
  const run = (env: Record<string, string>) => runCli(['doctor', '--json', ONLY, '--skip', 'agent.shipper'], {env})

  it('a URL without scheme → exit 2, naming ELASTICSEARCH_URL', async () => {
    await withScenario('healthy', async (_lab, env) => {
      const res = await run({...env, ELASTICSEARCH_URL: 'localhost:9200'})
      expect(res.code).toBe(2)
      expectOneLine(res.stderr)
      expect(res.stderr).toMatch(/ELASTICSEARCH_URL \(--es-url\) must start with https:\/\/ or http:\/\//)
    })
  })

  it("a typo'd host → exit 3, naming ELASTICSEARCH_URL", async () => {
    await withScenario('healthy', async (_lab, env) => {
      const res = await run({...env, ELASTICSEARCH_URL: 'https://elasticsaerch.invalid:9200'})
      expect(res.code).toBe(3)
      expectOneLine(res.stderr)
      expect(res.stderr).toMatch(/Cannot resolve the host elasticsaerch\.invalid:9200 of ELASTICSEARCH_URL/)
    })
  })

  it('a server that is not Elasticsearch (no product header) → exit 3', async () => {
    await withScenario(
      'healthy',
      async (_lab, env) => {
        const res = await run(env)
        expect(res.code).toBe(3)
        expectOneLine(res.stderr)
        expect(res.stderr).toMatch(/is not Elasticsearch: its responses lack the x-elastic-product header/)
      },
      {elastic: {notElasticsearch: true}},
    )
  })

  it('401 → exit 3, naming the credential variable, never echoing it', async () => {
    await withScenario('es-auth-failure', async (_lab, env) => {
      const res = await run(env)
      expect(res.code).toBe(3)
      expectOneLine(res.stderr)
      expect(res.stderr).toMatch(/rejected the credentials \(401.*ELASTICSEARCH_API_KEY/)
      expect(res.stdout + res.stderr).not.toContain(env.ELASTICSEARCH_API_KEY)
    })
  })

  it('403 on GET / (no monitor privilege) → exit 3, naming the credentials', async () => {
    const password = 'no-monitor-pass-12345'
    await withScenario(
      'healthy',
      async (_lab, env) => {
        const {ELASTICSEARCH_API_KEY: _, ...rest} = env
        const res = await run({...rest, ELASTICSEARCH_USERNAME: 'no-monitor', ELASTICSEARCH_PASSWORD: password})
        expect(res.code).toBe(3)
        expectOneLine(res.stderr)
        expect(res.stderr).toMatch(/403/)
        expect(res.stderr).toMatch(/ELASTICSEARCH_USERNAME/)
        expect(res.stdout + res.stderr).not.toContain(password)
      },
      {elastic: {users: [{username: 'no-monitor', password, roles: [], cluster: [], indices: []} as any]}},
    )
  })

  it('429 twice then success: bounded retries recover, exit 0', async () => {
    await withScenario(
      'healthy',
      async (_lab, env) => {
        const res = await run(env)
        expect(res.code).toBe(0)
        expect(res.json().checks.find((c: any) => c.id === 'es.connect').status).toBe('pass')
      },
      {elastic: {failures: [{status: 429, times: 2}]}},
    )
  })

  it('503 that never ends: bounded retries, then exit 3', async () => {
    await withScenario(
      'healthy',
      async (lab, env) => {
        const res = await run(env)
        expect(res.code).toBe(3)
        expectOneLine(res.stderr)
        expect(res.stderr).toMatch(/answered 503 .*3 times in a row/)
        // One GET / plus two retries: bounded.
        expect(lab.elastic!.requests().filter((r: any) => r.path === '/').length).toBe(3)
      },
      {elastic: {failures: [{status: 503, times: 1000}]}},
    )
  })

  it('a malformed API key → exit 2, not echoed', async () => {
    await withScenario('healthy', async (_lab, env) => {
      const key = 'not a key! s3cr3t-part'
      const res = await run({...env, ELASTICSEARCH_API_KEY: key})
      expect(res.code).toBe(2)
      expectOneLine(res.stderr)
      expect(res.stderr).toMatch(/ELASTICSEARCH_API_KEY \(--es-api-key\) is not a valid API key/)
      expect(res.stderr).not.toContain('s3cr3t-part')
    })
  })

  it('a missing CA file → exit 2, naming ELASTICSEARCH_CA_CERT', async () => {
    await withScenario('healthy', async (_lab, env) => {
      const res = await run({...env, ELASTICSEARCH_CA_CERT: '/nonexistent/ca.pem'})
      expect(res.code).toBe(2)
      expectOneLine(res.stderr)
      expect(res.stderr).toMatch(/ELASTICSEARCH_CA_CERT \(--es-ca-cert\) file not found: \/nonexistent\/ca\.pem/)
    })
  })
})
