// An in-memory Kubernetes for check logic: the objects a test lists, served through the few calls the checks and
// the cluster domain make (the ClusterKube port plus the pod listing the checks do themselves). No sockets, no lab:
// a case is a handful of objects and its verdict is deterministic.
import type {V1ConfigMap, V1DaemonSet, V1EndpointSlice, V1Namespace, V1PolicyRule, V1Pod, V1Service} from '@kubernetes/client-node'

import type {CheckContext, DoctorOptions} from '../../src/checks/context.js'
import type {KubeClient} from '../../src/clients/kube.js'
import {TetragonError, type TetragonClient} from '../../src/clients/tetragon.js'
import {podAccessKey, type TetragonAccess} from '../../src/cluster/agents.js'
import {summarizePod, type PodSummary} from '../../src/cluster/facts.js'
import type {ExecResult} from '../../src/clients/kube.js'
import {ForbiddenError} from '../../src/engine/errors.js'
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
  /**
   * What the API server's services proxy answers for a GET to the gRPC Service: a body (200) or the status and text
   * of its error (503 "error trying to reach service: …", "no endpoints available for service …").
   */
  serviceProxy?: {status: number; text: string}
  /**
   * RBAC: the rules granted cluster-wide ('*', from ClusterRoleBindings) and per namespace (RoleBindings). Undefined:
   * everything is allowed. `reviewsForbidden`: the credentials may not create SelfSubject*Reviews either.
   */
  rbac?: {cluster?: V1PolicyRule[]; namespaces?: Record<string, V1PolicyRule[]>; reviewsForbidden?: boolean}
  /** The API server's minor version (1.x): from 1.35 a WebSocket upgrade (exec, port-forward) is authorized as create. */
  serverMinor?: number
  /** Cluster DNS as a pod with dnsPolicy ClusterFirst sees it: name → addresses. */
  dns?: Record<string, string[]>
  /** The cluster DNS Service's address (kubeadm's default 10.96.0.10; EKS uses 172.20.0.10 or 10.100.0.10, k3s 10.43.0.10). */
  resolver?: string
  /** Executables missing from a pod's image (by pod name): exec of them fails to start, as containerd reports it. */
  missingBinaries?: Record<string, string[]>
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

type Named = {metadata?: {namespace?: string; name?: string}}
/** The API server lists in storage key order: by namespace, then name (cluster-scoped objects by name). */
const byKey = <T extends Named>(items: T[] = []): T[] =>
  [...items].sort((a, b) => `${a.metadata?.namespace ?? ''}/${a.metadata?.name ?? ''}`.localeCompare(`${b.metadata?.namespace ?? ''}/${b.metadata?.name ?? ''}`, 'en'))
const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/

/** Refuses what the in-memory cluster does not implement, so a test never passes on an option it ignored. */
function only(what: string, opts: object, known: string[]): void {
  const extra = Object.entries(opts).filter(([k, v]) => v !== undefined && !known.includes(k))
  if (extra.length) throw new Error(`the in-memory cluster does not implement ${extra.map(([k]) => k).join(', ')} on ${what}`)
}
function namespaced(what: string, namespace: string | undefined): void {
  if (namespace !== undefined && !NAMESPACE.test(namespace)) throw new Error(`${what}: "${namespace}" is not a namespace name`)
}

export class FakeCluster {
  readonly calls: string[] = []
  private readonly scrapes = new Map<string, number>()
  constructor(readonly objects: ClusterObjects) {}

  async listDaemonSets(labelSelector: string | undefined, _signal?: AbortSignal, namespace?: string): Promise<V1DaemonSet[]> {
    this.calls.push(`list daemonsets ${namespace ?? '*'} ${labelSelector ?? ''}`.trim())
    namespaced('list daemonsets', namespace)
    return byKey(this.objects.daemonSets).filter((d) => (!namespace || d.metadata?.namespace === namespace) && selectorMatches(labelSelector, d.metadata?.labels))
  }

  async listPods<T>(namespace: string | undefined, opts: {labelSelector?: string; signal?: AbortSignal; onFirstPage?: (items: T[]) => void}, map: (p: V1Pod) => T): Promise<T[]> {
    this.calls.push(`list pods ${namespace ?? '*'} ${opts.labelSelector ?? ''}`.trim())
    only('list pods', opts, ['labelSelector', 'signal', 'onFirstPage'])
    namespaced('list pods', namespace)
    const out = byKey(this.objects.pods).filter((p) => (!namespace || p.metadata?.namespace === namespace) && selectorMatches(opts.labelSelector, p.metadata?.labels)).map(map)
    opts.onFirstPage?.(out.slice())
    return out
  }

  async readConfigMap(namespace: string, name: string): Promise<V1ConfigMap | undefined> {
    this.calls.push(`get configmap ${namespace}/${name}`)
    namespaced('get configmap', namespace)
    return (this.objects.configMaps ?? []).find((c) => c.metadata?.namespace === namespace && c.metadata?.name === name)
  }

  async readService(namespace: string, name: string): Promise<V1Service | undefined> {
    this.calls.push(`get service ${namespace}/${name}`)
    namespaced('get service', namespace)
    return (this.objects.services ?? []).find((s) => s.metadata?.namespace === namespace && s.metadata?.name === name)
  }

  async listEndpointSlices(namespace: string, serviceName: string): Promise<V1EndpointSlice[]> {
    this.calls.push(`list endpointslices ${namespace} kubernetes.io/service-name=${serviceName}`)
    namespaced('list endpointslices', namespace)
    return byKey(this.objects.endpointSlices).filter((s) => s.metadata?.namespace === namespace && s.metadata?.labels?.['kubernetes.io/service-name'] === serviceName)
  }

  /** GET /api/v1/namespaces/NS/pods/POD:PORT/proxy/PATH: the pod's next metrics text. */
  async proxyGet(namespace: string, pod: string, port: number, path: string): Promise<string> {
    this.calls.push(`proxy ${namespace}/${pod}:${port}/${path}`)
    namespaced('proxy', namespace)
    const texts = this.objects.metrics?.[pod]
    if (!texts?.length) throw new Error(`the server could not find the requested resource (get pods ${pod}:${port})`)
    // One text per scrape, in order; the last one stays.
    const n = this.scrapes.get(pod) ?? 0
    this.scrapes.set(pod, n + 1)
    const text = texts[Math.min(n, texts.length - 1)]!
    if (text instanceof Error) throw text
    return text
  }

  /** KubeClient.call: runs the request (the fake has no credentials or retries to apply); an answer that is no object is refused as the client refuses it. */
  async call<T>(what: {verb: string; resource: string}, fn: (options: object) => Promise<T>): Promise<T> {
    this.calls.push(`${what.verb} ${what.resource}`)
    const answer = await fn({})
    if (answer === null || answer === undefined) throw new Error(`${what.verb} ${what.resource}: the API server's answer is not an object`)
    return answer
  }

  /** KubeClient.listAll: every page the request function returns, following `continue` (bounded like the client). */
  async listAll<TItem, TOut>(
    what: {verb: string; resource: string},
    page: (cont: string | undefined, limit: number, o: object) => Promise<{items: TItem[]; metadata?: {_continue?: string}}>,
    map: (item: TItem) => TOut,
    opts: {pageSize?: number; signal?: AbortSignal; onFirstPage?: (items: TOut[]) => void} = {},
  ): Promise<TOut[]> {
    const out: TOut[] = []
    const seen = new Set<string>()
    let cont: string | undefined
    for (let pages = 1; pages <= 1000; pages++) {
      const list = await this.call(what, (o) => page(cont, opts.pageSize ?? 500, o))
      if (!Array.isArray(list.items)) throw new Error(`${what.verb} ${what.resource}: a list without an items array`)
      out.push(...list.items.map(map))
      if (pages === 1) opts.onFirstPage?.(out.slice())
      cont = list.metadata?._continue
      if (!cont) return out
      if (seen.has(cont)) throw new Error(`${what.verb} ${what.resource}: the same continue token twice`)
      seen.add(cont)
    }
    throw new Error('the in-memory list did not end')
  }

  readonly core = {
    /** Pages of `limit` namespaces, the continue token being the next offset (opaque to clients, as on the API server). */
    listNamespace: async (req: {limit?: number; _continue?: string}): Promise<{items: V1Namespace[]; metadata: {_continue?: string}}> => {
      only('list namespaces', req, ['limit', '_continue'])
      const names = [...(this.objects.namespaces ?? [])].sort()
      const from = Number(req._continue ?? 0)
      const to = from + (req.limit ?? names.length)
      return {items: names.slice(from, to).map((name) => ({metadata: {name}})), metadata: to < names.length ? {_continue: String(to)} : {}}
    },
    /** GET …/services/NAME:PORT/proxy/PATH; a status other than 200 arrives as KubeClient.call turns it into an Error ("HTTP <code>: <text>"). */
    connectGetNamespacedServiceProxyWithPath: async (req: {name: string; namespace: string; path?: string}): Promise<string> => {
      only('get services/proxy', req, ['name', 'namespace', 'path'])
      const [name] = req.name.split(':')
      if (!(this.objects.services ?? []).some((s) => s.metadata?.namespace === req.namespace && s.metadata?.name === name)) throw new Error(`services "${name}" not found`)
      const answer = this.objects.serviceProxy
      if (!answer) throw new Error('the test gave the in-memory services proxy no answer')
      if (answer.status !== 200) throw new Error(`HTTP ${answer.status}: ${answer.text}`)
      return answer.text
    },
    listPodForAllNamespaces: async (req: {labelSelector?: string; limit?: number}): Promise<{items: V1Pod[]; metadata: object}> => {
      only('list pods (all namespaces)', req, ['labelSelector', 'limit'])
      const items = byKey(this.objects.pods).filter((p) => selectorMatches(req.labelSelector, p.metadata?.labels))
      return {items: items.slice(0, req.limit ?? items.length), metadata: {}}
    },
    readNamespacedPodLog: async (req: {name: string; namespace: string; container?: string; tailLines?: number}): Promise<string> => {
      only('get pods/log', req, ['name', 'namespace', 'container', 'tailLines'])
      if (req.container !== 'tetragon') throw new Error(`the in-memory cluster keeps only the tetragon container's log, not ${req.container}'s`)
      const pod = (this.objects.pods ?? []).find((p) => p.metadata?.namespace === req.namespace && p.metadata?.name === req.name)
      if (!pod) throw new Error(`pods "${req.name}" not found`)
      const log = this.objects.logs?.[req.name] ?? ''
      return req.tailLines ? log.split('\n').slice(-req.tailLines).join('\n') : log
    },
  }

  /**
   * Exec in a pod: `getent hosts NAME` (exit 2 and no output when the name does not resolve, as glibc's getent does)
   * and `nslookup NAME` (BusyBox ≥ 1.31's output, NXDOMAIN on stdout, as the lab's exec has it), answered from `dns`.
   */
  async exec(namespace: string, pod: string, container: string, command: string[]): Promise<ExecResult> {
    this.calls.push(`exec ${namespace}/${pod} -c ${container} -- ${command.join(' ')}`)
    const target = (this.objects.pods ?? []).find((p) => p.metadata?.namespace === namespace && p.metadata?.name === pod)
    if (!target) throw new Error(`pods "${pod}" not found`)
    if (!target.spec?.containers.some((c) => c.name === container)) throw new Error(`container ${container} is not valid for pod ${pod}`)
    const [bin, ...args] = command
    if (this.objects.missingBinaries?.[pod]?.includes(bin!)) {
      return {stdout: '', stderr: '', exitCode: -1, notFound: true, message: `failed to exec in container: exec: "${bin}": executable file not found in $PATH`}
    }
    const name = args.at(-1)!
    const ips = this.objects.dns?.[name] ?? []
    if (bin === 'getent' && args[0] === 'hosts') {
      return ips.length ? {stdout: ips.map((ip) => `${ip.padEnd(15)} ${name}\n`).join(''), stderr: '', exitCode: 0} : {stdout: '', stderr: '', exitCode: 2, message: 'command terminated with non-zero exit code: exit status 2'}
    }
    if (bin === 'nslookup') {
      const resolver = this.objects.resolver ?? '10.96.0.10'
      const server = `Server:\t\t${resolver}\nAddress:\t${resolver}:53\n\n`
      return ips.length
        ? {stdout: `${server}Name:\t${name}\n${ips.map((ip) => `Address: ${ip}\n`).join('')}`, stderr: '', exitCode: 0}
        : {stdout: `${server}** server can't find ${name}: NXDOMAIN\n\n`, stderr: '', exitCode: 1, message: 'command terminated with non-zero exit code: exit status 1'}
    }
    throw new Error(`the in-memory cluster cannot run ${command.join(' ')}`)
  }

  readonly contextName = 'in-memory'

  streamVerb(): 'get' | 'create' {
    return (this.objects.serverMinor ?? 34) >= 35 ? 'create' : 'get'
  }

  /** The RBAC authorizer's answer, written here from the rule semantics (a rule with resourceNames grants no unnamed request). */
  private allowed(rules: V1PolicyRule[], verb: string, resource: string, group: string): boolean {
    const any = (list: string[] | undefined, want: (x: string) => boolean) => (list ?? []).some((x) => x === '*' || want(x))
    return rules.some((r) => any(r.verbs, (v) => v === verb) && any(r.apiGroups, (g) => g === group) && any(r.resources, (x) => x === resource || (resource.includes('/') && x === `*/${resource.split('/')[1]}`)) && !(r.resourceNames ?? []).length)
  }

  private rulesFor(namespace: string | undefined): V1PolicyRule[] | undefined {
    const rbac = this.objects.rbac
    if (!rbac) return undefined
    return [...(rbac.cluster ?? []), ...(namespace ? (rbac.namespaces?.[namespace] ?? []) : [])]
  }

  async canI(verb: string, resource: string, opts: {group?: string; namespace?: string; subresource?: string}): Promise<{allowed: boolean; reason?: string}> {
    this.calls.push(`access review ${verb} ${resource}${opts.subresource ? `/${opts.subresource}` : ''}${opts.namespace ? ` in ${opts.namespace}` : ''}`)
    if (this.objects.rbac?.reviewsForbidden) throw new ForbiddenError('create', 'selfsubjectaccessreviews')
    const rules = this.rulesFor(opts.namespace)
    return {allowed: !rules || this.allowed(rules, verb, opts.subresource ? `${resource}/${opts.subresource}` : resource, opts.group ?? '')}
  }

  /** SelfSubjectRulesReview: the rules that apply in the namespace (cluster-wide ones included), complete. */
  async rulesReview(namespace: string): Promise<{rules: Array<{verbs: string[]; apiGroups?: string[]; resources?: string[]; resourceNames?: string[]}>; incomplete: boolean}> {
    this.calls.push(`rules review ${namespace}`)
    if (this.objects.rbac?.reviewsForbidden) throw new ForbiddenError('create', 'selfsubjectrulesreviews')
    const rules = this.rulesFor(namespace) ?? [{verbs: ['*'], apiGroups: ['*'], resources: ['*']}]
    return {rules: rules.map((r) => ({verbs: r.verbs, apiGroups: r.apiGroups, resources: r.resources, resourceNames: r.resourceNames})), incomplete: false}
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

// Objects shaped as the Helm chart (cilium/tetragon install/kubernetes/tetragon, v1.7.0) and the API server make
// them, in the fields the checks read: the agent container and its export-stdout sidecar, the chart's labels, pod
// status as the kubelet reports it.
const EXPORT_STDOUT = 'quay.io/cilium/hubble-export-stdout:v1.1.0'
const IMAGE_ID = 'quay.io/cilium/tetragon@sha256:5c5b3e1d2f4a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c'

export function agentDaemonSet(opts: {namespace?: string; name?: string; desired?: number; ready?: number; image?: string; args?: string[]; env?: Record<string, string>} = {}): V1DaemonSet {
  const {namespace = 'kube-system', name = 'tetragon', desired = 3, ready = desired, image = 'quay.io/cilium/tetragon:v1.7.0'} = opts
  const env = opts.env && Object.entries(opts.env).map(([k, value]) => ({name: k, value}))
  return {
    metadata: {namespace, name, labels: {...AGENT_LABELS, 'helm.sh/chart': 'tetragon-1.7.0'}},
    spec: {selector: {matchLabels: {'app.kubernetes.io/name': 'tetragon'}}, template: {metadata: {labels: AGENT_LABELS}, spec: {containers: [{name: 'export-stdout', image: EXPORT_STDOUT}, {name: 'tetragon', image, ...(opts.args ? {args: opts.args} : {}), ...(env ? {env} : {})}]}}},
    status: {desiredNumberScheduled: desired, numberReady: ready, updatedNumberScheduled: desired, currentNumberScheduled: desired, numberMisscheduled: 0},
  }
}

/** An agent pod; a not-ready one is crash-looping (its tetragon container restarted 6 times, now waiting). */
export function agentPod(i: number, opts: {ready?: boolean; namespace?: string; labels?: Record<string, string>; ip?: string} = {}): V1Pod {
  const {ready = true, namespace = 'kube-system', labels = AGENT_LABELS} = opts
  const image = 'quay.io/cilium/tetragon:v1.7.0'
  return {
    metadata: {namespace, name: `tetragon-${i}`, labels},
    spec: {nodeName: `node-${i}`, containers: [{name: 'export-stdout', image: EXPORT_STDOUT}, {name: 'tetragon', image}]},
    status: {
      phase: 'Running',
      podIP: opts.ip ?? `10.0.0.${i + 1}`,
      conditions: [{type: 'Ready', status: ready ? 'True' : 'False'}],
      containerStatuses: [
        {name: 'export-stdout', ready: true, restartCount: 0, image: EXPORT_STDOUT, imageID: `${EXPORT_STDOUT.split(':')[0]}@sha256:${'7'.repeat(64)}`, state: {running: {}}},
        ready
          ? {name: 'tetragon', ready: true, restartCount: 0, image, imageID: IMAGE_ID, state: {running: {}}}
          : {name: 'tetragon', ready: false, restartCount: 6, image, imageID: IMAGE_ID, state: {waiting: {reason: 'CrashLoopBackOff'}}, lastState: {terminated: {exitCode: 1, reason: 'Error'}}},
      ],
    },
  }
}

/** An Elastic Agent pod as Elastic's reference manifests label it (`app: elastic-agent`), on cluster DNS. */
export function collectorPod(opts: {namespace?: string; ready?: boolean; dnsPolicy?: string; name?: string} = {}): V1Pod {
  const {namespace = 'kube-system', ready = true, dnsPolicy = 'ClusterFirstWithHostNet', name = 'elastic-agent-x7k2p'} = opts
  const image = 'docker.elastic.co/elastic-agent/elastic-agent:8.19.0'
  return {
    metadata: {namespace, name, labels: {app: 'elastic-agent'}},
    spec: {nodeName: 'node-0', dnsPolicy, hostNetwork: true, containers: [{name: 'elastic-agent', image}]},
    status: {
      phase: 'Running',
      conditions: [{type: 'Ready', status: ready ? 'True' : 'False'}],
      containerStatuses: [{name: 'elastic-agent', ready, restartCount: 0, image, imageID: `docker.elastic.co/elastic-agent/elastic-agent@sha256:${'9'.repeat(64)}`, state: {running: {}}}],
    },
  }
}

/** A CoreDNS pod (label k8s-app=kube-dns, as kubeadm and most distributions deploy it). */
export function corednsPod(i: number, ready = true): V1Pod {
  const image = 'registry.k8s.io/coredns/coredns:v1.11.3'
  return {
    metadata: {namespace: 'kube-system', name: `coredns-5d78c9869d-${i}`, labels: {'k8s-app': 'kube-dns'}},
    spec: {nodeName: `node-${i}`, containers: [{name: 'coredns', image}]},
    status: {phase: 'Running', conditions: [{type: 'Ready', status: ready ? 'True' : 'False'}], containerStatuses: [{name: 'coredns', ready, restartCount: 0, image, imageID: `registry.k8s.io/coredns/coredns@sha256:${'5'.repeat(64)}`, state: {running: {}}}]},
  }
}

/** The tetragon-operator pod: it shares the part-of and instance labels with the agents (the chart's labels). */
export function operatorPod(namespace = 'kube-system'): V1Pod {
  return {
    metadata: {namespace, name: 'tetragon-operator-7d9f', labels: {'app.kubernetes.io/name': 'tetragon-operator', 'app.kubernetes.io/instance': 'tetragon', 'app.kubernetes.io/part-of': 'tetragon'}},
    spec: {nodeName: 'node-0', containers: [{name: 'tetragon-operator', image: 'quay.io/cilium/tetragon-operator:v1.7.0'}]},
    status: {
      phase: 'Running',
      conditions: [{type: 'Ready', status: 'True'}],
      containerStatuses: [{name: 'tetragon-operator', ready: true, restartCount: 0, image: 'quay.io/cilium/tetragon-operator:v1.7.0', imageID: `quay.io/cilium/tetragon-operator@sha256:${'3'.repeat(64)}`, state: {running: {}}}],
    },
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

/**
 * An EndpointSlice as the EndpointSlice controller writes it for a Service: every pod the selector matches is an
 * endpoint (a not-ready one with conditions.ready false); when the selector matches no pod the controller keeps a
 * placeholder slice with `endpoints: null` and no ports (kubernetes pkg/controller/endpointslice reconciler).
 */
export function endpointSlice(opts: {namespace?: string; service?: string; port?: number; ready?: string[]; notReady?: string[]; suffix?: string}): V1EndpointSlice {
  const {namespace = 'kube-system', service = 'tetragon-grpc', port = 54321, ready = [], notReady = [], suffix = 'abcde'} = opts
  const endpoints = [...ready.map((a) => ({addresses: [a], conditions: {ready: true}})), ...notReady.map((a) => ({addresses: [a], conditions: {ready: false}}))]
  const metadata = {namespace, name: `${service}-${suffix}`, labels: {'kubernetes.io/service-name': service, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io'}}
  // client-node types `endpoints` as an array; the API sends null for the placeholder (service.endpoints reads both).
  if (endpoints.length === 0) return {addressType: 'IPv4', metadata, endpoints: null as unknown as V1EndpointSlice['endpoints']}
  return {addressType: 'IPv4', metadata, ports: [{name: 'grpc', port, protocol: 'TCP'}], endpoints}
}

/** One agent's gRPC API as the checks see it: GetVersion and ListTracingPolicies answer from the test's values. */
export interface FakeAgent {
  version?: string
  /** A TetragonError the agent's calls fail with (the connection or the RPC). */
  error?: TetragonError
  policies?: JsonObject[]
  /** ListTracingPolicies is UNIMPLEMENTED (agents before v0.9.0). */
  noPolicyList?: boolean
  /** What grpc.health.v1 Check answers for "liveness" (default SERVING), or the error of the call. */
  health?: string | Error
  /** The health server's address; null: none known (an agent on a unix socket without --tetragon-health-address). */
  healthAddress?: string | null
  /** The API server refused the port-forward with 403 (the credentials may not port-forward). */
  forwardRefused?: boolean
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
        return () => (agent.noPolicyList ? Promise.reject(new TetragonError('unimplemented', `Tetragon ${target} does not implement ListTracingPolicies (older agent).`, target, 12)) : answer(agent.policies ?? []))
      }
      if (prop === 'health') {
        return async (service: string) => {
          if (service !== 'liveness') throw new Error(`the fake agent serves health for "liveness" only, not "${service}"`)
          if (agent.forwardRefused) throw new Error('error upgrading connection: 403 Forbidden')
          if (agent.health instanceof Error) throw agent.health
          return agent.health ?? 'SERVING'
        }
      }
      if (prop === 'close') return () => {}
      if (prop === 'then' || typeof prop === 'symbol') return undefined
      throw new Error(`the fake agent has no ${String(prop)}(): a check under test called it`)
    },
  })
  const health = agent.healthAddress === null ? undefined : (agent.healthAddress ?? (pod ? '127.0.0.1:40123' : 'localhost:6789'))
  return {
    client,
    via: pod ? 'port-forward' : 'address',
    target,
    pod,
    forwardErrors: () => (agent.forwardRefused ? ['error upgrading connection: 403 Forbidden'] : []),
    healthAddress: async () => health,
    refusal: () => (agent.forwardRefused && pod ? new ForbiddenError('create', 'pods/portforward', pod.namespace) : undefined),
  }
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
