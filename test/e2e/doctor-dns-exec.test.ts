// dns.service resolves the collector's address from inside a collector pod with `getent hosts`, then `nslookup`.
// On containerd and CRI-O a missing executable is an exec start failure (a Failure Status on the error channel,
// "executable file not found in $PATH"), not exit code 127 (issue #10 item 5): the fallback must fire on that.
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {startLab} from '../../src/lab/index.js'
import {getScenario} from '../../src/lab/scenarios.js'
import {runCli, tempDir} from '../helpers.js'

type Lab = Awaited<ReturnType<typeof startLab>>

describe('dns.service when the collector image lacks getent', () => {
  let lab: Lab
  let dir: string
  let env: Record<string, string>
  beforeAll(async () => {
    lab = await startLab(getScenario('healthy')!)
    dir = tempDir()
    await lab.writeFiles(dir)
    env = {}
    for (const line of readFileSync(join(dir, 'env'), 'utf8').split('\n')) {
      const m = /^export ([A-Z0-9_]+)=(.*)$/.exec(line.trim())
      if (m) env[m[1]!] = m[2]!.replace(/^'(.*)'$/, '$1')
    }
  })
  afterAll(() => lab?.stop())

  /** Gives every collector pod this image (a kubectl set image, as the check sees it). */
  function collectorImage(image: string) {
    for (const p of lab.kube.store.list('pods').filter((x) => x.metadata.labels?.app === 'elastic-agent')) {
      lab.kube.store.modify('pods', p.metadata.namespace, p.metadata.name!, (o) => {
        o.spec.containers[0].image = image
        for (const s of o.status?.containerStatuses ?? []) s.image = image
      })
    }
  }

  async function dnsCheck() {
    lab.kube.clearRequests()
    const res = await runCli(['doctor', '--kubeconfig', join(dir, 'kubeconfig'), '--json', '--only=kubernetes'], {env, timeoutMs: 90_000})
    const check = res.json().checks.find((c: any) => c.id === 'dns.service')
    const execs = lab.kube.requests().filter((r: any) => r.resource === 'pods' && r.subresource === 'exec')
    return {check, execs, res}
  }

  it('BusyBox (no getent applet): getent fails to start, nslookup answers → pass with the ClusterIP', async () => {
    collectorImage('busybox:1.36')
    const {check, execs} = await dnsCheck()
    expect(check.status, check.message).toBe('pass')
    const clusterIP = lab.kube.store.get('services', 'kube-system', 'tetragon-grpc')!.spec.clusterIP
    expect(check.evidence.resolved).toEqual([clusterIP])
    expect(execs).toHaveLength(2) // getent, then nslookup
  })

  it('distroless (neither tool): not evaluated, saying so, instead of "does not resolve"', async () => {
    collectorImage('gcr.io/distroless/static-debian12:nonroot')
    const {check} = await dnsCheck()
    expect(check.status).toBe('not-evaluated')
    expect(check.message).toMatch(/neither getent nor nslookup exists in kube-system\/elastic-agent-/)
  })

  it('the Elastic Agent image (getent present): one exec, pass', async () => {
    collectorImage('docker.elastic.co/elastic-agent/elastic-agent:8.19.0')
    const {check, execs} = await dnsCheck()
    expect(check.status, check.message).toBe('pass')
    expect(execs).toHaveLength(1)
  })
})
