import {allocateClusterIp} from './ip.js'
import type {ResourceDef} from './resources.js'
import type {KObj, Store} from './store.js'

// Defaults and allocations the API server applies to an object on every write, before it is stored or
// returned (dry runs included): pkg/apis/core/v1/defaults.go and the Service REST storage's IP allocator.

function serviceDefaults(store: Store, obj: KObj, cur: KObj | undefined): void {
  const spec = (obj.spec ??= {}) as Record<string, any>
  // SetDefaults_Service: type ClusterIP, sessionAffinity None.
  spec.type ??= 'ClusterIP'
  spec.sessionAffinity ??= 'None'
  // SetDefaults_ServicePort via SetDefaults_Service: protocol TCP; targetPort = port when unset or 0.
  for (const p of (spec.ports ?? []) as Array<Record<string, unknown>>) {
    p.protocol ??= 'TCP'
    if (p.targetPort === undefined || p.targetPort === 0 || p.targetPort === '') p.targetPort = p.port
  }
  if (spec.type === 'ExternalName') return
  // internalTrafficPolicy defaults to Cluster for every type but ExternalName (defaults.go, since v1.22).
  spec.internalTrafficPolicy ??= 'Cluster'
  if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') spec.externalTrafficPolicy ??= 'Cluster'
  // The allocator keeps the IP on update (clusterIP is immutable) and allocates one on create unless "None" (headless).
  const prev = cur?.spec?.clusterIP as string | undefined
  if (prev && !spec.clusterIP) spec.clusterIP = prev
  if (!spec.clusterIP) {
    const taken = new Set(store.list('services').map((s) => s.spec?.clusterIP as string).filter(Boolean))
    spec.clusterIP = allocateClusterIp(`${obj.metadata.namespace}/${obj.metadata.name}`, taken)
  }
  spec.clusterIPs ??= [spec.clusterIP]
  // Single-stack IPv4 cluster (the lab's service CIDR 10.96.0.0/12): the IP family fields the registry fills in.
  spec.ipFamilies ??= ['IPv4']
  spec.ipFamilyPolicy ??= 'SingleStack'
  obj.status ??= {loadBalancer: {}}
}

/** Applies the API server's defaults to an object about to be written. */
export function applyDefaults(store: Store, def: ResourceDef, obj: KObj, cur?: KObj): void {
  if (def.group === '' && def.resource === 'services') serviceDefaults(store, obj, cur)
}
