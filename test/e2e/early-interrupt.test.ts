// Ctrl-C while the CLI is still loading (issue #14 item 7): before this, a signal in the first second killed the
// process with nothing printed and no JUnit written, although the README promises both. The signal is sent when the
// CLI says its first handlers are installed (TETRACTL_DEBUG_SIGNALS), never after a fixed sleep.
import {spawn} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {startLab} from '../../src/lab/index.js'
import {getScenario} from '../../src/lab/scenarios.js'
import {BIN, tempDir} from '../helpers.js'

describe('an interrupt while the CLI loads', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} before doctor started: the report says interrupted, the JUnit is written with <error> cases, exit 130`, {timeout: 120_000}, async () => {
      const lab = await startLab(getScenario('healthy')!)
      const dir = tempDir()
      await lab.writeFiles(dir)
      const junit = join(dir, 'report.xml')
      try {
        const child = spawn(process.execPath, [BIN, 'doctor', '--junit', junit], {env: {...process.env, ...lab.env, NO_COLOR: '1', TETRACTL_DEBUG_SIGNALS: '1'}, stdio: ['ignore', 'pipe', 'pipe']})
        let stdout = ''
        let stderr = ''
        let sent = false
        child.stdout.on('data', (d) => (stdout += d))
        child.stderr.on('data', (d) => {
          stderr += d
          if (!sent && stderr.includes('tetractl: signal handlers installed')) {
            sent = true
            child.kill(signal)
          }
        })
        const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)))
        expect(sent).toBe(true)
        expect(code, stderr).toBe(130)
        expect(stdout).toMatch(new RegExp(`interrupted by ${signal}`))
        expect(existsSync(junit)).toBe(true)
        const xml = readFileSync(junit, 'utf8')
        expect(xml).toMatch(/<error /)
        expect(xml).not.toMatch(/failures="0" errors="0"/)
      } finally {
        await lab.stop()
      }
    })
  }
})
