import {fail, pass, warn, type Check} from '../../engine/types.js'
import type {ElasticCheckContext} from './context.js'
import {chooseDataset, datasetStats, SHIPPER_LOGS, fmtAge, guarded, skipNoEs} from './facts.js'
import {DOCS} from '../../docs.js'

export const esFreshness: Check<ElasticCheckContext> = {
  id: 'es.freshness',
  layer: 'elastic',
  title: 'Newest Tetragon document is recent',
  requires: ['es.dataset'],
  async run(ctx, signal) {
    const es = await ctx.es()
    if (!es) return skipNoEs()
    return guarded(async () => {
      const {dataset} = await chooseDataset(ctx, es, signal)
      const stats = await datasetStats(ctx, es, dataset, signal)
      const ts = stats.newest?.['@timestamp']
      if (!ts) return fail(`No document in logs-${dataset}-* has an @timestamp.`, {hint: 'Manual step: make the shipper send @timestamp (Filebeat always does); data streams reject documents without it.', docs: DOCS.dataStreams, evidence: {dataset, total: stats.total}})
      const age = Date.now() - Date.parse(ts)
      const evidence = {
        dataset,
        newest: ts,
        ageMs: age,
        maxAgeMs: ctx.opts.maxAgeMs,
        // @timestamp is when the shipper read the line; the Tetragon event time is kept as a keyword
        // (cilium_tetragon.log.time; the package pipeline never sets @timestamp from it).
        tetragonTime: stats.newest?.cilium_tetragon?.log?.time,
        node: stats.newest?.cilium_tetragon?.log?.node_name,
        ingested: stats.newest?.event?.ingested,
      }
      if (age < -5 * 60_000) {
        return warn(`The newest document's @timestamp ${ts} is ${fmtAge(-age)} in the future: clock skew on the shipper's node.`, {
          hint: 'Manual step: check time synchronisation (chrony / NTP) on the nodes running the shipper.',
          evidence,
        })
      }
      if (age > ctx.opts.maxAgeMs) {
        return fail(`The newest document in logs-${dataset}-* is ${fmtAge(age)} old (${ts}); --max-age is ${fmtAge(ctx.opts.maxAgeMs)}.`, {
          hint: `${SHIPPER_LOGS}  # events stopped arriving: is the shipper running?\n# and check that Tetragon still writes /var/run/cilium/tetragon/tetragon.log`,
          docs: DOCS.package,
          evidence,
        })
      }
      return pass(`Newest document is ${fmtAge(Math.max(0, age))} old (${ts}); @timestamp is the shipper's read time.`, evidence)
    })
  },
}
