// The built `tetractl doctor --fix` against the lab (issue #6 acceptance): shows the change, applies
// it with --yes (refuses without a terminal otherwise), re-runs the affected checks.
import {symlinkSync} from 'node:fs'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {FAKE_HELM_DIR, oneLineError, problems, withLab} from '../fixtures/helm/harness.js'
import {tempDir} from '../helpers.js'

const LAYERS = ['--only', 'kubernetes,tetragon']

describe('doctor --fix --yes', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['grpc-localhost', 'tetragon.grpc-bind', /\$ helm upgrade --install tetragon cilium\/tetragon -n kube-system/],
    ['grpc-unix-socket', 'tetragon.grpc-bind', /~ tetragon\.grpc\.address: "unix:\/\/\/var\/run\/tetragon\/tetragon\.sock" → "0\.0\.0\.0:54321"|\+ tetragon\.grpc\.address/],
    ['grpc-disabled', 'tetragon.grpc-bind', /~ tetragon\.grpc\.enabled: false → true/],
    ['selector-mismatch', 'service.selector', /kubectl -n kube-system patch service tetragon-grpc --type=merge -p '\{"spec":\{"selector":\{"app":null,"app\.kubernetes\.io\/name":"tetragon"\}\}\}'/],
    ['no-service', 'service.exists', /kind: Service[\s\S]*app\.kubernetes\.io\/name: tetragon/],
  ]
  for (const [scenario, fixed, shown] of cases) {
    it(`${scenario}: fixes ${fixed}, then the Kubernetes and Tetragon layers pass`, async () => {
      await withLab(scenario, async (h) => {
        const res = await h.cli(['doctor', '--fix', '--yes', ...LAYERS])
        expect(res.code, `${res.stdout}\n${res.stderr}`).toBe(0)
        // The change is shown before it is applied, and the affected checks re-run.
        expect(res.stdout).toMatch(shown)
        expect(res.stdout).toMatch(new RegExp(`--fix: re-ran .*${fixed.replace('.', '\\.')}`))
        expect(res.stdout).toMatch(/Summary: \d+ passed, \d+ warnings?, 0 failed/)
        // A fresh doctor run agrees.
        const after = await h.cli(['doctor', '--json', ...LAYERS])
        expect(problems(after.json())).toEqual([])
        // Service fixes go to the API server as the hints say (apply / merge patch), as tetractl.
        if (fixed.startsWith('service.')) {
          const w = h.writes().filter((x) => x.resource === 'services')
          expect(w.map((x) => x.query.fieldManager)).toEqual(['tetractl'])
          expect(h.mutatingHelmCalls()).toEqual([])
        } else {
          expect(h.mutatingHelmCalls().some((a) => a[0] === 'upgrade')).toBe(true)
        }
      })
    })
  }

  it('--json keeps stdout a single report, with the re-run results', async () => {
    await withLab('no-service', async (h) => {
      const res = await h.cli(['doctor', '--fix', '--yes', '--json', ...LAYERS])
      expect(res.code, res.stderr).toBe(0)
      const report = res.json()
      expect(report.checks.find((c: {id: string}) => c.id === 'service.exists').status).toBe('pass')
      expect(report.summary.fail).toBe(0)
      expect(report.exitCode).toBe(0)
      expect(res.stderr).toMatch(/--fix: changes for service\.exists/)
    })
  })
})

/** Index of the first match in `text`, failing the test with the whole output when there is none. */
function at(text: string, re: RegExp): number {
  const i = text.search(re)
  if (i < 0) throw new Error(`no ${re} in:\n${text}`)
  return i
}

describe('doctor --fix: diagnosis, then plan, then the question (issue #14 item 5)', () => {
  it('--yes: the diagnosis (its failures and summary) comes before the plan, the plan before the changes and the re-run', async () => {
    await withLab('no-service', async (h) => {
      const res = await h.cli(['doctor', '--fix', '--yes', ...LAYERS])
      expect(res.code, `${res.stdout}\n${res.stderr}`).toBe(0)
      const out = res.stdout
      const diagnosis = at(out, /× service\.exists|service\.exists.*\bfail/)
      const diagnosisSummary = at(out, /Summary: .*[1-9]\d* failed/)
      const plan = at(out, /--fix: changes for service\.exists/)
      const applied = at(out, /✔ Service kube-system\/tetragon-grpc/)
      const rerun = at(out, /--fix: re-ran /)
      expect(diagnosis).toBeLessThan(diagnosisSummary)
      expect(diagnosisSummary).toBeLessThan(plan)
      expect(plan).toBeLessThan(applied)
      expect(applied).toBeLessThan(rerun)
      // The report after the re-run closes the output.
      expect(out.slice(rerun)).toMatch(/Summary: \d+ passed, \d+ warnings?, 0 failed/)
    })
  })

  it('without a terminal and without --yes: the diagnosis, then the plan, then the refusal (exit 2)', async () => {
    await withLab('no-service', async (h) => {
      const res = await h.cli(['doctor', '--fix', ...LAYERS])
      expect(res.code).toBe(2)
      expect(at(res.stdout, /Summary: .*[1-9]\d* failed/)).toBeLessThan(at(res.stdout, /\+ Service kube-system\/tetragon-grpc: create/))
      expect(oneLineError(res)).toMatch(/no terminal to ask on/)
      expect(h.writes()).toEqual([])
    })
  })
})

describe('doctor --fix without --yes', () => {
  it('refuses without a terminal, changes nothing, exit 2', async () => {
    await withLab('no-service', async (h) => {
      const res = await h.cli(['doctor', '--fix', ...LAYERS])
      expect(res.code).toBe(2)
      expect(oneLineError(res)).toMatch(/no terminal to ask on\. Nothing was changed\. Re-run with --yes/)
      // It still showed what it would do.
      expect(res.stdout).toMatch(/\+ Service kube-system\/tetragon-grpc: create/)
      expect(h.writes()).toEqual([])
    })
  })

  it('nothing to fix on a healthy installation', async () => {
    await withLab('healthy', async (h) => {
      const res = await h.cli(['doctor', '--fix', ...LAYERS])
      expect(res.code).toBe(0)
      expect(res.stdout).toMatch(/--fix: nothing to fix/)
      expect(h.writes()).toEqual([])
    })
  })
})

describe('doctor --fix --helm PATH (issue #14 item 5)', () => {
  // A PATH with node (the fake helm is a node script) and no helm: only --helm / TETRACTL_HELM can find one.
  const nodeOnly = tempDir('tetractl-nohelm-')
  symlinkSync(process.execPath, join(nodeOnly, 'node'))
  const fakeHelm = join(FAKE_HELM_DIR, 'helm')

  it('without helm on PATH: the error names --helm, which doctor accepts (exit 2, nothing changed)', async () => {
    await withLab('grpc-localhost', async (h) => {
      const res = await h.cli(['doctor', '--fix', '--yes', ...LAYERS], {PATH: nodeOnly})
      expect(res.code).toBe(2)
      expect(oneLineError(res)).toMatch(/`helm` was not found on PATH.*pass --helm PATH/)
      expect(h.writes()).toEqual([])
      const help = await h.cli(['doctor', '--help'])
      expect(help.stdout).toMatch(/--helm=PATH\s+\[env: TETRACTL_HELM\] with --fix: the helm executable/)
    })
  })

  it('--helm PATH is the helm that runs', async () => {
    await withLab('grpc-localhost', async (h) => {
      const res = await h.cli(['doctor', '--fix', '--yes', '--helm', fakeHelm, ...LAYERS], {PATH: nodeOnly})
      expect(res.code, `${res.stdout}\n${res.stderr}`).toBe(0)
      expect(h.mutatingHelmCalls().some((a) => a[0] === 'upgrade')).toBe(true)
    })
  })

  it('TETRACTL_HELM is read as --helm; a --helm that does not exist is named in the error', async () => {
    await withLab('grpc-localhost', async (h) => {
      const res = await h.cli(['doctor', '--fix', '--yes', ...LAYERS], {PATH: nodeOnly, TETRACTL_HELM: fakeHelm})
      expect(res.code, `${res.stdout}\n${res.stderr}`).toBe(0)
      expect(h.mutatingHelmCalls().some((a) => a[0] === 'upgrade')).toBe(true)
    })
    await withLab('grpc-localhost', async (h) => {
      const missing = join(nodeOnly, 'no-such-helm')
      const bad = await h.cli(['doctor', '--fix', '--yes', '--helm', missing, ...LAYERS], {PATH: nodeOnly})
      expect(bad.code).toBe(2)
      expect(oneLineError(bad)).toContain(missing)
      expect(h.writes()).toEqual([])
    })
  })
})
