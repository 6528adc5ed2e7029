// SIGINT, SIGTERM and SIGHUP end validate, setup and doctor --fix the documented way (exit 130) at several points of
// their run: nothing validate created is left in the cluster, no temporary file is left in the temp folder, and a
// helm that was running is stopped before tetractl exits (no orphan finishing the upgrade afterwards). Each signal
// is sent when a marker is observed (a request the lab saw, a helm invocation the fake helm recorded), never after
// a fixed sleep; the fake helm holds the invocation under test until it is killed.
import {existsSync, readdirSync, readFileSync, statSync} from 'node:fs'
import {dirname, join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {withLab} from '../fixtures/helm/harness.js'
import {runCli, tempDir, type CliResult} from '../helpers.js'
import {leftovers, withScenario, type Lab} from './validate-helpers.js'

/** Runs tetractl and sends `signal` the first time `when()` is true while it runs. */
async function runAndSignal(args: string[], env: Record<string, string>, signal: NodeJS.Signals, when: () => boolean): Promise<{res: CliResult; sent: boolean}> {
  let sent = false
  let timer: NodeJS.Timeout | undefined
  const res = await runCli(args, {
    env,
    timeoutMs: 120_000,
    onSpawn(pid) {
      timer = setInterval(() => {
        if (sent || !when()) return
        sent = true
        clearInterval(timer)
        process.kill(pid, signal)
      }, 20)
    },
  }).finally(() => clearInterval(timer))
  return {res, sent}
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Every entry under `dir` (recursive), as paths relative to it. */
function entries(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    out.push(name)
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out.push(...entries(p).map((e) => `${name}/${e}`))
  }
  return out
}

/** The fake helm's recorded invocations with their pids. */
function helmRuns(record: string): Array<{argv: string[]; pid: number}> {
  return existsSync(record) ? readFileSync(record, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []
}

const validatePoints: Array<{point: string; signal: NodeJS.Signals; when: (lab: Lab) => boolean}> = [
  {point: 'in preflight (access review)', signal: 'SIGHUP', when: (lab) => lab.kube.requests().some((r) => r.resource === 'selfsubjectaccessreviews')},
  {point: 'right after the namespace create', signal: 'SIGINT', when: (lab) => lab.kube.requests().some((r) => r.verb === 'create' && r.resource === 'namespaces')},
  {point: 'at the first exec in the probe pod', signal: 'SIGHUP', when: (lab) => lab.kube.requests().some((r) => r.subresource === 'exec' && r.namespace.startsWith('tetractl-validate-'))},
  {point: 'at the cat exec', signal: 'SIGTERM', when: (lab) => lab.kube.requests().some((r) => r.subresource === 'exec' && JSON.stringify(r.query).includes('shadow'))},
  {point: 'while polling Elasticsearch', signal: 'SIGHUP', when: (lab) => lab.elastic!.requests().some((r) => r.path.endsWith('/_search') && r.path.includes('cilium_tetragon'))},
]

describe('validate: interrupted at any point, exit 130, 0 namespaces and 0 temp files left', () => {
  for (const p of validatePoints) {
    it(`${p.signal} ${p.point}`, {timeout: 120_000}, async () => {
      await withScenario('slow-ingest', async (lab, env) => {
        const tmp = tempDir('tetractl-int-tmp-')
        const {res, sent} = await runAndSignal(['validate', '--json'], {...env, TMPDIR: tmp}, p.signal, () => p.when(lab))
        expect(sent, res.stderr).toBe(true)
        expect(res.code, res.stderr).toBe(130)
        const report = res.json()
        expect(report.interrupted).toBe(p.signal)
        expect(report.exitCode).toBe(130)
        expect(res.stderr).not.toMatch(/\n\s+at /)
        expect(leftovers(lab)).toEqual([])
        expect(entries(tmp)).toEqual([])
      })
    })
  }
})

describe('setup and doctor --fix: interrupted while helm runs, helm is stopped, exit 130, 0 temp files left', () => {
  const cases: Array<{name: string; args: string[]; hold: string; signal: NodeJS.Signals; secretFile?: string}> = [
    {name: 'setup, SIGTERM during planning (helm list)', args: ['setup'], hold: 'list', signal: 'SIGTERM'},
    {name: 'setup, SIGINT during helm upgrade', args: ['setup'], hold: 'upgrade', signal: 'SIGINT', secretFile: 'values'},
    {name: 'setup, SIGHUP during helm upgrade', args: ['setup', '--json'], hold: 'upgrade', signal: 'SIGHUP', secretFile: 'values'},
    {name: 'setup, SIGTERM during helm upgrade', args: ['setup'], hold: 'upgrade', signal: 'SIGTERM', secretFile: 'values'},
    {name: 'doctor --fix, SIGINT during helm upgrade', args: ['doctor', '--fix', '--yes', '--only', 'kubernetes,tetragon'], hold: 'upgrade', signal: 'SIGINT', secretFile: 'kubeconfig'},
    {name: 'doctor --fix, SIGHUP during helm upgrade', args: ['doctor', '--fix', '--yes', '--json', '--only', 'kubernetes,tetragon'], hold: 'upgrade', signal: 'SIGHUP', secretFile: 'kubeconfig'},
  ]
  for (const c of cases) {
    it(c.name, {timeout: 120_000}, async () => {
      await withLab('grpc-localhost', async (h) => {
        const tmp = tempDir('tetractl-int-tmp-')
        const record = h.env.TETRACTL_FAKE_HELM_RECORD!
        let held: {argv: string[]; pid: number} | undefined
        const modes: string[] = []
        const {res, sent} = await runAndSignal(c.args, {...h.env, TMPDIR: tmp, TETRACTL_FAKE_HELM_HOLD: c.hold}, c.signal, () => {
          held = helmRuns(record).find((r) => r.argv[0] === c.hold)
          if (!held) return false
          // While helm runs, the credentials it reads sit in a private folder, readable by the owner only.
          const file = c.secretFile === 'values' ? held.argv[held.argv.indexOf('--values') + 1]! : c.secretFile === 'kubeconfig' ? held.argv[held.argv.indexOf('--kubeconfig') + 1]! : undefined
          if (file) modes.push(`${file.startsWith(tmp)} ${(statSync(dirname(file)).mode & 0o777).toString(8)} ${(statSync(file).mode & 0o777).toString(8)}`)
          return true
        })
        try {
          expect(sent, `${res.stdout}\n${res.stderr}`).toBe(true)
          expect(res.code, `${res.stdout}\n${res.stderr}`).toBe(130)
          if (c.secretFile) expect(modes).toEqual(['true 700 600'])
          // helm was stopped and awaited: it cannot finish the upgrade after tetractl has gone.
          expect(alive(held!.pid)).toBe(false)
          expect(entries(tmp)).toEqual([])
          expect(res.stderr).toMatch(new RegExp(`interrupted \\(${c.signal}\\)`))
          expect(res.stderr).not.toMatch(/\n\s+at /)
          if (c.hold === 'list') expect(h.writes()).toEqual([])
          // An interrupted upgrade may leave the release pending: the error says what was applied and how to look.
          if (c.hold === 'upgrade') expect(res.stderr).toMatch(/Not applied: .*helm status tetragon -n kube-system/)
        } finally {
          if (held && alive(held.pid)) process.kill(held.pid, 'SIGKILL')
        }
      })
    })
  }
})
