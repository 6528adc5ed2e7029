import {fail, pass, warn, type Check} from '../../engine/types.js'
import type {ElasticCheckContext} from '../elastic/context.js'
import {DOCS, guarded, packagePipelines, packageTemplate, PACKAGE_NAME, skipNoKibana, TEMPLATE_NAME} from '../elastic/facts.js'
import {INSTALL_HINT} from '../elastic/pipeline.js'

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

export const kibanaPackage: Check<ElasticCheckContext> = {
  id: 'kibana.package',
  layer: 'kibana',
  title: 'cilium_tetragon integration installed in Kibana',
  requires: [],
  async run(ctx, signal) {
    const kb = await ctx.kibana()
    if (!kb) return skipNoKibana()
    return guarded(async () => {
      // 0.x versions are prerelease for Fleet (isPackagePrerelease), so ask with prerelease=true (elastic.md §4).
      const r = await kb.request<PackageInfo>({method: 'GET', path: `/api/fleet/epm/packages/${PACKAGE_NAME}`, query: {prerelease: true}, ignore: [404]}, signal)
      const item = r.body?.item
      // Kibana >= 8.12 reports installationInfo; older versions savedObject.attributes.
      const inst = item?.installationInfo ?? item?.savedObject?.attributes
      const status = item?.status ?? (r.statusCode === 404 ? 'unknown' : undefined)
      const evidence: Record<string, unknown> = {status, version: inst?.version ?? item?.version, latestVersion: item?.latestVersion, installedEs: inst?.installed_es}
      if (status !== 'installed') {
        return fail(
          r.statusCode === 404
            ? `Fleet does not know the package ${PACKAGE_NAME} (404): the package registry is unreachable or the 0.x prerelease is hidden.`
            : `The ${PACKAGE_NAME} integration is ${status === 'not_installed' || !status ? 'not installed' : `in state ${status}`} in Kibana, so its index template and ingest pipeline are missing.`,
          {hint: INSTALL_HINT, docs: DOCS.package, evidence},
        )
      }
      const es = await ctx.es()
      if (es) {
        const [pipelines, template] = await Promise.all([packagePipelines(ctx, es, signal), packageTemplate(ctx, es, signal)])
        const wanted = (inst?.installed_es ?? []).filter((a) => a.type === 'ingest_pipeline' || a.type === 'index_template')
        const missing = wanted.filter((a) => (a.type === 'ingest_pipeline' ? !pipelines[a.id] : a.id === TEMPLATE_NAME && !template)).map((a) => `${a.type} ${a.id}`)
        evidence.missingInElasticsearch = missing
        if (missing.length > 0) {
          return fail(`Kibana records ${PACKAGE_NAME} ${inst?.version} as installed, but Elasticsearch lacks ${missing.join(', ')}.`, {
            hint: 'Reinstall the assets: curl -X POST "$KIBANA_URL/api/fleet/epm/packages/cilium_tetragon" -H "kbn-xsrf: true" -H "Content-Type: application/json" -d \'{"force":true}\'',
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
