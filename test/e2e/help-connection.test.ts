// Issue #14 item 6: each command's help lists its own flags; the shared connection flags are described once, in
// `tetractl help connection`, and still work on every command.
import {describe, expect, it} from 'vitest'

import {runCli} from '../helpers.js'

describe('help connection', () => {
  it('doctor --help lists its own flags and points to `help connection` for the shared ones', async () => {
    const res = await runCli(['doctor', '--help'])
    expect(res.code).toBe(0)
    expect(res.stdout).toMatch(/--only=<value>/)
    expect(res.stdout).not.toMatch(/--kubeconfig=<value>/)
    expect(res.stdout).not.toMatch(/--es-url=<value>/)
    expect(res.stdout).toMatch(/CONNECTION FLAGS\n\s+--kubeconfig --context --request-timeout[^\n]*\n[\s\S]*See `tetractl help connection`\./)
  })

  it('`help connection` lists --kubeconfig, the Elasticsearch flags and their environment variables', async () => {
    const res = await runCli(['help', 'connection'])
    expect(res.code, res.stderr).toBe(0)
    expect(res.stdout).toMatch(/--kubeconfig=<value>\s+kubeconfig file/)
    expect(res.stdout).toMatch(/--es-url=<value>[\s\S]*\[env: ELASTICSEARCH_URL\]/)
    expect(res.stdout).toMatch(/--tetragon-address=<value>/)
  })

  it('the connection flags still parse (a missing kubeconfig file is reported as such, not as an unknown flag)', async () => {
    const res = await runCli(['doctor', '--only', 'kubernetes', '--kubeconfig', '/nonexistent/kubeconfig'])
    expect(res.code).toBe(2)
    expect(res.stderr).not.toMatch(/Nonexistent flag/)
    expect(res.stderr).toMatch(/\/nonexistent\/kubeconfig/)
  })
})
