// The built `tetractl validate` against the whole lab (Kubernetes, a Tetragon agent per node, the shipper and
// Elasticsearch), one scenario at a time: each breaks one stage of the path.
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {XMLParser, XMLValidator} from 'fast-xml-parser'
import {describe, expect, it} from 'vitest'

import {runCli} from '../helpers.js'
import {byId, leftovers, notPassing, withScenario, writes} from './validate-helpers.js'

const ES_STEPS = ['doc.whoami', 'doc.curl', 'doc.connect', 'doc.cat', 'doc.file']
const ALL_STEPS = ['probe.pod', 'exec.whoami', 'exec.curl', 'exec.cat', 'grpc.whoami', 'grpc.curl', 'grpc.connect', 'grpc.cat', 'grpc.file', ...ES_STEPS, 'probe.cleanup']

// Scenario → the steps that do not pass (id:status@stage) and the exit code. Only the broken stage shows up.
// --es-timeout keeps the runs short; slow-ingest's documents come 3 minutes after the event, later than any wait here.
const expectations: Array<[string, string[], number]> = [
  ['healthy', [], 0],
  ['no-network-policy', ['tetragon.policies:warn@preflight', 'grpc.connect:skip@tetragon', 'doc.connect:skip@elasticsearch'], 0],
  ['export-filtered', ES_STEPS.map((id) => `${id}:fail@elasticsearch`), 1],
  ['shipper-down', ES_STEPS.map((id) => `${id}:fail@elasticsearch`), 1],
  ['slow-ingest', ES_STEPS.map((id) => `${id}:fail@elasticsearch`), 1],
]

describe('validate, per scenario', () => {
  for (const [scenario, broken, exitCode] of expectations) {
    it(`${scenario}: ${broken.length ? broken.join(', ') : 'every step passes'}, exit ${exitCode}`, async () => {
      await withScenario(scenario, async (lab, env) => {
        const res = await runCli(['validate', '--json', '--es-timeout', '4s'], {env, timeoutMs: 90_000})
        const report = res.json()
        expect(notPassing(report), res.stdout).toEqual(broken)
        expect(report.exitCode).toBe(exitCode)
        expect(res.code).toBe(exitCode)
        expect(report.command).toBe('validate')
        // Every step is reported, in order, after the preflight checks.
        expect(report.checks.filter((c: any) => c.stage !== 'preflight').map((c: any) => c.id)).toEqual(ALL_STEPS)
        // The namespace is labelled, never kube-system, and gone afterwards.
        const ns = report.run.namespace as string
        expect(ns).toMatch(/^tetractl-validate-[a-z0-9]+$/)
        expect(byId(report)['probe.pod'].evidence.labels).toEqual({'app.kubernetes.io/managed-by': 'tetractl'})
        expect(writes(lab)).toEqual(['create namespaces', `create pods ${ns}/`, `delete namespaces ${ns}`])
        expect(leftovers(lab)).toEqual([])
        expect(res.stdout).not.toContain(lab.elastic!.credentials.apiKey)
        // Every Elasticsearch request validate sends is one a real server accepts (the lab checks them against the REST API spec).
        expect(lab.elastic!.requests().filter((r) => r.status === 400 || r.status === 405).map((r) => `${r.method} ${r.path}`)).toEqual([])
      })
    })
  }

  it('healthy: each event is matched on the stream of the probe node\'s agent and its document has the package fields', async () => {
    await withScenario('healthy', async (_lab, env) => {
      const report = (await runCli(['validate', '--json'], {env, timeoutMs: 90_000})).json()
      const s = byId(report)
      expect(report.run.profile).toBe('package')
      expect(report.run.dataset).toBe('cilium_tetragon.log')
      expect(report.run.agent).toMatch(/^kube-system\/tetragon-/)
      // The tcp_connect goes to the address the pod resolved google.com to, port 80.
      expect(s['grpc.connect'].evidence).toMatchObject({function: 'tcp_connect', dport: 80, policy: 'connect'})
      expect(s['grpc.file'].evidence).toMatchObject({function: 'security_file_permission', path: '/etc/shadow'})
      for (const id of ['grpc.whoami', 'grpc.curl', 'grpc.cat']) expect(typeof s[id].evidence.exec.latencyMs).toBe('number')
      expect(s['doc.connect'].evidence.fields['cilium_tetragon.log.process_kprobe.args.sock_arg.daddr']).toBe('ok')
      expect(s['doc.whoami'].evidence.fields).toEqual({'event.dataset': 'ok', 'process.executable': 'ok', 'event.action': 'ok', message: 'ok'})
      expect(typeof s['doc.whoami'].evidence.searchableAfterMs).toBe('number')
      expect(s['exec.whoami'].evidence).toMatchObject({argv: ['whoami'], exitCode: 0})
      expect(s['exec.curl'].evidence.argv).toEqual(['curl', '-sS', '-m', '5', 'http://google.com'])
    })
  })

  it('healthy with --profile seed: the documents are found, but the fields the common docs expect are not there', async () => {
    await withScenario('healthy', async (_lab, env) => {
      const res = await runCli(['validate', '--json', '--profile', 'seed', '--dataset', 'cilium_tetragon.log'], {env, timeoutMs: 90_000})
      const report = res.json()
      expect(notPassing(report)).toEqual(ES_STEPS.map((id) => `${id}:fail@elasticsearch`))
      const connect = byId(report)['doc.connect']
      expect(connect.message).toMatch(/process\.name is missing/)
      expect(connect.message).toMatch(/destination\.ip is missing/)
      expect(connect.hint).toMatch(/--profile package/)
      expect(res.code).toBe(1)
    })
  })

  it('--require-policies turns the missing network policy into a failure', async () => {
    await withScenario('no-network-policy', async (lab, env) => {
      const res = await runCli(['validate', '--json', '--require-policies', '--es-timeout', '4s'], {env, timeoutMs: 90_000})
      const report = res.json()
      expect(byId(report)['grpc.connect'].status).toBe('fail')
      expect(byId(report)['grpc.connect'].hint).toMatch(/tetractl setup --policies network/)
      // No policy, no event to look for in Elasticsearch.
      expect(byId(report)['doc.connect'].status).toBe('not-evaluated')
      expect(res.code).toBe(1)
      expect(leftovers(lab)).toEqual([])
    })
  })

  it('export-filtered: the failure names the export filter; the JUnit file has one suite per stage', async () => {
    await withScenario('export-filtered', async (_lab, env, dir) => {
      // The folder must exist (issue #12: --junit never creates folders).
      const junit = join(dir, 'validate.xml')
      const res = await runCli(['validate', '--es-timeout', '3s', '--junit', junit], {env, timeoutMs: 90_000})
      expect(res.code).toBe(1)
      expect(res.stdout).toMatch(/Elasticsearch \(documents of the events\)/)
      expect(res.stdout).toMatch(/export filters drop the probe's events/)
      const xml = readFileSync(junit, 'utf8')
      expect(XMLValidator.validate(xml)).toBe(true)
      const doc = new XMLParser({ignoreAttributes: false}).parse(xml)
      const suites = [].concat(doc.testsuites.testsuite).map((s: any) => [s['@_name'], Number(s['@_failures'])])
      expect(suites).toEqual([['preflight', 0], ['trigger', 0], ['tetragon', 0], ['elasticsearch', 5], ['cleanup', 0]])
    })
  })

  it('--pod execs into an existing pod, creates nothing and deletes nothing', async () => {
    await withScenario('healthy', async (lab, env) => {
      // A pod like the seed's xwing, in default (scheduled and started by the lab's scheduler/kubelet).
      lab.kube.store.create('pods', {metadata: {name: 'xwing', namespace: 'default', labels: {app: 'xwing'}}, spec: {containers: [{name: 'spaceship', image: 'docker.io/curlimages/curl:8.11.1'}]}})
      for (let i = 0; i < 100 && lab.kube.store.get('pods', 'default', 'xwing')?.status?.phase !== 'Running'; i++) await new Promise((r) => setTimeout(r, 20))
      const res = await runCli(['validate', '--json', '--pod', 'default/xwing'], {env, timeoutMs: 90_000})
      const report = res.json()
      expect(notPassing(report)).toEqual(['probe.cleanup:skip@cleanup'])
      expect(report.run).toMatchObject({namespace: 'default', pod: 'xwing', container: 'spaceship', created: false})
      expect(writes(lab)).toEqual([])
      expect(lab.kube.store.get('pods', 'default', 'xwing')).toBeDefined()
      expect(res.code).toBe(0)
    })
  })
})
