// Index mappings of the lab's Elasticsearch: the component templates the `logs` and Fleet index templates
// are composed of (logs@mappings, the package's fields/*.yml as Fleet turns them into `@package`, and
// ecs@mappings' dynamic templates, all copied in fixtures/elastic/), the dynamic mapping a write applies
// to fields no template declares, and the per-field facts search needs (searchable, aggregatable, nested
// scope). Field facts follow elastic.md §2.6. Only the lab imports this file.

import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

import {parse as parseYaml} from 'yaml'

import {isMap, type Json, type JsonMap} from './ingest.js'

/** One field's mapping as `_mapping` shows it (plus `properties` for objects). */
export interface FieldDef {
  type: string
  index?: boolean
  doc_values?: boolean
  value?: string
  ignore_above?: number
  fields?: Record<string, FieldDef>
  [k: string]: unknown
}

export interface DynamicTemplate {
  name: string
  match?: string[]
  unmatch?: string[]
  path_match?: string[]
  path_unmatch?: string[]
  match_mapping_type?: string[]
  unmatch_mapping_type?: string[]
  mapping: FieldDef
}

/** A component template's mappings: full dotted path -> definition (objects included), dynamic templates. */
export interface MappingSource {
  properties: Record<string, FieldDef>
  dynamicTemplates: DynamicTemplate[]
  dateDetection?: boolean
}

/** What the index knows about one path. */
export interface FieldEntry {
  path: string
  def: FieldDef
  /** Multi-field (e.g. `process.executable.text`): the `_source` path its values come from. */
  sourcePath: string
  /** The innermost `nested` object the field lives in (the nested path itself for a nested field's children). */
  nestedIn?: string
}

const FIXTURES = new URL('../../../fixtures/elastic/', import.meta.url)
const read = (name: string) => readFileSync(fileURLToPath(new URL(name, FIXTURES)), 'utf8')
const list = (v: unknown): string[] | undefined => (v === undefined ? undefined : ([] as string[]).concat(v as string | string[]))

function componentFromJson(raw: string): MappingSource {
  const m = (JSON.parse(raw) as {template: {mappings: Record<string, unknown>}}).template.mappings
  const dynamicTemplates = ((m.dynamic_templates as Array<Record<string, Record<string, unknown>>>) ?? []).map((entry) => {
    const [name, t] = Object.entries(entry)[0]
    return {
      name,
      match: list(t.match),
      unmatch: list(t.unmatch),
      path_match: list(t.path_match),
      path_unmatch: list(t.path_unmatch),
      match_mapping_type: list(t.match_mapping_type),
      unmatch_mapping_type: list(t.unmatch_mapping_type),
      mapping: t.mapping as FieldDef,
    }
  })
  return {properties: (m.properties as Record<string, FieldDef>) ?? {}, dynamicTemplates, dateDetection: m.date_detection as boolean | undefined}
}

interface PackageField {
  name: string
  type?: string
  value?: string
  object_type?: string
  fields?: PackageField[]
}

/**
 * Fleet's translation of a data stream's fields/*.yml into the `@package` component template
 * (elastic/kibana fleet `epm/elasticsearch/template/template.ts` generateMappings): groups become
 * objects, keyword gets ignore_above 1024, `object_type` becomes a dynamic template (unverified details).
 */
function componentFromFields(files: string[]): MappingSource {
  const properties: Record<string, FieldDef> = {}
  const dynamicTemplates: DynamicTemplate[] = []
  const walk = (fields: PackageField[], prefix: string) => {
    for (const f of fields) {
      const path = prefix + f.name
      const type = f.type ?? 'keyword'
      if (type === 'group') walk(f.fields ?? [], `${path}.`)
      else if (type === 'nested') {
        properties[path] = {type: 'nested'}
        walk(f.fields ?? [], `${path}.`)
      } else if (type === 'object') {
        properties[path] = {type: 'object'}
        if (f.object_type) dynamicTemplates.push({name: path, path_match: [`${path}.*`], match_mapping_type: ['string'], mapping: {type: f.object_type, ...(f.object_type === 'keyword' ? {ignore_above: 1024} : {})}})
      } else if (type === 'keyword') properties[path] = {type, ignore_above: 1024}
      else if (type === 'constant_keyword') properties[path] = {type, ...(f.value !== undefined ? {value: f.value} : {})}
      else properties[path] = {type}
    }
  }
  for (const file of files) walk(parseYaml(read(file)) as PackageField[], '')
  return {properties, dynamicTemplates}
}

let cache: {logs: MappingSource; ecs: MappingSource; pkg: MappingSource} | undefined
function components() {
  cache ??= {
    logs: componentFromJson(read('logs@mappings.json')),
    ecs: componentFromJson(read('ecs@mappings.json')),
    pkg: componentFromFields(['cilium_tetragon-log-fields/base-fields.yml', 'cilium_tetragon-log-fields/agent.yml', 'cilium_tetragon-log-fields/fields.yml']),
  }
  return cache
}

/** Component templates in `composed_of` order; later ones win (Elasticsearch template composition). */
function compose(parts: MappingSource[]): MappingSource {
  const properties: Record<string, FieldDef> = {}
  const byName = new Map<string, DynamicTemplate>()
  let dateDetection: boolean | undefined
  for (const p of parts) {
    Object.assign(properties, p.properties)
    for (const t of p.dynamicTemplates) {
      byName.delete(t.name)
      byName.set(t.name, t)
    }
    if (p.dateDetection !== undefined) dateDetection = p.dateDetection
  }
  return {properties, dynamicTemplates: [...byName.values()], dateDetection}
}

/** Built-in `logs` template: logs@mappings, logs@settings, logs@custom, ecs@mappings. */
export const builtinLogsMappings = (): MappingSource => compose([components().logs, components().ecs])
/** Fleet's `logs-cilium_tetragon.log` template (elastic.md §2.6 composition). */
export const fleetPackageMappings = (): MappingSource => compose([components().logs, components().pkg, components().ecs])

const glob = (pattern: string) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`)
const globCache = new Map<string, RegExp>()
const globTest = (patterns: string[] | undefined, s: string) =>
  (patterns ?? []).some((p) => {
    let re = globCache.get(p)
    if (!re) globCache.set(p, (re = glob(p)))
    return re.test(s)
  })

/** JSON value -> the dynamic mapping type Elasticsearch detects (string, long, double, boolean, object). */
function detectedType(v: Json): string {
  if (typeof v === 'string') return 'string'
  if (typeof v === 'boolean') return 'boolean'
  if (typeof v === 'number') return Number.isInteger(v) ? 'long' : 'double'
  return 'object'
}

/** The mappings of one index: template fields plus what writes added dynamically. */
export class IndexMapping {
  readonly entries = new Map<string, FieldEntry>()
  private readonly nestedPaths = new Set<string>()

  constructor(readonly source: MappingSource) {
    for (const [path, def] of Object.entries(source.properties)) this.add(path, structuredClone(def))
  }

  clone(): IndexMapping {
    const m = new IndexMapping({...this.source, properties: {}})
    for (const e of this.entries.values()) if (e.sourcePath === e.path) m.add(e.path, structuredClone(e.def))
    return m
  }

  /** constant_keyword fields and their value (null = none yet). */
  constants(): Record<string, string | null> {
    const out: Record<string, string | null> = {}
    for (const e of this.entries.values()) if (e.def.type === 'constant_keyword') out[e.path] = e.def.value ?? null
    return out
  }

  get(path: string): FieldEntry | undefined {
    return this.entries.get(path)
  }

  private nestedScopeOf(path: string): string | undefined {
    let best: string | undefined
    for (const n of this.nestedPaths) if (path.startsWith(`${n}.`) && (!best || n.length > best.length)) best = n
    return best
  }

  private add(path: string, def: FieldDef) {
    // Parents are objects unless declared otherwise (dotted names expand into objects).
    const segs = path.split('.')
    for (let i = 1; i < segs.length; i++) {
      const parent = segs.slice(0, i).join('.')
      if (!this.entries.has(parent)) this.entries.set(parent, {path: parent, def: {type: 'object'}, sourcePath: parent, nestedIn: this.nestedScopeOf(parent)})
    }
    const existing = this.entries.get(path)
    // A path declared twice keeps its first leaf mapping; an object placeholder gives way to a declaration.
    if (existing && existing.def.type !== 'object') return
    if (def.type === 'nested') this.nestedPaths.add(path)
    this.entries.set(path, {path, def, sourcePath: path, nestedIn: this.nestedScopeOf(path)})
    for (const [sub, subDef] of Object.entries(def.fields ?? {})) {
      this.entries.set(`${path}.${sub}`, {path: `${path}.${sub}`, def: subDef, sourcePath: path, nestedIn: this.nestedScopeOf(path)})
    }
  }

  /** Dynamic mapping of a field no template declares: the first matching dynamic template, else the defaults. */
  private dynamic(path: string, value: Json): FieldDef | undefined {
    const type = detectedType(value)
    const leaf = path.slice(path.lastIndexOf('.') + 1)
    for (const t of this.source.dynamicTemplates) {
      if (t.match_mapping_type ? !t.match_mapping_type.includes(type) && !t.match_mapping_type.includes('*') : type === 'object') continue
      if (t.unmatch_mapping_type?.includes(type)) continue
      if (t.match && !globTest(t.match, leaf)) continue
      if (t.unmatch && globTest(t.unmatch, leaf)) continue
      if (t.path_match && !globTest(t.path_match, path)) continue
      if (t.path_unmatch && globTest(t.path_unmatch, path)) continue
      return structuredClone(t.mapping)
    }
    if (type === 'object') return undefined
    // Elasticsearch's default dynamic mapping (date_detection is off in logs@mappings).
    if (type === 'string') return {type: 'text', fields: {keyword: {type: 'keyword', ignore_above: 256}}}
    return {type: type === 'double' ? 'float' : type}
  }

  /** Maps every field of `_source` that has no mapping yet, as a write does. */
  mapDocument(src: JsonMap): void {
    const walk = (node: JsonMap, prefix: string) => {
      for (const [k, v] of Object.entries(node)) {
        if (v === null || v === undefined) continue
        const path = prefix + k
        const values = Array.isArray(v) ? (v.flat(Infinity as 1) as Json[]) : [v]
        for (const x of values) {
          if (x === null || x === undefined) continue
          const e = this.entries.get(path)
          if (isMap(x)) {
            if (!e) {
              const def = this.dynamic(path, x)
              if (def && def.type !== 'object') {
                this.add(path, def)
                continue
              }
              this.add(path, {type: 'object'})
            } else if (e.def.type !== 'object' && e.def.type !== 'nested') {
              // An object where a leaf is mapped is a document_parsing_exception in Elasticsearch; the
              // package's own pod_labels declarations collide this way (elastic.md §2.6, unverified): not enforced.
              if (e.def.type === 'flattened' || e.def.type === 'geo_point') continue
            }
            walk(x, `${path}.`)
          } else if (!e) {
            const def = this.dynamic(path, x)
            if (def) this.add(path, def)
          }
        }
      }
    }
    walk(src, '')
  }

  /** The `mappings` body of `GET <index>/_mapping`: a properties tree. */
  toJson(extra: Record<string, unknown> = {}): Record<string, unknown> {
    const root: Record<string, unknown> = {}
    const nodeFor = (path: string): Record<string, unknown> => {
      const segs = path.split('.')
      let props = root
      let node: Record<string, unknown> = {}
      for (let i = 0; i < segs.length; i++) {
        const key = segs[i]
        node = (props[key] as Record<string, unknown>) ?? {}
        props[key] = node
        if (i < segs.length - 1) props = ((node.properties as Record<string, unknown>) ??= {})
      }
      return node
    }
    for (const e of [...this.entries.values()].sort((a, b) => a.path.localeCompare(b.path))) {
      if (e.sourcePath !== e.path) continue
      const node = nodeFor(e.path)
      const {type, ...rest} = e.def
      if (type !== 'object') node.type = type
      Object.assign(node, rest)
    }
    return {
      ...extra,
      dynamic_templates: this.source.dynamicTemplates.map((t) => {
        const {name, mapping, ...rules} = t
        const body: Record<string, unknown> = {}
        for (const [k, v] of Object.entries(rules)) if (v !== undefined) body[k] = v.length === 1 ? v[0] : v
        return {[name]: {...body, mapping}}
      }),
      ...(this.source.dateDetection !== undefined ? {date_detection: this.source.dateDetection} : {}),
      properties: root,
    }
  }
}

/** Whether a leaf can be searched at all: neither indexed nor doc values means no (elastic.md §2.6). */
export function searchable(def: FieldDef): boolean {
  if (def.type === 'object' || def.type === 'nested') return false
  return def.index !== false || hasDocValues(def)
}

/** Doc values: on by default except for text-like fields. */
export function hasDocValues(def: FieldDef): boolean {
  if (['text', 'match_only_text', 'object', 'nested'].includes(def.type)) return false
  return def.doc_values !== false
}

/** Aggregatable as `_field_caps` reports it. */
export function aggregatable(def: FieldDef): boolean {
  if (def.type === 'constant_keyword') return true
  if (def.type === 'text') return def.fielddata === true
  return hasDocValues(def)
}

/** Text fields are analysed; the standard analyser lower-cases and splits on word boundaries (UAX #29, approximated). */
export function analysed(def: FieldDef): boolean {
  return def.type === 'text' || def.type === 'match_only_text'
}

export function tokens(s: string): string[] {
  return s.toLowerCase().match(/[\p{L}\p{N}_]+(?:['.][\p{L}\p{N}_]+)*/gu) ?? []
}

// ---------------------------------------------------------------------------------------------
// _field_caps and _mapping responses (Elasticsearch REST API: field_caps, indices.get_mapping,
// indices.get_field_mapping; shapes as in elastic/elasticsearch-specification FieldCapabilities).

export interface MappedIndex {
  name: string
  mapping: IndexMapping
  dataStream?: string
}

/** Metadata fields `_field_caps` lists when a pattern names them (a subset). */
const METADATA: Record<string, {searchable: boolean; aggregatable: boolean}> = {
  _id: {searchable: true, aggregatable: false},
  _index: {searchable: true, aggregatable: true},
  _source: {searchable: false, aggregatable: false},
}

export function fieldCaps(
  indices: MappedIndex[],
  patterns: string[],
  opts: {includeUnmapped?: boolean; filters?: string[]; types?: string[]} = {},
): {indices: string[]; fields: Record<string, Record<string, Record<string, unknown>>>} {
  const filters = new Set(opts.filters ?? [])
  const res = patterns.map(glob)
  const wanted = (path: string) => res.some((r) => r.test(path))
  // field -> type -> per-index capability
  const found = new Map<string, Map<string, Array<{index: string; searchable: boolean; aggregatable: boolean}>>>()
  const note = (field: string, type: string, index: string, s: boolean, a: boolean) => {
    let byType = found.get(field)
    if (!byType) found.set(field, (byType = new Map()))
    let list = byType.get(type)
    if (!list) byType.set(type, (list = []))
    list.push({index, searchable: s, aggregatable: a})
  }
  const names = indices.map((i) => i.name).sort()
  for (const idx of indices) {
    for (const e of idx.mapping.entries.values()) {
      if (!wanted(e.path)) continue
      const parent = e.def.type === 'object' || e.def.type === 'nested'
      if (filters.has('-parent') && parent) continue
      if (filters.has('-multifield') && e.sourcePath !== e.path) continue
      if (filters.has('-nested') && (e.nestedIn || e.def.type === 'nested')) continue
      if (opts.types && !opts.types.includes(e.def.type)) continue
      note(e.path, e.def.type, idx.name, searchable(e.def), parent ? false : aggregatable(e.def))
    }
    if (!filters.has('-metadata')) {
      for (const [f, caps] of Object.entries(METADATA)) if (wanted(f) && (!opts.types || opts.types.includes(f))) note(f, f, idx.name, caps.searchable, caps.aggregatable)
    }
  }
  const fields: Record<string, Record<string, Record<string, unknown>>> = {}
  for (const [field, byType] of [...found.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const out: Record<string, Record<string, unknown>> = {}
    const covered = new Set<string>()
    for (const [type, list] of byType) {
      list.forEach((x) => covered.add(x.index))
      const s = list.every((x) => x.searchable)
      const a = list.every((x) => x.aggregatable)
      out[type] = {
        type,
        metadata_field: type in METADATA,
        searchable: s,
        aggregatable: a,
        // Index lists appear only when the indices disagree (several types, or mixed capabilities).
        ...(byType.size > 1 ? {indices: list.map((x) => x.index).sort()} : {}),
        ...(!s && list.some((x) => x.searchable) ? {non_searchable_indices: list.filter((x) => !x.searchable).map((x) => x.index).sort()} : {}),
        ...(!a && list.some((x) => x.aggregatable) ? {non_aggregatable_indices: list.filter((x) => !x.aggregatable).map((x) => x.index).sort()} : {}),
      }
    }
    const unmapped = names.filter((n) => !covered.has(n))
    if (opts.includeUnmapped && unmapped.length > 0) {
      for (const t of Object.values(out)) t.indices ??= names.filter((n) => covered.has(n))
      out.unmapped = {type: 'unmapped', metadata_field: false, searchable: false, aggregatable: false, indices: unmapped}
    }
    fields[field] = out
  }
  return {indices: names, fields}
}

/** `GET <target>/_mapping`: each backing index with its mappings. */
export function getMappings(indices: MappedIndex[]): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const i of [...indices].sort((a, b) => a.name.localeCompare(b.name))) {
    out[i.name] = {mappings: i.mapping.toJson(i.dataStream ? {_data_stream_timestamp: {enabled: true}} : {})}
  }
  return out
}

/** `GET <target>/_mapping/field/<fields>`: `{index: {mappings: {field: {full_name, mapping: {leaf: def}}}}}`. */
export function getFieldMappings(indices: MappedIndex[], patterns: string[]): Record<string, unknown> {
  const res = patterns.map(glob)
  const out: Record<string, unknown> = {}
  for (const i of [...indices].sort((a, b) => a.name.localeCompare(b.name))) {
    const mappings: Record<string, unknown> = {}
    for (const e of i.mapping.entries.values()) {
      // Wildcards expand to field mappers (leaves and multi-fields), not to objects.
      if (e.def.type === 'object' || !res.some((r) => r.test(e.path))) continue
      const leaf = e.path.slice(e.path.lastIndexOf('.') + 1)
      mappings[e.path] = {full_name: e.path, mapping: {[leaf]: e.def}}
    }
    out[i.name] = {mappings}
  }
  return out
}
