import {fail, pass, warn, type Check} from '../../engine/types.js'
import type {ElasticCheckContext} from './context.js'
import {guarded, packagePipelines, PACKAGE_DATASET, pipelineIdsByVersion, skipNoEs, type PipelineInfo} from './facts.js'
import {DOCS} from '../../docs.js'

/** Installs the integration's Elasticsearch assets through Fleet; the Kibana way is the comment. */
export const INSTALL_HINT =
  'curl -sS -X POST "$KIBANA_URL/api/fleet/epm/packages/cilium_tetragon" -H "kbn-xsrf: true" -H "Authorization: ApiKey $KIBANA_API_KEY"\n' +
  '# or in Kibana: Integrations → Cilium Tetragon, enable "Display beta integrations", then "Add integration only"'

/** The package pipeline's signature processors
 * (elastic/integrations packages/tetragon/data_stream/log/elasticsearch/ingest_pipeline/default.yml). */
export function looksLikePackagePipeline(p: PipelineInfo): string[] {
  const processors = p.processors ?? []
  const tags = new Set(processors.map((x) => String(Object.values(x)[0]?.tag ?? '')))
  const missing: string[] = []
  for (const tag of ['json_original', 'json_tmp', 'copy_processes', 'script_drop_null_empty_values']) if (!tags.has(tag)) missing.push(tag)
  const onFailure = JSON.stringify(p.on_failure ?? [])
  if (!onFailure.includes('pipeline_error')) missing.push('on_failure event.kind=pipeline_error')
  return missing
}

export const esPipeline: Check<ElasticCheckContext> = {
  id: 'es.pipeline',
  layer: 'elastic',
  title: 'cilium_tetragon ingest pipeline installed',
  requires: ['es.connect'],
  async run(ctx, signal) {
    const es = await ctx.es()
    if (!es) return skipNoEs()
    return guarded(async () => {
      const pipelines = await packagePipelines(ctx, es, signal)
      const ids = pipelineIdsByVersion(pipelines)
      if (ids.length === 0) {
        return fail(`No ingest pipeline logs-${PACKAGE_DATASET}-<version> is installed: documents in logs-${PACKAGE_DATASET}-* are not parsed.`, {
          hint: INSTALL_HINT,
          docs: DOCS.package,
          evidence: {pattern: `logs-${PACKAGE_DATASET}-*`},
        })
      }
      const id = ids[0]
      const p = pipelines[id]
      const evidence = {pipelines: ids, chosen: id, processors: p.processors?.length ?? 0, managedBy: p._meta?.managed_by, package: p._meta?.package?.name}
      const missing = looksLikePackagePipeline(p)
      if (missing.length > 0) {
        return warn(`Pipeline ${id} differs from the package's: missing ${missing.join(', ')}.`, {
          hint: 'curl -sS -X POST "$KIBANA_URL/api/fleet/epm/packages/cilium_tetragon" -H "kbn-xsrf: true" -H "Authorization: ApiKey $KIBANA_API_KEY" -H "Content-Type: application/json" -d \'{"force":true}\'  # reinstall the package assets',
          docs: DOCS.pipelines,
          evidence,
        })
      }
      const extra = ids.length > 1 ? ` (also installed: ${ids.slice(1).join(', ')})` : ''
      return pass(`Pipeline ${id} is installed${p._meta?.managed_by === 'fleet' ? ' by Fleet' : ''}${extra}.`, evidence)
    })
  },
}
