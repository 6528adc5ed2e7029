// Issue #14 item 7, through the built CLI: a run that evaluated no check is never exit 0 or a green JUnit.
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {XMLParser} from 'fast-xml-parser'
import {describe, expect, it} from 'vitest'

import {runCli, tempDir} from '../helpers.js'

// A syntactically valid kubeconfig whose server is never contacted (k8s.connect is skipped).
const KUBECONFIG = `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: 'https://127.0.0.1:9'}
users:
- name: u
  user: {token: not-used}
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
`

describe('item 7: honest verdicts', () => {
  it('doctor --only kubernetes --skip k8s.connect evaluates nothing: exit 1, says why, JUnit has an error', async () => {
    const dir = tempDir()
    const kubeconfig = join(dir, 'kubeconfig')
    writeFileSync(kubeconfig, KUBECONFIG)
    const junit = join(dir, 'r.xml')
    const res = await runCli(['doctor', '--only', 'kubernetes', '--skip', 'k8s.connect', '--junit', junit], {env: {KUBECONFIG: kubeconfig}})
    expect(res.code, res.stderr).toBe(1)
    expect(res.stderr).toMatch(/no check was evaluated \(k8s\.connect: skipped, skipped by --skip\)/)
    const doc = new XMLParser({ignoreAttributes: false, attributeNamePrefix: ''}).parse(readFileSync(junit, 'utf8'))
    expect(Number(doc.testsuites.errors)).toBeGreaterThan(0)
  })
})
