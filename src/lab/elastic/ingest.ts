// A small emulation of the Elasticsearch ingest node: IngestDocument field paths, the processors the
// `cilium_tetragon` pipeline and Fleet use, conditions, templates, pipeline-level and processor-level
// on_failure. It follows the Elasticsearch 8.x sources (server/src/main/java/org/elasticsearch/ingest/
// IngestDocument.java, CompoundProcessor.java; modules/ingest-common/.../{Set,Rename,Json,Split,Convert,
// Remove,Append}Processor.java). Only tests and the lab import this file.

export type Json = null | boolean | number | string | Json[] | {[k: string]: Json}
export type JsonMap = {[k: string]: Json}

export const isMap = (v: unknown): v is JsonMap => typeof v === 'object' && v !== null && !Array.isArray(v)
const has = (m: JsonMap, k: string) => Object.prototype.hasOwnProperty.call(m, k)

/** The Java class name Elasticsearch puts into its error messages for a parsed JSON value. */
export function javaType(v: unknown): string {
  if (typeof v === 'string') return 'java.lang.String'
  if (typeof v === 'boolean') return 'java.lang.Boolean'
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) return 'java.lang.Double'
    // Jackson yields Integer when the value fits 32 bits, Long otherwise.
    return v >= -2147483648 && v <= 2147483647 ? 'java.lang.Integer' : 'java.lang.Long'
  }
  if (Array.isArray(v)) return 'java.util.ArrayList'
  if (v === null) return 'null'
  return 'java.util.HashMap'
}

/** Object.toString() of the Java value (what convert/json use on non-strings). */
export function javaToString(v: unknown): string {
  if (v === null || v === undefined) return 'null'
  if (typeof v === 'string') return v
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : javaDouble(v)
  if (typeof v === 'boolean') return String(v)
  if (Array.isArray(v)) return `[${v.map(javaToString).join(', ')}]`
  return `{${Object.entries(v as JsonMap).map(([k, x]) => `${k}=${javaToString(x)}`).join(', ')}}`
}

function javaDouble(v: number): string {
  const s = String(v)
  return s.includes('.') || s.includes('e') ? s : `${s}.0`
}

export const deepCopy = <T>(v: T): T => (v === undefined ? v : structuredClone(v))

/** An exception thrown by a processor; `message` is what `_ingest.on_failure_message` receives. */
export class IngestError extends Error {
  /** Elasticsearch exception type, for error bodies (`illegal_argument_exception`, `script_exception` …). */
  esType: string
  processorType?: string
  processorTag?: string
  /** First element of the pipeline stack when the failure happened inside a nested pipeline. */
  pipelineOrigin?: string
  constructor(message: string, esType = 'illegal_argument_exception') {
    super(message)
    this.esType = esType
  }
}

const iae = (m: string) => new IngestError(m)

// ---------------------------------------------------------------------------------------------
// IngestDocument

export class IngestDocument {
  source: JsonMap
  ingest: JsonMap
  /** Metadata kept outside _source: _index, _id … */
  meta: {[k: string]: Json; _index: string; _id: string}
  /** Pipelines executed so far, outermost first (IngestDocument.executedPipelines). */
  readonly executed: string[] = []

  constructor(source: JsonMap, meta: {_index?: string; _id?: string} = {}, now = new Date()) {
    this.source = source
    this.ingest = {timestamp: now.toISOString()}
    this.meta = {_index: meta._index ?? '_index', _id: meta._id ?? '_id'}
  }

  /** Most recent pipeline first, as IngestDocument.getPipelineStack(). */
  pipelineStack(): string[] {
    return [...this.executed].reverse()
  }

  private root(path: string): {root: JsonMap; parts: string[]} {
    if (path === '' || path == null) throw iae('path cannot be null nor empty')
    if (path.startsWith('_ingest.')) return {root: this.ingest, parts: path.slice(8).split('.')}
    if (path.startsWith('_source.')) return {root: this.source, parts: path.slice(8).split('.')}
    if (path === '_index' || path === '_id') return {root: this.meta, parts: [path]}
    return {root: this.source, parts: path.split('.')}
  }

  hasField(path: string, failOutOfRange = false): boolean {
    const {root, parts} = this.root(path)
    let ctx: Json = root
    for (let i = 0; i < parts.length; i++) {
      const el = parts[i]
      if (isMap(ctx)) {
        if (!has(ctx, el)) return false
        ctx = ctx[el]
      } else if (Array.isArray(ctx)) {
        const idx = Number(el)
        if (!/^-?\d+$/.test(el)) return false
        if (idx < 0 || idx >= ctx.length) {
          if (failOutOfRange) throw iae(`[${el}] is out of bounds for array with length [${ctx.length}] as part of path [${path}]`)
          return false
        }
        ctx = ctx[idx]
      } else {
        return false
      }
    }
    return true
  }

  getFieldValue(path: string, ignoreMissing = false): Json | undefined {
    const {root, parts} = this.root(path)
    let ctx: Json = root
    for (const el of parts) {
      if (ctx === null) {
        if (ignoreMissing) return undefined
        throw iae(`cannot resolve [${el}] from null as part of path [${path}]`)
      }
      if (isMap(ctx)) {
        if (!has(ctx, el)) {
          if (ignoreMissing) return undefined
          throw iae(`field [${el}] not present as part of path [${path}]`)
        }
        ctx = ctx[el]
      } else if (Array.isArray(ctx)) {
        if (!/^-?\d+$/.test(el)) {
          if (ignoreMissing) return undefined
          throw iae(`[${el}] is not an integer, cannot be used as an index as part of path [${path}]`)
        }
        const idx = Number(el)
        if (idx < 0 || idx >= ctx.length) {
          if (ignoreMissing) return undefined
          throw iae(`[${idx}] is out of bounds for array with length [${ctx.length}] as part of path [${path}]`)
        }
        ctx = ctx[idx]
      } else {
        if (ignoreMissing) return undefined
        throw iae(`cannot resolve [${el}] from object of type [${javaType(ctx)}] as part of path [${path}]`)
      }
    }
    return ctx
  }

  setFieldValue(path: string, value: Json, append = false, allowDuplicates = true): void {
    const {root, parts} = this.root(path)
    let ctx: Json = root
    for (let i = 0; i < parts.length - 1; i++) {
      const el = parts[i]
      if (ctx === null) throw iae(`cannot set [${el}] with null parent as part of path [${path}]`)
      if (isMap(ctx)) {
        if (!has(ctx, el)) ctx[el] = {}
        ctx = ctx[el]
      } else if (Array.isArray(ctx)) {
        const idx = Number(el)
        if (!/^-?\d+$/.test(el)) throw iae(`[${el}] is not an integer, cannot be used as an index as part of path [${path}]`)
        if (idx < 0 || idx >= ctx.length) throw iae(`[${idx}] is out of bounds for array with length [${ctx.length}] as part of path [${path}]`)
        ctx = ctx[idx]
      } else {
        throw iae(`cannot set [${el}] with parent object of type [${javaType(ctx)}] as part of path [${path}]`)
      }
    }
    const leaf = parts[parts.length - 1]
    if (ctx === null) throw iae(`cannot set [${leaf}] with null parent as part of path [${path}]`)
    if (isMap(ctx)) {
      if (append) ctx[leaf] = appendValues(has(ctx, leaf) ? ctx[leaf] : [], value, allowDuplicates, !has(ctx, leaf))
      else ctx[leaf] = value
    } else if (Array.isArray(ctx)) {
      const idx = Number(leaf)
      if (!/^-?\d+$/.test(leaf)) throw iae(`[${leaf}] is not an integer, cannot be used as an index as part of path [${path}]`)
      if (idx < 0 || idx >= ctx.length) throw iae(`[${idx}] is out of bounds for array with length [${ctx.length}] as part of path [${path}]`)
      ctx[idx] = append ? appendValues(ctx[idx], value, allowDuplicates, false) : value
    } else {
      throw iae(`cannot set [${leaf}] with parent object of type [${javaType(ctx)}] as part of path [${path}]`)
    }
  }

  removeField(path: string): void {
    const {root, parts} = this.root(path)
    let ctx: Json = root
    for (let i = 0; i < parts.length - 1; i++) {
      const el = parts[i]
      if (ctx === null) throw iae(`cannot resolve [${el}] from null as part of path [${path}]`)
      if (isMap(ctx)) {
        if (!has(ctx, el)) throw iae(`field [${el}] not present as part of path [${path}]`)
        ctx = ctx[el]
      } else if (Array.isArray(ctx)) {
        const idx = Number(el)
        if (!/^-?\d+$/.test(el) || idx < 0 || idx >= ctx.length) throw iae(`[${el}] is out of bounds for array with length [${ctx.length}] as part of path [${path}]`)
        ctx = ctx[idx]
      } else {
        throw iae(`cannot remove [${el}] from object of type [${javaType(ctx)}] as part of path [${path}]`)
      }
    }
    const leaf = parts[parts.length - 1]
    if (isMap(ctx)) {
      if (!has(ctx, leaf)) throw iae(`field [${leaf}] not present as part of path [${path}]`)
      delete ctx[leaf]
    } else if (Array.isArray(ctx)) {
      const idx = Number(leaf)
      if (!/^-?\d+$/.test(leaf) || idx < 0 || idx >= ctx.length) throw iae(`[${leaf}] is out of bounds for array with length [${ctx.length}] as part of path [${path}]`)
      ctx.splice(idx, 1)
    } else if (ctx === null) {
      throw iae(`cannot remove [${leaf}] from null as part of path [${path}]`)
    } else {
      throw iae(`cannot remove [${leaf}] from object of type [${javaType(ctx)}] as part of path [${path}]`)
    }
  }
}

/** IngestDocument.appendValues: scalars become a list; a list value appends each element. */
function appendValues(existing: Json, value: Json, allowDuplicates: boolean, fresh: boolean): Json {
  const list: Json[] = fresh ? [] : Array.isArray(existing) ? existing : [existing]
  const values = Array.isArray(value) ? value : [value]
  for (const v of values) {
    if (allowDuplicates || !list.some((x) => JSON.stringify(x) === JSON.stringify(v))) list.push(v)
  }
  return list
}

// ---------------------------------------------------------------------------------------------
// Templates and conditions

/** Mustache `{{{a.b}}}` / `{{a.b}}` rendering as ingest templates do; missing or null renders empty. */
export function renderTemplate(doc: IngestDocument, template: string): string {
  return template.replace(/\{\{\{?\s*([^}\s]+)\s*\}?\}\}/g, (_m, path: string) => {
    const v = doc.hasField(path) ? doc.getFieldValue(path, true) : undefined
    return v === undefined || v === null ? '' : javaToString(v)
  })
}

/**
 * Painless conditions of the shape the package uses: `ctx.a?.b?.c != null` / `== null`.
 * Null-safe navigation yields null for a missing or null link; a non-map link is a script error.
 */
export function evalCondition(doc: IngestDocument, source: string): boolean {
  const m = /^\s*ctx((?:\??\.[A-Za-z_@][\w@]*)+)\s*(==|!=)\s*null\s*$/.exec(source)
  if (!m) throw new IngestError(`the lab cannot evaluate the condition [${source}]`, 'script_exception')
  const steps = [...m[1].matchAll(/(\?)?\.([A-Za-z_@][\w@]*)/g)].map((x) => ({safe: x[1] === '?', key: x[2]}))
  let v: Json | undefined = doc.source
  for (const {safe, key} of steps) {
    if (v === null || v === undefined) {
      if (safe) {
        v = null
        break
      }
      throw new IngestError(`cannot access [${key}] on null`, 'script_exception')
    }
    if (!isMap(v)) throw new IngestError(`dynamic getter [${javaType(v)}, ${key}] not found`, 'script_exception')
    v = has(v, key) ? v[key] : null
  }
  const isNull = v === null || v === undefined
  return m[2] === '==' ? isNull : !isNull
}

// ---------------------------------------------------------------------------------------------
// JSON as the ingest json processor reads it (Jackson via XContent): duplicate keys rejected unless
// allow_duplicate_keys (json processor docs), trailing content rejected when strict_json_parsing (default
// true since 8.7, "Migrating to 8.7"). Error texts follow Jackson's wording; the exact location suffix
// is approximate. Failures here happen before `_tmp_` exists, so the package's on_failure (remove _tmp_
// without ignore_missing) fails too and Elasticsearch rejects the document.

export function parseJsonLikeJackson(text: string, allowDuplicateKeys = false, strict = true): Json {
  let i = 0
  const n = text.length
  const loc = () => {
    const before = text.slice(0, i)
    const line = before.split('\n').length
    const col = i - before.lastIndexOf('\n')
    return ` at [Source: (org.elasticsearch.common.io.stream.ByteBufferStreamInput); line: ${line}, column: ${col}]`
  }
  const fail = (msg: string): never => {
    throw iae(`${msg}\n${loc()}`)
  }
  const ws = () => {
    while (i < n && ' \t\n\r'.includes(text[i])) i++
  }
  const value = (): Json => {
    ws()
    if (i >= n) fail('Unexpected end-of-input: expected a value')
    const c = text[i]
    if (c === '{') return object()
    if (c === '[') return array()
    if (c === '"') return string()
    if (c === '-' || (c >= '0' && c <= '9')) return number()
    for (const [word, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (text.startsWith(word, i)) {
        i += word.length
        return v
      }
    }
    const token = /^[^\s,:{}[\]"]+/.exec(text.slice(i))?.[0] ?? c
    return fail(`Unrecognized token '${token}': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')`)
  }
  const object = (): JsonMap => {
    i++
    const out: JsonMap = {}
    ws()
    if (text[i] === '}') {
      i++
      return out
    }
    for (;;) {
      ws()
      if (i >= n) fail('Unexpected end-of-input: expected close marker for Object')
      if (text[i] !== '"') fail(`Unexpected character ('${text[i]}' (code ${text.charCodeAt(i)})): was expecting double-quote to start field name`)
      const key = string()
      if (!allowDuplicateKeys && has(out, key)) fail(`Duplicate field '${key}'`)
      ws()
      if (text[i] !== ':') fail(i >= n ? 'Unexpected end-of-input: expected close marker for Object' : `Unexpected character ('${text[i]}' (code ${text.charCodeAt(i)})): was expecting a colon to separate field name and value`)
      i++
      out[key] = value()
      ws()
      if (text[i] === ',') {
        i++
        continue
      }
      if (text[i] === '}') {
        i++
        return out
      }
      fail(i >= n ? 'Unexpected end-of-input: expected close marker for Object' : `Unexpected character ('${text[i]}' (code ${text.charCodeAt(i)})): was expecting comma to separate Object entries`)
    }
  }
  const array = (): Json[] => {
    i++
    const out: Json[] = []
    ws()
    if (text[i] === ']') {
      i++
      return out
    }
    for (;;) {
      out.push(value())
      ws()
      if (text[i] === ',') {
        i++
        continue
      }
      if (text[i] === ']') {
        i++
        return out
      }
      fail(i >= n ? 'Unexpected end-of-input: expected close marker for Array' : `Unexpected character ('${text[i]}' (code ${text.charCodeAt(i)})): was expecting comma to separate Array entries`)
    }
  }
  const string = (): string => {
    const start = i
    i++
    while (i < n && text[i] !== '"') {
      if (text[i] === '\\') i++
      else if (text.charCodeAt(i) < 0x20) fail(`Illegal unquoted character ((CTRL-CHAR, code ${text.charCodeAt(i)})): has to be escaped using backslash to be included in string value`)
      i++
    }
    if (i >= n) fail('Unexpected end-of-input in VALUE_STRING')
    i++
    return JSON.parse(text.slice(start, i)) as string
  }
  const number = (): number => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i))
    if (!m) fail(`Unexpected character ('${text[i]}' (code ${text.charCodeAt(i)})) in numeric value`)
    i += m![0].length
    // A root-level number must be followed by white space or the end (Jackson _verifyRootSpace).
    if (i < n && !' \t\n\r,]}'.includes(text[i])) fail(`Unexpected character ('${text[i]}' (code ${text.charCodeAt(i)})): Expected space separating root-level values`)
    return Number(m![0])
  }
  ws()
  // An empty input yields no token: the processor stores null (JsonProcessor.apply).
  if (i >= n) return null
  const v = value()
  ws()
  if (strict && i < n) {
    throw iae(`The input ${text} is not valid JSON and the strict_json_parsing parameter is true`)
  }
  return v
}

// ---------------------------------------------------------------------------------------------
// Processors

export type ProcessorConfig = Record<string, unknown>
export interface PipelineDefinition {
  description?: string
  processors: Array<Record<string, ProcessorConfig>>
  on_failure?: Array<Record<string, ProcessorConfig>>
  _meta?: Record<string, unknown>
  version?: number
}

/** A Painless script the lab knows how to run, identified by its exact source text. */
export type ScriptImpl = (doc: IngestDocument) => void

export interface IngestContext {
  /** Installed pipelines, for `pipeline` processors. */
  pipelines: Map<string, PipelineDefinition>
  /** Painless scripts the lab can execute, keyed by their trimmed source. */
  scripts: Map<string, ScriptImpl>
}

export const SUPPORTED_PROCESSORS = ['set', 'rename', 'json', 'split', 'convert', 'remove', 'append', 'script', 'pipeline', 'lowercase', 'uppercase', 'drop'] as const

const str = (c: ProcessorConfig, k: string): string | undefined => (typeof c[k] === 'string' ? (c[k] as string) : undefined)
const bool = (c: ProcessorConfig, k: string, dflt: boolean): boolean => (typeof c[k] === 'boolean' ? (c[k] as boolean) : dflt)

/** Java String.split(regex, 0): leading empty string kept on a positive-width match, trailing ones dropped. */
export function javaSplit(s: string, javaRegex: string, preserveTrailing = false): string[] {
  // Java's \s is [ \t\n\x0B\f\r]; JavaScript's also matches Unicode spaces.
  const re = new RegExp(javaRegex.replace(/\\s/g, '[ \\t\\n\\x0B\\f\\r]'), 'g')
  if (!re.test(s)) return [s]
  re.lastIndex = 0
  const parts = s.split(re)
  if (!preserveTrailing) while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop()
  return parts
}

class Dropped extends Error {}

function runProcessor(type: string, c: ProcessorConfig, doc: IngestDocument, ctx: IngestContext): void {
  switch (type) {
    case 'set': {
      const field = renderTemplate(doc, str(c, 'field')!)
      const override = bool(c, 'override', true)
      const ignoreEmpty = bool(c, 'ignore_empty_value', false)
      if (override || !doc.hasField(field) || doc.getFieldValue(field) === null) {
        let v: Json
        if (str(c, 'copy_from') !== undefined) v = deepCopy(doc.getFieldValue(str(c, 'copy_from')!) as Json)
        else v = typeof c.value === 'string' ? renderTemplate(doc, c.value) : deepCopy(c.value as Json)
        if (ignoreEmpty && (v === null || v === '')) return
        doc.setFieldValue(field, v)
      }
      return
    }
    case 'rename': {
      const field = renderTemplate(doc, str(c, 'field')!)
      if (!doc.hasField(field)) {
        if (bool(c, 'ignore_missing', false)) return
        throw iae(`field [${field}] doesn't exist`)
      }
      const target = renderTemplate(doc, str(c, 'target_field')!)
      if (doc.hasField(target, true) && !bool(c, 'override', false)) throw iae(`field [${target}] already exists`)
      const v = doc.getFieldValue(field) as Json
      doc.removeField(field)
      try {
        doc.setFieldValue(target, v)
      } catch (e) {
        doc.setFieldValue(field, v)
        throw e
      }
      return
    }
    case 'json': {
      const field = str(c, 'field')!
      const raw = doc.getFieldValue(field) as Json
      const text = raw === null ? 'null' : javaToString(raw)
      const v = parseJsonLikeJackson(text, bool(c, 'allow_duplicate_keys', false), bool(c, 'strict_json_parsing', true))
      if (bool(c, 'add_to_root', false)) {
        if (!isMap(v)) throw iae('cannot add non-map fields to root of document')
        Object.assign(doc.source, v)
      } else {
        doc.setFieldValue(str(c, 'target_field') ?? field, v)
      }
      return
    }
    case 'split': {
      const field = str(c, 'field')!
      const ignoreMissing = bool(c, 'ignore_missing', false)
      const v = doc.getFieldValue(field, ignoreMissing)
      if ((v === undefined || v === null) && ignoreMissing) return
      if (v === null || v === undefined) throw iae(`field [${field}] is null, cannot split.`)
      if (typeof v !== 'string') throw iae(`field [${field}] of type [${javaType(v)}] cannot be cast to [java.lang.String]`)
      doc.setFieldValue(str(c, 'target_field') ?? field, javaSplit(v, str(c, 'separator')!, bool(c, 'preserve_trailing', false)))
      return
    }
    case 'convert': {
      const field = str(c, 'field')!
      const ignoreMissing = bool(c, 'ignore_missing', false)
      const to = str(c, 'type')!
      const v = doc.getFieldValue(field, ignoreMissing)
      if ((v === undefined || v === null) && ignoreMissing) return
      if (v === null || v === undefined) throw iae(`Field [${field}] is null, cannot be converted to type [${to}]`)
      const conv = (x: Json): Json => {
        if (to === 'string') return javaToString(x)
        if (to === 'integer' || to === 'long') {
          const n = typeof x === 'number' ? x : Number(String(x).trim())
          if (!Number.isInteger(n)) throw iae(`unable to convert [${javaToString(x)}] to ${to}`)
          return n
        }
        if (to === 'float' || to === 'double') {
          const n = Number(javaToString(x))
          if (Number.isNaN(n)) throw iae(`unable to convert [${javaToString(x)}] to ${to}`)
          return n
        }
        if (to === 'boolean') {
          const s = javaToString(x).toLowerCase()
          if (s === 'true') return true
          if (s === 'false') return false
          throw iae(`[${javaToString(x)}] is not a boolean value, cannot convert to boolean`)
        }
        if (to === 'auto') return x
        throw iae(`type [${to}] not supported, cannot convert field.`)
      }
      doc.setFieldValue(str(c, 'target_field') ?? field, Array.isArray(v) ? v.map(conv) : conv(v))
      return
    }
    case 'remove': {
      const fields = Array.isArray(c.field) ? (c.field as string[]) : [c.field as string]
      const ignoreMissing = bool(c, 'ignore_missing', false)
      for (const f of fields) {
        const path = renderTemplate(doc, f)
        if (ignoreMissing && !doc.hasField(path)) continue
        doc.removeField(path)
      }
      return
    }
    case 'append': {
      const field = renderTemplate(doc, str(c, 'field')!)
      const render = (x: unknown): Json => (typeof x === 'string' ? renderTemplate(doc, x) : deepCopy(x as Json))
      const value = Array.isArray(c.value) ? c.value.map(render) : render(c.value)
      doc.setFieldValue(field, value, true, bool(c, 'allow_duplicates', true))
      return
    }
    case 'lowercase':
    case 'uppercase': {
      const field = str(c, 'field')!
      const v = doc.getFieldValue(field, bool(c, 'ignore_missing', false))
      if (v === undefined) return
      if (typeof v !== 'string') throw iae(`field [${field}] of type [${javaType(v)}] cannot be cast to [java.lang.String]`)
      doc.setFieldValue(str(c, 'target_field') ?? field, type === 'lowercase' ? v.toLowerCase() : v.toUpperCase())
      return
    }
    case 'drop':
      throw new Dropped()
    case 'script': {
      const source = String(c.source ?? '').trim()
      const impl = ctx.scripts.get(source)
      if (!impl) throw new IngestError('the lab can only run the Painless scripts of the cilium_tetragon pipeline', 'script_exception')
      try {
        impl(doc)
      } catch (e) {
        // ScriptException: the root cause's message reaches on_failure_message.
        if (e instanceof IngestError) throw e
        throw new IngestError((e as Error).message, 'script_exception')
      }
      return
    }
    case 'pipeline': {
      const name = renderTemplate(doc, str(c, 'name')!)
      const def = ctx.pipelines.get(name)
      if (!def) {
        if (bool(c, 'ignore_missing_pipeline', false)) return
        throw iae(`Pipeline processor configured for non-existent pipeline [${name}]`)
      }
      if (doc.executed.includes(name)) throw iae(`Cycle detected for pipeline: ${name}`)
      executePipeline(name, def, doc, ctx)
      return
    }
    default:
      throw new IngestError(`No processor type exists with name [${type}]`, 'parse_exception')
  }
}

/** One processor with its `if`, `ignore_failure` and own `on_failure`. */
function executeOne(entry: Record<string, ProcessorConfig>, doc: IngestDocument, ctx: IngestContext): void {
  const [type, c] = Object.entries(entry)[0]
  if (typeof c.if === 'string' && !evalCondition(doc, c.if)) return
  try {
    runProcessor(type, c, doc, ctx)
  } catch (e) {
    if (e instanceof Dropped) throw e
    if (bool(c, 'ignore_failure', false)) return
    const err = asIngestError(e, type, c, doc)
    const onFailure = Array.isArray(c.on_failure) ? (c.on_failure as Array<Record<string, ProcessorConfig>>) : []
    if (onFailure.length === 0) throw err
    runOnFailure(onFailure, err, doc, ctx)
  }
}

/** CompoundProcessor.newCompoundProcessorException: keep the innermost processor's headers. */
function asIngestError(e: unknown, type: string, c: ProcessorConfig, doc: IngestDocument): IngestError {
  const err = e instanceof IngestError ? e : new IngestError(String((e as Error)?.message ?? e))
  if (err.processorType !== undefined) return err
  err.processorType = type
  err.processorTag = typeof c.tag === 'string' ? c.tag : undefined
  // The pipeline_origin header is only added when pipelines are nested (pipelineStack.size() > 1),
  // so `_ingest.on_failure_pipeline` stays unset for a failure in the top-level pipeline.
  const stack = doc.pipelineStack()
  if (stack.length > 1) err.pipelineOrigin = stack[0]
  return err
}

function runOnFailure(list: Array<Record<string, ProcessorConfig>>, cause: IngestError, doc: IngestDocument, ctx: IngestContext) {
  const meta = doc.ingest
  meta.on_failure_message = cause.message
  meta.on_failure_processor_type = cause.processorType ?? null
  meta.on_failure_processor_tag = cause.processorTag ?? null
  if (cause.pipelineOrigin !== undefined) meta.on_failure_pipeline = cause.pipelineOrigin
  try {
    for (const p of list) executeOne(p, doc, ctx)
  } finally {
    delete meta.on_failure_message
    delete meta.on_failure_processor_type
    delete meta.on_failure_processor_tag
    delete meta.on_failure_pipeline
  }
}

/** Pipeline.execute: the processors, then the pipeline-level on_failure on the first failure. */
export function executePipeline(id: string, def: PipelineDefinition, doc: IngestDocument, ctx: IngestContext): void {
  doc.executed.push(id)
  try {
    for (const p of def.processors) {
      try {
        executeOne(p, doc, ctx)
      } catch (e) {
        if (e instanceof Dropped) throw e
        const type = Object.keys(p)[0]
        const err = asIngestError(e, type, p[type], doc)
        if (!def.on_failure || def.on_failure.length === 0) throw err
        // A failing on_failure processor fails the whole document.
        runOnFailure(def.on_failure, err, doc, ctx)
        return
      }
    }
  } finally {
    doc.executed.pop()
  }
}

export type IngestOutcome =
  | {status: 'ok'; doc: IngestDocument}
  | {status: 'dropped'}
  | {status: 'failed'; error: IngestError}

/** Runs a document through a pipeline; a thrown error means Elasticsearch rejects the document. */
export function ingest(id: string, def: PipelineDefinition, doc: IngestDocument, ctx: IngestContext): IngestOutcome {
  try {
    executePipeline(id, def, doc, ctx)
    return {status: 'ok', doc}
  } catch (e) {
    if (e instanceof Dropped) return {status: 'dropped'}
    return {status: 'failed', error: e instanceof IngestError ? e : new IngestError(String(e))}
  }
}

/** The error body Elasticsearch renders for a failed ingest (simulate docs[].error, bulk item error). */
export function ingestErrorBody(e: IngestError): Record<string, unknown> {
  const header = e.processorType ? {header: {processor_type: e.processorType, ...(e.processorTag ? {processor_tag: e.processorTag} : {})}} : {}
  const one = {type: e.esType, reason: e.message, ...header}
  return {root_cause: [one], ...one}
}

/**
 * A pipeline definition Elasticsearch refuses while building it (ConfigurationUtils.newConfigurationException):
 * an ElasticsearchParseException whose reason names the property, with processor_type / processor_tag /
 * property_name as metadata, which the REST layer renders next to `type` and `reason`.
 */
export class PipelineConfigError {
  constructor(
    readonly reason: string,
    readonly metadata: {processor_type?: string; processor_tag?: string; property_name?: string} = {},
  ) {}
}

/** Properties each processor's Factory reads with readStringProperty / readObject (no default: required). */
const REQUIRED_PROPERTIES: Record<string, string[]> = {
  set: ['field'],
  rename: ['field', 'target_field'],
  json: ['field'],
  split: ['field', 'separator'],
  convert: ['field', 'type'],
  remove: ['field'],
  append: ['field', 'value'],
  lowercase: ['field'],
  uppercase: ['field'],
  pipeline: ['name'],
}

/** Keys ConfigurationUtils.readProcessor consumes for every processor before its Factory reads the rest. */
const COMMON_PROCESSOR_KEYS = ['tag', 'description', 'if', 'ignore_failure', 'on_failure']

/**
 * Per processor, the parameters the lab's runProcessor implements. A Factory consumes the keys it knows and
 * readProcessor refuses whatever is left; the lab refuses the same way what it does not implement.
 */
const PROCESSOR_PARAMS: Record<string, string[]> = {
  set: ['field', 'value', 'copy_from', 'override', 'ignore_empty_value'],
  rename: ['field', 'target_field', 'ignore_missing', 'override'],
  json: ['field', 'target_field', 'add_to_root', 'allow_duplicate_keys', 'strict_json_parsing'],
  split: ['field', 'separator', 'target_field', 'ignore_missing', 'preserve_trailing'],
  convert: ['field', 'type', 'target_field', 'ignore_missing'],
  remove: ['field', 'ignore_missing'],
  append: ['field', 'value', 'allow_duplicates'],
  lowercase: ['field', 'target_field', 'ignore_missing'],
  uppercase: ['field', 'target_field', 'ignore_missing'],
  pipeline: ['name', 'ignore_missing_pipeline'],
  script: ['lang', 'source'],
  drop: [],
}

/** ConfigurationUtils.readMap / readList: a missing property, or one of the wrong shape. */
export function requiredProperty(config: JsonMap, name: string, kind: 'map' | 'list'): PipelineConfigError | undefined {
  const v = config[name]
  if (v === undefined || v === null) return new PipelineConfigError(`[${name}] required property is missing`, {property_name: name})
  const ok = kind === 'map' ? isMap(v) : Array.isArray(v)
  if (!ok) return new PipelineConfigError(`[${name}] property isn't a ${kind}, but of type [${javaType(v)}]`, {property_name: name})
  return undefined
}

/** ConfigurationUtils.readProcessorConfigs / readProcessor: a processor's on_failure list first, then its own properties. */
function validateProcessors(list: unknown[]): PipelineConfigError | undefined {
  for (const entry of list) {
    if (!isMap(entry as Json)) continue
    for (const [type, raw] of Object.entries(entry as JsonMap)) {
      if (raw === null) return new PipelineConfigError('processor config cannot be [null]', {processor_type: type})
      // readProcessor: a bare string is the inline source of a script processor.
      if (type === 'script' && typeof raw === 'string') continue
      if (!isMap(raw)) return new PipelineConfigError(`property isn't a map, but of type [${javaType(raw)}]`, {processor_type: type})
      const c = raw
      const tag = typeof c.tag === 'string' ? c.tag : undefined
      const meta = (property?: string) => ({processor_type: type, ...(tag !== undefined ? {processor_tag: tag} : {}), ...(property ? {property_name: property} : {})})
      if (!(SUPPORTED_PROCESSORS as readonly string[]).includes(type)) return new PipelineConfigError(`No processor type exists with name [${type}]`, meta())
      if (c.on_failure !== undefined && c.on_failure !== null) {
        if (!Array.isArray(c.on_failure)) return new PipelineConfigError(`[on_failure] property isn't a list, but of type [${javaType(c.on_failure)}]`, meta('on_failure'))
        const inner = validateProcessors(c.on_failure)
        if (inner) return inner
        if (c.on_failure.length === 0) return new PipelineConfigError('[on_failure] processors list cannot be empty', meta('on_failure'))
      }
      for (const p of REQUIRED_PROPERTIES[type] ?? []) {
        if (c[p] === undefined || c[p] === null) return new PipelineConfigError(`[${p}] required property is missing`, meta(p))
      }
      // SetProcessor.Factory: `value` is required unless `copy_from` is given, and not both.
      if (type === 'set') {
        if (c.copy_from !== undefined && c.value !== undefined) return new PipelineConfigError('[copy_from] cannot set both `copy_from` and `value` in the same processor', meta('copy_from'))
        if (c.copy_from === undefined && (c.value === undefined || c.value === null)) return new PipelineConfigError('[value] required property is missing', meta('value'))
      }
      // Then ConfigurationUtils.readProcessor, after the Factory: "processor [type] doesn't support one or more provided configuration parameters [...]".
      const unknown = Object.keys(c).filter((k) => !COMMON_PROCESSOR_KEYS.includes(k) && !(PROCESSOR_PARAMS[type] ?? []).includes(k))
      if (unknown.length > 0) return new PipelineConfigError(`processor [${type}] doesn't support one or more provided configuration parameters [${unknown.join(', ')}]`, meta())
    }
  }
  return undefined
}

/** Pipeline.create: `processors` (required), then the pipeline-level `on_failure`, as PUT and simulate build it. */
/** The definition as a PipelineDefinition, once validatePipeline found its shape right; else what is wrong with it. */
export function checkedPipeline(def: unknown, id: string): PipelineDefinition | PipelineConfigError {
  return validatePipeline(def, id) ?? (def as PipelineDefinition)
}

export function validatePipeline(def: unknown, id: string): PipelineConfigError | undefined {
  if (!isMap(def as Json)) return new PipelineConfigError(`[pipeline] property isn't a map, but of type [${javaType(def)}]`, {property_name: 'pipeline'})
  const d = def as JsonMap
  const missing = requiredProperty(d, 'processors', 'list')
  if (missing) return missing
  const err = validateProcessors(d.processors as Json[])
  if (err) return err
  if (d.on_failure !== undefined && d.on_failure !== null) {
    if (!Array.isArray(d.on_failure)) return new PipelineConfigError(`[on_failure] property isn't a list, but of type [${javaType(d.on_failure)}]`, {property_name: 'on_failure'})
    const inner = validateProcessors(d.on_failure)
    if (inner) return inner
    if (d.on_failure.length === 0) return new PipelineConfigError(`pipeline [${id}] cannot have an empty on-failure option defined`)
  }
  return undefined
}
