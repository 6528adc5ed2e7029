import {fail, pass, warn, type Check} from '../../engine/types.js'
import type {ElasticCheckContext} from './context.js'
import {dataStreams, DATA_STREAM, esCurl, DOCUMENTED_DATASET, guarded, indexSettings, PACKAGE_DATASET, PACKAGE_NAME, packagePipelines, packageTemplate, skipNoEs, TEMPLATE_NAME} from './facts.js'
import {INSTALL_HINT} from './pipeline.js'
import {DOCS} from '../../docs.js'

const PACKAGE_PIPELINE = /^logs-cilium_tetragon\.log-\d+\.\d+\.\d+/

export const esTemplate: Check<ElasticCheckContext> = {
  id: 'es.template',
  layer: 'elastic',
  title: 'Index template and data stream use the integration',
  requires: ['es.connect'],
  async run(ctx, signal) {
    const es = await ctx.es()
    if (!es) return skipNoEs()
    return guarded(async () => {
      const [template, streams] = await Promise.all([packageTemplate(ctx, es, signal), dataStreams(ctx, es, signal)])
      const pkgStreams = streams.filter((s) => s.name.startsWith(`logs-${PACKAGE_DATASET}-`))
      const seedStreams = streams.filter((s) => s.name.startsWith(`logs-${DOCUMENTED_DATASET}-`)).map((s) => ({name: s.name, template: s.template}))
      const evidence: Record<string, unknown> = {
        template: template ? {name: TEMPLATE_NAME, index_patterns: template.index_patterns, priority: template.priority, managedBy: template._meta?.managed_by} : null,
        dataStreams: pkgStreams.map((s) => ({name: s.name, template: s.template, generation: s.generation, indexMode: s.index_mode})),
        otherDataStreams: seedStreams,
      }
      if (!template) {
        const created = pkgStreams.length ? ` Data stream ${pkgStreams.map((s) => `${s.name} uses template ${s.template ?? 'none'}`).join(', ')}: no default_pipeline, documents stay unparsed.` : ''
        return fail(`Index template ${TEMPLATE_NAME} is missing, so logs-${PACKAGE_DATASET}-* data streams get the built-in logs template without the package pipeline.${created}`, {
          hint: `${INSTALL_HINT}\n${esCurl('POST', `${DATA_STREAM}/_rollover`)}  # then roll existing data streams over`,
          docs: DOCS.package,
          evidence,
        })
      }
      const problems: string[] = []
      if (!(template.index_patterns ?? []).includes(`logs-${PACKAGE_DATASET}-*`)) problems.push(`index_patterns ${JSON.stringify(template.index_patterns)} lack logs-${PACKAGE_DATASET}-*`)
      if (template._meta?.package?.name !== PACKAGE_NAME) problems.push(`_meta.package.name is ${template._meta?.package?.name ?? 'unset'}, not ${PACKAGE_NAME}`)
      // Built-in `logs` is priority 100 and Filebeat's own template 150; Fleet's is 200 (elastic/kibana#192731).
      if ((template.priority ?? 0) <= 150) problems.push(`priority ${template.priority ?? 0} does not win over Filebeat's and the built-in logs templates`)
      if (problems.length) {
        return warn(`Index template ${TEMPLATE_NAME} is not the one Fleet installs: ${problems.join('; ')}.`, {hint: INSTALL_HINT, docs: DOCS.package, evidence})
      }
      if (pkgStreams.length === 0) {
        return pass(`Index template ${TEMPLATE_NAME} (priority ${template.priority}) is installed; no logs-${PACKAGE_DATASET}-* data stream exists yet, the first write will create it from this template.`, evidence)
      }
      const pipelines = await packagePipelines(ctx, es, signal)
      const writeIndices: Array<Record<string, unknown>> = []
      for (const ds of pkgStreams) {
        if (ds.template !== TEMPLATE_NAME) {
          return fail(`Data stream ${ds.name} matches template ${ds.template ?? 'none'}, not ${TEMPLATE_NAME}: its documents skip the package pipeline.`, {
            hint: `Manual step: remove or lower the priority of the template ${ds.template} for logs-${PACKAGE_DATASET}-*, then roll over: ${esCurl('POST', `${ds.name}/_rollover`)}`,
            docs: DOCS.dataStreams,
            evidence,
          })
        }
        const settings = await indexSettings(ctx, es, ds.name, signal)
        const writeName = ds.indices[ds.indices.length - 1]?.index_name
        const write = settings.find((s) => s.index === writeName) ?? settings[settings.length - 1]
        writeIndices.push({dataStream: ds.name, index: write?.index, defaultPipeline: write?.defaultPipeline, finalPipeline: write?.finalPipeline})
        evidence.writeIndices = writeIndices
        if (!write?.defaultPipeline || !PACKAGE_PIPELINE.test(write.defaultPipeline)) {
          return fail(
            `Write index ${write?.index ?? writeName} of ${ds.name} has index.default_pipeline ${write?.defaultPipeline ?? 'unset'}: it was created before the integration was installed (or from another template), so its documents are stored unparsed until the next rollover.`,
            {hint: esCurl('POST', `${ds.name}/_rollover`), docs: DOCS.rollover, evidence},
          )
        }
        if (Object.keys(pipelines).length > 0 && !pipelines[write.defaultPipeline]) {
          return fail(`Write index ${write.index} of ${ds.name} names default_pipeline ${write.defaultPipeline}, which does not exist: Elasticsearch rejects every document.`, {
            hint: `${INSTALL_HINT}\n${esCurl('POST', `${ds.name}/_rollover`)}  # then roll the data stream over`,
            docs: DOCS.pipelines,
            evidence,
          })
        }
      }
      return pass(`Index template ${TEMPLATE_NAME} (priority ${template.priority}) is installed and ${pkgStreams.map((s) => s.name).join(', ')} write through ${writeIndices.map((w) => w.defaultPipeline).join(', ')}.`, evidence)
    })
  },
}
