import type {DiscoveryV1EndpointPort, V1ContainerStatus, V1Endpoint, V1EndpointSubset, V1NodeAddress, V1NodeCondition, V1PodReadinessGate, V1ServicePort} from '@kubernetes/client-node'

import type {ResourceDef} from './resources.js'
import type {KObj} from './store.js'

// Server-side printing: the meta.k8s.io/v1 Table a client gets with `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`
// (kubectl get's default). Columns and cells follow kubernetes pkg/printers/internalversion/printers.go.

interface Column {
  name: string
  type: string
  format?: string
  description: string
  priority?: number
}

/** duration.HumanDuration (apimachinery pkg/util/duration), as translateTimestampSince prints ages. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000)
  if (seconds < -1) return '<invalid>'
  if (seconds < 0) return '0s'
  if (seconds < 120) return `${seconds}s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`
  if (minutes < 180) return `${minutes}m`
  const hours = Math.floor(minutes / 60)
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`
  if (hours < 48) return `${hours}h`
  if (hours < 24 * 8) return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`
  if (hours < 24 * 365 * 8) {
    const dy = Math.floor(hours / 24) % 365
    return dy === 0 ? `${Math.floor(hours / 24 / 365)}y` : `${Math.floor(hours / 24 / 365)}y${dy}d`
  }
  return `${Math.floor(hours / 24 / 365)}y`
}

const since = (t: string | undefined) => (t ? humanDuration(Date.now() - Date.parse(t)) : '<unknown>')
const NAME: Column = {name: 'Name', type: 'string', format: 'name', description: "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"}
const AGE: Column = {name: 'Age', type: 'string', description: "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"}
const col = (name: string, type: string, description: string, priority = 0): Column => ({name, type, format: '', description, ...(priority ? {priority} : {})})
const none = (s: string | undefined) => (s ? s : '<none>')
const age = (o: KObj) => since(o.metadata.creationTimestamp)

function selectorString(sel: Record<string, any> | undefined): string {
  if (!sel) return '<none>'
  const m = sel.matchLabels ?? sel
  const parts = Object.keys(m).sort().map((k) => `${k}=${m[k]}`)
  for (const e of sel.matchExpressions ?? []) parts.push(`${e.key} ${String(e.operator).toLowerCase()} (${(e.values ?? []).join(',')})`)
  return parts.length ? parts.join(',') : '<none>'
}

const containers = (tpl: any) => ((tpl?.spec?.containers ?? []) as Array<{name: string; image: string}>)
const wideWorkload = (o: KObj) => [containers(o.spec?.template).map((c) => c.name).join(','), containers(o.spec?.template).map((c) => c.image).join(','), selectorString(o.spec?.selector)]
const WIDE_WORKLOAD = [col('Containers', 'string', 'Names of each container in the template.', 1), col('Images', 'string', 'Images referenced by each container in the template.', 1), col('Selector', 'string', 'Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.', 1)]

function podStatus(p: KObj): {ready: string; reason: string; restarts: string} {
  const statuses: V1ContainerStatus[] = p.status?.containerStatuses ?? []
  const total = (p.spec?.containers ?? []).length
  let reason: string = p.status?.reason || p.status?.phase || 'Unknown'
  let ready = 0
  let restarts = 0
  // printPod walks container statuses last to first; a waiting or terminated reason wins over the phase.
  for (let i = statuses.length - 1; i >= 0; i--) {
    const c = statuses[i]
    restarts += c.restartCount ?? 0
    if (c.state?.waiting?.reason) reason = c.state.waiting.reason
    else if (c.state?.terminated?.reason) reason = c.state.terminated.reason
    else if (c.ready && c.state?.running) ready++
  }
  if (p.metadata.deletionTimestamp) reason = 'Terminating'
  return {ready: `${ready}/${total}`, reason, restarts: String(restarts)}
}

interface Printer {
  columns: Column[]
  cells(o: KObj): unknown[]
}

function servicePorts(s: KObj): string {
  const ports: V1ServicePort[] = s.spec?.ports ?? []
  if (ports.length === 0) return '<none>'
  return ports.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(',')
}

const PRINTERS: Record<string, Printer> = {
  pods: {
    columns: [NAME, col('Ready', 'string', 'The aggregate readiness state of this pod for accepting traffic.'), col('Status', 'string', 'The aggregate status of the containers in this pod.'), col('Restarts', 'string', 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'), AGE,
      col('IP', 'string', 'IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.', 1), col('Node', 'string', "NodeName is a request to schedule this pod onto a specific node. If it is non-empty, the scheduler simply schedules this pod onto that node, assuming that it fits resource requirements.", 1), col('Nominated Node', 'string', 'nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.', 1), col('Readiness Gates', 'string', 'If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to "True" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates', 1)],
    cells: (p) => {
      const s = podStatus(p)
      const gates: V1PodReadinessGate[] = p.spec?.readinessGates ?? []
      return [p.metadata.name, s.ready, s.reason, s.restarts, age(p), none(p.status?.podIP), none(p.spec?.nodeName), none(p.status?.nominatedNodeName), gates.length ? `${gates.length}/${gates.length}` : '<none>']
    },
  },
  daemonsets: {
    columns: [NAME, col('Desired', 'integer', 'The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod).'), col('Current', 'integer', 'The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.'), col('Ready', 'integer', 'numberReady is the number of nodes that should be running the daemon pod and have one or more of the daemon pod running with a Ready Condition.'), col('Up-to-date', 'integer', 'The total number of nodes that are running updated daemon pod'), col('Available', 'integer', 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)'), col('Node Selector', 'string', "NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a node's labels for the pod to be scheduled on that node. More info: https://kubernetes.io/docs/concepts/configuration/assign-pod-node/"), AGE, ...WIDE_WORKLOAD],
    cells: (o) => {
      const st = o.status ?? {}
      const ns = o.spec?.template?.spec?.nodeSelector as Record<string, string> | undefined
      return [o.metadata.name, st.desiredNumberScheduled ?? 0, st.currentNumberScheduled ?? 0, st.numberReady ?? 0, st.updatedNumberScheduled ?? 0, st.numberAvailable ?? 0, ns ? Object.keys(ns).sort().map((k) => `${k}=${ns[k]}`).join(',') : '<none>', age(o), ...wideWorkload(o)]
    },
  },
  deployments: {
    columns: [NAME, col('Ready', 'string', 'Number of the pod with ready state'), col('Up-to-date', 'string', 'Total number of non-terminated pods targeted by this deployment that have the desired template spec.'), col('Available', 'string', 'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.'), AGE, ...WIDE_WORKLOAD],
    cells: (o) => [o.metadata.name, `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 1}`, o.status?.updatedReplicas ?? 0, o.status?.availableReplicas ?? 0, age(o), ...wideWorkload(o)],
  },
  replicasets: {
    columns: [NAME, col('Desired', 'integer', 'Replicas is the number of desired replicas. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/#what-is-a-replicationcontroller'), col('Current', 'integer', 'Replicas is the most recently observed number of replicas. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/#what-is-a-replicationcontroller'), col('Ready', 'integer', 'readyReplicas is the number of pods targeted by this ReplicaSet with a Ready Condition.'), AGE, ...WIDE_WORKLOAD],
    cells: (o) => [o.metadata.name, o.spec?.replicas ?? 1, o.status?.replicas ?? 0, o.status?.readyReplicas ?? 0, age(o), ...wideWorkload(o)],
  },
  services: {
    columns: [NAME, col('Type', 'string', 'type determines how the Service is exposed. Defaults to ClusterIP. Valid options are ExternalName, ClusterIP, NodePort, and LoadBalancer.'), col('Cluster-IP', 'string', 'clusterIP is the IP address of the service and is usually assigned randomly.'), col('External-IP', 'string', 'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.'), col('Port(s)', 'string', 'The list of ports that are exposed by this service. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies'), AGE, col('Selector', 'string', 'Route service traffic to pods with label keys and values matching this selector. If empty or not present, the service is assumed to have an external process managing its endpoints, which Kubernetes will not modify. Only applies to types ClusterIP, NodePort, and LoadBalancer. Ignored if type is ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/', 1)],
    cells: (o) => {
      const ext = o.spec?.type === 'ExternalName' ? o.spec?.externalName : (o.spec?.externalIPs ?? []).join(',') || (o.spec?.type === 'LoadBalancer' ? '<pending>' : '<none>')
      return [o.metadata.name, o.spec?.type ?? 'ClusterIP', none(o.spec?.clusterIP), ext, servicePorts(o), age(o), selectorString(o.spec?.selector)]
    },
  },
  nodes: {
    columns: [NAME, col('Status', 'string', 'The status of the node'), col('Roles', 'string', 'The roles of the node'), AGE, col('Version', 'string', 'Kubelet Version reported by the node.'), col('Internal-IP', 'string', 'List of addresses reachable to the node. Queried from cloud provider, if available. More info: https://kubernetes.io/docs/reference/node/node-status/#addresses', 1), col('External-IP', 'string', 'List of addresses reachable to the node. Queried from cloud provider, if available. More info: https://kubernetes.io/docs/reference/node/node-status/#addresses', 1), col('OS-Image', 'string', 'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).', 1), col('Kernel-Version', 'string', "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", 1), col('Container-Runtime', 'string', 'ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).', 1)],
    cells: (o) => {
      const conditions: V1NodeCondition[] = o.status?.conditions ?? []
      const ready = conditions.find((c) => c.type === 'Ready')
      const status = [ready?.status === 'True' ? 'Ready' : 'NotReady', ...(o.spec?.unschedulable ? ['SchedulingDisabled'] : [])].join(',')
      const roles = Object.keys(o.metadata.labels ?? {}).filter((k) => k.startsWith('node-role.kubernetes.io/')).map((k) => k.slice('node-role.kubernetes.io/'.length)).sort()
      const addresses: V1NodeAddress[] = o.status?.addresses ?? []
      const addr = (t: string) => none(addresses.find((a) => a.type === t)?.address)
      const ni = o.status?.nodeInfo ?? {}
      return [o.metadata.name, status, roles.length ? roles.join(',') : '<none>', age(o), ni.kubeletVersion ?? '', addr('InternalIP'), addr('ExternalIP'), ni.osImage ?? '<unknown>', ni.kernelVersion ?? '<unknown>', ni.containerRuntimeVersion ?? '<unknown>']
    },
  },
  namespaces: {
    columns: [NAME, col('Status', 'string', 'The status of the namespace'), AGE],
    cells: (o) => [o.metadata.name, o.status?.phase ?? '', age(o)],
  },
  configmaps: {
    columns: [NAME, col('Data', 'string', 'Data contains the configuration data. Each key must consist of alphanumeric characters, \'-\', \'_\' or \'.\'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process.'), AGE],
    cells: (o) => [o.metadata.name, Object.keys(o.data ?? {}).length + Object.keys(o.binaryData ?? {}).length, age(o)],
  },
  secrets: {
    columns: [NAME, col('Type', 'string', 'Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types'), col('Data', 'string', 'Data contains the secret data. Each key must consist of alphanumeric characters, \'-\', \'_\' or \'.\'. The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4'), AGE],
    cells: (o) => [o.metadata.name, o.type ?? 'Opaque', Object.keys(o.data ?? {}).length, age(o)],
  },
  endpoints: {
    columns: [NAME, col('Endpoints', 'string', 'Endpoints of the service'), AGE],
    cells: (o) => {
      const subsets: V1EndpointSubset[] = o.subsets ?? []
      const eps = subsets.flatMap((s) => (s.addresses ?? []).flatMap((a) => (s.ports?.length ? s.ports.map((p) => `${a.ip}:${p.port}`) : [a.ip])))
      return [o.metadata.name, eps.length === 0 ? '<none>' : eps.length > 3 ? `${eps.slice(0, 3).join(',')} + ${eps.length - 3} more...` : eps.join(','), age(o)]
    },
  },
  endpointslices: {
    columns: [NAME, col('AddressType', 'string', 'The IP protocol for this slice'), col('Ports', 'string', 'The ports for this slice'), col('Endpoints', 'string', 'The endpoints for this slice'), AGE],
    cells: (o) => {
      const slicePorts: DiscoveryV1EndpointPort[] = o.ports ?? []
      const ports = slicePorts.map((p) => String(p.port)).join(',') || '<unset>'
      const endpoints: V1Endpoint[] = o.endpoints ?? []
      const addrs = endpoints.flatMap((e) => e.addresses ?? [])
      return [o.metadata.name, o.addressType ?? '', ports, addrs.length === 0 ? '<none>' : addrs.length > 3 ? `${addrs.slice(0, 3).join(',')} + ${addrs.length - 3} more...` : addrs.join(','), age(o)]
    },
  },
  events: {
    columns: [col('Last Seen', 'string', 'Time when this Event was last seen'), col('Type', 'string', "Type of this event (Normal, Warning), new types could be added in the future"), col('Reason', 'string', 'This should be a short, machine understandable string that gives the reason for the transition into the object\'s current status.'), col('Object', 'string', 'The object that this event is about.'), col('Message', 'string', 'A human-readable description of the status of this operation.')],
    cells: (o) => {
      const io = o.involvedObject ?? {}
      return [since(o.lastTimestamp ?? o.eventTime ?? o.metadata.creationTimestamp), o.type ?? '', o.reason ?? '', `${String(io.kind ?? '').toLowerCase()}/${io.name ?? ''}`, String(o.message ?? '').trim()]
    },
  },
}

/** Custom resources without additionalPrinterColumns: the CRD handler's default Name and Age columns. */
const DEFAULT_PRINTER: Printer = {columns: [NAME, {...AGE, type: 'date'}], cells: (o) => [o.metadata.name, o.metadata.creationTimestamp]}

function partialMetadata(o: KObj): KObj {
  return {kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata}
}

export type IncludeObject = 'None' | 'Metadata' | 'Object'

/** A Table for objects of `def`. `includeObject` is the TableOptions query parameter (default Metadata). */
export function toTable(def: ResourceDef, objects: KObj[], listMeta: Record<string, unknown>, includeObject: IncludeObject, withColumns = true): Record<string, unknown> {
  const p = PRINTERS[def.group === 'cilium.io' ? '' : def.resource] ?? DEFAULT_PRINTER
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    ...(withColumns ? {columnDefinitions: p.columns} : {}),
    rows: objects.map((o) => ({
      cells: p.cells(o),
      ...(includeObject === 'None' ? {} : {object: includeObject === 'Object' ? {kind: def.kind, apiVersion: def.group ? `${def.group}/${def.version}` : def.version, ...o} : partialMetadata(o)}),
    })),
  }
}

export type Negotiated = {as: 'json'} | {as: 'table'}

/**
 * Picks the response form from Accept the way the apiserver's negotiation does: the first acceptable media
 * type wins; `as=Table;g=meta.k8s.io;v=v1` is a Table; plain application/json or a wildcard is the object.
 * Undefined when nothing offered is served (406 NotAcceptable).
 */
export function negotiate(accept: string | undefined): Negotiated | undefined {
  if (!accept) return {as: 'json'}
  for (const part of accept.split(',')) {
    const [type, ...params] = part.split(';').map((x) => x.trim())
    const kv = Object.fromEntries(params.map((x) => x.split('=').map((y) => y.trim()) as [string, string]))
    if (!['application/json', 'application/*', '*/*'].includes(type!.toLowerCase())) continue
    if (!kv.as) return {as: 'json'}
    if (kv.as === 'Table' && kv.g === 'meta.k8s.io' && kv.v === 'v1') return {as: 'table'}
  }
  return undefined
}
