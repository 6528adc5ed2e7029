import {fail, pass, warn, type Check} from '../../engine/types.js'
import type {ElasticCheckContext} from './context.js'
import {chooseDataset, CORE_FIELDS, DATA_STREAM, datasetStats, esCurl, fmtAge, guarded, INSTEAD, KPROBE_ARGS, NEVER_SET_FIELDS, PACKAGE_DATASET, skipNoEs} from './facts.js'
import {INSTALL_HINT} from './pipeline.js'
import {DOCS} from '../../docs.js'

export const esFields: Check<ElasticCheckContext> = {
  id: 'es.fields',
  layer: 'elastic',
  title: 'Documents carry the fields the profile expects',
  requires: ['es.dataset'],
  async run(ctx, signal) {
    const es = await ctx.es()
    if (!es) return skipNoEs()
    return guarded(async () => {
      const choice = await chooseDataset(ctx, es, signal)
      const stats = await datasetStats(ctx, es, choice.dataset, signal)
      const recent = stats.recent.count > 0
      const n = recent ? stats.recent.count : stats.total
      const f = recent ? stats.recent.fields : stats.allFields
      const scope = recent ? `of the last ${fmtAge(stats.recent.windowMs)}` : 'overall (none in the window)'
      const sample = recent ? stats.recent.sample : stats.allSample
      // Fields no query can find (not indexed, no doc values) are judged on the newest documents' _source.
      const sampled = (k: string) => stats.kinds[k]?.kind === 'source'
      const has = (k: string) => f[k] ?? 0
      const neverSet = NEVER_SET_FIELDS.filter((k) => (sampled(k) ? (sample.fields[k] ?? 0) === 0 : has(k) === 0))
      const sourceOnly = Object.keys(stats.kinds).filter(sampled)
      const evidence = {
        dataset: choice.dataset,
        profile: choice.profile,
        documents: n,
        scope: recent ? 'window' : 'all',
        fields: f,
        ...(sourceOnly.length ? {sampled: {fields: sourceOnly, documents: sample.size, parsed: sample.parsed, carrying: sample.parsedWith}} : {}),
        neverSet,
        eventTypes: {
          exec: has('cilium_tetragon.log.process_exec'),
          exit: has('cilium_tetragon.log.process_exit'),
          kprobe: has('cilium_tetragon.log.process_kprobe'),
          kprobeArgs: has(KPROBE_ARGS),
        },
      }
      if (n === 0) return fail(`No documents in logs-${choice.dataset}-* to inspect.`, {hint: esCurl('GET', `logs-${choice.dataset}-*/_count`), docs: DOCS.dataStreams, evidence})

      const parsed = has('cilium_tetragon.log')
      if (parsed === 0) {
        return fail(`None of the ${n} documents ${scope} was parsed by the cilium_tetragon ingest pipeline: no cilium_tetragon.log.*, process.* or event.action, only the raw line in message.`, {
          hint:
            choice.dataset === PACKAGE_DATASET
              ? `${INSTALL_HINT}\n${esCurl('POST', `${DATA_STREAM}/_rollover`)}  # then roll over: the new write index gets the package pipeline`
              : `Manual step: send the export to ${DATA_STREAM} (the only data stream the package pipeline applies to): set Filebeat output.elasticsearch.index: ${DATA_STREAM}.`,
          docs: DOCS.package,
          evidence,
        })
      }

      const lacks = (k: string) => (sampled(k) ? (sample.parsedWith[k] ?? 0) < sample.parsed : has(k) < parsed)
      const missingCore: string[] = CORE_FIELDS.filter(lacks)
      // The pipeline maps pod metadata to container.* and orchestrator.* together (one step of the package's
      // ingest_pipeline/default.yml, from process.pod).
      if (has('container.id') > has('orchestrator.namespace')) missingCore.push('orchestrator.namespace')
      const execExit = has('cilium_tetragon.log.process_exec') + has('cilium_tetragon.log.process_exit')
      const kprobes = has('cilium_tetragon.log.process_kprobe')
      const neverSetText = neverSet.map((k) => `${k} (use ${INSTEAD[k] ?? 'the cilium_tetragon.log.* fields'})`).join(', ')

      if (choice.profile === 'seed' && neverSet.length > 0) {
        return fail(`${neverSet.length} fields the commonly documented setup relies on are never set by the installed cilium_tetragon pipeline (0 of ${n} documents ${scope}): ${neverSetText}.`, {
          hint: 'Manual step: query the fields the pipeline does set (process.executable, process.args, container.id, orchestrator.namespace, cilium_tetragon.log.*), or rerun with --profile package.',
          docs: DOCS.package,
          evidence,
        })
      }
      if (missingCore.length > 0) {
        const count = (k: string) =>
          sampled(k) ? `${sample.parsedWith[k] ?? 0}/${sample.parsed} of the newest sampled` : `${has(k)}/${k === 'orchestrator.namespace' ? has('container.id') : parsed}`
        const detail = missingCore.map((k) => `${k} ${count(k)}`).join(', ')
        const errors = recent ? stats.recent.errors : stats.errorsTotal
        const because = errors > 0 ? `; ${errors} documents carry pipeline errors, which stop the pipeline before these fields are set (see es.pipeline-errors)` : ''
        const all = missingCore.some((k) => (sampled(k) ? (sample.parsedWith[k] ?? 0) === 0 : has(k) === 0))
        return (all ? fail : warn)(`Parsed documents ${scope} lack pipeline fields: ${detail}${because}.`, {
          hint: errors > 0 ? 'Manual step: fix the pipeline errors es.pipeline-errors reports (its hint says how).' : `${esCurl('GET', '_ingest/pipeline/logs-cilium_tetragon.log-*')}  # compare the installed pipeline with the package`,
          docs: DOCS.pipelines,
          evidence,
        })
      }
      const action = has('event.action')
      if (action < execExit) {
        return warn(`event.action is set on ${action} of ${execExit} exec/exit documents ${scope}.`, {
          hint: `${esCurl('GET', '_ingest/pipeline/logs-cilium_tetragon.log-*')}  # compare the installed pipeline with the package`,
          docs: DOCS.pipelines,
          evidence,
        })
      }
      const withArgs = has(KPROBE_ARGS)
      const argsNote = withArgs > 0 ? ` ${withArgs} carry arguments in ${KPROBE_ARGS}, a nested field: query it with a nested query.` : ''
      const kprobeNote = kprobes > 0 ? ` ${kprobes} kprobe documents have no event.action (the pipeline sets it for exec/exit only); match them on cilium_tetragon.log.process_kprobe.function_name.${argsNote}` : ''
      const sampledNote = sourceOnly.length
        ? ` ${sourceOnly.join(', ')} ${sourceOnly.length === 1 ? 'is' : 'are'} not searchable in this mapping (neither indexed nor doc values), so checked on the newest ${sample.size} documents' _source.`
        : ''
      return pass(
        `All ${n} documents ${scope} carry the pipeline's fields (${CORE_FIELDS.join(', ')}).${sampledNote}${kprobeNote}${neverSet.length ? ` Never set by this pipeline (do not query them): ${neverSet.join(', ')}.` : ''}`,
        {...evidence, instead: Object.fromEntries(neverSet.map((k) => [k, INSTEAD[k]]))},
      )
    })
  },
}
