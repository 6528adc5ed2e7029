import type {V1DaemonSet} from '@kubernetes/client-node'

import {fail, notEvaluated, pass, type Check} from '../../engine/types.js'
import type {CheckContext} from '../context.js'
import {daemonSets, matchesSelector, summarizePod, type PodSummary, tetragonConfigMap, tetragonInstall, tetragonPods} from '../../cluster/facts.js'
import {DOCS} from '../../docs.js'

/** Elastic's reference manifests label their DaemonSets `app: elastic-agent` and `k8s-app: filebeat`. */
const SHIPPER_SELECTORS = ['app=elastic-agent', 'k8s-app=filebeat']

const hostPaths = (ds: V1DaemonSet) => (ds.spec?.template?.spec?.volumes ?? []).map((v) => v.hostPath?.path).filter((p): p is string => Boolean(p))
const covers = (dirs: string[], path: string) => dirs.some((d) => path === d || path.startsWith(`${d.replace(/\/$/, '')}/`))

/** Elastic Agent / Filebeat DaemonSets (memoised so they can be read early). */
export function shipperDaemonSets(ctx: CheckContext, signal?: AbortSignal): Promise<V1DaemonSet[]> {
  return ctx.memo.get('shipper.daemonsets', async () => {
    const all = await daemonSets(ctx, signal)
    return SHIPPER_SELECTORS.flatMap((s) => all.filter((d) => matchesSelector(s, d.metadata?.labels)))
  })
}

/** The pods of a shipper DaemonSet (undefined when it has no matchLabels to list them by), memoised so they can be read early. */
export function shipperPodsOf(ctx: CheckContext, ds: V1DaemonSet, signal?: AbortSignal): Promise<PodSummary[] | undefined> {
  const selector = Object.entries(ds.spec?.selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',')
  return ctx.memo.get(`shipper.pods/${ds.metadata?.namespace}/${selector}`, async () =>
    selector ? (await ctx.kube()).listPods(ds.metadata?.namespace, {labelSelector: selector, signal}, summarizePod) : undefined,
  )
}

export const shipperOnEveryTetragonNode: Check<CheckContext> = {
  id: 'agent.shipper',
  layer: 'elastic',
  title: 'A shipper runs next to every Tetragon agent and reads its export',
  // Needs the agent DaemonSet, not all its agents ready: a partial rollout is tetragon.daemonset's finding.
  requires: ['k8s.connect'],
  async run(ctx, signal) {
    const kube = await ctx.kube()
    const [install, cm] = await Promise.all([tetragonInstall(ctx, signal), tetragonConfigMap(ctx, signal)])
    if (!install.daemonSet) return notEvaluated('no Tetragon agent DaemonSet to compare with; see tetragon.daemonset')
    const tds = install.daemonSet
    const exportFile = cm?.data?.['export-filename'] ?? '/var/run/cilium/tetragon/tetragon.log'
    const exportDir = exportFile.slice(0, exportFile.lastIndexOf('/')) || '/'
    const sidecar = tds.spec?.template?.spec?.containers?.find((c) => c.name === 'export-stdout')
    const agentNodes = tds.status?.desiredNumberScheduled ?? 0

    // The package's documented model: the export-stdout container's image is Filebeat
    // (elastic/integrations packages/tetragon/docs/README.md: export.stdout.image.override).
    if (sidecar && /filebeat/.test(sidecar.image ?? '')) {
      const mounted = (sidecar.volumeMounts ?? []).map((m) => m.mountPath)
      const ready = tds.status?.numberReady ?? 0
      const evidence = {model: 'filebeat sidecar', image: sidecar.image, exportFile, mounts: mounted, ready, agentNodes}
      if (!covers(mounted, exportFile)) {
        return fail(`the Filebeat sidecar (${sidecar.image}) does not mount ${exportDir}, where Tetragon writes ${exportFile}`, {
          hint: `Manual step: add the export directory to export.extraVolumeMounts in the Tetragon Helm values (the package README's Filebeat values), then helm upgrade`,
          docs: DOCS.package,
          evidence,
        })
      }
      return pass(`Filebeat sidecar in every agent pod reads ${exportDir} (${ready}/${agentNodes} pods ready)`, evidence)
    }

    const found = await shipperDaemonSets(ctx, signal)
    if (found.length === 0) {
      return fail('no shipper: neither an Elastic Agent / Filebeat DaemonSet nor a Filebeat export-stdout sidecar, so nothing sends Tetragon events to Elasticsearch', {
        hint: "follow the cilium_tetragon package README: override export.stdout.image with docker.elastic.co/beats/filebeat and mount filebeat.yml (or deploy Elastic Agent as a DaemonSet reading /var/log/containers)",
        docs: DOCS.package,
        evidence: {looked: SHIPPER_SELECTORS},
      })
    }
    const ds = found[0]
    const name = `${ds.metadata?.namespace}/${ds.metadata?.name}`
    const desired = ds.status?.desiredNumberScheduled ?? 0
    const ready = ds.status?.numberReady ?? 0
    const paths = hostPaths(ds)
    // Without a readable export file, a DaemonSet shipper sees the events only as the export-stdout container's log.
    const readsFile = covers(paths, exportFile)
    const readsContainerLogs = Boolean(sidecar) && covers(paths, '/var/log/containers')
    // Per node: a Tetragon agent whose node has no ready shipper pod has its events left unshipped.
    const [agents, shipperPods] = await Promise.all([tetragonPods(ctx, signal), shipperPodsOf(ctx, ds, signal)])
    const shippedNodes = new Set((shipperPods ?? []).filter((p) => p.ready).map((p) => p.node))
    const unshipped = shipperPods ? agents.filter((a) => a.node && !shippedNodes.has(a.node)) : []
    const notReadyAgents = agents.filter((a) => !a.ready).length
    const evidence = {
      model: 'daemonset', daemonSet: name, desired, ready, agentNodes, hostPaths: paths, exportFile, readsFile, readsContainerLogs,
      ...(unshipped.length ? {nodesWithoutShipper: unshipped.slice(0, 10).map((a) => `${a.node} (${a.name})`)} : {}),
    }
    if (unshipped.length > 0 || (!shipperPods && ready < agentNodes)) {
      const missing = shipperPods ? unshipped.length : agentNodes - ready
      const where = unshipped.length ? ` (${unshipped.slice(0, 3).map((a) => a.node).join(', ')}${unshipped.length > 3 ? ', …' : ''})` : ''
      return fail(`${name} has no ready pod on ${missing} of the ${shipperPods ? agents.length : agentNodes} nodes where Tetragon runs${where}: their events are not shipped`, {
        hint: `kubectl -n ${ds.metadata?.namespace} rollout status ds/${ds.metadata?.name}\nkubectl -n ${ds.metadata?.namespace} get ds ${ds.metadata?.name} -o jsonpath='{.spec.template.spec.tolerations}'`,
        docs: DOCS.package,
        evidence,
      })
    }
    if (!readsFile && !readsContainerLogs) {
      return fail(`${name} mounts neither ${exportDir} (the export file) nor /var/log (the export-stdout container's log): it cannot read Tetragon's events`, {
        hint: `Manual step: mount hostPath ${exportDir} (read-only) into ${ds.metadata?.name} and point its filestream input at ${exportFile}`,
        docs: DOCS.package,
        evidence,
      })
    }
    const how = readsFile ? `the export file ${exportFile}` : "the export-stdout containers' logs under /var/log/containers"
    const notReadyNote = notReadyAgents ? ` (${notReadyAgents} of ${agents.length} Tetragon agents not ready: see tetragon.daemonset)` : ''
    return pass(`${name} ready on ${shipperPods ? `all ${agents.length}` : `${ready}/${agentNodes}`} Tetragon nodes and can read ${how}${notReadyNote}`, evidence)
  },
}
