import {kibanaShapeError} from '../../clients/kibana.js'
import {fail, pass, warn, type Check} from '../../engine/types.js'
import type {ElasticCheckContext} from '../elastic/context.js'
import {guarded, info, packagePipelines, packageTemplate, PACKAGE_DATASET, PACKAGE_NAME, skipNoKibana, TEMPLATE_NAME, type PipelineInfo, type TemplateInfo} from '../elastic/facts.js'
import {INSTALL_HINT} from '../elastic/pipeline.js'
import {DOCS} from '../../docs.js'

interface PackageInfo {
  item?: {
    name?: string
    version?: string
    latestVersion?: string
    status?: string
    installationInfo?: {version?: string; install_status?: string; installed_es?: Array<{id: string; type: string}>; installed_kibana?: unknown[]}
    savedObject?: {attributes?: {version?: string; install_status?: string; installed_es?: Array<{id: string; type: string}>}}
  }
}

/**
 * The package's assets as Elasticsearch itself reports them (the same reads as es.pipeline and es.template), or
 * undefined when that cannot be known: no Elasticsearch configured, or a server that did not prove to be
 * Elasticsearch on GET /. Kibana's check then reports Fleet's answer alone instead of Elasticsearch's failure.
 */
async function esAssets(ctx: ElasticCheckContext, signal: AbortSignal): Promise<{pipelines: Record<string, PipelineInfo>; template?: TemplateInfo} | undefined> {
  try {
    const es = await ctx.es()
    if (!es) return undefined
    await info(ctx, es, signal)
    const [pipelines, template] = await Promise.all([packagePipelines(ctx, es, signal), packageTemplate(ctx, es, signal)])
    return {pipelines, template}
  } catch {
    return undefined
  }
}

export const kibanaPackage: Check<ElasticCheckContext> = {
  id: 'kibana.package',
  layer: 'kibana',
  title: 'cilium_tetragon integration installed in Kibana',
  requires: [],
  async run(ctx, signal) {
    const kb = await ctx.kibana()
    if (!kb) return skipNoKibana()
    return guarded(async () => {
      // 0.x versions are prerelease for Fleet (isPackagePrerelease), so ask with prerelease=true
      // (elastic/kibana common/services/package_prerelease.ts).
      const r = await kb.request<PackageInfo>({method: 'GET', path: `/api/fleet/epm/packages/${PACKAGE_NAME}`, query: {prerelease: true}, ignore: [404]}, signal)
      const item = r.body?.item
      // Fleet always answers {item: {status, …}} (elastic/kibana GetInfoResponse): anything else is not Fleet speaking.
      if (r.statusCode < 300 && typeof item?.status !== 'string') throw kibanaShapeError(kb, `GET /api/fleet/epm/packages/${PACKAGE_NAME}`, 'item.status')
      // Kibana >= 8.12 reports installationInfo; older versions savedObject.attributes.
      const inst = item?.installationInfo ?? item?.savedObject?.attributes
      const status = item?.status ?? (r.statusCode === 404 ? 'unknown' : undefined)
      const evidence: Record<string, unknown> = {status, version: inst?.version ?? item?.version, latestVersion: item?.latestVersion, installedEs: inst?.installed_es}
      const assets = await esAssets(ctx, signal)
      evidence.elasticsearchChecked = Boolean(assets)
      if (status !== 'installed') {
        // Claim missing assets only when Elasticsearch said so (what es.template / es.pipeline report).
        const missing = assets ? [...(assets.template ? [] : [`index template ${TEMPLATE_NAME}`]), ...(Object.keys(assets.pipelines).length ? [] : [`ingest pipeline logs-${PACKAGE_DATASET}-<version>`])] : []
        const lacks = missing.length ? `; Elasticsearch lacks its ${missing.join(' and ')}` : ''
        return fail(
          r.statusCode === 404
            ? `Fleet does not know the package ${PACKAGE_NAME} (404): the package registry is unreachable or the 0.x prerelease is hidden${lacks}.`
            : `The ${PACKAGE_NAME} integration is ${status === 'not_installed' || !status ? 'not installed' : `in state ${status}`} in Kibana${lacks}.`,
          {hint: INSTALL_HINT, docs: DOCS.package, evidence},
        )
      }
      if (assets) {
        const {pipelines, template} = assets
        const wanted = (inst?.installed_es ?? []).filter((a) => a.type === 'ingest_pipeline' || a.type === 'index_template')
        const missing = wanted.filter((a) => (a.type === 'ingest_pipeline' ? !pipelines[a.id] : a.id === TEMPLATE_NAME && !template)).map((a) => `${a.type} ${a.id}`)
        evidence.missingInElasticsearch = missing
        if (missing.length > 0) {
          return fail(`Kibana records ${PACKAGE_NAME} ${inst?.version} as installed, but Elasticsearch lacks ${missing.join(', ')}.`, {
            hint: 'curl -sS -X POST "$KIBANA_URL/api/fleet/epm/packages/cilium_tetragon" -H "kbn-xsrf: true" -H "Authorization: ApiKey $KIBANA_API_KEY" -H "Content-Type: application/json" -d \'{"force":true}\'  # reinstall the package assets',
            docs: DOCS.fleetApi,
            evidence,
          })
        }
      }
      const version = inst?.version ?? item?.version
      if (item?.latestVersion && version && item.latestVersion !== version) {
        return warn(`${PACKAGE_NAME} ${version} is installed; ${item.latestVersion} is available.`, {
          hint: `curl -X POST "$KIBANA_URL/api/fleet/epm/packages/cilium_tetragon/${item.latestVersion}" -H "kbn-xsrf: true"`,
          docs: DOCS.package,
          evidence,
        })
      }
      return pass(`${PACKAGE_NAME} ${version} is installed (a 0.x prerelease; no Elastic Agent policy is needed, the package only installs Elasticsearch assets).`, evidence)
    })
  },
}
