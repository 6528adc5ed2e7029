// Issue #14 item 3, through the built CLI: a hint can be pasted as it is (the other hints-*.test.ts check every
// scenario's hints; see hints.ts).
import {execFile} from 'node:child_process'

import {describe, expect, it} from 'vitest'

import {startLab} from '../../src/lab/index.js'
import {getScenario} from '../../src/lab/scenarios.js'
import {exportFilterHint} from '../../src/services/validate/index.js'
import {runCli, tempDir} from '../helpers.js'
import {bashSyntax, PLACEHOLDER} from './hints.js'

describe('validate export-filtered hint', () => {
  it('appends the probe namespace to the allow list as one shell word helm reads back as the chart string', async () => {
    const allow = '{"namespace":["default"],"event_set":["PROCESS_EXEC"]}'
    const hint = exportFilterHint({allow, because: 'export-allowlist ... does not match', namespace: 'tetractl-probe-1', tetragonNamespace: 'kube-system'})
    expect(await bashSyntax(hint)).toBeUndefined()
    expect(PLACEHOLDER.test(hint)).toBe(false)
    // What bash hands helm: print the words instead of running helm.
    const words = await new Promise<string[]>((resolve, reject) =>
      execFile('bash', ['-c', hint.replace(/^helm /, "printf '%s\\0' ")], (err, out) => (err ? reject(err) : resolve(out.split('\0').filter(Boolean)))),
    )
    const arg = words.find((w) => w.startsWith('tetragon.exportAllowList='))!
    expect(JSON.parse(arg.slice('tetragon.exportAllowList='.length))).toBe(`${allow}\n{"namespace":["tetractl-probe-1"]}`)
  })
})

describe('a fix pasted into bash fixes the finding', () => {
  it('service.exists (no-service): the hint, run by bash with kubectl against the lab, makes the check pass', async () => {
    const lab = await startLab(getScenario('no-service')!)
    await lab.writeFiles(tempDir())
    try {
      const env = {...lab.env}
      const before = (await runCli(['doctor', '--json', '--only', 'service.exists'], {env})).json()
      const c = before.checks.find((x: any) => x.id === 'service.exists')
      expect(c.status).toBe('fail')
      const out = await new Promise<{code: number; output: string}>((resolve) =>
        // The lab serves no OpenAPI document, which kubectl's client-side validation downloads first (a real API server does).
        execFile('bash', ['-c', c.hint.replace('kubectl apply -f -', 'kubectl apply --validate=false -f -')], {env: {...process.env, ...env}, timeout: 60_000}, (err, stdout, stderr) => resolve({code: err ? 1 : 0, output: `${stdout}${stderr}`})),
      )
      expect(out.code, out.output).toBe(0)
      const after = (await runCli(['doctor', '--json', '--only', 'service.exists'], {env})).json()
      expect(after.checks.find((x: any) => x.id === 'service.exists').status).toBe('pass')
    } finally {
      await lab.stop()
    }
  }, 180_000)
})
