// Emulation of the `cilium_tetragon` ingest pipeline (elastic/integrations packages/tetragon/data_stream/log/elasticsearch/ingest_pipeline/default.yml). The definition is the package's
// own default.yml (fixtures/elastic/cilium_tetragon-log-default-pipeline.yml, copied from
// elastic/integrations 01e2fd9); the generic engine in ./ingest.ts runs it processor by processor, and
// the two Painless scripts are re-implemented below. Only tests and the lab import this file.

import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {parse as parseYaml} from 'yaml'
import {
  IngestDocument,
  type IngestContext,
  type IngestOutcome,
  IngestError,
  ingest,
  isMap,
  javaType,
  type Json,
  type JsonMap,
  type PipelineDefinition,
  type ScriptImpl,
} from './ingest.js'

export const PACKAGE_NAME = 'cilium_tetragon'
/** Dataset of the package's only data stream (manifest `name: cilium_tetragon`, data stream dir `log`). */
export const PACKAGE_DATASET = 'cilium_tetragon.log'
export const DEFAULT_PACKAGE_VERSION = '0.2.1'

/** Fleet names integration pipelines `${type}-${dataset}-${packageVersion}` (elastic/kibana getPipelineNameForDatastream). */
export const pipelineIdFor = (version: string) => `logs-${PACKAGE_DATASET}-${version}`

const FIXTURE = fileURLToPath(new URL('../../../fixtures/elastic/cilium_tetragon-log-default-pipeline.yml', import.meta.url))

let cached: PipelineDefinition | undefined
/** The pipeline exactly as the package ships it (what elastic-package installs for pipeline tests). */
export function packagePipeline(): PipelineDefinition {
  cached ??= parseYaml(readFileSync(FIXTURE, 'utf8')) as PipelineDefinition
  return structuredClone(cached)
}

/**
 * The pipeline as Fleet installs it: the package's processors followed by `pipeline` processors for the
 * `@custom` hooks, all `ignore_missing_pipeline: true` (elastic/kibana
 * server/services/epm/elasticsearch/ingest_pipeline/helpers.ts), plus Fleet's `_meta`.
 */
export function fleetInstalledPipeline(version = DEFAULT_PACKAGE_VERSION): PipelineDefinition {
  const def = packagePipeline()
  const hooks: Array<[string, string]> = [
    ['global@custom', '[Fleet] Global pipeline for all data streams'],
    ['logs@custom', '[Fleet] Pipeline for all data streams of type `logs`'],
    [`logs-${PACKAGE_NAME}.integration@custom`, `[Fleet] Pipeline for all data streams of type \`logs\` defined by the \`${PACKAGE_NAME}\` integration`],
    [`logs-${PACKAGE_DATASET}@custom`, `[Fleet] Pipeline for the \`${PACKAGE_DATASET}\` dataset`],
  ]
  for (const [name, description] of hooks) def.processors.push({pipeline: {name, ignore_missing_pipeline: true, description}})
  def._meta = {managed_by: 'fleet', managed: true, package: {name: PACKAGE_NAME}}
  return def
}

// ---------------------------------------------------------------------------------------------
// The two Painless scripts of the pipeline, re-implemented with Painless semantics.

/** Painless `a?.b` on a def value: null-safe, a missing map key is null, a non-map is a script error. */
function safeGet(v: Json | undefined, key: string): Json {
  if (v === null || v === undefined) return null
  if (!isMap(v)) throw new IngestError(`dynamic getter [${javaType(v)}, ${key}] not found`, 'script_exception')
  return Object.prototype.hasOwnProperty.call(v, key) ? v[key] : null
}

function strictGet(v: Json | undefined, key: string): Json {
  if (v === null || v === undefined) throw new IngestError(`Cannot invoke "Object.getClass()" because value is null`, 'script_exception')
  return safeGet(v, key)
}

const WITH_PROCESS = new Set(['process_exec', 'process_exit', 'process_kprobe', 'process_tracepoint', 'process_loader', 'process_lsm', 'process_uprobe'])
const WITH_PARENT = new Set(['process_exec', 'process_exit', 'process_kprobe', 'process_tracepoint', 'process_lsm', 'process_uprobe'])

/**
 * `copy_processes`: points `_tmp_.process` / `_tmp_.parent` at the event's own `process` / `parent`
 * maps. Painless assigns references, so later renames out of `_tmp_.process.*` also remove the fields
 * from `cilium_tetragon.log.<event>.process` (default.yml script `copy_processes`).
 */
const copyProcesses: ScriptImpl = (doc) => {
  const map = doc.source
  const log = safeGet(safeGet(map, 'cilium_tetragon'), 'log')
  if (log === null) {
    // `for (def k : null)`: Painless iterates through the value's iterator.
    throw new IngestError('Cannot invoke "java.lang.Iterable.iterator()" because the return value of "keySet()" is null', 'script_exception')
  }
  if (!isMap(log)) throw new IngestError(`dynamic method [${javaType(log)}, keySet/0] not found`, 'script_exception')
  for (const k of Object.keys(log)) {
    for (const [set, key] of [
      [WITH_PROCESS, 'process'],
      [WITH_PARENT, 'parent'],
    ] as const) {
      if (!set.has(k)) continue
      if (safeGet(map, '_tmp_') === null) map._tmp_ = {}
      const tmp = map._tmp_
      const value = strictGet(log[k], key)
      if (!isMap(tmp)) throw new IngestError(`dynamic setter [${javaType(tmp)}, ${key}] not found`, 'script_exception')
      tmp[key] = value
    }
  }
}

/** `script_drop_null_empty_values`: recursively drops null / "" values, empty maps and empty lists. */
const dropNullEmpty: ScriptImpl = (doc) => {
  const drop = (o: Json): boolean => {
    if (o === null || o === '') return true
    if (Array.isArray(o)) {
      for (let i = o.length - 1; i >= 0; i--) if (drop(o[i])) o.splice(i, 1)
      return o.length === 0
    }
    if (isMap(o)) {
      for (const k of Object.keys(o)) if (drop(o[k])) delete o[k]
      return Object.keys(o).length === 0
    }
    return false
  }
  drop(doc.source)
}

/** Scripts keyed by their source text, so a changed script is not silently run with old semantics. */
export function tetragonScripts(def: PipelineDefinition = packagePipeline()): Map<string, ScriptImpl> {
  const byTag: Record<string, ScriptImpl> = {copy_processes: copyProcesses, script_drop_null_empty_values: dropNullEmpty}
  const out = new Map<string, ScriptImpl>()
  for (const p of def.processors) {
    const s = p.script
    if (s && typeof s.tag === 'string' && byTag[s.tag]) out.set(String(s.source).trim(), byTag[s.tag])
  }
  return out
}

/** The Elasticsearch built-in `logs@default-pipeline` (x-pack template-resources, 8.x). */
export const LOGS_DEFAULT_PIPELINE: PipelineDefinition = {
  processors: [
    {set: {description: "If '@timestamp' is missing, set it with the ingest timestamp", field: '@timestamp', override: false, copy_from: '_ingest.timestamp'}},
    {
      pipeline: {
        name: 'logs@custom',
        ignore_missing_pipeline: true,
        description: 'A custom pipeline for logs data streams, which does not exist by default, but can be added if additional processing is required',
      },
    },
  ],
  _meta: {description: 'default pipeline for the logs index template installed by x-pack', managed: true},
}

export function defaultIngestContext(pipelines: Map<string, PipelineDefinition> = new Map()): IngestContext {
  return {pipelines, scripts: tetragonScripts()}
}

/**
 * Runs one document through the package pipeline as the top-level pipeline (default_pipeline or
 * `_ingest/pipeline/<id>/_simulate`).
 */
export function runTetragonPipeline(
  source: JsonMap,
  opts: {pipelineId?: string; definition?: PipelineDefinition; ctx?: IngestContext; now?: Date; index?: string} = {},
): IngestOutcome {
  const id = opts.pipelineId ?? pipelineIdFor(DEFAULT_PACKAGE_VERSION)
  const def = opts.definition ?? packagePipeline()
  const doc = new IngestDocument(source, {_index: opts.index}, opts.now)
  return ingest(id, def, doc, opts.ctx ?? defaultIngestContext())
}

/**
 * How elastic-package turns a raw `.log` test line into a document: `{"message": <line>}` plus the
 * test config's `fields` (elastic-package internal/testrunner/runners/pipeline testcase.go). The
 * package's expected outputs carry `tags: ["preserve_original_event"]`, which the pipeline does not
 * add, so the upstream test config adds it (packages/tetragon/data_stream/log/_dev/test/pipeline/).
 */
export function pipelineTestEvent(line: string, fields: JsonMap = {tags: ['preserve_original_event']}): JsonMap {
  return {message: line, ...structuredClone(fields)}
}

/** elastic-package splits raw input on lines (bufio.Scanner); a final newline yields no extra entry. */
export function rawTestEntries(text: string): string[] {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''))
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop()
  return lines
}
