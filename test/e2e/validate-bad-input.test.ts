// Bad input to `tetractl validate`: one line on stderr, the right exit code, no stack trace, nothing created.
import {describe, expect, it} from 'vitest'

import {runCli} from '../helpers.js'
import {leftovers, withScenario, writes} from './validate-helpers.js'

function expectOneLineError(res: {code: number | null; stdout: string; stderr: string}, code: number, pattern: RegExp) {
  expect(res.code).toBe(code)
  const lines = res.stderr.trim().split('\n')
  expect(lines, res.stderr).toHaveLength(1)
  expect(lines[0]).toMatch(/^Error: /)
  expect(lines[0]).toMatch(pattern)
  expect(res.stderr).not.toMatch(/\n\s+at /)
  expect(res.stdout).toBe('')
}

describe('validate, bad input', () => {
  it('rejects each bad flag with one line and exit 2, creating nothing', async () => {
    await withScenario('healthy', async (lab, env) => {
      const coredns = lab.kube.store.list('pods', 'kube-system').find((p) => p.metadata.name.startsWith('coredns-'))!.metadata.name
      const cases: Array<[string[], RegExp]> = [
        [['--pod', 'default/no-such-pod'], /Pod default\/no-such-pod \(--pod\) does not exist/],
        // CoreDNS's image is distroless: no shell (src/lab/kube/exec.ts).
        [['--pod', `kube-system/${coredns}`], /has no sh/],
        [['--pod', 'no-slash'], /--pod must be NAMESPACE\/NAME/],
        [['--url', 'not a url'], /--url must be an http:\/\/ or https:\/\/ URL/],
        [['--url', 'ftp://example.com/'], /--url must be an http:\/\/ or https:\/\/ URL/],
        [['--profile', 'ecs'], /Expected --profile=ecs to be one of: auto, seed, package/],
        [['--timeout', '0'], /--timeout must be greater than 0/],
        [['--es-timeout', 'soon'], /--es-timeout must be a duration/],
      ]
      for (const [args, pattern] of cases) {
        const res = await runCli(['validate', ...args], {env, timeoutMs: 60_000})
        expectOneLineError(res, 2, pattern)
      }
      expect(writes(lab)).toEqual([])
      expect(leftovers(lab)).toEqual([])
    })
  })

  it('an --image without sh is a usage error, and the probe it created is deleted', async () => {
    await withScenario('healthy', async (lab, env) => {
      const res = await runCli(['validate', '--image', 'gcr.io/distroless/static-debian12:nonroot'], {env, timeoutMs: 60_000})
      expectOneLineError(res, 2, /The probe image has no sh/)
      expect(leftovers(lab)).toEqual([])
    })
  })

  it('a missing kubeconfig is a usage error', async () => {
    const res = await runCli(['validate', '--kubeconfig', '/nonexistent/kubeconfig'])
    expectOneLineError(res, 2, /Kubeconfig \/nonexistent\/kubeconfig \(from --kubeconfig\) does not exist/)
  })
})
