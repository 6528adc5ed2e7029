import {createHash} from 'node:crypto'

import {matchSelectorMap} from './selectors.js'
import {type KObj, type Store, deterministicUid} from './store.js'

// What the controllers (endpoints, endpointslice, daemonset, deployment) would write, computed on
// read from the Services and pods so it follows every change other labs make.

/** Endpoints API capacity: 1,000 addresses, then truncated with the over-capacity annotation (endpoints controller maxCapacity). */
export const MAX_ENDPOINTS_ADDRESSES = 1000
/** kube-controller-manager --max-endpoints-per-slice default. */
export const MAX_ENDPOINTS_PER_SLICE = 100

export function podReady(pod: KObj): boolean {
  return (pod.status?.conditions ?? []).some((c: {type: string; status: string}) => c.type === 'Ready' && c.status === 'True')
}

interface Backend {
  pod: KObj
  ip: string
  ready: boolean
  terminating: boolean
}

function maxRv(objs: KObj[]): string {
  let m = 0
  for (const o of objs) m = Math.max(m, Number(o.metadata.resourceVersion ?? 0))
  return String(m)
}

/** Resolves a Service targetPort (number or named container port) for one pod. */
function targetPortFor(pod: KObj, targetPort: number | string | undefined, port: number): number | undefined {
  if (targetPort === undefined) return port
  if (typeof targetPort === 'number') return targetPort
  if (/^\d+$/.test(targetPort)) return Number(targetPort)
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) if (p.name === targetPort) return p.containerPort
  }
  return undefined
}

function backends(store: Store, svc: KObj): Backend[] {
  const sel = svc.spec?.selector as Record<string, string> | undefined
  if (!sel || Object.keys(sel).length === 0) return []
  const out: Backend[] = []
  for (const pod of store.list('pods', svc.metadata.namespace)) {
    if (!matchSelectorMap(sel, pod.metadata.labels)) continue
    // Pods without an IP or in a terminal phase are never endpoints (endpointslice controller).
    const ip = pod.status?.podIP as string | undefined
    if (!ip || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') continue
    const terminating = Boolean(pod.metadata.deletionTimestamp)
    out.push({pod, ip, ready: podReady(pod) && !terminating, terminating})
  }
  return out
}

function servicePorts(svc: KObj): Array<{name?: string; port: number; targetPort?: number | string; protocol?: string}> {
  return svc.spec?.ports ?? []
}

function targetRef(pod: KObj) {
  return {kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid}
}

function selectorServices(store: Store, namespace?: string): KObj[] {
  return store.list('services', namespace).filter((s) => s.spec?.selector && Object.keys(s.spec.selector).length > 0 && s.spec.type !== 'ExternalName')
}

/** Endpoints (v1) for every Service with a selector, as the endpoints controller writes them. */
export function computedEndpoints(store: Store, namespace?: string): KObj[] {
  const out: KObj[] = []
  for (const svc of selectorServices(store, namespace)) {
    const bs = backends(store, svc)
    const ports = servicePorts(svc)
    // One subset per distinct resolved port set; all the lab's pods resolve ports alike.
    const ready = bs.filter((b) => b.ready)
    const notReady = bs.filter((b) => !b.ready)
    const addr = (b: Backend) => ({ip: b.ip, nodeName: b.pod.spec?.nodeName, targetRef: targetRef(b.pod)})
    // RepackSubsets sorts addresses by IP (string order), then UID.
    const byIp = (a: {ip: string}, b: {ip: string}) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0)
    let readyAddrs = ready.map(addr).sort(byIp)
    let notReadyAddrs = notReady.map(addr).sort(byIp)
    const annotations: Record<string, string> = {}
    if (readyAddrs.length + notReadyAddrs.length > MAX_ENDPOINTS_ADDRESSES) {
      // Truncated to 1,000 addresses, ready ones kept first, plus the over-capacity annotation.
      readyAddrs = readyAddrs.slice(0, MAX_ENDPOINTS_ADDRESSES)
      notReadyAddrs = notReadyAddrs.slice(0, MAX_ENDPOINTS_ADDRESSES - readyAddrs.length)
      annotations['endpoints.kubernetes.io/over-capacity'] = 'truncated'
    }
    const first = bs[0]?.pod
    const epPorts = ports.map((p) => ({...(p.name ? {name: p.name} : {}), port: (first && targetPortFor(first, p.targetPort, p.port)) ?? (typeof p.targetPort === 'number' ? p.targetPort : p.port), protocol: p.protocol ?? 'TCP'}))
    const subsets = bs.length === 0 ? undefined : [{
      ...(readyAddrs.length ? {addresses: readyAddrs} : {}),
      ...(notReadyAddrs.length ? {notReadyAddresses: notReadyAddrs} : {}),
      ports: epPorts,
    }]
    out.push({
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: {
        name: svc.metadata.name,
        namespace: svc.metadata.namespace,
        uid: deterministicUid(`endpoints/${svc.metadata.uid}`),
        resourceVersion: maxRv([svc, ...bs.map((b) => b.pod)]),
        creationTimestamp: svc.metadata.creationTimestamp,
        ...(Object.keys(svc.metadata.labels ?? {}).length ? {labels: {...svc.metadata.labels}} : {}),
        ...(Object.keys(annotations).length ? {annotations} : {}),
      },
      ...(subsets ? {subsets} : {}),
    })
  }
  return out
}

function sliceSuffix(svcUid: string, i: number): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789'
  const h = createHash('sha256').update(`${svcUid}/${i}`).digest()
  let s = ''
  for (let k = 0; k < 5; k++) s += alphabet[h[k]! % alphabet.length]
  return s
}

/** EndpointSlices (discovery.k8s.io/v1) for every Service with a selector. */
export function computedEndpointSlices(store: Store, namespace?: string): KObj[] {
  const out: KObj[] = []
  for (const svc of selectorServices(store, namespace)) {
    const bs = backends(store, svc)
    const ports = servicePorts(svc)
    const chunks: Backend[][] = []
    for (let i = 0; i < bs.length; i += MAX_ENDPOINTS_PER_SLICE) chunks.push(bs.slice(i, i + MAX_ENDPOINTS_PER_SLICE))
    // A Service selecting nothing still gets one placeholder slice with `endpoints: null`
    // (not []) and no ports.
    if (chunks.length === 0) chunks.push([])
    chunks.forEach((chunk, i) => {
      const first = chunk[0]?.pod
      out.push({
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {
          name: `${svc.metadata.name}-${sliceSuffix(svc.metadata.uid!, i)}`,
          generateName: `${svc.metadata.name}-`,
          namespace: svc.metadata.namespace,
          uid: deterministicUid(`endpointslice/${svc.metadata.uid}/${i}`),
          resourceVersion: maxRv([svc, ...chunk.map((b) => b.pod)]),
          creationTimestamp: svc.metadata.creationTimestamp,
          generation: 1,
          labels: {
            ...(svc.metadata.labels ?? {}),
            'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
            'kubernetes.io/service-name': svc.metadata.name,
          },
          ownerReferences: [{apiVersion: 'v1', kind: 'Service', name: svc.metadata.name, uid: svc.metadata.uid!, controller: true, blockOwnerDeletion: true}],
        },
        addressType: 'IPv4',
        endpoints: chunk.length === 0 ? null : chunk.map((b) => ({
          addresses: [b.ip],
          // serving follows readiness even while terminating; ready is false when terminating.
          conditions: {ready: b.ready, serving: podReady(b.pod), terminating: b.terminating},
          nodeName: b.pod.spec?.nodeName,
          targetRef: targetRef(b.pod),
        })),
        ports: chunk.length === 0 ? null : ports.map((p) => ({name: p.name ?? '', port: (first && targetPortFor(first, p.targetPort, p.port)) ?? p.port, protocol: p.protocol ?? 'TCP'})),
      })
    })
  }
  return out
}

/** Ready endpoints (ip + port) behind a Service port, for the lab's kube-proxy. */
export function readyBackends(store: Store, svc: KObj, port: number): Array<{ip: string; port: number; pod: KObj}> {
  const sp = servicePorts(svc).find((p) => p.port === port)
  if (!sp) return []
  return backends(store, svc).filter((b) => b.ready).flatMap((b) => {
    const tp = targetPortFor(b.pod, sp.targetPort, sp.port)
    return tp === undefined ? [] : [{ip: b.ip, port: tp, pod: b.pod}]
  })
}

function ownedBy(pods: KObj[], uid: string): KObj[] {
  return pods.filter((p) => (p.metadata.ownerReferences ?? []).some((r) => r.uid === uid))
}

/** DaemonSet status as the daemonset controller keeps it (counts of its pods). */
export function daemonSetStatus(store: Store, ds: KObj): Record<string, unknown> {
  const pods = ownedBy(store.list('pods', ds.metadata.namespace), ds.metadata.uid!)
  const ready = pods.filter(podReady).length
  return {
    currentNumberScheduled: pods.length,
    desiredNumberScheduled: pods.length,
    numberAvailable: ready,
    numberMisscheduled: 0,
    numberReady: ready,
    observedGeneration: ds.metadata.generation ?? 1,
    updatedNumberScheduled: pods.length,
    ...(pods.length - ready > 0 ? {numberUnavailable: pods.length - ready} : {}),
  }
}

/** Deployment status from its ReplicaSets' pods (deployment controller). */
export function deploymentStatus(store: Store, dep: KObj): Record<string, unknown> {
  const ns = dep.metadata.namespace
  const rss = ownedBy(store.list('replicasets', ns), dep.metadata.uid!)
  const allPods = store.list('pods', ns)
  const pods = rss.flatMap((rs) => ownedBy(allPods, rs.metadata.uid!))
  const ready = pods.filter(podReady).length
  const replicas = Number(dep.spec?.replicas ?? 1)
  // Available when ready ≥ replicas − maxUnavailable (a percentage rounds down).
  const mu = dep.spec?.strategy?.rollingUpdate?.maxUnavailable ?? '25%'
  const maxUnavailable = typeof mu === 'string' && mu.endsWith('%') ? Math.floor((replicas * Number.parseInt(mu, 10)) / 100) : Number(mu)
  const available = ready >= replicas - maxUnavailable
  const t = dep.metadata.creationTimestamp
  return {
    observedGeneration: dep.metadata.generation ?? 1,
    replicas: pods.length,
    updatedReplicas: pods.length,
    readyReplicas: ready || undefined,
    availableReplicas: ready || undefined,
    ...(pods.length - ready > 0 ? {unavailableReplicas: pods.length - ready} : {}),
    conditions: [
      available
        ? {type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.', lastUpdateTime: t, lastTransitionTime: t}
        : {type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.', lastUpdateTime: t, lastTransitionTime: t},
      {type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${rss[0]?.metadata.name ?? dep.metadata.name}" has successfully progressed.`, lastUpdateTime: t, lastTransitionTime: t},
    ],
  }
}

/**
 * The scheduler and the kubelet for pods created through the API (e.g. tetractl validate's probe pod):
 * a pod without `spec.nodeName` is bound to a schedulable, Ready node (honouring a
 * `kubernetes.io/hostname` nodeSelector), gets an address from that node's podCIDR and, with no
 * image to pull in the lab, its containers run: phase Running, Ready. Pods the cluster rendering
 * created already carry a node and status and are left alone. Returns the function that stops it.
 */
export function runPodLifecycle(store: Store): () => void {
  let next = 0
  const timers = new Set<NodeJS.Timeout>()
  const schedulable = (n: KObj) =>
    !n.spec?.unschedulable && (n.status?.conditions ?? []).every((c: {type: string; status: string}) => c.type !== 'Ready' || c.status === 'True')
  const bind = (pod: KObj) => {
    const cur = store.get('pods', pod.metadata.namespace, pod.metadata.name!)
    // Deleted meanwhile, or bound by someone else: nothing to do.
    if (!cur || cur.metadata.uid !== pod.metadata.uid || cur.status?.phase) return
    const wanted = cur.spec?.nodeName ?? cur.spec?.nodeSelector?.['kubernetes.io/hostname']
    const nodes = store.list('nodes').filter((n) => (wanted ? n.metadata.name === wanted : schedulable(n)))
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z')
    if (nodes.length === 0) {
      store.modify('pods', cur.metadata.namespace, cur.metadata.name!, (p) => {
        p.status = {phase: 'Pending', conditions: [{type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: `0/${store.list('nodes').length} nodes are available`, lastProbeTime: null, lastTransitionTime: now}]}
      })
      return
    }
    const node = nodes[next++ % nodes.length]!
    const hostIP = (node.status?.addresses ?? []).find((a: {type: string}) => a.type === 'InternalIP')?.address as string | undefined
    const taken = new Set(store.list('pods').map((p) => p.status?.podIP).filter(Boolean))
    const [base] = String(node.spec?.podCIDR ?? '10.244.0.0/24').split('/')
    const octets = base!.split('.').map(Number)
    let podIP = ''
    // Addresses from .100 up, so they never collide with the rendered pods' (which start at .2).
    for (let i = 100; i < 255 && !podIP; i++) {
      const ip = `${octets[0]}.${octets[1]}.${octets[2]}.${i}`
      if (!taken.has(ip)) podIP = ip
    }
    const hostNetwork = Boolean(cur.spec?.hostNetwork)
    store.modify('pods', cur.metadata.namespace, cur.metadata.name!, (p) => {
      p.spec = {...p.spec, nodeName: node.metadata.name}
      const ip = hostNetwork ? hostIP : podIP
      const cond = (type: string) => ({type, status: 'True', lastProbeTime: null, lastTransitionTime: now})
      p.status = {
        phase: 'Running',
        conditions: ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map(cond),
        ...(hostIP ? {hostIP, hostIPs: [{ip: hostIP}]} : {}),
        podIP: ip,
        podIPs: [{ip}],
        startTime: now,
        qosClass: 'BestEffort',
        containerStatuses: (p.spec?.containers ?? []).map((c: {name: string; image: string}) => ({
          name: c.name,
          image: c.image,
          imageID: `${c.image.replace(/:[^:/]+$/, '')}@sha256:${createHash('sha256').update(c.image).digest('hex')}`,
          containerID: `containerd://${createHash('sha256').update(`${p.metadata.uid}/${c.name}`).digest('hex')}`,
          ready: true,
          restartCount: 0,
          started: true,
          state: {running: {startedAt: now}},
          lastState: {},
        })),
      }
    })
  }
  const onChange = (ev: {type: string; def: {resource: string; group: string}; object: KObj}) => {
    if (ev.type !== 'ADDED' || ev.def.resource !== 'pods' || ev.def.group !== '' || ev.object.status?.phase) return
    // Asynchronously, as the scheduler and the kubelet are: the creator sees the pod Pending first.
    const t = setTimeout(() => {
      timers.delete(t)
      bind(ev.object)
    }, 20)
    timers.add(t)
  }
  store.on('change', onChange)
  return () => {
    store.off('change', onChange)
    for (const t of timers) clearTimeout(t)
    timers.clear()
  }
}
