// The built `tetractl doctor` against a lab that behaves like a real stack (issue #10 items 1, 2, 12):
// real package mappings, documents shaped by the cluster's real shipper, scenarios that hold.

import {describe, expect, it} from 'vitest'

import {startLab} from '../../src/lab/index.js'
import {getScenario} from '../../src/lab/scenarios.js'
import {runCli, tempDir} from '../helpers.js'

type Lab = Awaited<ReturnType<typeof startLab>>

async function withScenario<T>(name: string, fn: (lab: Lab, env: Record<string, string>) => Promise<T>): Promise<T> {
  const lab = await startLab(getScenario(name)!)
  await lab.writeFiles(tempDir())
  try {
    return await fn(lab, {...lab.env})
  } finally {
    await lab.stop()
  }
}

/** Waits for a lab condition (a bound against a hung lab, not a measurement). */
async function until(what: string, cond: () => boolean, boundMs = 120_000): Promise<void> {
  const end = Date.now() + boundMs
  while (!cond()) {
    if (Date.now() > end) throw new Error(`lab never reached: ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

const ONLY = '--only=elastic,kibana'
const check = (report: any, id: string) => report.checks.find((c: any) => c.id === id)

describe('doctor against the real package mappings (event.original not searchable, args nested)', () => {
  for (const scenario of ['healthy', 'es-8', 'es-9']) {
    it(`${scenario}: es.fields passes, counting event.original from _source and the kprobe args through a nested query; exit 0`, async () => {
      await withScenario(scenario, async (lab, env) => {
        // The lab maps event.original as ecs@mappings does: no exists query finds it.
        const mapping = lab.elastic!.store.docs[0].mapping!.get('event.original')!.def
        expect(mapping).toMatchObject({type: 'keyword', index: false, doc_values: false})
        const res = await runCli(['doctor', '--json', ONLY], {env})
        const report = res.json()
        const fields = check(report, 'es.fields')
        expect(fields.status, JSON.stringify(fields)).toBe('pass')
        expect(res.code).toBe(0)
        expect(fields.evidence.sampled.fields).toEqual(['event.original'])
        expect(fields.evidence.sampled.parsed).toBeGreaterThan(0)
        expect(fields.evidence.sampled.carrying['event.original']).toBe(fields.evidence.sampled.parsed)
        expect(fields.evidence.eventTypes.kprobeArgs).toBeGreaterThan(0)
        expect(fields.message).toMatch(/event\.original is not searchable/)
        // One of the at most 9 requests asks the data stream's field capabilities.
        expect(lab.elastic!.requests().some((r) => r.path === '/logs-cilium_tetragon.log-*/_field_caps' && r.status === 200)).toBe(true)
      })
    })
  }
})

describe("documents shaped by the cluster's shipper", () => {
  it('healthy: the Elastic Agent DaemonSet ships each node\'s export-stdout log with data_stream.*, event.dataset, elastic_agent.*; es.dataset says so', async () => {
    await withScenario('healthy', async (lab, env) => {
      const el = lab.elastic!
      const fromCluster = () => el.store.docs.find((d) => /^node-\d+$/.test(String((d._source as any).cilium_tetragon?.log?.node_name)))
      await until('a document from a lab node', () => {
        void el.flush()
        return fromCluster() !== undefined
      })
      const doc = fromCluster()!._source as any
      const node = doc.cilium_tetragon.log.node_name as string
      const pod = lab.kube.store.list('pods').find((p: any) => p.spec?.nodeName === node && (p.status?.containerStatuses ?? []).some((c: any) => c.name === 'export-stdout'))!
      const containerId = pod.status.containerStatuses.find((c: any) => c.name === 'export-stdout').containerID.replace(/^containerd:\/\//, '')
      expect(doc.agent).toMatchObject({type: 'filebeat', name: node})
      expect(doc.elastic_agent).toMatchObject({id: doc.agent.id, snapshot: false})
      expect(doc.data_stream).toEqual({type: 'logs', dataset: 'cilium_tetragon.log', namespace: 'default'})
      expect(doc.event.dataset).toBe('cilium_tetragon.log')
      expect(doc.input).toEqual({type: 'filestream'})
      expect(doc.log.file.path).toBe(`/var/log/containers/${pod.metadata.name}_${pod.metadata.namespace}_export-stdout-${containerId}.log`)

      const res = await runCli(['doctor', '--json', ONLY], {env})
      const dataset = check(res.json(), 'es.dataset')
      expect(dataset.status).toBe('pass')
      expect(dataset.evidence.shipper).toBe('elastic-agent')
      expect(dataset.evidence['cilium_tetragon.log'].dataStreamDataset).toBeGreaterThan(0)
      expect(dataset.message).toMatch(/written by Elastic Agent/)
      expect(dataset.message).not.toMatch(/data_stream\.dataset is not set/)
    })
  })
})

describe('scenarios hold for their whole life', () => {
  it('stale-data: after the agents have exported fresh events, the newest document is still 3 hours old (es.freshness fails, exit 1)', async () => {
    await withScenario('stale-data', async (lab, env) => {
      const el = lab.elastic!
      const seeded = el.shipperStats().read
      // Wait until the Tetragon agents have handed fresh lines to the shipper, and those are settled.
      await until('fresh export lines reach the shipper', () => el.shipperStats().read > seeded)
      await el.flush()
      const res = await runCli(['doctor', '--json', ONLY], {env})
      const freshness = check(res.json(), 'es.freshness')
      expect(freshness.status, freshness.message).toBe('fail')
      expect(freshness.message).toMatch(/is 3h old/)
      expect(res.code).toBe(1)
    })
  })
})
