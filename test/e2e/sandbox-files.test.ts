// `sandbox start` writes secrets (the API token in DIR/kubeconfig, the Elasticsearch key in DIR/env): each file
// 0600 whatever was there before, replaced atomically, never written through a symbolic link (issue #12).
import {spawn} from 'node:child_process'
import {chmodSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {BIN, runCli, tempDir} from '../helpers.js'

const FILES = ['env', 'kubeconfig', 'elastic-lab-ca.pem']

describe('sandbox start, its files', () => {
  it('replaces existing 0644 files with 0600 ones', async () => {
    const dir = join(tempDir(), 'sb')
    mkdirSync(dir)
    for (const f of FILES) {
      writeFileSync(join(dir, f), 'old\n')
      chmodSync(join(dir, f), 0o644)
    }
    const child = spawn(process.execPath, [BIN, 'sandbox', 'start', '--scenario', 'healthy', '--out', dir], {env: {PATH: process.env.PATH, HOME: tempDir(), NO_COLOR: '1'}})
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve))
    try {
      for (let i = 0; i < 600 && !out.includes('stop with Ctrl-C') && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 100))
      expect(out, err).toContain('stop with Ctrl-C')
      for (const f of FILES) {
        expect((statSync(join(dir, f)).mode & 0o777).toString(8), f).toBe('600')
        expect(readFileSync(join(dir, f), 'utf8'), f).not.toBe('old\n')
      }
    } finally {
      child.kill('SIGTERM')
      await closed
    }
  })

  it.each(FILES)('refuses a symbolic link at DIR/%s: exit 2, its target untouched', async (name) => {
    const dir = join(tempDir(), 'sb')
    mkdirSync(dir)
    const target = join(tempDir(), 'elsewhere')
    writeFileSync(target, 'keep me\n')
    symlinkSync(target, join(dir, name))
    const res = await runCli(['sandbox', 'start', '--scenario', 'healthy', '--out', dir], {timeoutMs: 60_000})
    expect(res.code, res.stderr).toBe(2)
    const lines = res.stderr.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(new RegExp(`^Error: .*${name.replace('.', '\\.')} is a symbolic link`))
    expect(readFileSync(target, 'utf8')).toBe('keep me\n')
  })
})
