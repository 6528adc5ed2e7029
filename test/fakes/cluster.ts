// An in-memory Kubernetes for check logic: the objects a test lists, served through the few calls the checks and
// the cluster domain make (the ClusterKube port plus the pod listing the checks do themselves). No sockets, no lab:
// a case is a handful of objects and its verdict is deterministic.
import type {V1ConfigMap, V1DaemonSet, V1EndpointSlice, V1Namespace, V1Pod, V1Service} from '@kubernetes/client-node'

import type {CheckContext, DoctorOptions} from '../../src/checks/context.js'
import type {KubeClient} from '../../src/clients/kube.js'
import {TetragonError, type TetragonClient} from '../../src/clients/tetragon.js'
import {podAccessKey, type TetragonAccess} from '../../src/cluster/agents.js'
import {summarizePod, type PodSummary} from '../../src/cluster/facts.js'
import {Memo} from '../../src/engine/memo.js'
import type {JsonObject} from '../../src/tetragon/json.js'

export interface ClusterObjects {
  daemonSets?: V1DaemonSet[]
  pods?: V1Pod[]
  services?: V1Service[]
  endpointSlices?: V1EndpointSlice[]
  configMaps?: V1ConfigMap[]
  nodes?: number
  /** What each pod's metrics endpoint (port 2112, through the pods proxy) serves, one text per scrape; an Error is a failed request. */
  metrics?: Record<string, Array<string | Error>>
  /** Namespaces of the cluster, by name. */
  namespaces?: string[]
  /** The tetragon container's log of each pod. */
  logs?: Record<string, string>
}

const AGENT_LABELS = {'app.kubernetes.io/name': 'tetragon', 'app.kubernetes.io/instance': 'tetragon', 'app.kubernetes.io/part-of': 'tetragon'}

/** Equality and inequality terms (`k=v`, `k!=v`), the two forms tetractl sends; anything else is a test error. */
export function selectorMatches(selector: string | undefined, labels: Record<string, string> = {}): boolean {
  if (!selector) return true
  return selector.split(',').every((term) => {
    const ne = term.indexOf('!=')
    if (ne > 0) return labels[term.slice(0, ne)] !== term.slice(ne + 2)
    const eq = term.indexOf('=')
    if (eq <= 0) throw new Error(`the in-memory cluster does not understand selector term "${term}"`)
    return labels[term.slice(0, eq)] === term.slice(eq + 1)
  })
}

export class FakeCluster {
  readonly calls: string[] = []
  constructor(readonly objects: ClusterObjects) {}

  async listDaemonSets(labelSelector: string | undefined, _signal?: AbortSignal, namespace?: string): Promise<V1DaemonSet[]> {
    this.calls.push(`list daemonsets ${namespace ?? '*'} ${labelSelector ?? ''}`.trim())
    return (this.objects.daemonSets ?? []).filter((d) => (!namespace || d.metadata?.namespace === namespace) && selectorMatches(labelSelector, d.metadata?.labels))
  }

  async listPods<T>(namespace: string | undefined, opts: {labelSelector?: string; onFirstPage?: (items: T[]) => void}, map: (p: V1Pod) => T): Promise<T[]> {
    this.calls.push(`list pods ${namespace ?? '*'} ${opts.labelSelector ?? ''}`.trim())
    const out = (this.objects.pods ?? []).filter((p) => (!namespace || p.metadata?.namespace === namespace) && selectorMatches(opts.labelSelector, p.metadata?.labels)).map(map)
    opts.onFirstPage?.(out.slice())
    return out
  }

  async readConfigMap(namespace: string, name: string): Promise<V1ConfigMap | undefined> {
    this.calls.push(`get configmap ${namespace}/${name}`)
    return (this.objects.configMaps ?? []).find((c) => c.metadata?.namespace === namespace && c.metadata?.name === name)
  }

  async readService(namespace: string, name: string): Promise<V1Service | undefined> {
    this.calls.push(`get service ${namespace}/${name}`)
    return (this.objects.services ?? []).find((s) => s.metadata?.namespace === namespace && s.metadata?.name === name)
  }

  async listEndpointSlices(namespace: string, serviceName: string): Promise<V1EndpointSlice[]> {
    this.calls.push(`list endpointslices ${namespace} kubernetes.io/service-name=${serviceName}`)
    return (this.objects.endpointSlices ?? []).filter((s) => s.metadata?.namespace === namespace && s.metadata?.labels?.['kubernetes.io/service-name'] === serviceName)
  }

  /** GET /api/v1/namespaces/NS/pods/POD:PORT/proxy/PATH: the pod's next metrics text. */
  async proxyGet(namespace: string, pod: string, port: number, path: string): Promise<string> {
    this.calls.push(`proxy ${namespace}/${pod}:${port}/${path}`)
    const texts = this.objects.metrics?.[pod]
    if (!texts?.length) throw new Error(`the server could not find the requested resource (get pods ${pod}:${port})`)
    // One text per scrape; the last one stays.
    const text = texts.length > 1 ? texts.shift()! : texts[0]!
    if (text instanceof Error) throw text
    return text
  }

  /** KubeClient.call: runs the request (the fake has no credentials or retries to apply). */
  async call<T>(what: {verb: string; resource: string}, fn: (options: object) => Promise<T>): Promise<T> {
    this.calls.push(`${what.verb} ${what.resource}`)
    return fn({})
  }

  /** KubeClient.listAll: every page the request function returns, following `continue` (bounded like the client). */
  async listAll<TItem, TOut>(what: {verb: string; resource: string}, page: (cont: string | undefined, limit: number, o: object) => Promise<{items: TItem[]; metadata?: {_continue?: string}}>, map: (item: TItem) => TOut): Promise<TOut[]> {
    const out: TOut[] = []
    let cont: string | undefined
    for (let pages = 0; pages < 1000; pages++) {
      const list = await this.call(what, (o) => page(cont, 500, o))
      out.push(...list.items.map(map))
      cont = list.metadata?._continue
      if (!cont) return out
    }
    throw new Error('the in-memory list did not end')
  }

  readonly core = {
    /** Pages of `limit` namespaces, the continue token being the next offset (opaque to clients, as on the API server). */
    listNamespace: async (req: {limit?: number; _continue?: string}): Promise<{items: V1Namespace[]; metadata: {_continue?: string}}> => {
      const names = this.objects.namespaces ?? []
      const from = Number(req._continue ?? 0)
      const to = from + (req.limit ?? names.length)
      return {items: names.slice(from, to).map((name) => ({metadata: {name}})), metadata: to < names.length ? {_continue: String(to)} : {}}
    },
    readNamespacedPodLog: async (req: {name: string; namespace: string; container?: string; tailLines?: number}): Promise<string> => {
      const log = this.objects.logs?.[req.name] ?? ''
      return req.tailLines ? log.split('\n').slice(-req.tailLines).join('\n') : log
    },
  }

  async countNodes(): Promise<number> {
    this.calls.push('list nodes')
    return this.objects.nodes ?? (this.objects.pods ?? []).length
  }
}

/** The options doctor starts from when no flag is given (src/flags.ts defaults). */
export const DEFAULT_OPTIONS: DoctorOptions = {
  serviceName: 'tetragon-grpc',
  grpcTimeoutMs: 5_000,
  collectorAddress: 'tetragon-grpc.kube-system.svc:54321',
  schemaSampleMs: 3_000,
  metricsWindowMs: 2_000,
  maxAgeMs: 15 * 60_000,
  profile: 'auto',
  windowMs: 15 * 60_000,
}

/** A check context over the in-memory cluster: no Elasticsearch, no Kibana; agents only as the test gives them. */
export function fakeCheckContext(cluster: FakeCluster, opts: Partial<DoctorOptions> = {}, standalone?: FakeAgent): CheckContext {
  // Tests only: the checks under test call the methods FakeCluster has; a call to any other fails the test loudly.
  const kube = new Proxy(cluster, {
    get(target, prop, receiver) {
      if (prop in target || typeof prop === 'symbol' || prop === 'then') return Reflect.get(target, prop, receiver)
      throw new Error(`the in-memory cluster has no ${String(prop)}(): a check under test called it`)
    },
  }) as unknown as KubeClient
  return {
    opts: {...DEFAULT_OPTIONS, ...opts},
    memo: new Memo(),
    kube: async () => kube,
    // --tetragon-address: the one agent the checks talk to directly.
    tetragon: async () => {
      if (!standalone || !opts.tetragonAddress) throw new Error('no agent connection in the in-memory cluster (give --tetragon-address and a FakeAgent)')
      return fakeAccess(opts.tetragonAddress, standalone)
    },
    es: async () => undefined,
    kibana: async () => undefined,
    onClose: () => {},
  }
}

// Objects as the Helm chart (cilium/tetragon install/kubernetes/tetragon, v1.7.0) and the API server make them.

export function agentDaemonSet(opts: {namespace?: string; name?: string; desired?: number; ready?: number; image?: string; args?: string[]; env?: Record<string, string>} = {}): V1DaemonSet {
  const {namespace = 'kube-system', name = 'tetragon', desired = 3, ready = desired, image = 'quay.io/cilium/tetragon:v1.7.0'} = opts
  const env = opts.env && Object.entries(opts.env).map(([k, value]) => ({name: k, value}))
  return {
    metadata: {namespace, name, labels: {...AGENT_LABELS, 'helm.sh/chart': 'tetragon-1.7.0'}},
    spec: {selector: {matchLabels: {'app.kubernetes.io/name': 'tetragon'}}, template: {metadata: {labels: AGENT_LABELS}, spec: {containers: [{name: 'tetragon', image, ...(opts.args ? {args: opts.args} : {}), ...(env ? {env} : {})}]}}},
    status: {desiredNumberScheduled: desired, numberReady: ready, updatedNumberScheduled: desired, currentNumberScheduled: desired, numberMisscheduled: 0},
  }
}

export function agentPod(i: number, opts: {ready?: boolean; namespace?: string; labels?: Record<string, string>; ip?: string} = {}): V1Pod {
  const {ready = true, namespace = 'kube-system', labels = AGENT_LABELS} = opts
  return {
    metadata: {namespace, name: `tetragon-${i}`, labels},
    spec: {nodeName: `node-${i}`, containers: [{name: 'tetragon'}]},
    status: {
      podIP: opts.ip ?? `10.0.0.${i + 1}`,
      conditions: [{type: 'Ready', status: ready ? 'True' : 'False'}],
      containerStatuses: [{name: 'tetragon', ready, restartCount: 0, image: '', imageID: '', state: ready ? {running: {}} : {waiting: {reason: 'CrashLoopBackOff'}}}],
    },
  }
}

/** The tetragon-operator pod: it shares the part-of and instance labels with the agents (the chart's labels). */
export function operatorPod(namespace = 'kube-system'): V1Pod {
  return {
    metadata: {namespace, name: 'tetragon-operator-7d9f', labels: {'app.kubernetes.io/name': 'tetragon-operator', 'app.kubernetes.io/instance': 'tetragon', 'app.kubernetes.io/part-of': 'tetragon'}},
    spec: {nodeName: 'node-0', containers: [{name: 'tetragon-operator'}]},
    status: {conditions: [{type: 'Ready', status: 'True'}], containerStatuses: [{name: 'tetragon-operator', ready: true, restartCount: 0, image: '', imageID: '', state: {running: {}}}]},
  }
}

export function grpcService(opts: {namespace?: string; name?: string; selector?: Record<string, string> | null; port?: number; targetPort?: number} = {}): V1Service {
  const {namespace = 'kube-system', name = 'tetragon-grpc', port = 54321, targetPort = port} = opts
  const selector = opts.selector === null ? undefined : (opts.selector ?? {'app.kubernetes.io/name': 'tetragon'})
  return {metadata: {namespace, name}, spec: {type: 'ClusterIP', clusterIP: '10.96.0.50', selector, ports: [{name: 'grpc', port, targetPort, protocol: 'TCP'}]}}
}

/** The chart's `<release>-config` ConfigMap (cilium/tetragon install/kubernetes/tetragon/templates/tetragon_configmap.yaml). */
export function tetragonConfig(data: Record<string, string>, namespace = 'kube-system', name = 'tetragon-config'): V1ConfigMap {
  return {metadata: {namespace, name}, data}
}

/** The EndpointSlice the controller writes for a Service: `endpoints` is null, not [], when nothing matches. */
export function endpointSlice(opts: {namespace?: string; service?: string; port?: number; ready?: string[]; notReady?: string[]}): V1EndpointSlice {
  const {namespace = 'kube-system', service = 'tetragon-grpc', port = 54321, ready = [], notReady = []} = opts
  const endpoints = [...ready.map((a) => ({addresses: [a], conditions: {ready: true}})), ...notReady.map((a) => ({addresses: [a], conditions: {ready: false}}))]
  return {
    addressType: 'IPv4',
    metadata: {namespace, name: `${service}-abcde`, labels: {'kubernetes.io/service-name': service}},
    ports: [{name: 'grpc', port, protocol: 'TCP'}],
    // client-node types it as an array; the API sends null (checked by service.endpoints).
    endpoints: endpoints.length ? endpoints : (null as unknown as V1EndpointSlice['endpoints']),
  }
}

/** One agent's gRPC API as the checks see it: GetVersion and ListTracingPolicies answer from the test's values. */
export interface FakeAgent {
  version?: string
  /** A TetragonError the agent's calls fail with (the connection or the RPC). */
  error?: TetragonError
  policies?: JsonObject[]
  /** ListTracingPolicies is UNIMPLEMENTED (agents before v0.9.0). */
  noPolicyList?: boolean
}

export function fakeAccess(target: string, agent: FakeAgent, pod?: PodSummary): TetragonAccess {
  const answer = async <T>(value: T): Promise<T> => {
    if (agent.error) throw agent.error
    return value
  }
  const client = new Proxy({} as TetragonClient, {
    get(_target, prop) {
      if (prop === 'getVersion') return () => answer(agent.version ?? 'v1.7.0')
      if (prop === 'listTracingPolicies') {
        return () => (agent.noPolicyList ? Promise.reject(new TetragonError('unimplemented', 'unknown service tetragon.FineGuidanceSensors ListTracingPolicies', target, 12)) : answer(agent.policies ?? []))
      }
      if (prop === 'close') return () => {}
      if (prop === 'then' || typeof prop === 'symbol') return undefined
      throw new Error(`the fake agent has no ${String(prop)}(): a check under test called it`)
    },
  })
  return {client, via: pod ? 'port-forward' : 'address', target, pod, forwardErrors: () => [], healthAddress: async () => undefined, refusal: () => undefined}
}

/**
 * Gives each agent pod of the in-memory cluster its fake API (keyed by pod name) for the run of `ctx`: the access
 * podAccess would open (a port-forward and a gRPC client) is the one the checks then use.
 */
export function withAgents(ctx: CheckContext, agents: Record<string, FakeAgent>, pods: V1Pod[]): CheckContext {
  for (const p of pods) {
    const pod = summarizePod(p)
    const agent = agents[pod.name]
    if (agent) void ctx.memo.get(podAccessKey(pod), async () => fakeAccess(`${pod.namespace}/${pod.name}`, agent, pod))
  }
  return ctx
}
