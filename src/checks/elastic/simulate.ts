import {readPackagedJson} from '../../clients/files.js'
import {fail, pass, warn, type Check} from '../../engine/types.js'
import type {ElasticCheckContext} from './context.js'
import {dataStreams, esCurl, guarded, indexSettings, PACKAGE_DATASET, packagePipelines, pipelineIdsByVersion, simulate, skipNoEs} from './facts.js'
import {DOCS} from '../../docs.js'

interface Sample {
  line: string
  expected: Record<string, unknown>
}

const SAMPLE = new URL('../../../fixtures/elastic/simulate-sample.json', import.meta.url)
let sample: Sample | undefined
/** A real Tetragon exec event and the document the package's pipeline test expects for it. */
export function simulateSample(): Sample {
  sample ??= readPackagedJson<Sample>(SAMPLE)
  return sample
}

/** Paths where two JSON values differ. */
export function diffPaths(a: unknown, b: unknown, path = '', out: string[] = []): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return out
  const isObj = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v)
  if (isObj(a) && isObj(b)) {
    const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)])
    for (const k of [...keys].sort()) diffPaths((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k, out)
  } else {
    out.push(path || '(root)')
  }
  return out
}

// Fields added after the package pipeline (final pipeline, shipper, test config): not part of the comparison.
const IGNORED = new Set(['tags', 'event.ingested', '_ingest'])

export const esSimulate: Check<ElasticCheckContext> = {
  id: 'es.simulate',
  layer: 'elastic',
  title: 'A real Tetragon event parses through the installed pipeline',
  requires: ['es.pipeline'],
  async run(ctx, signal) {
    const es = await ctx.es()
    if (!es) return skipNoEs()
    return guarded(async () => {
      const pipelines = await packagePipelines(ctx, es, signal)
      // Prefer the pipeline the write index actually uses.
      const streams = await dataStreams(ctx, es, signal)
      const ds = streams.find((s) => s.name.startsWith(`logs-${PACKAGE_DATASET}-`))
      let id = pipelineIdsByVersion(pipelines)[0]
      if (ds) {
        const settings = await indexSettings(ctx, es, ds.name, signal)
        const write = settings.find((s) => s.index === ds.indices[ds.indices.length - 1]?.index_name)
        if (write?.defaultPipeline && pipelines[write.defaultPipeline]) id = write.defaultPipeline
      }
      if (!id) return fail('No cilium_tetragon pipeline to simulate.', {hint: esCurl('GET', '_ingest/pipeline/logs-cilium_tetragon.log-*'), docs: DOCS.package})
      const {line, expected} = simulateSample()
      const result = await simulate(ctx, es, id, line, signal)
      const evidence: Record<string, unknown> = {pipeline: id, sample: 'process_exec of /usr/local/bin/node in default/tiefighter (package pipeline test, line 3)'}
      if (!result || result.error || !result.doc) {
        evidence.error = result?.error
        return fail(`Pipeline ${id} rejected a real Tetragon exec event: ${result?.error?.type ?? 'error'}: ${result?.error?.reason ?? 'no document returned'}.`, {
          hint: `Manual step: reproduce in Kibana Dev Tools with LINE, one Tetragon JSON export line: POST _ingest/pipeline/${id}/_simulate with {"docs":[{"_source":{"message":LINE}}]}; reinstall the package if the pipeline was modified.`,
          docs: DOCS.simulate,
          evidence,
        })
      }
      const got = result.doc._source as Record<string, any>
      if (got.error?.message || got.event?.kind === 'pipeline_error') {
        evidence.errorMessage = got.error?.message
        return fail(`Pipeline ${id} fails on a real Tetragon exec event: ${[].concat(got.error?.message ?? []).join('; ')}`, {
          hint: 'curl -sS -X POST "$KIBANA_URL/api/fleet/epm/packages/cilium_tetragon" -H "kbn-xsrf: true" -H "Authorization: ApiKey $KIBANA_API_KEY" -H "Content-Type: application/json" -d \'{"force":true}\'  # reinstall the package assets',
          docs: DOCS.simulate,
          evidence,
        })
      }
      const strip = (d: Record<string, any>) => {
        const c = structuredClone(d)
        delete c.tags
        delete c._ingest
        if (c.event) delete c.event.ingested
        return c
      }
      const diffs = diffPaths(strip(expected), strip(got)).filter((p) => !IGNORED.has(p))
      evidence.differences = diffs.slice(0, 20)
      if (diffs.length > 0) {
        return warn(`Pipeline ${id} parses the sample, but ${diffs.length} fields differ from the package's expected document: ${diffs.slice(0, 8).join(', ')}${diffs.length > 8 ? ', …' : ''}.`, {
          hint: `${esCurl('GET', `_ingest/pipeline/${id}`)}  # compare with the package version Kibana reports (a newer package or a custom pipeline changes fields)`,
          docs: DOCS.simulate,
          evidence,
        })
      }
      return pass(`Pipeline ${id} turns a real Tetragon exec event into exactly the document the package's pipeline test expects.`, evidence)
    })
  },
}
