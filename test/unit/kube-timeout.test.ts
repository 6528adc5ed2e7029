// A request to an API that never answers must end at its timeout even when the garbage collector runs meanwhile.
// With AbortSignal.any([AbortSignal.timeout(ms), …]) it sometimes did not: Node 20 may collect a timeout signal that
// only a composite refers to, and its timer goes with it (nodejs/node#57736). That was a flaky CI failure of
// "an API that never answers"; here the collector runs on purpose, every 10 ms.
import https from 'node:https'
import type {AddressInfo} from 'node:net'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import v8 from 'node:v8'
import vm from 'node:vm'
import {generate} from 'selfsigned'
import {afterAll, beforeAll, expect, test} from 'vitest'
import {KubeClient} from '../../src/clients/kube.js'
import {UnreachableError} from '../../src/engine/errors.js'
import {tempDir} from '../helpers.js'

let server: https.Server
let kubeconfig: string

beforeAll(async () => {
  const pems = await generate([{name: 'commonName', value: 'localhost'}], {keySize: 2048} as any)
  // Reads the request, never answers it.
  server = https.createServer({key: pems.private, cert: pems.cert}, () => {})
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  const port = (server.address() as AddressInfo).port
  kubeconfig = join(tempDir(), 'kubeconfig')
  writeFileSync(kubeconfig, `apiVersion: v1
kind: Config
clusters:
- name: hung
  cluster: {server: "https://127.0.0.1:${port}", insecure-skip-tls-verify: true}
users:
- name: u
  user: {token: not-a-secret}
contexts:
- name: hung
  context: {cluster: hung, user: u}
current-context: hung
`)
})

afterAll(() => {
  server.closeAllConnections()
  server.close()
})

test('an unanswered request ends at its timeout while the garbage collector runs', async () => {
  v8.setFlagsFromString('--expose-gc')
  const gc = vm.runInNewContext('gc') as () => void
  const kube = KubeClient.load({kubeconfig, requestTimeoutMs: 400})
  const started = Date.now()
  const collect = setInterval(() => gc(), 10)
  // With a caller's signal, as every check passes one: the timeout and this signal are combined.
  const caller = new AbortController()
  try {
    const outcome = await Promise.race([
      kube.version(caller.signal).then(() => 'answered', (e: unknown) => e),
      new Promise((r) => setTimeout(() => r('still waiting after 5 s'), 5000)),
    ])
    expect(outcome).toBeInstanceOf(UnreachableError)
    expect((outcome as Error).message).toMatch(/did not answer within 400 ms/)
    expect(Date.now() - started).toBeLessThan(3000)
  } finally {
    clearInterval(collect)
  }
})
