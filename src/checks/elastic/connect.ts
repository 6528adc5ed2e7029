import {EsForbiddenError, EsUnreachableError} from '../../clients/elasticsearch.js'
import {pass, warn, type Check, type Outcome} from '../../engine/types.js'
import {labelHint} from '../../engine/runner.js'
import type {ElasticCheckContext} from './context.js'
import {guarded, info, skipNoEs} from './facts.js'
import {DOCS} from '../../docs.js'

export const esConnect: Check<ElasticCheckContext> = {
  id: 'es.connect',
  layer: 'elastic',
  title: 'Elasticsearch reachable and authenticated',
  requires: [],
  async run(ctx, signal) {
    const es = await ctx.es()
    if (!es) return skipNoEs()
    return guarded(async () => {
      let i
      try {
        i = await info(ctx, es, signal)
      } catch (e) {
        // Denied even `GET /` (cluster:monitor/main): nothing else can be read with these credentials.
        if (e instanceof EsForbiddenError) {
          return {status: 'fail', message: e.message, hint: `Manual step: grant the monitor cluster privilege (and read on logs-*) to the credentials in ELASTICSEARCH_API_KEY or ELASTICSEARCH_USERNAME (--es-api-key / --es-username).`, docs: DOCS.privileges, unreachable: true, evidence: {url: es.url, statusCode: 403}}
        }
        if (!(e instanceof EsUnreachableError)) throw e
        const docs = e.statusCode === 401 ? DOCS.privileges : /not Elasticsearch|compatibility/.test(e.message) ? DOCS.compat : undefined
        const out: Outcome = {status: 'fail', message: e.message, hint: labelHint(e.tryMessage), unreachable: true, evidence: {url: es.url, statusCode: e.statusCode}}
        if (docs) out.docs = docs
        return out
      }
      const major = Number(i.version.number.split('.')[0])
      const evidence = {url: es.url, version: i.version.number, cluster: i.cluster_name, buildFlavor: i.version.build_flavor}
      if (major < 8) {
        return warn(`Elasticsearch ${i.version.number} at ${es.url}: the cilium_tetragon package needs a stack ^8.13.0 || ^9.0.0.`, {
          hint: 'Manual step: upgrade the stack to 8.13 or later before installing the integration.',
          docs: DOCS.package,
          evidence,
        })
      }
      // The 8.19 client sends compatible-with=8, which 8.x and 9.x servers accept (REST compatibility is N-1).
      return pass(`Elasticsearch ${i.version.number} at ${es.url} (cluster ${i.cluster_name ?? 'unknown'})`, evidence)
    })
  },
}
