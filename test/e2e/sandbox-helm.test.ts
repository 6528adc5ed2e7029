// `tetractl sandbox start` ships a helm stand-in (DIR/bin/helm, named by TETRACTL_HELM in DIR/env) so that setup and
// doctor --fix can be tried against the sandbox with no helm installed (issue #14 item 5); it refuses any other cluster.
import {execFile, spawn} from 'node:child_process'
import {existsSync, readFileSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {BIN, idsWithStatus, runCli, tempDir} from '../helpers.js'

function parseEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {}
  for (const line of text.split('\n')) {
    const m = /^export ([A-Z0-9_]+)='(.*)'$/.exec(line.trim())
    if (m) env[m[1]!] = m[2]!.replace(/'\\''/g, "'")
  }
  return env
}

describe('sandbox helm stand-in', () => {
  it('sandbox start → setup --dry-run and doctor --fix --yes run with DIR/bin/helm; it refuses another cluster', async () => {
    // No helm on PATH, only node: whatever helm runs is the sandbox's.
    const nodeOnly = tempDir('tetractl-nohelm-')
    symlinkSync(process.execPath, join(nodeOnly, 'node'))
    const dir = join(tempDir(), 'sb')
    const child = spawn(process.execPath, [BIN, 'sandbox', 'start', '--scenario', 'grpc-localhost', '--out', dir], {env: {PATH: nodeOnly, HOME: tempDir(), NO_COLOR: '1'}})
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve))
    try {
      for (let i = 0; i < 600 && !out.includes('stop with Ctrl-C') && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 100))
      expect(out).toContain('stop with Ctrl-C')
      const helm = join(dir, 'bin', 'helm')
      expect(statSync(helm).mode & 0o777).toBe(0o700)
      const env = {...parseEnv(readFileSync(join(dir, 'env'), 'utf8')), PATH: nodeOnly, HOME: tempDir()}
      expect(env.TETRACTL_HELM).toBe(helm)

      const plan = await runCli(['setup', '--dry-run'], {env, timeoutMs: 120_000})
      expect(plan.code, `${plan.stdout}\n${plan.stderr}`).toBe(0)
      expect(plan.stdout).toMatch(/helm upgrade --install tetragon cilium\/tetragon -n kube-system/)
      // The stand-in keeps its repository list in DIR, not in the user's helm configuration.
      expect(existsSync(join(env.HOME, '.config', 'helm'))).toBe(false)

      const fixed = await runCli(['doctor', '--fix', '--yes', '--only', 'kubernetes,tetragon'], {env, timeoutMs: 120_000})
      expect(fixed.code, `${fixed.stdout}\n${fixed.stderr}`).toBe(0)
      const after = (await runCli(['doctor', '--json', '--only', 'kubernetes,tetragon'], {env, timeoutMs: 120_000})).json()
      expect(idsWithStatus(after, 'fail')).toEqual([])

      // Pointed at any other API server it refuses, as a helm error (exit 1), before writing anything.
      const other = join(tempDir(), 'kubeconfig')
      writeFileSync(
        other,
        'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n',
      )
      const refused = await new Promise<{code: number | null; stderr: string}>((resolve) => {
        const p = execFile(helm, ['list', '-A', '-o', 'json', '--kubeconfig', other], {env: {PATH: nodeOnly}, timeout: 60_000}, (_e, _o, stderr) => resolve({code: p.exitCode, stderr}))
      })
      expect(refused.code).toBe(1)
      expect(refused.stderr).toMatch(/^Error: this helm is tetractl sandbox's stand-in and only talks to the sandbox's API server https:\/\/127\.0\.0\.1:\d+, not https:\/\/127\.0\.0\.1:9;/)
    } finally {
      child.kill('SIGTERM')
      await closed
    }
  })
})
