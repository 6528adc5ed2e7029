import {it, expect} from 'vitest'
import * as k8s from '@kubernetes/client-node'
import net from 'node:net'
import {PassThrough, Writable} from 'node:stream'
import {startKubeLab} from '../../src/lab/kube/index.js'
import {getScenario} from '../../src/lab/scenarios.js'
it('leaves nothing running', async () => {
  const before = process.getActiveResourcesInfo().slice().sort()
  const lab = await startKubeLab(getScenario('healthy')!, {latencyMs: 1})
  const kc = new k8s.KubeConfig(); kc.loadFromString(lab.kubeconfig())
  const core = kc.makeApiClient(k8s.CoreV1Api)
  const pods = await core.listNamespacedPod({namespace: 'kube-system', labelSelector: 'app.kubernetes.io/name=tetragon'})
  const name = pods.items[0]!.metadata!.name!
  const echo = net.createServer((s) => s.pipe(s)); await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()))
  lab.network.listen('127.0.0.1@node-1', 54321, {host: '127.0.0.1', port: (echo.address() as any).port})
  const pf = await new k8s.PortForward(kc).portForward('kube-system', pods.items.find(p => p.spec!.nodeName === 'node-1')!.metadata!.name!, [54321], new Writable({write(c, e, cb) { cb() }}), null, new PassThrough())
  lab.logs.set('kube-system', name, 'tetragon', ['a'])
  const ctl = await new k8s.Log(kc).log('kube-system', name, 'tetragon', new Writable({write(c, e, cb) { cb() }}), {follow: true})
  const w = await new k8s.Watch(kc).watch('/api/v1/pods', {}, () => {}, () => {})
  await new Promise((r) => setTimeout(r, 100))
  await lab.stop()
  await new Promise((r) => echo.close(r))
  await new Promise((r) => setTimeout(r, 200))
  const after = process.getActiveResourcesInfo().slice().sort()
  console.log(before, after)
  expect(after.filter((x) => x !== 'TTYWrap').length).toBeLessThanOrEqual(before.filter((x) => x !== 'TTYWrap').length)
})
