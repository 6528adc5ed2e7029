// The lab's Elasticsearch state: index templates, data streams and their backing indices, ingest
// pipelines, documents; the write path (default_pipeline, final_pipeline, @timestamp, constant_keyword
// checks) and target resolution (wildcards, data stream names, backing indices). Only the lab imports it.

import {randomBytes, randomUUID} from 'node:crypto'

import {
  IngestDocument,
  type IngestError,
  ingest,
  ingestErrorBody,
  isMap,
  type JsonMap,
  type PipelineDefinition,
} from './ingest.js'
import {
  DEFAULT_PACKAGE_VERSION,
  LOGS_DEFAULT_PIPELINE,
  PACKAGE_DATASET,
  PACKAGE_NAME,
  fleetInstalledPipeline,
  pipelineIdFor,
  tetragonScripts,
} from './pipeline.js'
import {builtinLogsMappings, fleetPackageMappings, IndexMapping, type MappingSource} from './mappings.js'
import {EsHttpError, type StoredDoc} from './query.js'

export interface TemplateSettings {
  default_pipeline?: string
  final_pipeline?: string
  lifecycle?: string
  /** `logsdb` for new logs-*-* data streams on Elasticsearch >= 9.0 (Elastic docs "Logs data streams"). */
  mode?: string
  /** index.number_of_replicas of a user template (indices.put_index_template), applied to the indices it creates. */
  number_of_replicas?: string
}

export interface IndexTemplate {
  name: string
  /** As `GET _index_template/<name>` returns it under `index_template`. */
  body: Record<string, unknown>
  settings: TemplateSettings
  /** constant_keyword fields of the effective mapping; null = declared without a value. */
  constants: Record<string, string | null>
  /** The composed mappings of its component templates (./mappings.ts). */
  mappings: MappingSource
}

export interface BackingIndex {
  name: string
  uuid: string
  createdAt: number
  dataStream?: string
  /** Settings fixed when the index was created from the template matching at that time. */
  settings: TemplateSettings
  /** Template the index was created from (undefined = none matched). */
  template?: string
  constants: Record<string, string | null>
  /** Template mappings plus the fields writes mapped dynamically. */
  mapping: IndexMapping
  /** index.number_of_replicas as created (a string, as settings are kept); undefined = the default 1. */
  numberOfReplicas?: string
}

export interface DataStream {
  name: string
  indices: BackingIndex[]
  generation: number
  meta?: Record<string, unknown>
}

const FLEET_META = {package: {name: PACKAGE_NAME}, managed_by: 'fleet', managed: true}

/** Elasticsearch's built-in `logs` template (x-pack template-resources logs@template.json, logs@settings.json). */
export function builtinLogsTemplate(major: 8 | 9): IndexTemplate {
  return {
    name: 'logs',
    body: {
      index_patterns: ['logs-*-*'],
      composed_of: ['logs@mappings', 'logs@settings', 'logs@custom', 'ecs@mappings'],
      priority: 100,
      version: major === 8 ? 13 : 16,
      _meta: {description: 'default logs template installed by x-pack', managed: true},
      data_stream: {hidden: false, allow_custom_routing: false},
      allow_auto_create: true,
      ignore_missing_component_templates: ['logs@custom'],
    },
    settings: {default_pipeline: 'logs@default-pipeline', lifecycle: 'logs@lifecycle', ...(major >= 9 ? {mode: 'logsdb'} : {})},
    // logs@mappings: only data_stream.type has a value.
    constants: new IndexMapping(builtinLogsMappings()).constants(),
    mappings: builtinLogsMappings(),
  }
}

/** The index template Fleet installs for the package (priority 200, composed_of the Fleet component templates, _meta.managed_by fleet). */
export function fleetTemplate(version: string, major: 8 | 9): IndexTemplate {
  const name = `logs-${PACKAGE_DATASET}`
  return {
    name,
    body: {
      index_patterns: [`${name}-*`],
      template: {settings: {}, mappings: {_meta: FLEET_META}},
      composed_of: [
        'logs@mappings',
        'logs@settings',
        `${name}@package`,
        'logs@custom',
        `${name}@custom`,
        'ecs@mappings',
        '.fleet_globals-1',
        '.fleet_agent_id_verification-1',
      ],
      priority: 200,
      _meta: FLEET_META,
      data_stream: {hidden: false, allow_custom_routing: false},
      ignore_missing_component_templates: ['logs@custom', `${name}@custom`],
    },
    settings: {
      default_pipeline: pipelineIdFor(version),
      final_pipeline: '.fleet_final_pipeline-1',
      lifecycle: 'logs@lifecycle',
      ...(major >= 9 ? {mode: 'logsdb'} : {}),
    },
    // base-fields.yml: event.module / event.dataset carry values; data_stream.* do not, except
    // data_stream.type from logs@mappings; the package's base-fields.yml leaves it without value.
    constants: new IndexMapping(fleetPackageMappings()).constants(),
    mappings: fleetPackageMappings(),
  }
}

/**
 * Fleet's final pipeline, reduced to what the lab needs: it stamps `event.ingested`
 * (event.ingested and similar only appear through a final pipeline).
 */
export const FLEET_FINAL_PIPELINE: PipelineDefinition = {
  description: 'Final pipeline for processing all incoming Fleet Agent documents (lab subset: event.ingested only).',
  processors: [{set: {description: 'Add time when event was ingested.', field: 'event.ingested', copy_from: '_ingest.timestamp'}}],
  _meta: {managed_by: 'fleet', managed: true},
}

export type WriteResult =
  | {ok: true; _index: string; _id: string; _seq_no: number; dropped?: boolean}
  | {ok: false; status: number; error: Record<string, unknown>; _index?: string; _id?: string}

const wildcardRe = (p: string) => new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`)

export class EsStore {
  readonly templates = new Map<string, IndexTemplate>()
  readonly pipelines = new Map<string, PipelineDefinition>()
  readonly dataStreams = new Map<string, DataStream>()
  readonly indices = new Map<string, BackingIndex>()
  readonly docs: StoredDoc[] = []
  private seq = 0
  readonly scripts = tetragonScripts()

  constructor(
    readonly major: 8 | 9,
    /** The lab's clock (ms since epoch). */
    readonly now: () => number = Date.now,
  ) {
    this.templates.set('logs', builtinLogsTemplate(major))
    this.pipelines.set('logs@default-pipeline', LOGS_DEFAULT_PIPELINE)
  }

  /** What Fleet puts into Elasticsearch when the package is installed (the EPM package's installationInfo.installed_es). */
  installPackageAssets(version = DEFAULT_PACKAGE_VERSION): Array<{id: string; type: string}> {
    const t = fleetTemplate(version, this.major)
    this.templates.set(t.name, t)
    this.pipelines.set(pipelineIdFor(version), fleetInstalledPipeline(version))
    this.pipelines.set('.fleet_final_pipeline-1', FLEET_FINAL_PIPELINE)
    return [
      {id: pipelineIdFor(version), type: 'ingest_pipeline'},
      {id: t.name, type: 'index_template'},
      {id: `${t.name}@package`, type: 'component_template'},
      {id: `${t.name}@custom`, type: 'component_template'},
    ]
  }

  /** MetadataIndexTemplateService.findV2Template: the highest-priority template whose pattern matches. */
  findTemplate(name: string): IndexTemplate | undefined {
    let best: IndexTemplate | undefined
    for (const t of this.templates.values()) {
      const patterns = (t.body.index_patterns as string[]) ?? []
      if (!patterns.some((p) => wildcardRe(p).test(name))) continue
      if (!best || Number(t.body.priority ?? 0) > Number(best.body.priority ?? 0)) best = t
    }
    return best
  }

  private newBackingIndex(ds: string, generation: number, template: IndexTemplate | undefined): BackingIndex {
    const d = new Date(this.now())
    const date = `${d.getUTCFullYear()}.${String(d.getUTCMonth() + 1).padStart(2, '0')}.${String(d.getUTCDate()).padStart(2, '0')}`
    const idx: BackingIndex = {
      name: `.ds-${ds}-${date}-${String(generation).padStart(6, '0')}`,
      uuid: randomBytes(16).toString('base64url').slice(0, 22),
      createdAt: this.now(),
      dataStream: ds,
      settings: {...(template?.settings ?? {})},
      template: template?.name,
      constants: {...(template?.constants ?? {})},
      mapping: new IndexMapping(template?.mappings ?? {properties: {}, dynamicTemplates: []}),
    }
    this.indices.set(idx.name, idx)
    return idx
  }

  /** Creates the data stream from the template matching now (what the first write does). */
  createDataStream(name: string): DataStream {
    const t = this.findTemplate(name)
    if (!t || !t.body.data_stream) {
      throw new EsHttpError(400, 'illegal_argument_exception', `no matching index template found for data stream [${name}]`)
    }
    const ds: DataStream = {name, generation: 1, indices: [], meta: t.body._meta as Record<string, unknown> | undefined}
    ds.indices.push(this.newBackingIndex(name, 1, t))
    this.dataStreams.set(name, ds)
    return ds
  }

  /** Rollover: the new write index takes the settings of the template that matches now. */
  rollover(name: string): {old_index: string; new_index: string} {
    const ds = this.dataStreams.get(name)
    if (!ds) throw new EsHttpError(404, 'index_not_found_exception', `no such index [${name}]`, {'resource.type': 'index_or_alias', 'resource.id': name, index_uuid: '_na_', index: name})
    const old = ds.indices[ds.indices.length - 1].name
    ds.generation++
    ds.indices.push(this.newBackingIndex(name, ds.generation, this.findTemplate(name)))
    return {old_index: old, new_index: ds.indices[ds.indices.length - 1].name}
  }

  /**
   * Resolves a target expression (`logs-*`, `a,b`, a data stream, a backing index) to backing indices.
   * Wildcards that match nothing resolve to nothing; missing concrete names are reported.
   */
  resolve(expression: string): {indices: BackingIndex[]; missing: string[]; names: string[]} {
    const out = new Map<string, BackingIndex>()
    const missing: string[] = []
    const names: string[] = []
    for (const part of expression.split(',').map((s) => s.trim()).filter(Boolean)) {
      const exclude = part.startsWith('-')
      const p = exclude ? part.slice(1) : part
      const all = p === '_all' || p === '*'
      const re = wildcardRe(all ? '*' : p)
      const isPattern = all || p.includes('*')
      let found = false
      for (const ds of this.dataStreams.values()) {
        if (re.test(ds.name)) {
          found = true
          names.push(ds.name)
          for (const i of ds.indices) exclude ? out.delete(i.name) : out.set(i.name, i)
        }
      }
      for (const i of this.indices.values()) {
        // Backing indices are hidden: wildcards do not expand to them, only their exact name does.
        if ((i.dataStream && isPattern) || !re.test(i.name)) continue
        found = true
        names.push(i.name)
        exclude ? out.delete(i.name) : out.set(i.name, i)
      }
      if (!found && !isPattern && !exclude) missing.push(p)
    }
    return {indices: [...out.values()], missing, names}
  }

  docsIn(indices: BackingIndex[]): StoredDoc[] {
    const set = new Set(indices.map((i) => i.name))
    return this.docs.filter((d) => set.has(d._index))
  }

  /** A plain (non data stream) index with the settings of the template matching its name. */
  createIndex(name: string, numberOfReplicas?: string, explicit?: MappingSource): BackingIndex {
    const t = this.findTemplate(name)
    // MetadataCreateIndexService: the request's mappings are merged over the matching template's (request wins).
    const base = t?.mappings ?? {properties: {}, dynamicTemplates: []}
    const source: MappingSource = explicit
      ? {...base, properties: {...base.properties, ...explicit.properties}, dynamic: explicit.dynamic ?? base.dynamic, meta: explicit.meta ?? base.meta}
      : base
    const index: BackingIndex = {
      name,
      uuid: randomUUID(),
      createdAt: this.now(),
      settings: {...(t?.settings ?? {})},
      template: t?.name,
      constants: {...(t?.constants ?? {})},
      mapping: new IndexMapping(source),
      ...((numberOfReplicas ?? t?.settings.number_of_replicas) !== undefined ? {numberOfReplicas: numberOfReplicas ?? t?.settings.number_of_replicas} : {}),
    }
    delete index.settings.mode
    this.indices.set(name, index)
    return index
  }

  /** Index one document the way a bulk `create` item / `POST <target>/_doc` does. */
  write(target: string, source: JsonMap, opts: {opType?: 'create' | 'index'; id?: string; pipeline?: string} = {}): WriteResult {
    let ds = this.dataStreams.get(target)
    let index = ds ? ds.indices[ds.indices.length - 1] : this.indices.get(target)
    if (!ds && !index) {
      const t = this.findTemplate(target)
      if (t?.body.data_stream) {
        ds = this.createDataStream(target)
        index = ds.indices[0]
      } else {
        index = this.createIndex(target)
      }
    }
    index = index!
    if (ds && opts.opType === 'index') {
      return {ok: false, status: 400, error: err('illegal_argument_exception', 'only write ops with an op_type of create are allowed in data streams')}
    }
    const id = opts.id ?? randomBytes(15).toString('base64url')
    const doc = new IngestDocument(source, {_index: target, _id: id}, new Date(this.now()))
    for (const pid of [opts.pipeline ?? index.settings.default_pipeline, index.settings.final_pipeline]) {
      if (!pid || pid === '_none') continue
      const def = this.pipelines.get(pid)
      if (!def) return {ok: false, status: 400, _index: index.name, _id: id, error: err('illegal_argument_exception', `pipeline with id [${pid}] does not exist`)}
      const r = ingest(pid, def, doc, {pipelines: this.pipelines, scripts: this.scripts})
      if (r.status === 'dropped') return {ok: true, _index: index.name, _id: id, _seq_no: -1, dropped: true}
      if (r.status === 'failed') return {ok: false, status: 400, _index: index.name, _id: id, error: ingestErrorBody(r.error as IngestError)}
    }
    const src = doc.source
    if (ds && !('@timestamp' in src)) {
      return {ok: false, status: 400, _index: index.name, _id: id, error: err('document_parsing_exception', '[1:1] failed to parse: data stream timestamp field [@timestamp] is missing')}
    }
    // DocumentParser: a field an object mapped `dynamic: strict` does not declare fails the whole document.
    const strict = index.mapping.strictViolation(src)
    if (strict) {
      return {ok: false, status: 400, _index: index.name, _id: id, error: err('strict_dynamic_mapping_exception', `[1:1] mapping set to strict, dynamic introduction of [${strict[0]}] within [${strict[1]}] is not allowed`)}
    }
    // constant_keyword: a value must equal the mapping's; the first value sets an unset one.
    const updates: Record<string, string> = {}
    for (const [field, constant] of Object.entries(index.constants)) {
      const vals = valuesAt(src, field)
      for (const v of vals) {
        if (constant === null && updates[field] === undefined) updates[field] = String(v)
        const expected = constant ?? updates[field]
        if (String(v) !== expected) {
          return {
            ok: false,
            status: 400,
            _index: index.name,
            _id: id,
            error: {
              ...err('document_parsing_exception', `[1:1] failed to parse field [${field}] of type [constant_keyword] in document with id '${id}'. Preview of field's value: '${String(v)}'`),
              caused_by: {type: 'illegal_argument_exception', reason: `[constant_keyword] field [${field}] only accepts values that are equal to the value defined in the mappings [${expected}], but got [${String(v)}]`},
            },
          }
        }
      }
    }
    Object.assign(index.constants, updates)
    for (const [field, value] of Object.entries(updates)) {
      const e = index.mapping.get(field)
      if (e) e.def.value = value
    }
    index.mapping.mapDocument(src)
    const stored: StoredDoc = {_id: id, _index: index.name, target, _source: src, _seq_no: this.seq++, constants: index.constants, mapping: index.mapping}
    this.docs.push(stored)
    return {ok: true, _index: index.name, _id: id, _seq_no: stored._seq_no}
  }
}

function err(type: string, reason: string): Record<string, unknown> {
  return {type, reason}
}

function valuesAt(src: JsonMap, path: string): unknown[] {
  const out: unknown[] = []
  const walk = (node: unknown, rest: string) => {
    if (Array.isArray(node)) return node.forEach((n) => walk(n, rest))
    if (!isMap(node as JsonMap)) return
    for (const [k, v] of Object.entries(node as JsonMap)) {
      if (k === rest) (Array.isArray(v) ? v : [v]).forEach((x) => x !== null && out.push(x))
      else if (rest.startsWith(`${k}.`)) walk(v, rest.slice(k.length + 1))
    }
  }
  walk(src, path)
  return out
}
