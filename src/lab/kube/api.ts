import type {IncomingMessage, ServerResponse} from 'node:http'

import YAML from 'yaml'

import {computedEndpointSlices, computedEndpoints, daemonSetStatus, deploymentStatus} from './controllers.js'
import {applyDefaults} from './defaults.js'
import {dropUnknownFields, schemaOf} from './openapi.js'
import {type IncludeObject, negotiate, toTable} from './tables.js'
import {NameGen} from './objects.js'
import {conflictMessage, deepEqual, deletePath, entryPaths, fieldPaths, getPath, jsonPatch, mergePatch, PatchError, recordUpdate, setPath, toFieldsV1} from './patch.js'
import {type Subject, authorize, forbiddenStatus, rulesReview} from './rbac.js'
import {ApiError, type RequestInfo, badRequest, methodNotAllowed, notFound, queryBool, sendJson, unknownResource} from './request.js'
import {RESOURCES, type ResourceDef, apiVersionOf, findResource, groupVersions} from './resources.js'
import {SelectorError, matchFields, matchLabels, parseFieldSelector, parseLabelSelector} from './selectors.js'
import {type KObj, type ManagedFieldsEntry, type Store, type StoreEvent, StoreError, k8sTime} from './store.js'

// The REST part of the lab API server: discovery, CRUD with list semantics, patches, server-side
// apply, access reviews, watch.

export interface ApiOptions {
  kubernetesVersion: string
}

function storeErr(e: unknown, def: ResourceDef, name: string): never {
  if (e instanceof StoreError) {
    const gr = def.group ? `${def.resource}.${def.group}` : def.resource
    const details = {name, ...(def.group ? {group: def.group} : {}), kind: def.resource}
    if (e.reason === 'NotFound') throw notFound(def.group, def.resource, name)
    if (e.reason === 'AlreadyExists') throw new ApiError(409, 'AlreadyExists', `${gr} "${name}" already exists`, details)
    throw new ApiError(409, 'Conflict', e.message, details)
  }
  throw e
}

interface ContinueToken {
  v: string
  rv: number
  start: string
}

function encodeContinue(rv: string, start: string): string {
  return Buffer.from(JSON.stringify({v: 'meta.k8s.io/v1', rv: Number(rv), start} satisfies ContinueToken)).toString('base64url')
}

function decodeContinue(tok: string): ContinueToken {
  try {
    const t = JSON.parse(Buffer.from(tok, 'base64url').toString('utf8')) as ContinueToken
    if (t.v !== 'meta.k8s.io/v1' || typeof t.start !== 'string') throw new Error('bad')
    return t
  } catch {
    // storage.DecodeContinue error, surfaced as 400 BadRequest.
    throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)')
  }
}

const keyOf = (o: KObj) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`

/** What a list returns: items without kind/apiVersion, as the API server returns them. */
function listItem(o: KObj): KObj {
  const {kind: _k, apiVersion: _a, ...rest} = o
  return rest as KObj
}

export class WatchSet {
  private readonly open = new Set<ServerResponse>()
  add(res: ServerResponse, cleanup: () => void): void {
    this.open.add(res)
    res.on('close', () => {
      this.open.delete(res)
      cleanup()
    })
  }

  closeAll(): void {
    for (const r of this.open) r.destroy()
    this.open.clear()
  }
}

export class KubeApi {
  readonly watches = new WatchSet()
  private readonly names = new NameGen(`generated/${Date.now()}`)

  constructor(
    private readonly store: Store,
    private readonly opts: ApiOptions,
  ) {}

  // ---------- discovery ----------

  versionInfo(): Record<string, string> {
    const v = this.opts.kubernetesVersion
    const m = /^v?(\d+)\.(\d+)/.exec(v)
    return {
      major: m?.[1] ?? '1',
      minor: m?.[2] ?? '31',
      gitVersion: v,
      gitCommit: '0000000000000000000000000000000000000000',
      gitTreeState: 'clean',
      buildDate: '2024-12-10T11:37:00Z',
      goVersion: 'go1.22.10',
      compiler: 'gc',
      platform: 'linux/amd64',
    }
  }

  /** Non-resource GETs: /version, /api, /apis, group/version resource lists, health. Undefined = 404. */
  discovery(path: string): unknown {
    const p = path.replace(/\/$/, '') || '/'
    if (p === '/version') return this.versionInfo()
    if (p === '/api') return {kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{clientCIDR: '0.0.0.0/0', serverAddress: '10.0.0.2:6443'}]}
    const group = (name: string, version: string) => ({name, versions: [{groupVersion: `${name}/${version}`, version}], preferredVersion: {groupVersion: `${name}/${version}`, version}})
    if (p === '/apis') return {kind: 'APIGroupList', apiVersion: 'v1', groups: groupVersions().map((g) => group(g.group, g.version))}
    if (p === '/api/v1') return this.resourceList('', 'v1')
    const m = /^\/apis\/([^/]+)(?:\/([^/]+))?$/.exec(p)
    if (m) {
      const gv = groupVersions().find((g) => g.group === m[1] && (!m[2] || g.version === m[2]))
      if (!gv) return undefined
      if (!m[2]) return {kind: 'APIGroup', apiVersion: 'v1', ...group(gv.group, gv.version)}
      return this.resourceList(gv.group, gv.version)
    }
    return undefined
  }

  private resourceList(group: string, version: string): unknown {
    const resources: Array<Record<string, unknown>> = []
    for (const r of RESOURCES.filter((x) => x.group === group && x.version === version)) {
      resources.push({name: r.resource, singularName: r.singular, namespaced: r.namespaced, kind: r.kind, verbs: r.verbs, ...(r.shortNames ? {shortNames: r.shortNames} : {})})
      for (const s of r.subresources ?? []) resources.push({name: `${r.resource}/${s.name}`, singularName: '', namespaced: r.namespaced, kind: s.kind, verbs: s.verbs})
    }
    return {kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources}
  }

  // ---------- reading ----------

  /** Stored plus controller-computed objects of a resource, in key order. */
  objects(def: ResourceDef, namespace?: string): KObj[] {
    const stored = this.store.list(def, namespace)
    let computed: KObj[] = []
    if (def.resource === 'endpoints' && def.group === '') computed = computedEndpoints(this.store, namespace)
    else if (def.resource === 'endpointslices') computed = computedEndpointSlices(this.store, namespace)
    if (computed.length === 0) return stored.map((o) => this.decorate(def, o))
    const names = new Set(stored.map(keyOf))
    return [...stored, ...computed.filter((c) => !names.has(keyOf(c)))].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0))
  }

  getObject(def: ResourceDef, namespace: string | undefined, name: string): KObj | undefined {
    const stored = this.store.get(def, namespace, name)
    if (stored) return this.decorate(def, stored)
    if (def.resource === 'endpoints' || def.resource === 'endpointslices') return this.objects(def, namespace).find((o) => o.metadata.name === name)
    return undefined
  }

  /** Status the workload controllers keep current, recomputed from the pods. */
  private decorate(def: ResourceDef, o: KObj): KObj {
    if (def.group !== 'apps') return o
    if (def.resource === 'daemonsets') return {...o, status: daemonSetStatus(this.store, o)}
    if (def.resource === 'deployments') return {...o, status: deploymentStatus(this.store, o)}
    return o
  }

  private selectors(def: ResourceDef, q: URLSearchParams) {
    try {
      const label = parseLabelSelector(q.get('labelSelector') ?? '')
      const field = parseFieldSelector(q.get('fieldSelector') ?? '', def.resource)
      return {label, field, filtered: label.length > 0 || field.length > 0}
    } catch (e) {
      if (e instanceof SelectorError) throw badRequest(e.message)
      throw e
    }
  }

  list(def: ResourceDef, namespace: string, q: URLSearchParams): unknown {
    const {label, field, filtered} = this.selectors(def, q)
    const all = this.objects(def, namespace || undefined)
    const limit = Number(q.get('limit') ?? 0)
    const cont = q.get('continue')
    let rv = this.store.resourceVersion
    let start = 0
    if (cont) {
      const tok = decodeContinue(cont)
      rv = String(tok.rv)
      // First key ≥ start (the token holds the last returned key + "\0").
      start = all.findIndex((o) => keyOf(o) >= tok.start)
      if (start < 0) start = all.length
    }
    const items: KObj[] = []
    let i = start
    for (; i < all.length; i++) {
      if (limit > 0 && items.length >= limit) break
      const o = all[i]!
      if (matchLabels(label, o.metadata.labels) && matchFields(field, o)) items.push(o)
    }
    const meta: Record<string, unknown> = {resourceVersion: rv}
    if (limit > 0 && i < all.length) {
      meta.continue = encodeContinue(rv, `${keyOf(items[items.length - 1]!)}\u0000`)
      // remainingItemCount is only known when no selector filters the rest (etcd3 store).
      if (!filtered) meta.remainingItemCount = all.length - i
    }
    return {kind: `${def.kind}List`, apiVersion: apiVersionOf(def), metadata: meta, items: items.map(listItem)}
  }

  // ---------- writing ----------

  private managerOf(info: RequestInfo, req: IncomingMessage): string {
    // fieldManager, else the user agent up to the first '/' (apiserver prefixFromUserAgent).
    const fm = info.query.get('fieldManager')
    if (fm) return fm
    const ua = req.headers['user-agent'] ?? 'unknown'
    return ua.split('/')[0]!.slice(0, 128)
  }

  private checkNamespace(def: ResourceDef, info: RequestInfo): void {
    if (!def.namespaced) return
    if (!this.store.get('namespaces', undefined, info.namespace)) throw notFound('', 'namespaces', info.namespace)
  }

  private validateBody(def: ResourceDef, info: RequestInfo, body: unknown, forName?: string): KObj {
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw badRequest('the object provided is unrecognized')
    const obj = structuredClone(body) as KObj
    obj.metadata = {...(obj.metadata ?? {})} as KObj['metadata']
    if (obj.kind && obj.kind !== def.kind) {
      throw badRequest(`the API version in the data (${obj.apiVersion}) does not match the expected API version (${apiVersionOf(def)})`)
    }
    if (def.namespaced) {
      if (obj.metadata.namespace && obj.metadata.namespace !== info.namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request')
      }
      obj.metadata.namespace = info.namespace
    } else delete obj.metadata.namespace
    if (!obj.metadata.name && obj.metadata.generateName && forName === undefined) obj.metadata.name = `${obj.metadata.generateName}${this.names.suffix()}`
    if (forName !== undefined && obj.metadata.name && obj.metadata.name !== forName) {
      throw badRequest(`the name of the object (${obj.metadata.name}) does not match the name on the URL (${forName})`)
    }
    if (forName !== undefined && !obj.metadata.name) obj.metadata.name = forName
    if (!obj.metadata.name) {
      throw new ApiError(422, 'Invalid', `${def.kind} "" is invalid: metadata.name: Required value: name or generateName is required`, {
        kind: def.kind, causes: [{reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name'}],
      })
    }
    if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(obj.metadata.name) || obj.metadata.name.length > 253) {
      const n = obj.metadata.name
      const msg = `Invalid value: "${n}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`
      throw new ApiError(422, 'Invalid', `${def.kind} "${n}" is invalid: metadata.name: ${msg}`, {name: n, kind: def.kind, causes: [{reason: 'FieldValueInvalid', message: msg, field: 'metadata.name'}]})
    }
    delete obj.metadata.managedFields
    return obj
  }

  /**
   * Strict decoding per `fieldValidation` (apiserver handlers/rest.go; default Warn): unknown fields are dropped
   * (the typed decode has nowhere to put them); Strict refuses them with the decoder's message, Warn sends one
   * `Warning: 299` header each.
   */
  private decodeFields(def: ResourceDef, info: RequestInfo, obj: unknown): string[] {
    const dir = info.query.get('fieldValidation') ?? ''
    if (!['', 'Ignore', 'Warn', 'Strict'].includes(dir)) throw badRequest(`fieldValidation: Unsupported value: "${dir}": supported values: "Ignore", "Strict", "Warn"`)
    const schema = schemaOf(def.group, def.version, def.kind)
    if (!schema || !obj || typeof obj !== 'object') return []
    const unknown = dropUnknownFields(obj, schema).map((f) => `unknown field "${f}"`)
    if (unknown.length === 0 || dir === 'Ignore') return []
    if (dir === 'Strict') throw badRequest(`strict decoding error: ${unknown.join(', ')}`)
    return unknown
  }

  create(def: ResourceDef, info: RequestInfo, req: IncomingMessage, body: unknown): {code: number; body: unknown; warnings?: string[]} {
    if (def.virtual) return {code: 201, body: body}
    this.checkNamespace(def, info)
    const warnings = this.decodeFields(def, info, body)
    const obj = this.validateBody(def, info, body)
    delete obj.metadata.resourceVersion
    delete obj.metadata.uid
    delete obj.metadata.creationTimestamp
    if (def.resource === 'namespaces') obj.status = {phase: 'Active'}
    applyDefaults(this.store, def, obj)
    obj.metadata.managedFields = recordUpdate(undefined, obj, this.managerOf(info, req), apiVersionOf(def), k8sTime())
    if (info.query.get('dryRun') === 'All') return {code: 201, body: obj, warnings}
    try {
      return {code: 201, body: this.decorate(def, this.store.create(def, obj)), warnings}
    } catch (e) {
      return storeErr(e, def, obj.metadata.name)
    }
  }

  update(def: ResourceDef, info: RequestInfo, req: IncomingMessage, body: unknown): {code: number; body: unknown; warnings?: string[]} {
    const cur = this.store.get(def, info.namespace, info.name)
    if (!cur) throw notFound(def.group, def.resource, info.name)
    const warnings = this.decodeFields(def, info, body)
    const obj = this.validateBody(def, info, body, info.name)
    if (info.subresource === 'status') obj.spec = cur.spec
    else if (cur.status !== undefined && obj.status === undefined) obj.status = cur.status
    applyDefaults(this.store, def, obj, cur)
    obj.metadata.managedFields = recordUpdate(cur, obj, this.managerOf(info, req), apiVersionOf(def), k8sTime())
    try {
      return {code: 200, body: this.decorate(def, this.store.update(def, obj)), warnings}
    } catch (e) {
      return storeErr(e, def, info.name)
    }
  }

  patch(def: ResourceDef, info: RequestInfo, req: IncomingMessage, raw: string): {code: number; body: unknown; warnings?: string[]} {
    const ct = (req.headers['content-type'] ?? '').split(';')[0]!.trim()
    const isCrd = def.group === 'cilium.io'
    const accepted = ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml', ...(isCrd ? [] : ['application/strategic-merge-patch+json'])]
    if (!accepted.includes(ct)) {
      throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`)
    }
    if (ct === 'application/apply-patch+yaml') return this.apply(def, info, raw)
    const cur = this.store.get(def, info.namespace, info.name)
    if (!cur) throw notFound(def.group, def.resource, info.name)
    let next: unknown
    try {
      const p = JSON.parse(raw || 'null')
      // Strategic merge patch is treated as a JSON merge patch: for the kinds served here the
      // difference is list merging by key, which the lab's callers do not rely on.
      next = ct === 'application/json-patch+json' ? jsonPatch(cur, p) : mergePatch(cur, p)
    } catch (e) {
      if (e instanceof PatchError || e instanceof SyntaxError) throw new ApiError(422, 'Invalid', e.message)
      throw e
    }
    const warnings = this.decodeFields(def, info, next)
    const obj = this.validateBody(def, info, next, info.name)
    obj.metadata.uid = cur.metadata.uid
    applyDefaults(this.store, def, obj, cur)
    // A patch without resourceVersion never conflicts; with one it is a precondition.
    const pr = (JSON.parse(raw || '{}') as {metadata?: {resourceVersion?: string}})?.metadata?.resourceVersion
    obj.metadata.resourceVersion = ct === 'application/json-patch+json' ? cur.metadata.resourceVersion : pr ?? cur.metadata.resourceVersion
    obj.metadata.managedFields = recordUpdate(cur, obj, this.managerOf(info, req), apiVersionOf(def), k8sTime())
    // dryRun=All: validated and computed, not persisted (API concepts, "Dry-run").
    if (info.query.get('dryRun') === 'All') return {code: 200, body: obj, warnings}
    try {
      return {code: 200, body: this.decorate(def, this.store.update(def, obj)), warnings}
    } catch (e) {
      return storeErr(e, def, info.name)
    }
  }

  /** Server-side apply with field ownership and conflicts (KEP-555). */
  private apply(def: ResourceDef, info: RequestInfo, raw: string): {code: number; body: unknown} {
    const manager = info.query.get('fieldManager')
    if (!manager) throw badRequest('PATCH, application/apply-patch+yaml: fieldManager is required for apply requests')
    const force = queryBool(info.query, 'force')
    let applied: KObj
    try {
      applied = YAML.parse(raw) as KObj
    } catch (e) {
      throw badRequest(`error decoding YAML: ${(e as Error).message}`)
    }
    const fv = info.query.get('fieldValidation') ?? ''
    if (!['', 'Ignore', 'Warn', 'Strict'].includes(fv)) throw badRequest(`fieldValidation: Unsupported value: "${fv}": supported values: "Ignore", "Strict", "Warn"`)
    const schema = schemaOf(def.group, def.version, def.kind)
    const unknown = schema && applied && typeof applied === 'object' ? dropUnknownFields(structuredClone(applied), schema) : []
    if (unknown.length) {
      // Apply converts the patch to a typed object whatever fieldValidation says; an undeclared field fails
      // that conversion with a plain error, i.e. a 500 without a reason (structuredmerge.go; kubernetes#122480).
      const ns = def.namespaced ? info.namespace : ''
      const errs = unknown.map((f) => `.${f.replace(/\[(\d+)\]/g, '[$1]')}: field not declared in schema`)
      const detail = errs.length === 1 ? errs[0] : `errors:\n  ${errs.join('\n  ')}`
      throw new ApiError(500, '', `failed to create typed patch object (${ns}/${info.name}; ${def.group}/${def.version}, Kind=${def.kind}): ${detail}`)
    }
    const obj = this.validateBody(def, info, applied, info.name)
    const apiVersion = apiVersionOf(def)
    const now = k8sTime()
    const cur = this.store.get(def, info.namespace, info.name)
    const appliedPaths = fieldPaths(obj)
    if (!cur) {
      this.checkNamespace(def, info)
      delete obj.metadata.resourceVersion
      obj.metadata.managedFields = [{manager, operation: 'Apply', apiVersion, time: now, fieldsType: 'FieldsV1', fieldsV1: toFieldsV1(appliedPaths.keys())}]
      applyDefaults(this.store, def, obj)
      if (info.query.get('dryRun') === 'All') return {code: 201, body: obj}
      try {
        return {code: 201, body: this.decorate(def, this.store.create(def, obj))}
      } catch (e) {
        return storeErr(e, def, info.name)
      }
    }
    // The applied configuration is defaulted before it is compared and merged (fieldmanager works on the
    // defaulted typed object), so `ports: [{port: 80}]` equals a stored port with protocol and targetPort filled in.
    const defaulted = structuredClone(obj)
    applyDefaults(this.store, def, defaulted, cur)
    for (const [p, v] of fieldPaths(defaulted)) if (appliedPaths.has(p)) appliedPaths.set(p, v)
    const entries = structuredClone(cur.metadata.managedFields ?? []) as ManagedFieldsEntry[]
    const owned = entries.map((e) => ({entry: e, paths: entryPaths(e)}))
    const isMine = (e: ManagedFieldsEntry) => e.manager === manager && e.operation === 'Apply'
    const conflicts: Array<{entry: ManagedFieldsEntry; path: string}> = []
    for (const [p, v] of appliedPaths) {
      // Applying the value a field already has only shares ownership: no conflict.
      if (deepEqual(getPath(cur, p), v)) continue
      for (const o of owned) if (!isMine(o.entry) && o.paths.has(p)) conflicts.push({entry: o.entry, path: p})
    }
    if (conflicts.length && !force) {
      throw new ApiError(409, 'Conflict', conflictMessage(conflicts), {
        causes: conflicts.map((c) => ({reason: 'FieldManagerConflict', message: `conflict with ${c.entry.operation === 'Update' ? `"${c.entry.manager}" using ${c.entry.apiVersion}` : `"${c.entry.manager}"`}`, field: c.path})),
      })
    }
    const next = structuredClone(cur)
    // Fields this manager applied before and dropped now are removed unless someone else owns them.
    const mine = owned.find((o) => isMine(o.entry))
    for (const p of mine?.paths ?? []) {
      if (appliedPaths.has(p)) continue
      if (owned.some((o) => o !== mine && o.paths.has(p))) continue
      deletePath(next, p)
    }
    for (const [p, v] of appliedPaths) setPath(next, p, v)
    const newEntries: ManagedFieldsEntry[] = []
    for (const o of owned) {
      if (isMine(o.entry)) continue
      // Forced fields change owner; changed values leave their previous owners.
      for (const [p, v] of appliedPaths) if (!deepEqual(getPath(cur, p), v)) o.paths.delete(p)
      if (o.paths.size) newEntries.push({...o.entry, fieldsV1: toFieldsV1(o.paths)})
    }
    newEntries.push({manager, operation: 'Apply', apiVersion, time: now, fieldsType: 'FieldsV1', fieldsV1: toFieldsV1(appliedPaths.keys())})
    next.metadata.managedFields = newEntries
    applyDefaults(this.store, def, next, cur)
    if (info.query.get('dryRun') === 'All') return {code: 200, body: next}
    try {
      return {code: 200, body: this.decorate(def, this.store.update(def, next))}
    } catch (e) {
      return storeErr(e, def, info.name)
    }
  }

  delete(def: ResourceDef, info: RequestInfo): {code: number; body: unknown} {
    const cur = this.store.get(def, info.namespace, info.name)
    if (!cur) {
      if (this.getObject(def, info.namespace, info.name)) throw methodNotAllowed()
      throw notFound(def.group, def.resource, info.name)
    }
    if (def.resource === 'namespaces' && def.group === '') {
      // Namespace deletion removes everything in it (the namespace controller's job), then the namespace.
      for (const d of this.store.defs()) {
        if (!d.namespaced) continue
        for (const o of this.store.list(d, info.name)) this.store.delete(d, info.name, o.metadata.name)
      }
      this.store.delete(def, undefined, info.name)
      return {code: 200, body: {...cur, metadata: {...cur.metadata, deletionTimestamp: k8sTime()}, spec: {finalizers: ['kubernetes']}, status: {phase: 'Terminating'}}}
    }
    const gone = this.store.delete(def, info.namespace, info.name)
    // Pods return the deleted object (graceful deletion); other registries return a Status.
    if (def.resource === 'pods') return {code: 200, body: {...gone, metadata: {...gone.metadata, deletionTimestamp: k8sTime(), deletionGracePeriodSeconds: 30}}}
    return {code: 200, body: {kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: {name: info.name, ...(def.group ? {group: def.group} : {}), kind: def.resource, uid: gone.metadata.uid}}}
  }

  deleteCollection(def: ResourceDef, info: RequestInfo): {code: number; body: unknown} {
    const {label, field} = this.selectors(def, info.query)
    const items: KObj[] = []
    for (const o of this.store.list(def, info.namespace || undefined)) {
      if (matchLabels(label, o.metadata.labels) && matchFields(field, o)) items.push(this.store.delete(def, o.metadata.namespace, o.metadata.name))
    }
    return {code: 200, body: {kind: `${def.kind}List`, apiVersion: apiVersionOf(def), metadata: {resourceVersion: this.store.resourceVersion}, items: items.map(listItem)}}
  }

  // ---------- access reviews ----------

  review(def: ResourceDef, subject: Subject, body: unknown): {code: number; body: unknown} {
    const b = (body ?? {}) as {spec?: Record<string, Record<string, string> | undefined>; metadata?: unknown}
    const spec = b.spec ?? {}
    if (def.resource === 'selfsubjectaccessreviews') {
      const ra = spec.resourceAttributes
      const nra = spec.nonResourceAttributes
      if (!ra && !nra) {
        throw new ApiError(422, 'Invalid', 'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified', {group: 'authorization.k8s.io', kind: 'SelfSubjectAccessReview'})
      }
      const d = ra
        ? authorize(subject, {verb: ra.verb ?? '', apiGroup: ra.group ?? '', resource: ra.resource ?? '', subresource: ra.subresource ?? '', namespace: ra.namespace ?? '', name: ra.name ?? ''})
        : authorize(subject, {verb: nra!.verb ?? '', path: nra!.path ?? ''})
      return {code: 201, body: {kind: 'SelfSubjectAccessReview', apiVersion: 'authorization.k8s.io/v1', metadata: {creationTimestamp: null}, spec, status: {allowed: d.allowed, ...(d.reason ? {reason: d.reason} : {})}}}
    }
    const ns = (spec as {namespace?: string}).namespace ?? ''
    return {code: 201, body: {kind: 'SelfSubjectRulesReview', apiVersion: 'authorization.k8s.io/v1', metadata: {creationTimestamp: null}, spec, status: rulesReview(subject, ns)}}
  }

  // ---------- watch ----------

  watch(def: ResourceDef, info: RequestInfo, res: ServerResponse, table?: IncludeObject): void {
    const {label, field} = this.selectors(def, info.query)
    const ns = info.namespace || undefined
    const match = (o: KObj) => (!ns || !def.namespaced || o.metadata.namespace === ns) && matchLabels(label, o.metadata.labels) && matchFields(field, o)
    res.writeHead(200, {'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private'})
    // The watch handler flushes its headers before the first event (apiserver endpoints/handlers/watch.go
    // ServeHTTP: w.WriteHeader + flusher.Flush()), so a client watching from the current resourceVersion returns at once.
    res.flushHeaders()
    // A Table watch sends each object as a one-row Table; column definitions come with the first event only
    // (apiserver handlers/watch.go: tableOptions.NoHeaders after the first).
    let first = true
    const send = (type: string, o: KObj) => {
      const object = table ? toTable(def, [o], {resourceVersion: o.metadata.resourceVersion}, table, first) : o
      first = false
      res.write(`${JSON.stringify({type, object})}\n`)
    }
    const computed = def.resource === 'endpoints' || def.resource === 'endpointslices'
    const rvParam = info.query.get('resourceVersion')
    // No resourceVersion (or "0"): synthetic ADDED events for the current state first.
    let known = new Map<string, KObj>()
    for (const o of this.objects(def, ns)) {
      if (!match(o)) continue
      known.set(keyOf(o), o)
      if (!rvParam || rvParam === '0') send('ADDED', o)
    }
    const onChange = (ev: StoreEvent) => {
      if (computed) {
        if (!['pods', 'services', def.resource].includes(ev.def.resource)) return
        const now = new Map(this.objects(def, ns).filter(match).map((o) => [keyOf(o), o]))
        for (const [k, o] of now) {
          const prev = known.get(k)
          if (!prev) send('ADDED', o)
          else if (prev.metadata.resourceVersion !== o.metadata.resourceVersion || !deepEqual(prev, o)) send('MODIFIED', o)
        }
        for (const [k, o] of known) if (!now.has(k)) send('DELETED', o)
        known = now
        return
      }
      if (ev.def !== def && !(def.group === 'apps' && ev.def.resource === 'pods')) return
      if (ev.def.resource === 'pods' && def.resource !== 'pods') {
        // Workload status follows its pods.
        for (const o of this.objects(def, ns)) if (match(o) && !deepEqual(known.get(keyOf(o))?.status, o.status)) {
          known.set(keyOf(o), o)
          send('MODIFIED', o)
        }
        return
      }
      const o = this.decorate(def, ev.object)
      if (!match(o)) return
      if (ev.type === 'DELETED') known.delete(keyOf(o))
      else known.set(keyOf(o), o)
      send(ev.type, o)
    }
    this.store.on('change', onChange)
    const timeout = Number(info.query.get('timeoutSeconds') ?? 0)
    const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined
    this.watches.add(res, () => {
      this.store.off('change', onChange)
      if (timer) clearTimeout(timer)
    })
  }

  /** Resolves a resource request to its definition (404 for unknown group/version/resource). */
  resolve(info: RequestInfo): ResourceDef {
    const def = findResource(info.apiGroup, info.apiVersion, info.resource)
    if (!def) throw unknownResource()
    // Namespaced resources need a namespace on named requests; cluster-scoped ones take none.
    if (def.namespaced === false && info.namespace && def.resource !== 'namespaces') throw unknownResource()
    if (def.namespaced && !info.namespace && info.name) throw unknownResource()
    return def
  }

  /** Handles a REST request already authenticated and authorized. */
  handle(def: ResourceDef, info: RequestInfo, req: IncomingMessage, res: ServerResponse, subject: Subject, raw: string): void {
    const m = info.method
    const parse = () => {
      try {
        return raw ? (JSON.parse(raw) as unknown) : undefined
      } catch (e) {
        throw badRequest(`the object provided is unrecognized (${(e as Error).message})`)
      }
    }
    if (def.virtual) {
      if (m !== 'POST') throw methodNotAllowed()
      const r = this.review(def, subject, parse())
      return sendJson(res, r.code, r.body)
    }
    const ns = def.namespaced ? info.namespace : undefined
    if (info.subresource && info.subresource !== 'status') throw unknownResource()
    if (m === 'GET' || m === 'HEAD') {
      const form = negotiate(req.headers.accept)
      // Nothing offered in Accept is served: 406 NotAcceptable (apiserver handlers/negotiation).
      if (!form) throw new ApiError(406, 'NotAcceptable', 'the server was unable to respond with a content type that the client supports')
      const include = (info.query.get('includeObject') ?? 'Metadata') as IncludeObject
      if (!['None', 'Metadata', 'Object'].includes(include)) throw badRequest(`includeObject: Unsupported value: "${include}": supported values: "Metadata", "None", "Object"`)
      if (info.name) {
        const o = this.getObject(def, ns, info.name)
        if (!o) throw notFound(def.group, def.resource, info.name)
        return sendJson(res, 200, form.as === 'table' ? toTable(def, [o], {resourceVersion: o.metadata.resourceVersion}, include) : o)
      }
      if (info.verb === 'watch') return this.watch(def, info, res, form.as === 'table' ? include : undefined)
      const list = this.list(def, info.namespace, info.query) as {metadata: Record<string, unknown>; items: KObj[]}
      return sendJson(res, 200, form.as === 'table' ? toTable(def, list.items, list.metadata, include) : list)
    }
    let r: {code: number; body: unknown; warnings?: string[]}
    if (m === 'POST' && !info.name) r = this.create(def, info, req, parse())
    else if (m === 'PUT' && info.name) r = this.update(def, info, req, parse())
    else if (m === 'PATCH' && info.name) {
      // An apply that creates the object is also authorized as `create` (apiserver
      // endpoints/handlers/patch.go, createAuthorizerAttributes).
      const applying = (req.headers['content-type'] ?? '').startsWith('application/apply-patch+yaml')
      if (applying && !this.store.get(def, ns, info.name)) {
        const attrs = {verb: 'create', apiGroup: def.group, resource: def.resource, subresource: '', namespace: info.namespace, name: info.name}
        if (!authorize(subject, attrs).allowed) {
          const f = forbiddenStatus(subject, attrs)
          throw new ApiError(403, 'Forbidden', f.message, f.details)
        }
      }
      r = this.patch(def, info, req, raw)
    }
    else if (m === 'DELETE' && info.name) r = this.delete(def, info)
    else if (m === 'DELETE' && def.verbs.includes('deletecollection')) r = this.deleteCollection(def, info)
    else throw methodNotAllowed()
    // One `Warning: 299 - "<text>"` header per warning (RFC 7234 §5.5 as the apiserver's warning recorder writes them).
    if (r.warnings?.length) res.setHeader('Warning', r.warnings.map((w) => `299 - ${JSON.stringify(w)}`))
    sendJson(res, r.code, r.body)
  }
}
