// validate on a terminal (issue #14 item 4): the built CLI under a pseudo-terminal (script(1) from util-linux) on
// slow-ingest, whose documents come minutes after their events. The preflight, trigger and gRPC results must be on
// screen while the Elasticsearch stage still waits. No timing: the test waits on content, then presses Ctrl-C, which
// is the only way that stage can end here (--es-timeout and --timeout are 10 minutes).
import {spawn} from 'node:child_process'

import {describe, expect, it} from 'vitest'

import {BIN, tempDir} from '../helpers.js'
import {leftovers, withScenario} from './validate-helpers.js'

/** The text of a terminal stream without its escape sequences (colours, line erasing). */
const plain = (s: string) => s.replace(/\u001B\[[0-9;]*[A-Za-z]/g, '')

/** Resolves once `ready()` holds; fails if the process ends first or after `boundMs` (a bound, not a measurement). */
function until(ready: () => boolean, ended: () => boolean, boundMs: number, what: () => string): Promise<void> {
  const giveUp = Date.now() + boundMs
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      if (ready()) {
        clearInterval(timer)
        resolve()
      } else if (ended() || Date.now() > giveUp) {
        clearInterval(timer)
        reject(new Error(`never saw the expected screen; it showed:\n${what()}`))
      }
    }, 50)
  })
}

describe('validate shows its stages live on a terminal', () => {
  it('slow-ingest: preflight, trigger and gRPC results are printed while the Elasticsearch stage waits, with a spinner saying for what', {timeout: 150_000}, async () => {
    await withScenario('slow-ingest', async (lab, env) => {
      // script runs its command line with $SHELL; the line is fixed text, the paths come through the environment.
      const child = spawn('script', ['-qfec', 'exec "$TETRACTL_NODE" "$TETRACTL_BIN" validate --es-timeout 10m --timeout 10m', '/dev/null'], {
        env: {PATH: process.env.PATH ?? '', HOME: tempDir('tetractl-home-'), NO_COLOR: '1', SHELL: '/bin/sh', TETRACTL_NODE: process.execPath, TETRACTL_BIN: BIN, ...env},
        stdio: ['pipe', 'pipe', 'pipe'],
      })
      let screen = ''
      child.stdout.on('data', (d) => (screen += d))
      child.stderr.on('data', (d) => (screen += d))
      let code: number | null | undefined
      const exited = new Promise<void>((resolve) => child.on('close', (c) => resolve(void (code = c))))
      try {
        const waiting = /Elasticsearch \(\d+ s\): waiting for 5 documents in logs-cilium_tetragon\.log-\*, \d+ s of 600 s/
        await until(() => waiting.test(plain(screen)), () => code !== undefined, 90_000, () => plain(screen))
        const before = plain(screen)
        // Ctrl-C through the terminal (its line discipline sends SIGINT to the CLI).
        child.stdin.write('\u0003')
        await exited
        expect(code).toBe(130)

        // On screen before the Elasticsearch stage ended: every earlier stage's section with its results.
        for (const [title, ids] of [
          ['Preflight (doctor checks)', ['k8s.connect', 'tetragon.daemonset', 'tetragon.policies', 'es.connect', 'validate.rbac']],
          ['Trigger (exec in the probe pod)', ['probe.pod', 'exec.whoami', 'exec.curl', 'exec.cat']],
          ["Tetragon (gRPC event stream of the probe node's agent)", ['grpc.whoami', 'grpc.curl', 'grpc.connect', 'grpc.cat', 'grpc.file']],
        ] as const) {
          expect(before).toContain(title)
          for (const id of ids) expect(before).toMatch(new RegExp(`✔ ${id.replace('.', '\\.')} `))
        }
        expect(before).not.toContain('Elasticsearch (documents of the events)')
        expect(before).not.toContain('Summary:')

        // After Ctrl-C: the rest of the report, the interrupted stage included, and the probe is gone.
        const after = plain(screen).slice(before.length)
        expect(after).toContain('Elasticsearch (documents of the events)')
        expect(after).toMatch(/doc\.whoami +not evaluated: interrupted \(SIGINT\)/)
        expect(after).toMatch(/✔ probe\.cleanup +deleted namespace tetractl-validate-/)
        expect(after).toMatch(/Summary: 15 passed, .* interrupted by SIGINT .*exit 130\)/)
        // Each section once: what was printed live is not printed again.
        expect(plain(screen).split('Preflight (doctor checks)')).toHaveLength(2)
        expect(leftovers(lab)).toEqual([])
      } finally {
        if (code === undefined) child.kill('SIGKILL')
      }
    })
  })
})
