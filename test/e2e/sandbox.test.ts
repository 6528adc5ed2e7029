// `tetractl sandbox list` and `sandbox start` as a user runs them.
import {spawn} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {scenarios} from '../../src/lab/scenarios.js'
import {BIN, idsWithStatus, runCli, tempDir} from '../helpers.js'

function parseEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {}
  for (const line of text.split('\n')) {
    const m = /^export ([A-Z0-9_]+)='(.*)'$/.exec(line.trim())
    if (m) env[m[1]] = m[2].replace(/'\\''/g, "'")
  }
  return env
}

describe('sandbox', () => {
  it('list names every scenario, one line each, and --json returns them', async () => {
    const text = await runCli(['sandbox', 'list'])
    expect(text.code).toBe(0)
    const lines = text.stdout.trim().split('\n')
    expect(lines).toHaveLength(scenarios.size)
    expect(lines[0]).toMatch(/^healthy +documented setup/)
    const json = (await runCli(['sandbox', 'list', '--json'])).json()
    expect(json.map((s: any) => s.name)).toEqual([...scenarios.keys()])
  })

  it('start writes DIR/kubeconfig and DIR/env, serves doctor, and stops cleanly on SIGTERM', async () => {
    const dir = join(tempDir(), 'sb')
    const child = spawn(process.execPath, [BIN, 'sandbox', 'start', '--scenario', 'selector-mismatch', '--out', dir], {env: {PATH: process.env.PATH, HOME: tempDir(), NO_COLOR: '1'}})
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve))
    for (let i = 0; i < 300 && !out.includes('stop with Ctrl-C'); i++) await new Promise((r) => setTimeout(r, 100))
    expect(existsSync(join(dir, 'kubeconfig'))).toBe(true)
    const env = parseEnv(readFileSync(join(dir, 'env'), 'utf8'))
    expect(env.KUBECONFIG).toBe(join(dir, 'kubeconfig'))
    expect(env.ELASTICSEARCH_URL).toMatch(/^https:\/\//)
    const report = (await runCli(['doctor', '--json', '--only', 'kubernetes'], {env})).json()
    expect(idsWithStatus(report, 'fail')).toEqual(['service.selector'])
    child.kill('SIGTERM')
    expect(await closed).toBe(0)
    expect(out).toContain('sandbox stopped (SIGTERM)')
  })

  it('an unknown scenario is a one-line usage error', async () => {
    const res = await runCli(['sandbox', 'start', '--scenario', 'nope', '--out', tempDir()])
    expect(res.code).toBe(2)
    expect(res.stderr.trim()).toMatch(/^Error: Unknown scenario "nope"\. Use one of: healthy, /)
  })
})
