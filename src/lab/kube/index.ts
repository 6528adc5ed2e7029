import {randomBytes} from 'node:crypto'

import selfsigned from 'selfsigned'
import YAML from 'yaml'

import type {LabSpec, RbacRule} from '../spec.js'
import {KubeApi} from './api.js'
import {runPodLifecycle} from './controllers.js'
import {registerCurl} from './exec-curl.js'
import {Dns} from './dns.js'
import {ExecRegistry} from './exec.js'
import {LogRegistry, ProxyRegistry} from './logs.js'
import {Network} from './network.js'
import {renderCluster} from './objects.js'
import type {Subject} from './rbac.js'
import {KubeServer, type RequestRecord} from './server.js'
import {Store} from './store.js'

export type {RequestRecord} from './server.js'
export type {ExecContext, ExecHandler, ExecResult} from './exec.js'
export type {ConnectResult, ListenOptions, Target} from './network.js'
export type {ProxyHandler, ProxyRequest, ProxyResponse} from './logs.js'
export type {KObj} from './store.js'
export {Store} from './store.js'
export {Network} from './network.js'
export {ExecRegistry} from './exec.js'
export {LogRegistry, ProxyRegistry} from './logs.js'
export {Dns} from './dns.js'

export interface KubeLabOptions {
  /** Port to bind on 127.0.0.1 (default 0 = any free port). */
  port?: number
  /** Extra bearer tokens: token → RBAC rules or 'admin'. Labelled `extra-<n>` in the request log. */
  tokens?: Record<string, RbacRule[] | 'admin'>
  /** Delay before every response, in milliseconds. */
  latencyMs?: number
  /** Accept connections (TLS included) and never answer: for timeout tests. */
  hang?: boolean
}

export interface KubeLab {
  url: string
  /** Base64 PEM of the CA (the self-signed serving certificate). */
  caData: string
  /** Bearer token of the sandbox user. */
  token: string
  /** Kubeconfig YAML: certificate-authority-data, user token, context `tetractl-lab` (or the given name), namespace default. */
  kubeconfig(contextName?: string, opts?: {token?: string; namespace?: string}): string
  store: Store
  network: Network
  exec: ExecRegistry
  dns: Dns
  logs: LogRegistry
  proxy: ProxyRegistry
  requests(): RequestRecord[]
  clearRequests(): void
  stop(): Promise<void>
}

/** The sandbox user: a ServiceAccount, as a CLI running in-cluster or with an SA token would be. */
const SANDBOX_SA = {namespace: 'kube-system', name: 'tetractl'}

function saSubject(ns: string, name: string, label: string, rules: RbacRule[] | 'admin'): Subject {
  return {
    user: `system:serviceaccount:${ns}:${name}`,
    groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'],
    label,
    rules,
    bindingSubject: `ServiceAccount "${name}/${ns}"`,
  }
}

async function makeCert(): Promise<{key: string; cert: string}> {
  const pems = await selfsigned.generate([{name: 'commonName', value: 'kube-apiserver'}], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 86_400_000),
    extensions: [
      {name: 'basicConstraints', cA: true},
      {name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true},
      {name: 'extKeyUsage', serverAuth: true},
      {name: 'subjectAltName', altNames: [{type: 7, ip: '127.0.0.1'}, {type: 2, value: 'localhost'}, {type: 2, value: 'kubernetes.default.svc'}]},
    ],
  })
  return {key: pems.private, cert: pems.cert}
}

export async function startKubeLab(spec: LabSpec, opts: KubeLabOptions = {}): Promise<KubeLab> {
  const store = new Store(spec.name)
  renderCluster(spec, store)
  const network = new Network(store)
  const dns = new Dns(store)
  const exec = new ExecRegistry(store, dns, network)
  const logs = new LogRegistry()
  const proxy = new ProxyRegistry()
  const api = new KubeApi(store, {kubernetesVersion: spec.kubernetesVersion})
  const stopPods = runPodLifecycle(store)
  registerCurl(exec, dns, network)

  const token = `lab-${randomBytes(24).toString('base64url')}`
  const subjects = new Map<string, Subject>()
  subjects.set(token, saSubject(SANDBOX_SA.namespace, SANDBOX_SA.name, 'sandbox', spec.rbac ?? 'admin'))
  Object.entries(opts.tokens ?? {}).forEach(([t, rules], i) => {
    subjects.set(t, saSubject('default', `extra-${i + 1}`, `extra-${i + 1}`, rules))
  })

  const tls = await makeCert()
  const server = new KubeServer({store, api, exec, logs, proxy, network, subjects, kubernetesVersion: spec.kubernetesVersion, latencyMs: opts.latencyMs, hang: opts.hang}, tls)
  const port = await server.listen(opts.port ?? 0)
  const url = `https://127.0.0.1:${port}`
  const caData = Buffer.from(tls.cert).toString('base64')

  const kubeconfig = (contextName = 'tetractl-lab', o: {token?: string; namespace?: string} = {}) =>
    YAML.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{name: contextName, cluster: {server: url, 'certificate-authority-data': caData}}],
      users: [{name: contextName, user: {token: o.token ?? token}}],
      contexts: [{name: contextName, context: {cluster: contextName, user: contextName, namespace: o.namespace ?? 'default'}}],
      'current-context': contextName,
      preferences: {},
    })

  let stopped: Promise<void> | undefined
  return {
    url,
    caData,
    token,
    kubeconfig,
    store,
    network,
    exec,
    dns,
    logs,
    proxy,
    requests: () => server.requests(),
    clearRequests: () => server.clearRequests(),
    stop: () => (stopped ??= (stopPods(), server.stop())),
  }
}
