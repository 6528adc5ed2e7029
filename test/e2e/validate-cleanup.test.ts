// validate deletes what it created on every path: success, failure, its global --timeout, SIGINT and SIGTERM sent
// mid-run; --keep leaves it and says how to delete it. Asserted on the lab's store and request log.
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {XMLValidator} from 'fast-xml-parser'
import {describe, expect, it} from 'vitest'

import {runCli} from '../helpers.js'
import {leftovers, notPassing, withScenario, writes, type Lab} from './validate-helpers.js'

/** The namespaces validate created (from the request log's delete) and whether each was deleted. */
function createdAndDeleted(lab: Lab): {created: number; deleted: string[]} {
  const w = writes(lab)
  return {created: w.filter((x) => x.startsWith('create namespaces')).length, deleted: w.filter((x) => x.startsWith('delete namespaces'))}
}

/** Sends `signal` to the child once validate is polling Elasticsearch (the probe pod exists and ran its commands). */
function signalWhenSearching(lab: Lab, signal: NodeJS.Signals): {onSpawn(pid: number): void; sent(): boolean} {
  let sent = false
  return {
    onSpawn(pid) {
      const timer = setInterval(() => {
        const searching = lab.elastic!.requests().some((r) => r.path.endsWith('/_search') && r.path.includes('cilium_tetragon'))
        if (searching && leftovers(lab).length > 0) {
          clearInterval(timer)
          sent = true
          process.kill(pid, signal)
        }
      }, 25)
      timer.unref()
    },
    sent: () => sent,
  }
}

describe('validate cleanup', () => {
  it('after success: nothing left', async () => {
    await withScenario('healthy', async (lab, env) => {
      const res = await runCli(['validate', '--json'], {env, timeoutMs: 90_000})
      expect(res.code).toBe(0)
      expect(createdAndDeleted(lab).created).toBe(1)
      expect(createdAndDeleted(lab).deleted).toHaveLength(1)
      expect(leftovers(lab)).toEqual([])
    })
  })

  it('after a failed stage: nothing left', async () => {
    await withScenario('shipper-down', async (lab, env) => {
      const res = await runCli(['validate', '--json', '--es-timeout', '2s'], {env, timeoutMs: 90_000})
      expect(res.code).toBe(1)
      expect(res.json().checks.find((c: any) => c.id === 'probe.cleanup').status).toBe('pass')
      expect(leftovers(lab)).toEqual([])
    })
  })

  it('after the global --timeout: unfinished steps not evaluated, exit 1, nothing left', async () => {
    await withScenario('slow-ingest', async (lab, env, dir) => {
      const junit = join(dir, 'timeout.xml')
      const res = await runCli(['validate', '--json', '--timeout', '6s', '--junit', junit], {env, timeoutMs: 90_000})
      const report = res.json()
      expect(report.interrupted).toBe('timeout')
      expect(notPassing(report).filter((s) => s.startsWith('doc.'))).toEqual(['doc.whoami', 'doc.curl', 'doc.connect', 'doc.cat', 'doc.file'].map((id) => `${id}:not-evaluated@elasticsearch`))
      expect(res.code).toBe(1)
      expect(XMLValidator.validate(readFileSync(junit, 'utf8'))).toBe(true)
      expect(leftovers(lab)).toEqual([])
    })
  })

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`after ${signal} mid-run: exit 130, JUnit written, nothing left`, async () => {
      await withScenario('slow-ingest', async (lab, env, dir) => {
        const junit = join(dir, `${signal}.xml`)
        const trigger = signalWhenSearching(lab, signal)
        const res = await runCli(['validate', '--json', '--junit', junit], {env, timeoutMs: 90_000, onSpawn: trigger.onSpawn})
        expect(trigger.sent()).toBe(true)
        expect(res.code).toBe(130)
        const report = res.json()
        expect(report.interrupted).toBe(signal)
        expect(report.exitCode).toBe(130)
        expect(report.checks.find((c: any) => c.id === 'probe.cleanup').status).toBe('pass')
        expect(existsSync(junit)).toBe(true)
        const xml = readFileSync(junit, 'utf8')
        expect(XMLValidator.validate(xml)).toBe(true)
        expect(xml).toContain(`interrupted (${signal})`)
        expect(res.stderr).not.toMatch(/at .*\.js:\d+/)
        expect(createdAndDeleted(lab).deleted).toHaveLength(1)
        expect(leftovers(lab)).toEqual([])
      })
    })
  }

  it('--keep leaves the namespace and prints how to delete it', async () => {
    await withScenario('healthy', async (lab, env) => {
      const res = await runCli(['validate', '--keep'], {env, timeoutMs: 90_000})
      expect(res.code).toBe(0)
      const left = leftovers(lab)
      expect(left).toHaveLength(2)
      const ns = left[0]!.replace('namespace/', '')
      expect(res.stderr).toContain(`kubectl delete namespace ${ns}`)
      expect(res.stdout).toMatch(/skipped: kept namespace/)
      expect(createdAndDeleted(lab).deleted).toEqual([])
    })
  })
})
