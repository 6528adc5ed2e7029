import {kibanaShapeError} from '../../clients/kibana.js'
import {pass, warn, type Check} from '../../engine/types.js'
import type {ElasticCheckContext} from '../elastic/context.js'
import {guarded, skipNoKibana} from '../elastic/facts.js'
import {DOCS} from '../../docs.js'

export const kibanaDashboards: Check<ElasticCheckContext> = {
  id: 'kibana.dashboards',
  layer: 'kibana',
  title: 'Kibana dashboards for Tetragon data',
  requires: [],
  async run(ctx, signal) {
    const kb = await ctx.kibana()
    if (!kb) return skipNoKibana()
    return guarded(async () => {
      const r = await kb.request<{total?: number; saved_objects?: Array<{id: string; attributes?: {title?: string}}>}>(
        {method: 'GET', path: '/api/saved_objects/_find', query: {type: 'dashboard', search_fields: 'title', search: 'tetragon*', per_page: 20}},
        signal,
      )
      // _find always answers {saved_objects: [...], total, …} (Kibana saved-objects API).
      if (!Array.isArray(r.body?.saved_objects)) throw kibanaShapeError(kb, 'GET /api/saved_objects/_find', 'a saved_objects array')
      const titles = r.body.saved_objects.map((o) => o.attributes?.title ?? o.id)
      const evidence = {total: r.body.total ?? titles.length, titles}
      if (titles.length > 0) return pass(`${titles.length} dashboard${titles.length === 1 ? "" : "s"} mention${titles.length === 1 ? "s" : ""} Tetragon: ${titles.join(', ')} (made in this Kibana; the package ships none).`, evidence)
      return warn('No Tetragon dashboards in Kibana, and none will come with the integration: the cilium_tetragon package ships no dashboards (no kibana/ assets in any version, elastic/integrations#11610).', {
        hint: 'Manual step: explore the events in Discover on the index pattern logs-cilium_tetragon.log-*, or build a dashboard on process.executable, orchestrator.namespace and cilium_tetragon.log.process_kprobe.function_name.',
        docs: DOCS.integrationPr,
        evidence,
      })
    })
  },
}
