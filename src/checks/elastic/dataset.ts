import {fail, pass, warn, type Check} from '../../engine/types.js'
import type {ElasticCheckContext} from './context.js'
import {chooseDataset, DATA_STREAM, datasetStats, SHIPPER_LOGS, DOCUMENTED_DATASET, guarded, overview, PACKAGE_DATASET, skipNoEs} from './facts.js'
import {DOCS} from '../../docs.js'

const WHY =
  `The Elastic package cilium_tetragon writes dataset ${PACKAGE_DATASET} (data stream ${DATA_STREAM}) and only its pipeline and template apply to logs-${PACKAGE_DATASET}-*; ` +
  `${DOCUMENTED_DATASET} is the name the commonly documented setup uses, which no published package defines.`

export const esDataset: Check<ElasticCheckContext> = {
  id: 'es.dataset',
  layer: 'elastic',
  title: 'Tetragon documents present under the expected dataset',
  requires: ['es.connect'],
  async run(ctx, signal) {
    const es = await ctx.es()
    if (!es) return skipNoEs()
    return guarded(async () => {
      const ov = await overview(ctx, es, signal)
      const choice = await chooseDataset(ctx, es, signal)
      const ds = choice.dataset
      const other = ds === PACKAGE_DATASET ? DOCUMENTED_DATASET : PACKAGE_DATASET
      const via = {
        indexPattern: ov.byIndexName[ds] ?? 0,
        eventDataset: ov.byEventDataset[ds] ?? 0,
        dataStreamDataset: ov.byDataStreamDataset[ds] ?? 0,
      }
      // Documents keep arriving between two searches: the counts this check quotes come from the dataset search es.fields
      // and es.freshness read (memoised), so one run never shows two numbers for the same documents.
      const stats = via.indexPattern > 0 ? await datasetStats(ctx, es, ds, signal) : undefined
      if (stats) via.indexPattern = stats.total
      const mine = (stats?.streams ?? ov.streams).filter((s) => s.dataset === ds)
      const streams = mine.map((s) => ({name: s.name, documents: s.count}))
      // Who wrote them: a Fleet-managed Elastic Agent sends data_stream.* and event.dataset, Filebeat does not
      // (elastic/kibana#66551: data not shipped by Elastic Agent lacks data_stream.*).
      const byAgent = mine.reduce((n, s) => n + s.elasticAgent, 0)
      const inStreams = mine.reduce((n, s) => n + s.count, 0)
      const shipper = inStreams === 0 ? undefined : byAgent === inStreams ? 'elastic-agent' : byAgent === 0 ? 'other' : 'mixed'
      const evidence = {dataset: ds, profile: choice.profile, explicit: choice.explicit, [ds]: via, counts: choice.counts, streams, ...(shipper ? {shipper} : {})}
      const found = stats ? stats.total : Math.max(via.indexPattern, via.eventDataset, via.dataStreamDataset)
      if (found === 0) {
        const elsewhere = choice.counts[other] ?? 0
        if (elsewhere > 0) {
          const otherStreams = ov.streams.filter((s) => s.dataset === other).map((s) => s.name)
          return fail(`No documents under logs-${ds}-*; ${elsewhere} documents are under logs-${other}-* (${otherStreams.join(', ') || 'event.dataset'}). ${WHY}`, {
            hint:
              ds === PACKAGE_DATASET
                ? `Manual step: send the export to the package's data stream: set the shipper's output index to ${DATA_STREAM} (Filebeat output.elasticsearch.index), or rerun tetractl with --dataset ${other}.`
                : `tetractl doctor --dataset ${PACKAGE_DATASET}  # or --profile package: that is where the documents are`,
            docs: DOCS.package,
            evidence,
          })
        }
        // Security resolves wildcards to the indices the credentials may read, so missing read privileges also look like this.
        return fail(`No Tetragon documents visible in Elasticsearch: nothing under logs-${PACKAGE_DATASET}-* or logs-${DOCUMENTED_DATASET}-* (also the result when the credentials lack read on logs-*).`, {
          hint: `${SHIPPER_LOGS}  # the shipper that writes the export`,
          docs: DOCS.package,
          evidence,
        })
      }
      const notes: string[] = []
      if (shipper === 'elastic-agent') notes.push(`written by Elastic Agent, which sets data_stream.* and event.dataset on every document`)
      if (shipper === 'mixed') notes.push(`${byAgent} written by Elastic Agent (data_stream.* set), ${inStreams - byAgent} by another shipper`)
      if (via.dataStreamDataset === 0) {
        notes.push(`data_stream.dataset is not set on them (the shipper does not send it; a Fleet-managed Elastic Agent would, Filebeat does not), so queries and dashboards filtering on data_stream.dataset find nothing; use logs-${ds}-* or event.dataset`)
      }
      if (ds === DOCUMENTED_DATASET && !choice.explicit) {
        return warn(`${found} documents under logs-${DOCUMENTED_DATASET}-*, none under logs-${PACKAGE_DATASET}-*. ${WHY}`, {
          hint: `Manual step: point the shipper at ${DATA_STREAM} (Filebeat output.elasticsearch.index: ${DATA_STREAM}) so the package pipeline parses the events.`,
          docs: DOCS.package,
          evidence,
        })
      }
      const where = streams.length ? streams.map((s) => `${s.name} (${s.documents})`).join(', ') : `logs-${ds}-*`
      return pass(`${found} documents for dataset ${ds}: ${where}${notes.length ? `; ${notes.join('; ')}` : ''}.`, evidence)
    })
  },
}
