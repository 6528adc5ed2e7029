// Elasticsearch's own YAML REST tests (copied into test/fixtures/es-rest-tests, see SOURCES.md there) run against a
// fresh, empty Elasticsearch lab each. Tests the lab cannot run are listed in EXCLUDED.json with the reason; tests
// whose own skip / requires section leaves them out on 8.19 are skipped as the upstream runner would. A test in the
// exclusion list that starts to pass fails the suite, so the list cannot go stale.
import {readFileSync, readdirSync, statSync} from 'node:fs'
import {join, relative} from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterAll, describe, expect, it} from 'vitest'

import {startEsServer} from '../../../src/lab/elastic/es-server.js'
import {EsStore} from '../../../src/lab/elastic/store.js'
import {parseYamlTests, runYamlTest, type YamlTest} from './yaml-runner.js'

const VERSION = '8.19.2'
const ROOT = fileURLToPath(new URL('../../fixtures/es-rest-tests/', import.meta.url))
const EXCLUDED = JSON.parse(readFileSync(join(ROOT, 'EXCLUDED.json'), 'utf8')) as Record<string, string>

function yamlFiles(dir: string): string[] {
  return readdirSync(dir)
    .flatMap((f) => (statSync(join(dir, f)).isDirectory() ? yamlFiles(join(dir, f)) : f.endsWith('.yml') ? [join(dir, f)] : []))
    .sort()
}

const tests: YamlTest[] = yamlFiles(ROOT).flatMap((f) => parseYamlTests(relative(ROOT, f), readFileSync(f, 'utf8'), VERSION))
const key = (t: YamlTest) => `${t.file} :: ${t.name}`

async function runOne(t: YamlTest): Promise<void> {
  const store = new EsStore(8)
  const password = 'yaml-rest-runner'
  const server = await startEsServer({
    store,
    version: VERSION,
    users: [{username: 'elastic', password, roles: ['superuser'], cluster: ['all'], indices: [{names: ['*'], privileges: ['all']}], kibana: ['all']}],
    apiKeys: [],
  })
  try {
    await runYamlTest({url: server.url, ca: server.caPem, authorization: `Basic ${Buffer.from(`elastic:${password}`).toString('base64')}`}, t)
  } finally {
    await server.stop()
  }
}

const outcome = {pass: 0, fail: 0}

describe('es-yaml-rest', () => {
  for (const t of tests) {
    const reason = t.selfSkip ?? EXCLUDED[key(t)]
    it.skipIf(reason !== undefined)(key(t), async () => {
      try {
        await runOne(t)
        outcome.pass++
      } catch (e) {
        outcome.fail++
        throw e
      }
    })
  }

  it('the exclusion list names only tests that exist and still fail', async () => {
    const names = new Set(tests.map(key))
    expect(Object.keys(EXCLUDED).filter((k) => !names.has(k))).toEqual([])
    const nowPassing: string[] = []
    for (const t of tests.filter((x) => EXCLUDED[key(x)] !== undefined && x.selfSkip === undefined)) {
      try {
        await runOne(t)
        nowPassing.push(key(t))
      } catch {
        // still failing: the exclusion holds
      }
    }
    expect(nowPassing).toEqual([])
  })

  afterAll(() => {
    const self = tests.filter((t) => t.selfSkip !== undefined)
    const excluded = tests.filter((t) => t.selfSkip === undefined && EXCLUDED[key(t)] !== undefined)
    const lines = [`${outcome.pass} of ${tests.length} upstream tests pass (${excluded.length} excluded, ${self.length} skipped by their own skip/requires section, ${outcome.fail} failed)`]
    for (const t of excluded) lines.push(`  excluded: ${key(t)}: ${EXCLUDED[key(t)]}`)
    for (const t of self) lines.push(`  self-skipped: ${key(t)}: ${t.selfSkip}`)
    process.stdout.write(lines.join('\n') + '\n')
  })
})
