import {createHash} from 'node:crypto'
import {EventEmitter} from 'node:events'

import {type ResourceDef, apiVersionOf, gvrKey, resolveResource} from './resources.js'

export interface ObjectMeta {
  name: string
  namespace?: string
  uid?: string
  resourceVersion?: string
  creationTimestamp?: string
  generation?: number
  labels?: Record<string, string>
  annotations?: Record<string, string>
  ownerReferences?: Array<{apiVersion: string; kind: string; name: string; uid: string; controller?: boolean; blockOwnerDeletion?: boolean}>
  managedFields?: ManagedFieldsEntry[]
  generateName?: string
  deletionTimestamp?: string
  finalizers?: string[]
  [k: string]: unknown
}

export interface ManagedFieldsEntry {
  manager: string
  operation: 'Apply' | 'Update'
  apiVersion: string
  time: string
  fieldsType: 'FieldsV1'
  fieldsV1: Record<string, unknown>
  subresource?: string
}

/** A Kubernetes object as JSON. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type KObj = {apiVersion?: string; kind?: string; metadata: ObjectMeta; [k: string]: any}

export interface StoreEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED'
  def: ResourceDef
  object: KObj
}

export class StoreError extends Error {
  constructor(readonly reason: 'NotFound' | 'AlreadyExists' | 'Conflict', message: string) {
    super(message)
  }
}

/** RFC 3339 at second precision, as metav1.Time serialises. */
export function k8sTime(d = new Date()): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/** Deterministic UUID-shaped id (a name and the resourceVersion it was created at). */
export function deterministicUid(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`
}

const objKey = (ns: string | undefined, name: string) => `${ns ?? ''}/${name}`

/**
 * Generic object store keyed by group/version/resource and namespace/name, with a global
 * resourceVersion counter like etcd's revision (every write bumps it).
 */
export class Store extends EventEmitter {
  private revision = 0
  private readonly tables = new Map<string, Map<string, KObj>>()
  private readonly sortedKeys = new Map<string, string[]>()

  constructor(private readonly seed = 'lab') {
    super()
    this.setMaxListeners(0)
  }

  get resourceVersion(): string {
    return String(this.revision)
  }

  private table(def: ResourceDef): Map<string, KObj> {
    const k = gvrKey(def)
    let t = this.tables.get(k)
    if (!t) this.tables.set(k, (t = new Map()))
    return t
  }

  private def(ref: string | ResourceDef): ResourceDef {
    return typeof ref === 'string' ? resolveResource(ref) : ref
  }

  get(ref: string | ResourceDef, namespace: string | undefined, name: string): KObj | undefined {
    const def = this.def(ref)
    return this.table(def).get(objKey(def.namespaced ? namespace : undefined, name))
  }

  /** Objects in etcd key order (namespace/name, lexicographic), optionally one namespace. */
  list(ref: string | ResourceDef, namespace?: string): KObj[] {
    const def = this.def(ref)
    const t = this.table(def)
    const k = gvrKey(def)
    let keys = this.sortedKeys.get(k)
    if (!keys) this.sortedKeys.set(k, (keys = [...t.keys()].sort()))
    const out: KObj[] = []
    for (const key of keys) {
      const o = t.get(key)!
      if (namespace && def.namespaced && o.metadata.namespace !== namespace) continue
      out.push(o)
    }
    return out
  }

  /** Adds an object: fills uid, resourceVersion, creationTimestamp like the API server does. */
  create(ref: string | ResourceDef, input: KObj, opts: {creationTimestamp?: string} = {}): KObj {
    const def = this.def(ref)
    const t = this.table(def)
    const ns = def.namespaced ? input.metadata.namespace : undefined
    const key = objKey(ns, input.metadata.name)
    if (t.has(key)) throw new StoreError('AlreadyExists', `${def.group ? `${def.resource}.${def.group}` : def.resource} "${input.metadata.name}" already exists`)
    const rv = ++this.revision
    // kind and apiVersion first, as the API server serialises them.
    const obj: KObj = {
      apiVersion: apiVersionOf(def),
      kind: def.kind,
      ...input,
      metadata: {
        ...input.metadata,
        ...(def.namespaced ? {namespace: ns} : {}),
        uid: input.metadata.uid ?? deterministicUid(`${this.seed}/${gvrKey(def)}/${key}/${rv}`),
        resourceVersion: String(rv),
        creationTimestamp: opts.creationTimestamp ?? input.metadata.creationTimestamp ?? k8sTime(),
      },
    }
    if (!def.namespaced) delete obj.metadata.namespace
    obj.apiVersion = apiVersionOf(def)
    obj.kind = def.kind
    t.set(key, obj)
    this.sortedKeys.delete(gvrKey(def))
    this.emit('change', {type: 'ADDED', def, object: obj} satisfies StoreEvent)
    return obj
  }

  /** Replaces an object; a stale resourceVersion (optimistic concurrency) is a Conflict. */
  update(ref: string | ResourceDef, input: KObj): KObj {
    const def = this.def(ref)
    const t = this.table(def)
    const key = objKey(def.namespaced ? input.metadata.namespace : undefined, input.metadata.name)
    const cur = t.get(key)
    const qn = def.group ? `${def.resource}.${def.group}` : def.resource
    if (!cur) throw new StoreError('NotFound', `${qn} "${input.metadata.name}" not found`)
    if (input.metadata.resourceVersion && input.metadata.resourceVersion !== cur.metadata.resourceVersion) {
      // kube-apiserver optimistic concurrency message (storage.NewConflictError via errors.NewConflict).
      throw new StoreError('Conflict', `Operation cannot be fulfilled on ${qn} "${input.metadata.name}": the object has been modified; please apply your changes to the latest version and try again`)
    }
    const obj: KObj = {
      apiVersion: apiVersionOf(def),
      kind: def.kind,
      ...input,
      metadata: {
        ...input.metadata,
        uid: cur.metadata.uid,
        creationTimestamp: cur.metadata.creationTimestamp,
        resourceVersion: String(++this.revision),
      },
    }
    obj.apiVersion = apiVersionOf(def)
    obj.kind = def.kind
    t.set(key, obj)
    this.emit('change', {type: 'MODIFIED', def, object: obj} satisfies StoreEvent)
    return obj
  }

  /** Mutates an object in place through a callback and bumps its resourceVersion. */
  modify(ref: string | ResourceDef, namespace: string | undefined, name: string, fn: (o: KObj) => void): KObj {
    const cur = this.get(ref, namespace, name)
    if (!cur) throw new StoreError('NotFound', `${this.def(ref).resource} "${name}" not found`)
    const next = structuredClone(cur)
    fn(next)
    next.metadata.resourceVersion = cur.metadata.resourceVersion
    return this.update(ref, next)
  }

  delete(ref: string | ResourceDef, namespace: string | undefined, name: string): KObj {
    const def = this.def(ref)
    const t = this.table(def)
    const key = objKey(def.namespaced ? namespace : undefined, name)
    const cur = t.get(key)
    if (!cur) throw new StoreError('NotFound', `${def.group ? `${def.resource}.${def.group}` : def.resource} "${name}" not found`)
    t.delete(key)
    this.sortedKeys.delete(gvrKey(def))
    const gone = {...cur, metadata: {...cur.metadata, resourceVersion: String(++this.revision)}}
    this.emit('change', {type: 'DELETED', def, object: gone} satisfies StoreEvent)
    return gone
  }

  /** Every stored resource type (for namespace deletion). */
  defs(): ResourceDef[] {
    return [...this.tables.keys()].map((k) => resolveResource(k))
  }
}
