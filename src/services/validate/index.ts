// The validate use case as stages, each a small unit recording its steps as doctor's check results with a stage
// (as cilium-cli's connectivity test runs actions that record their own results): preflight (doctor checks through
// the same runner), trigger (probe pod + exec), gRPC (the probe node's agent's stream, subscribed before the
// trigger), Elasticsearch (the documents of those events), cleanup on every path; then doctor's finish sequence.
import {randomBytes} from 'node:crypto'

import type {CheckContext} from '../../checks/context.js'
import {createElasticCheckContext} from '../../checks/elastic/make-context.js'
import {tetragonAccess} from '../../cluster/agents.js'
import {determineExitCode, type FailOn} from '../../engine/exit-codes.js'
import {interruption} from '../../engine/interrupt.js'
import {Memo} from '../../engine/memo.js'
import {summarize} from '../../engine/report.js'
import {doctorFlagSet, flagsFromEnvironment} from '../../flags.js'
import {finish} from '../../report/finish.js'
import {colorLevel} from '../../report/human.js'
import {doctorOptionsFromFlags, esConnectionFromFlags} from '../doctor.js'
import {cleanup} from './cleanup.js'
import {ms, parseInputs, type StageContext} from './context.js'
import {matchDocuments} from './elasticsearch.js'
import {matchEvents, watchProbe} from './grpc.js'
import {liveProgress, plainProgress} from './live.js'
import {preflight} from './preflight.js'
import {probeNamespaceName} from './probe.js'
import {givenPod, probePodStep, runProbeCommands} from './trigger.js'
import {STEPS, stepResult, type StepResult, type ValidateFlags, type ValidateReport, type ValidateRun} from './types.js'

export {DEFAULT_IMAGE} from './probe.js'
export {exportFilterHint} from './elasticsearch.js'

export async function runValidate(args: {flags: ValidateFlags; json: boolean; version: string; log(s: string): void; startedAt: Date}): Promise<ValidateReport> {
  const {flags} = args
  const input = parseInputs(flags)
  const runId = randomBytes(3).toString('hex')
  const deadline = args.startedAt.getTime() + input.globalTimeoutMs

  // Bad Elasticsearch settings are usage errors before anything runs (as in doctor).
  const esFlags = esConnectionFromFlags(flags, input.requestTimeoutMs)
  const {esOptionsFromEnv, validateEsOptions} = await import('../../clients/elasticsearch.js')
  const esOpts = esOptionsFromEnv(process.env, esFlags)
  if (esOpts) validateEsOptions(esOpts)
  if (flags['tetragon-address']) {
    const {parseTetragonAddress} = await import('../../clients/tetragon.js')
    parseTetragonAddress(flags['tetragon-address'], '--tetragon-address')
  }
  const {KubeClient} = await import('../../clients/kube.js')
  const kube = KubeClient.load({kubeconfig: flags.kubeconfig, context: flags.context, requestTimeoutMs: input.requestTimeoutMs})

  // The doctor checks validate reuses get their options the way doctor builds them.
  const opts = {
    ...doctorOptionsFromFlags({...(await flagsFromEnvironment(doctorFlagSet)), ...flags, 'collector-address': '', 'service-name': 'tetragon-grpc'}),
    grpcTimeoutMs: input.grpcTimeoutMs,
  }
  const memo = new Memo()
  const closers: Array<() => unknown> = []
  const elastic = createElasticCheckContext({opts, memo, es: esFlags, kibana: {url: flags['kibana-url'], apiKey: flags['kibana-api-key'], requestTimeoutMs: input.requestTimeoutMs}})
  closers.push(() => elastic.close())
  const ctx: CheckContext = {
    ...elastic,
    opts,
    memo,
    kube: async () => kube,
    tetragon: (signal) => tetragonAccess(ctx, signal),
    onClose: (fn) => closers.push(fn),
  }
  const closeAll = () => Promise.allSettled(closers.splice(0).reverse().map(async (fn) => fn()))

  // SIGINT, SIGTERM and SIGHUP (a closed terminal) and the global --timeout abort one signal every stage listens to;
  // cleanup runs after any of them.
  const timer = new AbortController()
  const signal = AbortSignal.any([interruption.signal, timer.signal])
  const interrupted = (): ValidateReport['interrupted'] => interruption.reason() ?? (timer.signal.aborted ? 'timeout' : undefined)
  const steps: StepResult[] = []
  const run: ValidateRun = {id: runId, created: false, kept: false, url: input.urlText}
  // On a terminal the report fits its width; piped, it stays whole lines for whoever reads it.
  const render = {color: colorLevel(process.stdout) === 1, verbose: flags.verbose, width: process.stdout.isTTY ? process.stdout.columns || undefined : undefined}
  // Live stages only where someone watches: a terminal on stderr, and not --json.
  const progress = !args.json && process.stderr.isTTY ? liveProgress({steps, log: args.log, err: process.stderr, render}) : plainProgress(render)
  const sc: StageContext = {
    flags,
    input,
    runId,
    kube,
    checks: ctx,
    signal,
    interrupts: interruption.signal,
    timedOut: () => timer.abort('timeout'),
    remaining: () => Math.max(0, deadline - Date.now()),
    run,
    steps,
    record: (id, outcome, durationMs = 0) => steps.push(stepResult(id, outcome, durationMs)),
    onClose: (fn) => closers.push(fn),
    progress,
  }
  // A second signal stops at once: say what is left behind.
  interruption.setLeftoverNote(() => (sc.created && !flags.keep ? `Delete what validate created with: kubectl delete namespace ${sc.created}` : undefined))
  const globalTimer = setTimeout(() => timer.abort('timeout'), input.globalTimeoutMs)
  /** Why the steps after a stopping point were not evaluated. */
  let blocked: string | undefined

  try {
    try {
      blocked = await stages()
    } catch (error) {
      // An interrupt surfaces as an aborted request somewhere: the unfinished steps are reported as interrupted.
      if (!signal.aborted) throw error
    } finally {
      // Cleanup on every path: success, failure, --timeout, SIGINT/SIGTERM/SIGHUP, and a usage error raised mid-run.
      await cleanup(sc)
      if (sc.created) progress.finish('cleanup')
      clearTimeout(globalTimer)
      await closeAll()
      interruption.setLeftoverNote(undefined)
    }
  } finally {
    progress.stop()
  }

  // Every step is in the report: the ones not reached say why.
  const why = interrupted()
  const done = new Set(steps.map((s) => s.id))
  for (const d of STEPS) {
    if (done.has(d.id)) continue
    if (d.id === 'probe.cleanup') {
      sc.record(d.id, {status: 'skip', message: run.created ? 'nothing left to delete' : input.podRef ? 'nothing created (--pod names an existing pod)' : 'nothing created'})
      continue
    }
    sc.record(d.id, {status: 'not-evaluated', message: why === 'timeout' ? `global --timeout (${ms(input.globalTimeoutMs)}) reached first` : why ? `interrupted (${why})` : (blocked ?? 'not reached'), ...(why ? {interrupted: true} : {})})
  }
  const order = (s: StepResult) => STEPS.findIndex((d) => d.id === s.id)
  const ordered = [...steps.filter((s) => s.stage === 'preflight'), ...steps.filter((s) => s.stage !== 'preflight').sort((a, b) => order(a) - order(b))]
  const report: ValidateReport = {
    tool: 'tetractl',
    command: 'validate',
    version: args.version,
    startedAt: args.startedAt.toISOString(),
    durationMs: Math.round(Date.now() - args.startedAt.getTime()),
    target: {context: kube.contextName, server: kube.server},
    run,
    summary: summarize(ordered),
    checks: ordered,
    ...(why ? {interrupted: why} : {}),
    exitCode: determineExitCode(ordered, flags['fail-on'] as FailOn, why),
  }
  return finish(report, {json: args.json, junit: flags.junit, junitGroup: (c) => c.stage, log: args.log, human: (r) => progress.rest(r)})

  /** The stages in order; returns why the later ones could not run, if a stage stopped the run. */
  async function stages(): Promise<string | undefined> {
    const given = await givenPod(sc)
    const probeNamespace = given?.namespace ?? probeNamespaceName(runId)

    const pre = await preflight(sc, {namespace: probeNamespace, create: !given})
    progress.finish('preflight')
    if (signal.aborted) return undefined
    if (pre.blocked) return pre.blocked

    const at = await probePodStep(sc, given, probeNamespace)
    if (!at) return 'requires probe.pod'
    const watch = await watchProbe(sc, at)
    if (signal.aborted) return undefined
    const runs = await runProbeCommands(sc, at)
    if (!runs) return undefined
    progress.finish('trigger')

    const events = await matchEvents(sc, at, runs, watch)
    if (signal.aborted) return undefined
    progress.finish('tetragon')

    await matchDocuments(sc, at, runs, events, pre.esConfigured)
    if (signal.aborted) return undefined
    progress.finish('elasticsearch')
    return undefined
  }
}
