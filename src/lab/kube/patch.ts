import type {KObj, ManagedFieldsEntry} from './store.js'

// Patches and field ownership (server-side apply). Ownership is tracked per field path at the
// granularity `.spec.<field>`, `.data.<key>`, `.metadata.labels.<key>`, `.metadata.annotations.<key>`.

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch
  const out: Record<string, unknown> = target && typeof target === 'object' && !Array.isArray(target) ? {...(target as Record<string, unknown>)} : {}
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k]
    else out[k] = mergePatch(out[k], v)
  }
  return out
}

export class PatchError extends Error {}

function pointer(p: string): string[] {
  if (p === '') return []
  if (!p.startsWith('/')) throw new PatchError(`invalid JSON pointer ${p}`)
  return p.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
}

/** RFC 6902 JSON patch. */
export function jsonPatch(doc: unknown, ops: Array<{op: string; path: string; value?: unknown; from?: string}>): unknown {
  let root = structuredClone(doc)
  const parentOf = (path: string[]): [Record<string, unknown> | unknown[], string] => {
    let cur: unknown = root
    for (const seg of path.slice(0, -1)) {
      if (cur === null || typeof cur !== 'object') throw new PatchError(`path not found`)
      cur = (cur as Record<string, unknown>)[seg]
    }
    if (cur === null || typeof cur !== 'object') throw new PatchError(`doc is missing path: ${'/' + path.join('/')}`)
    return [cur as Record<string, unknown>, path[path.length - 1]!]
  }
  const get = (p: string) => {
    let cur: unknown = root
    for (const seg of pointer(p)) cur = (cur as Record<string, unknown> | undefined)?.[seg]
    return cur
  }
  const add = (p: string, value: unknown) => {
    const path = pointer(p)
    if (path.length === 0) {
      root = value
      return
    }
    const [parent, key] = parentOf(path)
    if (Array.isArray(parent)) parent.splice(key === '-' ? parent.length : Number(key), 0, value)
    else parent[key] = value
  }
  const remove = (p: string) => {
    const [parent, key] = parentOf(pointer(p))
    if (Array.isArray(parent)) parent.splice(Number(key), 1)
    else {
      if (!(key in parent)) throw new PatchError(`Unable to remove nonexistent key: ${key}: missing value`)
      delete parent[key]
    }
  }
  for (const op of ops) {
    switch (op.op) {
      case 'add': add(op.path, op.value); break
      case 'remove': remove(op.path); break
      case 'replace': remove(op.path); add(op.path, op.value); break
      case 'copy': add(op.path, structuredClone(get(op.from!))); break
      case 'move': { const v = get(op.from!); remove(op.from!); add(op.path, v); break }
      case 'test': if (JSON.stringify(get(op.path)) !== JSON.stringify(op.value)) throw new PatchError(`testing value ${op.path} failed`); break
      default: throw new PatchError(`Unexpected kind: ${op.op}`)
    }
  }
  return root
}

export function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(canon(a)) === JSON.stringify(canon(b))
}

function canon(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canon)
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon((v as Record<string, unknown>)[k])]))
  return v
}

const SKIP_TOP = new Set(['apiVersion', 'kind', 'metadata', 'status'])

/** The tracked field paths of an object with their values. */
export function fieldPaths(obj: Record<string, unknown>): Map<string, unknown> {
  const out = new Map<string, unknown>()
  for (const [k, v] of Object.entries(obj)) {
    if (SKIP_TOP.has(k)) continue
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k2, v2] of Object.entries(v)) out.set(`.${k}.${k2}`, v2)
    } else out.set(`.${k}`, v)
  }
  const md = (obj.metadata ?? {}) as Record<string, Record<string, string> | undefined>
  for (const m of ['labels', 'annotations'] as const) {
    for (const [k, v] of Object.entries(md[m] ?? {})) out.set(`.metadata.${m}.${k}`, v)
  }
  return out
}

function splitPath(path: string): string[] {
  // `.metadata.labels.app.kubernetes.io/name`: the key after labels/annotations keeps its dots.
  const parts = path.slice(1).split('.')
  if (parts[0] === 'metadata' && parts.length >= 3) return [parts[0], parts[1]!, parts.slice(2).join('.')]
  if (parts.length > 2) return [parts[0]!, parts.slice(1).join('.')]
  return parts
}

export function getPath(obj: Record<string, unknown>, path: string): unknown {
  let cur: unknown = obj
  for (const seg of splitPath(path)) cur = (cur as Record<string, unknown> | undefined)?.[seg]
  return cur
}

export function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const segs = splitPath(path)
  let cur = obj
  for (const seg of segs.slice(0, -1)) {
    if (!cur[seg] || typeof cur[seg] !== 'object') cur[seg] = {}
    cur = cur[seg] as Record<string, unknown>
  }
  cur[segs[segs.length - 1]!] = value
}

export function deletePath(obj: Record<string, unknown>, path: string): void {
  const segs = splitPath(path)
  let cur: Record<string, unknown> | undefined = obj
  for (const seg of segs.slice(0, -1)) cur = cur?.[seg] as Record<string, unknown> | undefined
  if (cur) delete cur[segs[segs.length - 1]!]
}

/** FieldsV1 (`{"f:spec":{"f:selector":{}}}`) of a set of paths. */
export function toFieldsV1(paths: Iterable<string>): Record<string, unknown> {
  const out: Record<string, Record<string, unknown>> = {}
  for (const p of paths) {
    let cur: Record<string, unknown> = out
    for (const seg of splitPath(p)) {
      const k = `f:${seg}`
      if (!cur[k]) cur[k] = {}
      cur = cur[k] as Record<string, unknown>
    }
  }
  return out
}

export function fromFieldsV1(f: Record<string, unknown>, prefix = '', depth = 0): string[] {
  const out: string[] = []
  for (const [k, v] of Object.entries(f)) {
    if (!k.startsWith('f:')) continue
    const p = `${prefix}.${k.slice(2)}`
    const children = v && typeof v === 'object' ? Object.keys(v).filter((x) => x.startsWith('f:')) : []
    if (children.length === 0) out.push(p)
    else out.push(...fromFieldsV1(v as Record<string, unknown>, p, depth + 1))
  }
  return out
}

export interface Conflict {
  manager: string
  path: string
}

/** How the apiserver prints a conflicting manager (fieldmanager internal/conflict.go printManager). */
export function printManager(e: ManagedFieldsEntry): string {
  return e.operation === 'Update' ? `"${e.manager}" using ${e.apiVersion}` : `"${e.manager}"`
}

/** Message of an apply conflict (conflict.go getConflictMessage). */
export function conflictMessage(conflicts: Array<{entry: ManagedFieldsEntry; path: string}>): string {
  if (conflicts.length === 1) return `Apply failed with 1 conflict: conflict with ${printManager(conflicts[0]!.entry)}: ${conflicts[0]!.path}`
  const byManager = new Map<string, string[]>()
  for (const c of conflicts) {
    const k = printManager(c.entry)
    byManager.set(k, [...(byManager.get(k) ?? []), c.path])
  }
  const parts = [...byManager].map(([m, ps]) => `conflicts with ${m}:\n${ps.map((p) => `- ${p}`).join('\n')}`)
  return `Apply failed with ${conflicts.length} conflicts: ${parts.join('\n')}`
}

export function entryPaths(e: ManagedFieldsEntry): Set<string> {
  return new Set(fromFieldsV1(e.fieldsV1))
}

/** Records an Update (create/put/patch) by `manager`: it takes the fields whose values changed. */
export function recordUpdate(before: KObj | undefined, after: KObj, manager: string, apiVersion: string, time: string): ManagedFieldsEntry[] {
  const entries = structuredClone(before?.metadata.managedFields ?? [])
  const old = before ? fieldPaths(before) : new Map<string, unknown>()
  const now = fieldPaths(after)
  const changed = new Set<string>()
  for (const [p, v] of now) if (!old.has(p) || !deepEqual(old.get(p), v)) changed.add(p)
  const removed = [...old.keys()].filter((p) => !now.has(p))
  const result: ManagedFieldsEntry[] = []
  let mine: Set<string> | undefined
  for (const e of entries) {
    const ps = entryPaths(e)
    for (const p of [...changed, ...removed]) ps.delete(p)
    if (e.manager === manager && e.operation === 'Update') {
      mine = ps
      continue
    }
    if (ps.size) result.push({...e, fieldsV1: toFieldsV1(ps)})
  }
  const own = new Set([...(mine ?? []), ...changed])
  if (own.size) result.push({manager, operation: 'Update', apiVersion, time, fieldsType: 'FieldsV1', fieldsV1: toFieldsV1(own)})
  return result
}
