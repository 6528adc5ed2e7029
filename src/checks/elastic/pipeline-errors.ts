import {fail, pass, type Check} from '../../engine/types.js'
import type {ElasticCheckContext} from './context.js'
import {chooseDataset, datasetStats, fmtAge, guarded, skipNoEs} from './facts.js'
import {DOCS} from '../../docs.js'

/** The fix for the failures the package pipeline is known to produce (its on_failure sets error.message and event.kind: pipeline_error;
 * elastic/integrations packages/tetragon/data_stream/log/elasticsearch/ingest_pipeline/default.yml). */
function hintFor(samples: string[]): string {
  const text = samples.join('\n')
  if (/field \[container\.[\w.]+\] already exists/.test(text)) {
    return 'Manual step: the shipper adds container.* metadata (container logs with add_kubernetes_metadata) that the pipeline wants to write: read /var/run/cilium/tetragon/*.log with a filestream input as the package README does, or drop container.* in the shipper before output.'
  }
  if (/already exists/.test(text)) return 'Manual step: the shipper sends a field the pipeline renames into; drop it in the shipper (drop_fields) before output.'
  if (/Processor json|Unrecognized token|Unexpected character|strict_json_parsing/.test(text)) {
    return 'Manual step: lines that are not Tetragon JSON reach the pipeline (CRI-wrapped container logs, truncated or multi-line): read the export file /var/run/cilium/tetragon/*.log, or add the container parser.'
  }
  return 'Manual step: to see which processor fails, run one failing raw line (LINE: a failing document\'s event.original) through the data stream\'s index.default_pipeline (PIPELINE) in Kibana Dev Tools: POST _ingest/pipeline/PIPELINE/_simulate with {"docs":[{"_source":{"message":LINE}}]}'
}

export const esPipelineErrors: Check<ElasticCheckContext> = {
  id: 'es.pipeline-errors',
  layer: 'elastic',
  title: 'No ingest pipeline failures in recent documents',
  requires: ['es.dataset'],
  async run(ctx, signal) {
    const es = await ctx.es()
    if (!es) return skipNoEs()
    return guarded(async () => {
      const {dataset} = await chooseDataset(ctx, es, signal)
      const stats = await datasetStats(ctx, es, dataset, signal)
      const window = fmtAge(stats.recent.windowMs)
      const evidence = {
        dataset,
        window: stats.recent.windowMs,
        recentDocuments: stats.recent.count,
        recentErrors: stats.recent.errors,
        totalErrors: stats.errorsTotal,
        samples: stats.recent.errorSamples.slice(0, 5),
      }
      if (stats.recent.errors > 0) {
        const share = stats.recent.count ? Math.round((100 * stats.recent.errors) / stats.recent.count) : 100
        return fail(
          `${stats.recent.errors} of ${stats.recent.count} documents of the last ${window} (${share}%) failed in the ingest pipeline (error.message / event.kind: pipeline_error): ${stats.recent.errorSamples[0] ?? 'no message'}`,
          {hint: hintFor(stats.recent.errorSamples), docs: DOCS.pipelines, evidence},
        )
      }
      const older = stats.errorsTotal > 0 ? ` (${stats.errorsTotal} older documents carry pipeline errors)` : ''
      // Documents whose on_failure handler itself fails are rejected at index time and never stored.
      return pass(`No pipeline errors in the ${stats.recent.count} documents of the last ${window} in logs-${dataset}-*${older}; documents rejected at index time only show in the shipper's logs.`, evidence)
    })
  },
}
