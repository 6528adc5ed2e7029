import type {V1Namespace} from '@kubernetes/client-node'

import {fail, pass, warn, type Check} from '../../engine/types.js'
import {CHART_DENIED_NAMESPACES, exportKeeps, parseFilterLines, typesNeverExported, type EventType} from '../../tetragon/export-filter.js'
import type {CheckContext} from '../context.js'
import {tetragonConfigMap, tetragonInstall} from '../../cluster/facts.js'
import {agentsOr, isOutcome} from './agents.js'
import {DOCS} from '../../docs.js'

export interface ExportFilterConfig {
  allow: string
  deny: string
  source: 'container args' | 'environment' | 'ConfigMap' | 'agent default'
}

/**
 * The agent's export allow and deny lists, with the precedence the agent applies: flags > TETRAGON_* environment >
 * the chart's ConfigMap > the flag default "" (no filter) (viper precedence, cilium/tetragon v1.7.0
 * docs/content/en/docs/reference/daemon-configuration.md). Shared with validate.
 */
export function exportFilterConfig(ctx: CheckContext, signal?: AbortSignal): Promise<ExportFilterConfig> {
  return ctx.memo.get('tetragon.export-filters', async () => {
    const [install, cm] = await Promise.all([tetragonInstall(ctx, signal), tetragonConfigMap(ctx, signal)])
    const container = install.daemonSet?.spec?.template?.spec?.containers?.find((c) => c.name === 'tetragon')
    const args = [...(container?.command ?? []), ...(container?.args ?? [])]
    const read = (flag: string): {value: string; source: ExportFilterConfig['source']} => {
      const arg = args.find((a) => a.startsWith(`--${flag}=`))
      if (arg) return {value: arg.slice(arg.indexOf('=') + 1), source: 'container args'}
      const env = container?.env?.find((e) => e.name === `TETRAGON_${flag.toUpperCase().replaceAll('-', '_')}`)
      if (env?.value !== undefined) return {value: env.value, source: 'environment'}
      const fromMap = cm?.data?.[flag]
      if (fromMap !== undefined) return {value: fromMap, source: 'ConfigMap'}
      return {value: '', source: 'agent default'}
    }
    const allow = read('export-allowlist')
    const deny = read('export-denylist')
    const rank = ['container args', 'environment', 'ConfigMap', 'agent default'] as const
    return {allow: allow.value, deny: deny.value, source: rank[Math.min(rank.indexOf(allow.source), rank.indexOf(deny.source))]!}
  })
}

/** The events tetractl validate and the cilium_tetragon pipeline expect: process exec/exit and kprobes. */
const NEEDED: EventType[] = ['PROCESS_EXEC', 'PROCESS_EXIT', 'PROCESS_KPROBE']
/** A namespace nobody created yet, e.g. validate's probe namespace: an allow list naming namespaces drops it. */
const NEW_NAMESPACE = 'tetractl-validate-new'
const MAX_NAMESPACES = 2000
const nsName = (n: string) => (n === '' ? '"" (host processes)' : n)
const list = (names: string[], max = 5) => `${names.slice(0, max).map(nsName).join(', ')}${names.length > max ? `, … (${names.length})` : ''}`

export const tetragonExportFilters: Check<CheckContext> = {
  id: 'tetragon.export-filters',
  layer: 'tetragon',
  title: 'The export allow/deny lists let the namespaces you care about through to the JSON export',
  requires: ['k8s.connect'],
  async run(ctx, signal) {
    const agents = await agentsOr(ctx, signal, false)
    if (isOutcome(agents)) return agents
    const ns = agents.install.namespace
    const release = agents.install.daemonSet?.metadata?.labels?.['app.kubernetes.io/instance'] ?? agents.install.daemonSet?.metadata?.name ?? 'tetragon'
    const config = await exportFilterConfig(ctx, signal)
    const docs = DOCS.events
    const evidence: Record<string, unknown> = {exportAllowList: config.allow, exportDenyList: config.deny, source: config.source}
    for (const [key, text] of [['export-allowlist', config.allow], ['export-denylist', config.deny]] as const) {
      const bad = parseFilterLines(text).bad
      if (bad) {
        return fail(`${key} line ${bad.line} is not a JSON filter object (${bad.text.slice(0, 80)}): the lists are one JSON Filter per line`, {
          hint: `kubectl -n ${ns} get configmap ${agents.install.daemonSet?.metadata?.name ?? 'tetragon'}-config -o jsonpath='{.data.${key}}'`,
          docs,
          evidence,
        })
      }
    }

    // The namespaces the user cares about: --event-namespace, else every namespace of the cluster.
    const explicit = ctx.opts.eventNamespaces && ctx.opts.eventNamespaces.length > 0
    let interest: string[]
    if (explicit) interest = [...new Set(ctx.opts.eventNamespaces!)]
    else {
      const kube = await ctx.kube()
      const all = await kube.listAll({verb: 'list', resource: 'namespaces'}, (cont, limit, o) => kube.core.listNamespace({limit, _continue: cont}, o), (n: V1Namespace) => n.metadata?.name ?? '')
      interest = all.filter(Boolean).slice(0, MAX_NAMESPACES)
    }
    const cfg = {allow: config.allow, deny: config.deny}
    const judge = (namespace: string) => {
      const verdicts = NEEDED.map((type) => ({type, ...exportKeeps(cfg, {type, namespace})}))
      return {namespace, dropped: verdicts.filter((v) => v.kept === false), unknown: verdicts.filter((v) => v.kept === 'unknown')}
    }
    const judged = interest.map(judge)
    // Without --event-namespace, the chart's default deny (kube-system, cilium, host processes) is the documented
    // behaviour (tetragon.exportDenyList in cilium/tetragon v1.7.0 install/kubernetes/tetragon/values.yaml): reported, not a finding.
    const byDefault = (n: string) => !explicit && CHART_DENIED_NAMESPACES.includes(n) && judge(n).dropped.length === NEEDED.length
    const dropped = judged.filter((j) => j.dropped.length > 0 && !byDefault(j.namespace))
    const defaultDropped = judged.filter((j) => byDefault(j.namespace)).map((j) => j.namespace)
    const unsure = judged.filter((j) => j.dropped.length === 0 && j.unknown.length > 0)
    const fresh = judge(NEW_NAMESPACE)
    const neverTypes = typesNeverExported(config.allow)
    const neededNever = neverTypes.filter((t) => (NEEDED as string[]).includes(t))
    Object.assign(evidence, {
      namespaces: explicit ? `--event-namespace: ${interest.map(nsName).join(', ')}` : `${interest.length} namespaces of the cluster`,
      dropped: dropped.slice(0, 20).map((j) => `${nsName(j.namespace)}: ${j.dropped.map((d) => d.type).join(', ')} (${j.dropped[0]!.because})`),
      ...(defaultDropped.length ? {droppedByChartDefault: defaultDropped.map(nsName)} : {}),
      ...(unsure.length ? {dependsOnPodOrBinary: unsure.slice(0, 20).map((j) => j.namespace)} : {}),
      newNamespaces: fresh.dropped.length ? `dropped (${fresh.dropped[0]!.because})` : fresh.unknown.length ? 'depends on pod or binary' : 'kept',
      typesNeverExported: neverTypes,
    })
    // Helm --set needs the commas inside the JSON escaped.
    const byDeny = dropped.some((j) => /^export-denylist/.test(j.dropped[0]!.because ?? ''))
    const hint = [
      byDeny
        ? `helm upgrade ${release} cilium/tetragon -n ${ns} --reuse-values --set-string 'tetragon.exportDenyList={"health_check":true}'  # keeps only the health-check filter of the chart's deny list`
        : `helm upgrade ${release} cilium/tetragon -n ${ns} --reuse-values --set-string 'tetragon.exportAllowList={"event_set":["PROCESS_EXEC"\\,"PROCESS_EXIT"\\,"PROCESS_KPROBE"\\,"PROCESS_UPROBE"\\,"PROCESS_TRACEPOINT"\\,"PROCESS_LSM"]}'  # the chart default: every namespace`,
      `# or edit tetragon.exportAllowList / tetragon.exportDenyList in your values file, one JSON filter per line, so that ${dropped.length ? list(dropped.map((j) => j.namespace), 3) : 'these namespaces'} pass`,
    ].join('\n')
    const what = (j: (typeof judged)[number]) => j.dropped.map((d) => d.type).join(', ')
    if (dropped.length > 0) {
      const j = dropped[0]!
      const newNs = fresh.dropped.length > 0 && !explicit ? ' and any namespace created later (like validate\'s probe namespace)' : ''
      return fail(`the export filters drop ${what(j)} events of ${dropped.length} of ${interest.length} namespace${interest.length === 1 ? '' : 's'} you care about (${list(dropped.map((x) => x.namespace))})${newNs}: ${j.dropped[0]!.because}; those events never reach the export file the shipper reads (the gRPC stream is unfiltered)`, {hint, docs, evidence})
    }
    if (!explicit && fresh.dropped.length > 0) {
      return fail(`the export filters drop events of any namespace created later (like validate's probe namespace): ${fresh.dropped[0]!.because}`, {hint, docs, evidence})
    }
    if (neededNever.length > 0) {
      return fail(`the export allow list never lets ${neededNever.join(', ')} through: ${neededNever.includes('PROCESS_KPROBE') ? 'network and file events of the TracingPolicies' : 'these events'} never reach Elasticsearch`, {hint, docs, evidence})
    }
    const notes = [
      defaultDropped.length ? `drops ${list(defaultDropped)} (the chart's default deny list)` : '',
      /health_check/.test(config.deny) ? 'drops health-check execs' : '',
      neverTypes.length ? `never exports ${neverTypes.join(', ')}` : '',
    ].filter(Boolean)
    const drops = notes.length ? `; it ${notes.join(', ')}` : ''
    if (unsure.length > 0) {
      return warn(`the export keeps some events of ${list(unsure.map((j) => j.namespace))} only for some pods, binaries or other fields: check that yours match${drops}`, {hint, docs, evidence})
    }
    const whom = explicit ? `namespace${interest.length === 1 ? '' : 's'} ${list(interest)}` : `all ${interest.length - defaultDropped.length}${defaultDropped.length ? ' other' : ''} namespaces and new ones`
    return pass(`the export keeps ${NEEDED.join(', ')} events of ${whom} (filters from the ${config.source})${drops}`, evidence)
  },
}
