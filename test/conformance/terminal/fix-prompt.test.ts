// Issue #14 item 5 on a real terminal (tmux): `doctor --fix` shows the diagnosis, then the plan, and only then asks
// "Apply these changes?"; answering no changes nothing.
import {execFile} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {describe, expect, it} from 'vitest'

import {withLab} from '../../fixtures/helm/harness.js'
import {BIN, tempDir} from '../../helpers.js'

const run = promisify(execFile)

describe('doctor --fix in a terminal', () => {
  it('diagnosis, then plan, then the question; "n" changes nothing', async () => {
    await withLab('no-service', async (h) => {
      const dir = tempDir('tetractl-tmux-fix-')
      const conf = join(dir, 'tmux.conf')
      writeFileSync(conf, 'set-option -s exit-empty off\nset-option -g remain-on-exit on\nset-option -g history-limit 5000\n')
      const socket = join(dir, 'tmux.sock')
      const env = {...h.env, NO_COLOR: '1', TETRACTL_SCHEMA_SAMPLE: '1500ms', TETRACTL_METRICS_WINDOW: '300ms', TERM: 'xterm-256color'}
      const tmux = async (args: string[]) => (await run('tmux', ['-S', socket, '-f', conf, ...args], {env, timeout: 10_000})).stdout
      const pane = async () => (await tmux(['capture-pane', '-p', '-J', '-S', '-', '-t', 'fix'])).replace(/\s+$/gm, '')
      /** Polls the pane until `re` shows (bounded; no timing assumption beyond the bound). */
      const waitFor = async (re: RegExp) => {
        const deadline = Date.now() + 120_000
        for (;;) {
          const text = await pane()
          if (re.test(text)) return text
          if (Date.now() > deadline) throw new Error(`no ${re} on the pane:\n${text}`)
          await new Promise((r) => setTimeout(r, 200))
        }
      }
      try {
        await tmux(['new-session', '-d', '-s', 'fix', '-x', '120', '-y', '40', process.execPath, BIN, 'doctor', '--fix', '--only', 'kubernetes,tetragon'])
        const asked = await waitFor(/Apply these changes\? \[y\/N\]/)
        const diagnosis = asked.search(/Summary: .*[1-9]\d* failed/)
        const plan = asked.search(/--fix: changes for service\.exists/)
        const question = asked.search(/Apply these changes\?/)
        expect(diagnosis, asked).toBeGreaterThanOrEqual(0)
        expect(diagnosis, asked).toBeLessThan(plan)
        expect(plan, asked).toBeLessThan(question)
        expect(h.writes()).toEqual([])
        await tmux(['send-keys', '-t', 'fix', 'n', 'Enter'])
        await waitFor(/Nothing was changed\./)
        expect(h.writes()).toEqual([])
      } finally {
        await tmux(['kill-server']).catch(() => {})
      }
    })
  })
})
