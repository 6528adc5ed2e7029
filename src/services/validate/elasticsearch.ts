// Elasticsearch stage: the document of each event (matched by what the gRPC stage saw), waited for within
// --es-timeout, its fields checked per profile; when documents are missing, one diagnosis of why.
import {chooseDataset, DATA_STREAM, DOCUMENTED_DATASET, INSTEAD, PACKAGE_DATASET, packagePipelines} from '../../checks/elastic/facts.js'
import {tetragonInstall} from '../../cluster/facts.js'
import {exportFilterConfig} from '../../checks/tetragon/export-filters.js'
import type {EsHandle} from '../../clients/elasticsearch.js'
import {exportKeeps} from '../../tetragon/export-filter.js'
import {ms, type ProbeTarget, type StageContext} from './context.js'
import type {Matched} from './grpc.js'
import type {Coverage} from './policies.js'
import type {CommandRun} from './probe.js'
import {byBinary, checkFields, idsWithDataset, newestTimestamp, sameEvent, waitForDocuments, type DocWant, type Profile} from './search.js'
import {kindOf, sockArg} from './stream.js'
import type {CommandName} from './types.js'
import {DOCS} from '../../docs.js'

const DOC_STEPS: Array<{id: string; name: CommandName; kprobe: boolean}> = [
  {id: 'doc.whoami', name: 'whoami', kprobe: false},
  {id: 'doc.curl', name: 'curl', kprobe: false},
  {id: 'doc.connect', name: 'curl', kprobe: true},
  {id: 'doc.cat', name: 'cat', kprobe: false},
  {id: 'doc.file', name: 'cat', kprobe: true},
]

/** Steps doc.*: each event's document, searchable within --es-timeout, with the fields the profile expects. */
export async function matchDocuments(sc: StageContext, at: ProbeTarget, runs: Map<CommandName, CommandRun>, events: Map<CommandName, Matched>, esConfigured: boolean): Promise<void> {
  const {flags, signal: abort} = sc
  const ctx = sc.checks
  const es: EsHandle | undefined = esConfigured ? await ctx.es() : undefined
  if (!es) {
    for (const d of DOC_STEPS) sc.record(d.id, {status: 'skip', message: 'Elasticsearch is not configured (set ELASTICSEARCH_URL or ELASTICSEARCH_CLOUD_ID)'})
    return
  }
  sc.progress.waiting('elasticsearch', 'reading the ingest pipelines to choose the profile')
  // Profile: as given, else from the installed pipeline (the package's, or none: the seed's setup).
  // Without the privilege to read pipelines, decide by where the documents are (as es.dataset does).
  const pipelines = await packagePipelines(ctx, es, abort).catch(() => undefined)
  const profile: Profile =
    flags.profile === 'seed' || flags.profile === 'package'
      ? flags.profile
      : pipelines
        ? Object.keys(pipelines).length > 0
          ? 'package'
          : 'seed'
        : (await chooseDataset(ctx, es, abort)).profile
  const dataset = flags.dataset ?? (profile === 'package' ? PACKAGE_DATASET : flags.profile === 'seed' ? DOCUMENTED_DATASET : (await chooseDataset(ctx, es, abort)).dataset)
  Object.assign(sc.run, {profile, dataset})

  const grpcOf = (d: {id: string}) => sc.steps.find((s) => s.id === d.id.replace('doc.', 'grpc.'))
  const wants: DocWant[] = []
  const pending: typeof DOC_STEPS = []
  for (const d of DOC_STEPS) {
    const r = runs.get(d.name)!
    const g = grpcOf(d)
    if (r.error) {
      sc.record(d.id, {status: 'not-evaluated', message: `requires exec.${d.name}, which failed`})
      continue
    }
    if (d.kprobe && g?.status === 'skip') {
      sc.record(d.id, {status: g.status, message: g.message, hint: g.hint})
      continue
    }
    const coverage = g?.evidence?.coverage as Coverage | undefined
    if (d.kprobe && coverage?.state === 'missing') {
      // --require-policies made the missing policy a failure; there is no event to look for.
      sc.record(d.id, {status: 'not-evaluated', message: `requires ${g!.id}, which failed: ${g!.message}`})
      continue
    }
    const m = events.get(d.name) ?? {}
    const ev = d.kprobe ? m.kprobe : m.exec
    const match = ev ? sameEvent(ev.json) : d.kprobe ? byBinary('process_kprobe', d.name, d.name === 'curl' ? {fn: 'tcp_connect'} : {path: true}) : byBinary('process_exec', d.name)
    wants.push({step: d.id, match})
    pending.push(d)
  }
  if (pending.length === 0) return
  const firstStart = Math.min(...[...runs.values()].map((r) => r.startedAt))
  const started = performance.now()
  const show = (found: number) => sc.progress.waiting('elasticsearch', `waiting for ${pending.length - found} documents in logs-${dataset}-*`, sc.input.esTimeoutMs)
  show(0)
  const {found, polls, seen} = await waitForDocuments({
    es,
    dataset,
    namespace: at.namespace,
    pod: at.pod,
    // Filebeat stamps @timestamp when it reads the line; allow for clock skew between here and the cluster.
    sinceMs: firstStart - 300_000,
    wants,
    timeoutMs: sc.input.esTimeoutMs,
    signal: abort,
    onPoll: show,
  })
  if (abort.aborted) return
  const withDataset = await idsWithDataset(es, dataset, [...found.values()].map((d) => d.id), abort).catch(() => new Set<string>())
  const missing = pending.filter((d) => !found.has(d.id))
  if (missing.length > 0) sc.progress.waiting('elasticsearch', `${missing.length} documents missing: looking for why`)
  const diagnosis = missing.length > 0 ? await diagnose(sc, at, dataset, missing.map((d) => d.name), es, firstStart) : undefined
  for (const d of pending) {
    const doc = found.get(d.id)
    const r = runs.get(d.name)!
    const ev = d.kprobe ? events.get(d.name)?.kprobe : events.get(d.name)?.exec
    if (!doc) {
      sc.record(
        d.id,
        {
          status: 'fail',
          message: `no document in logs-${dataset}-* within --es-timeout ${ms(sc.input.esTimeoutMs)}${ev ? `, although the event was on the gRPC stream` : ''}: ${diagnosis!.message}`,
          hint: diagnosis!.hint,
          docs: DOCS.package,
          evidence: {dataset, profile, polls, documentsOfPod: seen, ...diagnosis!.evidence},
        },
        performance.now() - started,
      )
      continue
    }
    const daddr = d.kprobe && d.name === 'curl' ? (ev ? sockArg(ev.json)?.daddr : doc.event ? sockArg(doc.event)?.daddr : undefined) : undefined
    const fields = checkFields({profile, dataset, doc, datasetMatched: withDataset.has(doc.id), binary: d.name, daddr: d.kprobe && d.name === 'curl' ? (daddr ?? '') : undefined})
    const bad = fields.filter((f) => !f.ok)
    const evidence = {index: doc.index, id: doc.id, dataset, profile, searchableAfterMs: doc.foundAt - r.startedAt, polls, fields: Object.fromEntries(fields.map((f) => [f.field, f.ok ? 'ok' : {expected: f.expected, got: f.got ?? null}]))}
    const kind = doc.event ? kindOf(doc.event) : 'document'
    if (bad.length === 0) {
      sc.record(d.id, {status: 'pass', message: `${kind} document in ${doc.index} searchable after ${ms(doc.foundAt - r.startedAt)}; ${fields.map((f) => f.field).join(', ')} as the ${profile} profile expects`, evidence}, performance.now() - started)
      continue
    }
    const instead = bad.map((f) => INSTEAD[f.field]).filter(Boolean)
    sc.record(
      d.id,
      {
        status: 'fail',
        message: `${kind} document found in ${doc.index}, but ${bad.map((f) => `${f.field} is ${f.got === undefined ? 'missing' : JSON.stringify(f.got)} (expected ${f.expected})`).join('; ')}`,
        hint:
          profile === 'seed'
            ? `The cilium_tetragon pipeline never sets ${bad.map((f) => f.field).join(', ')}${instead.length ? `; the data is in ${instead.join('; ')}` : ''}. Validate what the package writes with --profile package.`
            : `Check the ingest pipeline logs-${PACKAGE_DATASET}-<version> and the shipper's output index (${DATA_STREAM}).`,
        docs: DOCS.package,
        evidence,
      },
      performance.now() - started,
    )
  }
}

/** Why documents did not arrive: the export filters, the other dataset, or the shipper / pipeline. */
async function diagnose(sc: StageContext, at: Pick<ProbeTarget, 'namespace' | 'pod'>, dataset: string, names: CommandName[], es: EsHandle, since: number): Promise<{message: string; hint: string; evidence: Record<string, unknown>}> {
  const abort = sc.signal
  // The lists the agent applies (args > environment > ConfigMap), read as doctor's tetragon.export-filters reads them.
  const filters = await exportFilterConfig(sc.checks, abort).catch(() => undefined)
  const install = await tetragonInstall(sc.checks, abort).catch(() => undefined)
  const tns = install?.namespace ?? 'kube-system'
  for (const name of names) {
    const verdict = exportKeeps({allow: filters?.allow, deny: filters?.deny}, {type: 'PROCESS_EXEC', namespace: at.namespace, pod: at.pod, binary: `/usr/bin/${name}`})
    if (verdict.kept === false) {
      return {
        message: `the agent's export filters drop the probe's events (${verdict.because}), so they never reach the export file the shipper reads`,
        hint: exportFilterHint({allow: filters?.allow, because: verdict.because, namespace: at.namespace, tetragonNamespace: tns}),
        evidence: {exportAllowList: filters?.allow, exportDenyList: filters?.deny},
      }
    }
  }
  const other = dataset === PACKAGE_DATASET ? DOCUMENTED_DATASET : PACKAGE_DATASET
  const elsewhere = await waitForDocuments({es, dataset: other, namespace: at.namespace, pod: at.pod, sinceMs: since - 300_000, wants: [{step: 'any', match: () => true}], timeoutMs: 0, signal: abort}).catch(() => undefined)
  if (elsewhere?.found.size) {
    return {
      message: `the probe's documents are in logs-${other}-* instead`,
      hint: `Rerun with --dataset ${other}, or point the shipper at ${dataset === PACKAGE_DATASET ? DATA_STREAM : `logs-${dataset}-default`}.`,
      evidence: {foundIn: other},
    }
  }
  // The newest document tells a stopped shipper (nothing at all, or nothing new) from a slow one.
  const newest = await newestTimestamp(es, dataset, abort).catch(() => undefined)
  const age = newest ? Date.now() - Date.parse(newest) : undefined
  return {
    message: `the export kept the events but nothing indexed them (${age === undefined ? `no document at all in logs-${dataset}-*` : `newest document in logs-${dataset}-* is ${ms(Math.max(0, age))} old`}): the shipper is not shipping, or ingestion is slower than --es-timeout`,
    hint: `kubectl -n ${tns} logs ds/tetragon -c export-stdout --tail=20 (and the shipper's own logs); if ingestion is only slow, raise --es-timeout`,
    evidence: {newestDocument: newest ?? null},
  }
}

/**
 * The allow list is newline-separated JSON filters, any of which keeps an event (chart value tetragon.exportAllowList, cilium/tetragon v1.7.0
 * install/kubernetes/tetragon/values.yaml): appending a filter
 * on the probe's namespace lets it through. --set-json passes the chart value as one JSON string (Helm >= 3.10).
 */
export function exportFilterHint(a: {allow?: string; because?: string; namespace: string; tetragonNamespace: string}): string {
  if (a.because?.startsWith('export-denylist')) {
    return `Manual step: remove the export-denylist filter that drops namespace ${a.namespace} (${a.because}): helm upgrade tetragon cilium/tetragon -n ${a.tetragonNamespace} --reuse-values with tetragon.exportDenyList without it; or run validate with --pod in an exported namespace`
  }
  const allow = [a.allow?.trim(), JSON.stringify({namespace: [a.namespace]})].filter(Boolean).join('\n')
  const quoted = JSON.stringify(allow).replace(/'/g, `'\\''`)
  return `helm upgrade tetragon cilium/tetragon -n ${a.tetragonNamespace} --reuse-values --set-json 'tetragon.exportAllowList=${quoted}'\n# or run validate with --pod in a namespace the export keeps`
}
