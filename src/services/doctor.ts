// The doctor use case: build the context, run the registry, render, decide the exit code.
import {checks} from '../checks/index.js'
import type {CheckContext, DoctorOptions} from '../checks/context.js'
import type {KubeClient} from '../clients/kube.js'
import type {FailOn} from '../engine/exit-codes.js'
import {UserError, SkipError} from '../engine/errors.js'
import {interruption} from '../engine/interrupt.js'
import {Memo} from '../engine/memo.js'
import {createElasticCheckContext} from '../checks/elastic/make-context.js'
import {tetragonAccess} from '../cluster/agents.js'
import {buildReport} from '../engine/report.js'
import {plannedIds, runChecks, validateSelectors} from '../engine/runner.js'
import type {Check, Report} from '../engine/types.js'
import type {DoctorFlags} from '../flags.js'
import {finish} from '../report/finish.js'
import {colorLevel, renderHuman} from '../report/human.js'
import {startProgress} from '../report/progress.js'
import {wrapProse} from '../report/wrap.js'

export type {DoctorFlags} from '../flags.js'

const KUBE_LAYERS = new Set(['kubernetes', 'tetragon'])

export async function runDoctor(args: {flags: DoctorFlags; json: boolean; version: string; log(s: string): void; startedAt: Date; registry?: Check<CheckContext>[]}): Promise<Report> {
  const {flags} = args
  const registry = args.registry ?? checks
  const only = flags.only?.map((s) => s.trim()).filter(Boolean)
  const skip = flags.skip?.map((s) => s.trim()).filter(Boolean)
  if (only) validateSelectors(registry, only, '--only')
  if (skip) validateSelectors(registry, skip, '--skip')
  const globalTimeoutMs = flags.timeout
  // Set while a run of checks is under --timeout; Kubernetes requests end by then (see KubeOptions.deadline).
  let runDeadline: number | undefined
  const underTimeout = async <T>(fn: () => Promise<T>, endsAt = Date.now() + globalTimeoutMs): Promise<T> => {
    runDeadline = endsAt - 500
    try {
      return await fn()
    } finally {
      runDeadline = undefined
    }
  }
  const checkTimeoutMs = flags['check-timeout']
  // A request must give up before the whole run does, so an API that never answers is reported as
  // unreachable (exit 3) rather than as an unfinished run.
  const requestTimeoutMs = Math.min(flags['request-timeout'], Math.max(500, globalTimeoutMs - 1000))

  // Load the kubeconfig up front when a Kubernetes-side check will run: a bad one is a usage error (exit 2).
  const wanted = registry.filter((c) => !only || only.includes(c.id) || only.includes(c.layer))
  let kube: KubeClient | undefined
  const loadKube = async () => {
    if (!kube) {
      const {KubeClient} = await import('../clients/kube.js')
      kube = KubeClient.load({kubeconfig: flags.kubeconfig, context: flags.context, requestTimeoutMs, deadline: () => runDeadline})
    }
    return kube
  }
  // Without a kubeconfig, the cluster checks skip when the user did not ask for them: a standalone agent
  // (--tetragon-address) or an Elastic-only run (--only elastic) pulls them in only as requirements.
  const standalone = Boolean(flags['tetragon-address'])
  // Asked = a Kubernetes or Tetragon check the user selected and did not skip: `--skip kubernetes,tetragon`
  // is as Elastic-only as `--only elastic,kibana`.
  const picked = (c: Check<CheckContext>, sel?: string[]) => Boolean(sel?.includes(c.id) || sel?.includes(c.layer))
  const kubeAsked = registry.some((c) => KUBE_LAYERS.has(c.layer) && (!only || picked(c, only)) && !picked(c, skip))
  const kubeOrSkip = async () => {
    try {
      return await loadKube()
    } catch (error) {
      if ((standalone || !kubeAsked) && error instanceof UserError && /No kubeconfig found/.test(error.message)) {
        throw new SkipError(standalone ? 'no Kubernetes cluster configured (standalone agent at --tetragon-address)' : 'no Kubernetes cluster configured (no kubeconfig)')
      }
      throw error
    }
  }
  if (kubeAsked && !standalone) await loadKube()

  const opts = doctorOptionsFromFlags(flags)
  if (opts.tetragonAddress) {
    const {parseTetragonAddress} = await import('../clients/tetragon.js')
    parseTetragonAddress(opts.tetragonAddress, '--tetragon-address')
  }
  const memo = new Memo()
  const closers: Array<() => unknown> = []
  const esFlags = esConnectionFromFlags(flags, requestTimeoutMs)
  const kibanaFlags = {url: flags['kibana-url'], apiKey: flags['kibana-api-key'], requestTimeoutMs}
  // Bad Elasticsearch/Kibana settings (no scheme, malformed API key, missing CA file) are usage errors: exit 2 before anything runs.
  if (wanted.some((c) => c.layer === 'elastic' || c.layer === 'kibana')) {
    const [{esOptionsFromEnv, validateEsOptions}, {kibanaOptionsFromEnv, createKibanaHandle}] = await Promise.all([import('../clients/elasticsearch.js'), import('../clients/kibana.js')])
    const es = esOptionsFromEnv(process.env, esFlags)
    if (es) validateEsOptions(es)
    const kb = kibanaOptionsFromEnv(process.env, kibanaFlags)
    if (kb) createKibanaHandle(kb) // validates URL, credentials pairing and CA file; opens nothing
  }
  const elastic = createElasticCheckContext({opts, memo, es: esFlags, kibana: kibanaFlags})
  closers.push(() => elastic.close())
  const ctx: CheckContext = {
    ...elastic,
    opts,
    memo,
    kube: kubeOrSkip,
    tetragon: (signal) => tetragonAccess(ctx, signal),
    onClose: (fn) => closers.push(fn),
  }

  ctx.selected = new Set(plannedIds(registry, ctx, {only, skip}))
  // SIGINT/SIGTERM/SIGHUP stop the run: unfinished checks are reported interrupted, exit 130.
  const endsAt = Math.max(Date.now() + 1000, args.startedAt.getTime() + globalTimeoutMs)
  // On a terminal (not --json, not --fix, whose plan follows the diagnosis) results stream as they finish, grouped and
  // fitted to the width; pipes and CI get the complete plain report at the end (issue #14 items 1–2).
  const color = colorLevel(process.stdout) === 1
  const stream = !args.json && !flags.fix && process.stdout.isTTY === true
  const progress = await startProgress({
    spinner: !args.json,
    stream: stream ? {width: process.stdout.columns || 80, color, verbose: flags.verbose} : undefined,
    print: args.log,
  })
  let run: Awaited<ReturnType<typeof runChecks>>
  try {
    // --timeout bounds the whole command: what loading the clients and the kubeconfig took comes off the run.
    run = await underTimeout(
      () => runChecks(registry, ctx, {only, skip, concurrency: flags.concurrency, checkTimeoutMs, globalTimeoutMs: Math.max(1000, endsAt - Date.now()), signal: interruption.signal, ...progress.hooks}),
      endsAt,
    )
  } finally {
    progress.stop()
  }
  // The closing error line: one line for logs and CI; fitted to the width under a streamed report on the same terminal.
  const wrapErrors = stream && process.stderr.isTTY === true
  const errorLine = (text: string) => {
    const lines = wrapErrors ? wrapProse(text, process.stdout.columns || 80, '', '       ') : [text]
    process.stderr.write(`${lines.join('\n')}\n`)
  }
  const closeAll = () => Promise.allSettled(closers.splice(0).reverse().map(async (fn) => fn()))

  const k = kube as KubeClient | undefined
  let report = buildReport({
    command: 'doctor',
    version: args.version,
    startedAt: args.startedAt,
    target: {context: k?.contextName, server: k?.server},
    run,
    failOn: flags['fail-on'] as FailOn,
  })
  let diagnosed: Report | undefined
  if (flags.fix && k && !interruption.reason()) {
    // doctor is read-only unless --fix: the fixes live in their own service, which re-runs the affected checks.
    const {applyFixes} = await import('./fix.js')
    // The diagnosis comes first, then the plan, then the question (issue #14 item 5): the user sees why before what.
    if (!args.json) args.log(renderHuman(report, {color, verbose: flags.verbose}))
    diagnosed = report
    report = await applyFixes({
      report,
      kube: k,
      ctx,
      yes: Boolean(flags.yes),
      helmBin: flags.helm,
      json: args.json,
      log: args.log,
      rerun: async (ids: string[]) => {
        const fresh: CheckContext = {...ctx, memo: new Memo(), tetragon: (signal) => tetragonAccess(fresh, signal)}
        const again = await underTimeout(() => runChecks(registry, fresh, {only: ids, concurrency: flags.concurrency, checkTimeoutMs, globalTimeoutMs}))
        return buildReport({command: 'doctor', version: args.version, startedAt: args.startedAt, target: report.target, run: again, failOn: flags['fail-on'] as FailOn})
      },
    })
  }
  await closeAll()
  return finish(report, {
    json: args.json,
    junit: flags.junit,
    log: args.log,
    // With --fix the diagnosis is already on screen; the report again only when the fixes changed it (the re-run's).
    human: (r) => (stream ? progress.finish(r).join('\n') : flags.fix && r === diagnosed ? '' : renderHuman(r, {color, verbose: flags.verbose})),
    errorLine,
    // Under a streamed report the fix is printed whole above; a wrapped copy of a command would not paste.
    fixInError: !wrapErrors,
    nothingProvenAdvice: 'select checks that can run with --only/--skip, or configure their target',
  })
}

/** What the checks get from the flags; shared by doctor and validate. */
export function doctorOptionsFromFlags(flags: Pick<DoctorFlags, 'namespace' | 'service-name' | 'service-namespace' | 'collector-address' | 'tetragon-address' | 'tetragon-health-address' | 'grpc-timeout' | 'schema-sample' | 'metrics-window' | 'dataset' | 'profile' | 'max-age' | 'window'> & Partial<Pick<DoctorFlags, 'event-namespace'>>): DoctorOptions {
  return {
    namespace: flags.namespace,
    eventNamespaces: flags['event-namespace']?.map((s) => s.trim()),
    serviceName: flags['service-name'],
    serviceNamespace: flags['service-namespace'],
    collectorAddress: flags['collector-address'],
    tetragonAddress: flags['tetragon-address'],
    tetragonHealthAddress: flags['tetragon-health-address'],
    grpcTimeoutMs: flags['grpc-timeout'],
    schemaSampleMs: flags['schema-sample'],
    metricsWindowMs: flags['metrics-window'],
    dataset: flags.dataset,
    profile: flags.profile as DoctorOptions['profile'],
    maxAgeMs: flags['max-age'],
    windowMs: flags.window,
  }
}

/** Elasticsearch connection settings from the flags (the client fills the rest from the environment). */
export function esConnectionFromFlags(
  flags: Pick<DoctorFlags, 'es-url' | 'es-cloud-id' | 'es-api-key' | 'es-username' | 'es-password' | 'es-ca-cert' | 'es-insecure'>,
  requestTimeoutMs: number,
) {
  return {
    url: flags['es-url'],
    cloudId: flags['es-cloud-id'],
    apiKey: flags['es-api-key'],
    username: flags['es-username'],
    password: flags['es-password'],
    caFile: flags['es-ca-cert'],
    insecure: flags['es-insecure'] || undefined,
    requestTimeoutMs,
  }
}
