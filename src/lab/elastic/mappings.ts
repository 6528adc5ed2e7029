// Index mappings of the lab's Elasticsearch: the component templates the `logs` and Fleet index templates
// are composed of (logs@mappings, the package's fields/*.yml as Fleet turns them into `@package`, and
// ecs@mappings' dynamic templates, all copied in fixtures/elastic/), the dynamic mapping a write applies
// to fields no template declares, and the per-field facts search needs (searchable, aggregatable, nested
// scope). Field facts follow the package's data_stream/log/fields/*.yml plus ecs@mappings. Only the lab imports this file.

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
  /** Root `dynamic` of explicit mappings (true when absent: ObjectMapper.Defaults.DYNAMIC). */
  dynamic?: string
  /** Root `_meta` of explicit mappings, returned as given by `_mapping`. */
  meta?: Record<string, unknown>
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
/** Fleet's `logs-cilium_tetragon.log` template: logs@mappings, logs@settings, @package, @custom, ecs@mappings, Fleet globals. */
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

  /**
   * The `dynamic` setting in force under `parent` ('' = root): the nearest object's own, else the root's, else
   * true (ObjectMapper.Dynamic: an object without the parameter inherits its parent's).
   */
  dynamicUnder(parent: string): string {
    for (let p = parent; p !== ''; p = p.includes('.') ? p.slice(0, p.lastIndexOf('.')) : '') {
      const d = this.entries.get(p)?.def.dynamic
      if (d !== undefined) return String(d)
    }
    return String(this.source.dynamic ?? 'true')
  }

  /**
   * The first field a write would add under an object mapped `dynamic: strict` (DocumentParser refuses the whole
   * document with StrictDynamicMappingException), as [path, the object it would be added to ('_doc' = root)].
   */
  strictViolation(src: JsonMap): [string, string] | undefined {
    const walk = (node: JsonMap, prefix: string): [string, string] | undefined => {
      for (const [k, v] of Object.entries(node)) {
        if (v === null || v === undefined) continue
        const path = prefix + k
        const parent = prefix === '' ? '' : prefix.slice(0, -1)
        const e = this.entries.get(path)
        if (!e) {
          const d = this.dynamicUnder(parent)
          if (d === 'strict') return [k, parent === '' ? '_doc' : parent]
          if (d === 'false') continue
        }
        for (const x of Array.isArray(v) ? (v.flat(Infinity as 1) as Json[]) : [v]) {
          if (isMap(x) && (!e || e.def.type === 'object' || e.def.type === 'nested')) {
            const r = walk(x, `${path}.`)
            if (r) return r
          }
        }
      }
      return undefined
    }
    return walk(src, '')
  }

  /** Maps every field of `_source` that has no mapping yet, as a write does. */
  mapDocument(src: JsonMap): void {
    const walk = (node: JsonMap, prefix: string) => {
      for (const [k, v] of Object.entries(node)) {
        if (v === null || v === undefined) continue
        const path = prefix + k
        // dynamic: false keeps unmapped fields in _source only (ObjectMapper.Dynamic.FALSE); strict was refused before.
        if (!this.entries.has(path) && this.dynamicUnder(prefix === '' ? '' : prefix.slice(0, -1)) !== 'true') continue
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
              // package's own pod_labels declarations collide this way (pod_labels.app vs app.kubernetes.io/name; unverified): not enforced.
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
    // ObjectMapper.toXContent: an object without sub-fields is written with `type: object`.
    const markEmpty = (props: Record<string, unknown>) => {
      for (const node of Object.values(props) as Array<Record<string, unknown>>) {
        if (node.type === undefined && node.properties === undefined) node.type = 'object'
        if (node.properties) markEmpty(node.properties as Record<string, unknown>)
      }
    }
    markEmpty(root)
    // RootObjectMapper.doXContent writes dynamic_templates only when set; serializeMappers skips empty properties.
    const templates = this.source.dynamicTemplates.map((t) => {
      const {name, mapping, ...rules} = t
      const body: Record<string, unknown> = {}
      for (const [k, v] of Object.entries(rules)) if (v !== undefined) body[k] = v.length === 1 ? v[0] : v
      return {[name]: {...body, mapping}}
    })
    return {
      ...extra,
      ...(this.source.meta !== undefined ? {_meta: this.source.meta} : {}),
      ...(this.source.dynamic !== undefined ? {dynamic: this.source.dynamic} : {}),
      ...(templates.length > 0 ? {dynamic_templates: templates} : {}),
      ...(this.source.dateDetection !== undefined ? {date_detection: this.source.dateDetection} : {}),
      ...(Object.keys(root).length > 0 ? {properties: root} : {}),
    }
  }
}

/** Whether a leaf can be searched at all: neither indexed nor doc values means no (ECS event.original: index and doc_values false). */
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

// ---------------------------------------------------------------------------------------------
// Explicit mappings given to indices.create (`PUT <index> {"mappings": ...}`), validated as Elasticsearch's
// MappingParser / ObjectMapper.TypeParser / FieldMapper.Builder.parse do.

/** A mapping Elasticsearch refuses: MapperService wraps the cause as "Failed to parse mapping: <cause>". */
export class MappingError extends Error {
  constructor(
    readonly causeType: 'mapper_parsing_exception' | 'illegal_argument_exception',
    reason: string,
  ) {
    super(reason)
  }
}

/** A mapping Elasticsearch accepts but the lab does not implement: refused, never silently ignored. */
export class MappingUnsupported extends Error {}

// Parameters every leaf field mapper declares (FieldMapper.Builder: meta, fields, copy_to; script/on_script_error
// on the types that take a script).
const LEAF_COMMON = ['meta', 'fields', 'copy_to']
const SCRIPTED = ['script', 'on_script_error']
const NUMERIC = [...LEAF_COMMON, ...SCRIPTED, 'index', 'doc_values', 'store', 'null_value', 'coerce', 'ignore_malformed', 'time_series_metric', 'time_series_dimension']
/** Per implemented type, every parameter the real mapper declares (elastic/elasticsearch server/.../index/mapper/*FieldMapper.java). */
const TYPE_PARAMS: Record<string, string[]> = {
  keyword: [...LEAF_COMMON, ...SCRIPTED, 'index', 'doc_values', 'store', 'ignore_above', 'null_value', 'normalizer', 'eager_global_ordinals', 'similarity', 'index_options', 'norms', 'split_queries_on_whitespace', 'time_series_dimension'],
  text: [...LEAF_COMMON, 'index', 'store', 'analyzer', 'search_analyzer', 'search_quote_analyzer', 'fielddata', 'fielddata_frequency_filter', 'eager_global_ordinals', 'index_options', 'index_phrases', 'index_prefixes', 'norms', 'position_increment_gap', 'similarity', 'term_vector'],
  long: NUMERIC,
  integer: NUMERIC,
  short: NUMERIC,
  byte: NUMERIC,
  double: NUMERIC,
  float: NUMERIC,
  date: [...LEAF_COMMON, ...SCRIPTED, 'index', 'doc_values', 'store', 'format', 'locale', 'null_value', 'ignore_malformed'],
  boolean: [...LEAF_COMMON, ...SCRIPTED, 'index', 'doc_values', 'store', 'null_value', 'ignore_malformed', 'time_series_dimension'],
  ip: [...LEAF_COMMON, ...SCRIPTED, 'index', 'doc_values', 'store', 'null_value', 'ignore_malformed', 'time_series_dimension'],
}
/**
 * What the lab honours: ./query.ts reads index, doc_values, ignore_above, fielddata. `store` only changes what
 * `stored_fields` returns, which the lab's search refuses (search-body.ts SEARCH_KEYS), so it is kept and shown only.
 */
const IMPLEMENTED_PARAMS = new Set(['meta', 'fields', 'index', 'doc_values', 'ignore_above', 'fielddata', 'store'])
/** ObjectMapper.TypeParser.parseObjectOrDocumentTypeProperties (+ NestedObjectMapper's include_in_*). */
const OBJECT_PARAMS = ['properties', 'dynamic', 'enabled', 'subobjects']
const NESTED_PARAMS = [...OBJECT_PARAMS, 'include_in_parent', 'include_in_root']
/** Field types Elasticsearch (with its default modules and x-pack) registers but the lab does not implement. */
const REAL_TYPES_NOT_IMPLEMENTED = new Set([
  'binary', 'constant_keyword', 'wildcard', 'half_float', 'scaled_float', 'unsigned_long', 'date_nanos', 'alias', 'flattened',
  'join', 'integer_range', 'float_range', 'long_range', 'double_range', 'date_range', 'ip_range', 'version', 'aggregate_metric_double',
  'histogram', 'match_only_text', 'completion', 'search_as_you_type', 'token_count', 'dense_vector', 'sparse_vector', 'rank_feature',
  'rank_features', 'geo_point', 'geo_shape', 'point', 'shape', 'percolator', 'semantic_text', 'passthrough', 'counted_keyword', 'annotated_text', 'murmur3',
])
/** RootObjectMapper's own parameters besides the object ones, and the metadata field mappers a root may configure. */
const ROOT_PARAMS = ['_meta', 'date_detection', 'numeric_detection', 'dynamic_date_formats', 'dynamic_templates', 'runtime', '_source', '_routing', '_field_names', '_data_stream_timestamp', '_doc_count']

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
// MappingParser.checkNoRemainingFields appends " [key : value]" per leftover entry, values as Java prints maps ({k=v, …}).
const javaString = (v: unknown): string =>
  isObj(v) ? `{${Object.entries(v).map(([k, x]) => `${k}=${javaString(x)}`).join(', ')}}` : Array.isArray(v) ? `[${v.map(javaString).join(', ')}]` : String(v)
const leftovers = (m: Record<string, unknown>) => Object.entries(m).map(([k, v]) => ` [${k} : ${javaString(v)}]`).join('')

/**
 * Parses the `mappings` of a create-index body into the lab's MappingSource (dotted paths), refusing what
 * Elasticsearch refuses with its messages and what the lab does not implement with MappingUnsupported.
 */
export function parseExplicitMappings(raw: unknown): MappingSource {
  if (!isObj(raw)) throw new MappingError('mapper_parsing_exception', 'Root mapping definition has unsupported parameters: ' + String(raw))
  // A typeless body may still be wrapped in the single type `_doc` (MapperService.parseMappings: removed type name).
  const m = Object.keys(raw).length === 1 && isObj(raw._doc) ? {...raw._doc} : {...raw}
  const properties: Record<string, FieldDef> = {}
  const out: MappingSource = {properties, dynamicTemplates: []}
  const unknownRoot = Object.fromEntries(Object.entries(m).filter(([k]) => !OBJECT_PARAMS.includes(k) && !ROOT_PARAMS.includes(k) && k !== 'subobjects'))
  // DocumentMapperParser: "Root mapping definition has unsupported parameters: " + remaining entries.
  if (Object.keys(unknownRoot).length > 0) throw new MappingError('mapper_parsing_exception', `Root mapping definition has unsupported parameters: ${leftovers(unknownRoot)}`)
  for (const key of ['date_detection', 'numeric_detection', 'dynamic_date_formats', 'dynamic_templates', 'runtime', '_source', '_routing', '_field_names', '_data_stream_timestamp', '_doc_count', 'enabled', 'subobjects']) {
    if (m[key] !== undefined) throw new MappingUnsupported(`the lab does not implement the mapping parameter [${key}] at the root of explicit mappings`)
  }
  if (m.dynamic !== undefined) out.dynamic = parseDynamic(m.dynamic, 'dynamic')
  // RootObjectMapper: _meta must be an object; it is kept and returned as given.
  if (m._meta !== undefined) {
    if (!isObj(m._meta)) throw new MappingError('mapper_parsing_exception', `[_meta] must be an object, got [${String(m._meta)}]`)
    out.meta = m._meta
  }
  if (m.properties !== undefined) parseProperties(m.properties, '', properties)
  return out
}

// ObjectMapper.TypeParser: "strict" and "runtime" by name, anything else through nodeBooleanValue.
function parseDynamic(v: unknown, where: string): string {
  const s = String(v).toLowerCase()
  if (s === 'strict') return 'strict'
  if (s === 'runtime') throw new MappingUnsupported('the lab does not implement dynamic: runtime (runtime fields)')
  if (v === true || v === 'true') return 'true'
  if (v === false || v === 'false') return 'false'
  throw new MappingError('mapper_parsing_exception', `Can't parse [${where}] as a boolean [${String(v)}]`)
}

function parseProperties(raw: unknown, prefix: string, into: Record<string, FieldDef>): void {
  // ObjectMapper.TypeParser: an empty list stands for no properties (clients that cannot send an empty map).
  if (Array.isArray(raw) && raw.length === 0) return
  if (!isObj(raw)) throw new MappingError('mapper_parsing_exception', 'properties must be a map type')
  for (const [name, node] of Object.entries(raw)) {
    // ObjectMapper.validateFieldName: empty names are refused before anything else.
    if (name === '') throw new MappingError('illegal_argument_exception', 'field name cannot be an empty string')
    if (name.trim() === '') throw new MappingError('illegal_argument_exception', 'field name cannot contain only whitespaces')
    if (Array.isArray(node) && node.length === 0) continue
    if (!isObj(node)) throw new MappingError('mapper_parsing_exception', `Expected map for property [fields] on field [${name}] but got a class java.lang.String`)
    const path = prefix + name
    let type: string
    if (node.type !== undefined) type = String(node.type)
    else if (node.properties !== undefined || (Object.keys(node).length === 1 && node.enabled !== undefined)) type = 'object'
    else throw new MappingError('mapper_parsing_exception', `No type specified for field [${name}]`)
    into[path] = parseField(name, path, type, node, into)
  }
}

function parseField(name: string, path: string, type: string, node: Record<string, unknown>, into: Record<string, FieldDef>): FieldDef {
  const leaf = name.slice(name.lastIndexOf('.') + 1)
  const rest = Object.fromEntries(Object.entries(node).filter(([k]) => k !== 'type'))
  if (type === 'object' || type === 'nested') {
    const allowed = type === 'object' ? OBJECT_PARAMS : NESTED_PARAMS
    const unknown = Object.fromEntries(Object.entries(rest).filter(([k]) => !allowed.includes(k)))
    // MappingParser.checkNoRemainingFields(fieldName, node) for the parameters no object parser consumed.
    if (Object.keys(unknown).length > 0) throw new MappingError('mapper_parsing_exception', `Mapping definition for [${name}] has unsupported parameters: ${leftovers(unknown)}`)
    for (const k of ['enabled', 'subobjects', 'include_in_parent', 'include_in_root']) {
      if (rest[k] !== undefined) throw new MappingUnsupported(`the lab does not implement the [${k}] parameter (field [${path}] of type [${type}])`)
    }
    const def: FieldDef = {type}
    if (rest.dynamic !== undefined) def.dynamic = parseDynamic(rest.dynamic, `${name}.dynamic`)
    if (rest.properties !== undefined) parseProperties(rest.properties, `${path}.`, into)
    return def
  }
  const params = TYPE_PARAMS[type]
  if (!params) {
    if (REAL_TYPES_NOT_IMPLEMENTED.has(type)) throw new MappingUnsupported(`the lab does not implement the field type [${type}] (field [${path}])`)
    // ObjectMapper.TypeParser.parseProperties: no TypeParser registered under that name.
    throw new MappingError('mapper_parsing_exception', `No handler for type [${type}] declared on field [${name}]`)
  }
  for (const k of Object.keys(rest)) {
    // FieldMapper.Builder.parse: a parameter the mapper does not declare.
    if (!params.includes(k)) throw new MappingError('mapper_parsing_exception', `unknown parameter [${k}] on mapper [${leaf}] of type [${type}]`)
    if (!IMPLEMENTED_PARAMS.has(k)) throw new MappingUnsupported(`the lab does not implement the mapping parameter [${k}] (field [${path}] of type [${type}])`)
  }
  const def: FieldDef = {type}
  for (const k of ['index', 'doc_values', 'fielddata', 'store'] as const) {
    if (rest[k] === undefined) continue
    // FieldMapper.Parameter.boolParam: XContentMapValues.nodeBooleanValue accepts true/false (and their strings).
    if (rest[k] !== true && rest[k] !== false && rest[k] !== 'true' && rest[k] !== 'false') {
      throw new MappingError('mapper_parsing_exception', `Failed to parse value [${String(rest[k])}] as only [true] or [false] are allowed.`)
    }
    def[k] = rest[k] === true || rest[k] === 'true'
  }
  if (rest.ignore_above !== undefined) {
    const n = Number(rest.ignore_above)
    if (!Number.isInteger(n)) throw new MappingError('mapper_parsing_exception', `Failed to parse value [${String(rest.ignore_above)}] for parameter [ignore_above]`)
    def.ignore_above = n
  }
  if (rest.meta !== undefined) def.meta = rest.meta
  if (rest.fields !== undefined) {
    if (!isObj(rest.fields)) throw new MappingError('mapper_parsing_exception', `Expected map for property [fields] on field [${name}] but got a ${typeof rest.fields}`)
    const subs: Record<string, FieldDef> = {}
    for (const [sub, subNode] of Object.entries(rest.fields)) {
      if (!isObj(subNode)) throw new MappingError('mapper_parsing_exception', `Expected map for property [fields] on field [${sub}] but got a ${typeof subNode}`)
      const subType = subNode.type === undefined ? undefined : String(subNode.type)
      // FieldMapper.MultiFields: every multi-field needs a leaf type.
      if (subType === undefined) throw new MappingError('mapper_parsing_exception', `No type specified for field [${sub}]`)
      if (subType === 'object' || subType === 'nested') throw new MappingError('mapper_parsing_exception', `Type [${subType}] cannot be used in multi field`)
      subs[sub] = parseField(sub, `${path}.${sub}`, subType, subNode, {})
    }
    def.fields = subs
  }
  return def
}
