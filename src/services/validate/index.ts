// The validate use case: preflight (doctor checks through the same runner), trigger (probe pod + exec), the Tetragon
// stage (GetEvents of the probe node's agent, subscribed before the trigger), the Elasticsearch stage (documents of
// those events, fields per profile), cleanup on every path, one report in every format, the shared exit codes.
import {createHash, randomBytes} from 'node:crypto'

import type {CheckContext} from '../../checks/context.js'
import {checks} from '../../checks/index.js'
import {createElasticCheckContext} from '../../checks/elastic/make-context.js'
import {chooseDataset, DATA_STREAM, DOCS as ES_DOCS, DOCUMENTED_DATASET, INSTEAD, PACKAGE_DATASET, packagePipelines} from '../../checks/elastic/facts.js'
import {tetragonInstall, tetragonPods} from '../../cluster/facts.js'
import {tetragonAccess} from '../../cluster/agents.js'
import {serverAddress} from '../../cluster/server-address.js'
import type {KubeClient} from '../../clients/kube.js'
import type {EsHandle} from '../../clients/elasticsearch.js'
import type {TetragonClient} from '../../clients/tetragon.js'
import {determineExitCode, ExitCode, nothingEvaluated, type FailOn} from '../../engine/exit-codes.js'
import {UserError, redact} from '../../engine/errors.js'
import {interruption} from '../../engine/interrupt.js'
import {safeText} from '../../engine/redact.js'
import {Memo} from '../../engine/memo.js'
import {summarize} from '../../engine/report.js'
import {runChecks} from '../../engine/runner.js'
import type {Outcome} from '../../engine/types.js'
import {renderGithubAnnotations} from '../../report/github.js'
import {colorLevel} from '../../report/human.js'
import {writeFileAtomic} from '../../report/junit.js'
import type {TetragonEventJson} from '../../tetragon/json.js'
import {validateAccess} from './access.js'
import {exportFilterConfig} from '../../checks/tetragon/export-filters.js'
import {exportKeeps} from '../../tetragon/export-filter.js'
import {inspectPolicies, SETUP_HINT, type Coverage, type PolicyCoverage} from './policies.js'
import {
  DEFAULT_IMAGE, MANAGED_BY, PROBE_CONTAINER, parsePodRef, pickContainer, podUsable, probeNamespaceName, probePod, runCommand, runMarker, validateUrl,
  type CommandRun,
} from './probe.js'
import {renderValidateHuman, renderValidateJunit} from './render.js'
import {byBinary, checkFields, idsWithDataset, sameEvent, waitForDocuments, type DocWant, type FoundDoc, type Profile} from './search.js'
import {basename, bodyOf, filePath, inPod, isShadow, kindOf, processOf, sockArg, subscribe, type StreamEvent, type Subscription} from './stream.js'
import {doctorOptionsFromFlags, esConnectionFromFlags} from '../doctor.js'
import {doctorFlagSet, flagDefaults, type DoctorFlags} from '../../flags.js'
import {STEPS, stepResult, type CommandName, type StepResult, type ValidateFlags, type ValidateReport, type ValidateRun} from './types.js'

export {DEFAULT_IMAGE} from './probe.js'

const COMMANDS: CommandName[] = ['whoami', 'curl', 'cat']
const PREFLIGHT = ['k8s.connect', 'tetragon.daemonset', 'tetragon.policies', 'es.connect']
const CLEANUP_TIMEOUT_MS = 20_000

interface Inputs {
  url: URL
  /** The URL as given (what curl runs with). */
  urlText: string
  podRef?: {namespace: string; name: string}
  image: string
  globalTimeoutMs: number
  esTimeoutMs: number
  eventTimeoutMs: number
  podTimeoutMs: number
  requestTimeoutMs: number
  grpcTimeoutMs: number
}

/** Every flag checked before anything touches the network: bad input is a one-line error, exit 2. */
export function parseInputs(flags: ValidateFlags): Inputs {
  // Durations arrive in milliseconds, already bounded by their flag type (src/flags.ts durationFlag).
  const globalTimeoutMs = flags.timeout
  const esTimeoutMs = flags['es-timeout']
  const eventTimeoutMs = flags['event-timeout']
  const podTimeoutMs = flags['pod-timeout']
  const grpcTimeoutMs = flags['grpc-timeout']
  const requestTimeoutMs = Math.min(flags['request-timeout'], Math.max(500, globalTimeoutMs - 1000))
  const url = validateUrl(flags.url)
  const podRef = flags.pod !== undefined ? parsePodRef(flags.pod) : undefined
  const image = flags.image.trim()
  if (!image || /\s/.test(image)) throw new UserError(`--image must be an image reference, not "${flags.image}".`, `Example: --image ${DEFAULT_IMAGE}`)
  if (flags.pod !== undefined && flags.image !== DEFAULT_IMAGE) throw new UserError('--image and --pod exclude each other: --pod uses the image of the pod you name.', 'Drop one of them.')
  return {url, urlText: flags.url.trim(), podRef, image, globalTimeoutMs, esTimeoutMs, eventTimeoutMs, podTimeoutMs, requestTimeoutMs, grpcTimeoutMs}
}

const ms = (n: number) => (n < 1000 ? `${Math.round(n)} ms` : `${(n / 1000).toFixed(1)} s`)

export async function runValidate(args: {flags: ValidateFlags; json: boolean; version: string; log(s: string): void; startedAt: Date}): Promise<ValidateReport> {
  const {flags} = args
  const input = parseInputs(flags)
  const runId = randomBytes(3).toString('hex')
  const deadline = args.startedAt.getTime() + input.globalTimeoutMs
  const remaining = () => Math.max(0, deadline - Date.now())

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
    ...doctorOptionsFromFlags({...(flagDefaults(doctorFlagSet) as DoctorFlags), ...flags, 'collector-address': '', 'service-name': 'tetragon-grpc'}),
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

  // ---- interrupts and the global --timeout: one signal every stage listens to ----
  // SIGINT, SIGTERM and SIGHUP (a closed terminal) all abort `interruption.signal`; cleanup runs after any of them.
  const signals = interruption.signal
  const timer = new AbortController()
  const abort = AbortSignal.any([signals, timer.signal])
  const interrupted = (): ValidateReport['interrupted'] => interruption.reason() ?? (timer.signal.aborted ? 'timeout' : undefined)
  // A second signal stops at once: say what is left behind.
  interruption.setLeftoverNote(() => (createdNamespace && !flags.keep ? `Delete what validate created with: kubectl delete namespace ${createdNamespace}` : undefined))
  const globalTimer = setTimeout(() => timer.abort('timeout'), input.globalTimeoutMs)

  const steps: StepResult[] = []
  const run: ValidateRun = {id: runId, created: false, kept: false, url: input.urlText}
  const add = (id: string, outcome: Outcome, durationMs = 0) => steps.push(stepResult(id, outcome, durationMs))
  let createdNamespace: string | undefined
  let sub: Subscription | undefined
  /** Why the steps after a stopping point were not evaluated. */
  let blockedReason: string | undefined

  try {
    try {
      await stages()
    } catch (error) {
      // An interrupt surfaces as an aborted request somewhere: the unfinished steps are reported as interrupted.
      if (!abort.aborted) throw error
    }
  } finally {
    sub?.close()
    // Cleanup on every path: success, failure, --timeout, SIGINT/SIGTERM/SIGHUP, and a usage error raised mid-run.
    if (createdNamespace) {
      const started = performance.now()
      if (flags.keep) {
        run.kept = true
        add('probe.cleanup', {status: 'skip', message: `kept namespace ${createdNamespace} (--keep); delete it with: kubectl delete namespace ${createdNamespace}`, evidence: {namespace: createdNamespace}})
        process.stderr.write(`Kept the probe (--keep). Delete it with: kubectl delete namespace ${createdNamespace}\n`)
      } else {
        try {
          const {deleteNamespace} = await import('../../clients/kube-objects.js')
          const existed = await deleteNamespace(kube, createdNamespace, AbortSignal.timeout(CLEANUP_TIMEOUT_MS))
          add('probe.cleanup', {status: 'pass', message: existed ? `deleted namespace ${createdNamespace} and the probe pod in it` : `namespace ${createdNamespace} was already gone`, evidence: {namespace: createdNamespace}}, performance.now() - started)
        } catch (error) {
          add('probe.cleanup', {status: 'fail', message: `could not delete namespace ${createdNamespace}: ${redact((error as Error).message.split('\n')[0]!)}`, hint: `kubectl delete namespace ${createdNamespace}`}, performance.now() - started)
        }
      }
    }
    clearTimeout(globalTimer)
    await closeAll()
    interruption.setLeftoverNote(undefined)
  }

  // ---- the report ----
  const why = interrupted()
  const done = new Set(steps.map((s) => s.id))
  for (const d of STEPS) {
    if (done.has(d.id)) continue
    if (d.id === 'probe.cleanup') {
      add(d.id, {status: 'skip', message: run.created ? 'nothing left to delete' : input.podRef ? 'nothing created (--pod names an existing pod)' : 'nothing created'})
      continue
    }
    add(d.id, {status: 'not-evaluated', message: why === 'timeout' ? `global --timeout (${flags.timeout}) reached first` : why ? `interrupted (${why})` : (blockedReason ?? 'not reached'), ...(why ? {interrupted: true} : {})})
  }
  const order = (s: StepResult) => {
    const i = STEPS.findIndex((d) => d.id === s.id)
    return i < 0 ? -1 : i
  }
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
  if (flags.junit) await writeFileAtomic(flags.junit, renderValidateJunit(report))
  if (process.env.GITHUB_ACTIONS === 'true') {
    const out = renderGithubAnnotations(report as any).join('\n')
    if (out) (args.json ? process.stderr : process.stdout).write(`${out}\n`)
  }
  if (!args.json) args.log(renderValidateHuman(report, {color: colorLevel(process.stdout) === 1, verbose: flags.verbose}))
  if (report.exitCode === ExitCode.UNREACHABLE) {
    const first = report.checks.find((c) => c.unreachable)
    process.stderr.write(`Error: ${safeText(`${first?.message}${first?.hint ? ` ${first.hint.split('\n')[0]}` : ''}`).replace(/\n/g, ' ')}\n`)
  }
  const noVerdict = why ? undefined : nothingEvaluated(report.checks)
  if (noVerdict) process.stderr.write(`Error: ${noVerdict}. Nothing was proven (exit 1).\n`)
  process.exitCode = report.exitCode
  return report

  // ---------------------------------------------------------------------------------------------

  async function stages(): Promise<void> {
    // ---- the pod given with --pod: checked before anything else (bad input, exit 2) ----
    let at: {namespace: string; pod: string; container: string} | undefined
    if (input.podRef) {
      const {readPod} = await import('../../clients/kube-objects.js')
      const {namespace, name} = input.podRef
      const pod = await readPod(kube, namespace, name, abort)
      if (!pod) throw new UserError(`Pod ${namespace}/${name} (--pod) does not exist.`, `kubectl get pods -n ${namespace}; or omit --pod to let validate create a probe pod.`)
      const container = pickContainer(pod, flags.container)
      podUsable(pod, container)
      at = {namespace, pod: name, container}
      await runMarker(kube, at, abort, true)
      Object.assign(run, {namespace, pod: name, container, node: pod.spec?.nodeName, image: pod.spec?.containers?.find((c) => c.name === container)?.image})
    }
    const probeNamespace = at?.namespace ?? probeNamespaceName(runId)

    // ---- preflight: the doctor checks validate depends on, through the same runner ----
    const registry = [...checks, validateAccess({namespace: probeNamespace, create: !at})]
    const only = [...PREFLIGHT.filter((id) => registry.some((c) => c.id === id)), 'validate.rbac']
    const pre = await runChecks(registry, ctx, {only, concurrency: 8, checkTimeoutMs: Math.min(20_000, remaining()), globalTimeoutMs: remaining(), signal: signals})
    for (const r of pre.results) steps.push({...r, stage: 'preflight'})
    if (pre.interrupted === 'timeout') timer.abort('timeout')
    if (abort.aborted) return
    const blocking = pre.results.filter((r) => r.status === 'fail' || r.status === 'not-evaluated')
    if (blocking.length > 0) {
      blockedReason = `preflight failed: ${blocking.map((b) => b.id).join(', ')}`
      return
    }
    const esConfigured = pre.results.find((r) => r.id === 'es.connect')?.status === 'pass' || pre.results.find((r) => r.id === 'es.connect')?.status === 'warn'

    // ---- trigger: the probe pod ----
    const podStarted = performance.now()
    if (!at) {
      const {createNamespace, createPod, waitForPodRunning, PodNotRunningError} = await import('../../clients/kube-objects.js')
      const labels = {...MANAGED_BY, 'tetractl.io/run-id': runId, 'pod-security.kubernetes.io/enforce': 'baseline'}
      // Recorded before the request: if the answer is lost, cleanup still deletes it (a 404 is fine).
      createdNamespace = probeNamespace
      run.created = true
      await createNamespace(kube, probeNamespace, labels, abort)
      await createPod(kube, probeNamespace, probePod({image: input.image, runId, lifetimeS: input.globalTimeoutMs / 1000 + 60}), abort)
      try {
        const pod = await waitForPodRunning(kube, probeNamespace, 'tetractl-probe', {timeoutMs: input.podTimeoutMs, signal: abort})
        at = {namespace: probeNamespace, pod: 'tetractl-probe', container: PROBE_CONTAINER}
        Object.assign(run, {namespace: probeNamespace, pod: at.pod, container: at.container, node: pod.spec?.nodeName, image: input.image})
      } catch (error) {
        if (abort.aborted) throw error
        if (!(error instanceof PodNotRunningError)) throw error
        add('probe.pod', {status: 'fail', message: error.message, hint: error.tryMessage}, performance.now() - podStarted)
        blockedReason = 'requires probe.pod'
        return
      }
    }
    add('probe.pod', {
      status: 'pass',
      message: `${run.created ? 'created' : 'using'} ${at.namespace}/${at.pod} (container ${at.container}) on ${run.node}${run.created ? `, image ${run.image}` : ''}`,
      evidence: {namespace: at.namespace, pod: at.pod, container: at.container, node: run.node, image: run.image, created: run.created, labels: run.created ? MANAGED_BY : undefined},
    }, performance.now() - podStarted)

    // ---- Tetragon: subscribe on the probe node's agent before anything runs ----
    const stream = await openStream(at)
    const coverage: PolicyCoverage | undefined = stream.client
      ? await inspectPolicies({kube, client: stream.client, probeNamespace: at.namespace, signal: abort}).catch(() => undefined)
      : undefined
    let markerSeen: StreamEvent | undefined
    if (sub) {
      for (let attempt = 0; attempt < 3 && !markerSeen && !abort.aborted && !sub.error(); attempt++) {
        const t0 = await runMarker(kube, at, abort, Boolean(input.podRef))
        markerSeen = await sub.waitFor((e) => e.at >= t0 && kindOf(e.json) === 'process_exec' && inPod(e.json, at.namespace, at.pod) && basename(String(processOf(e.json)?.binary ?? '')) === 'sh', Math.min(3000, input.eventTimeoutMs), abort)
      }
    } else {
      // Without a stream, still check the pod has sh (bad input for a created pod's --image).
      await runMarker(kube, at, abort, Boolean(input.podRef))
    }
    if (abort.aborted) return

    // ---- trigger: the probe commands ----
    const runs = new Map<CommandName, CommandRun>()
    for (const name of COMMANDS) {
      if (abort.aborted) return
      const r = await runCommand(kube, at, name, input.urlText, abort)
      runs.set(name, r)
      add(`exec.${name}`, execOutcome(r), r.endedAt - r.startedAt)
    }
    if (abort.aborted) return

    // ---- Tetragon: match the events ----
    const events = await matchStream(at, runs, stream, coverage, markerSeen)
    if (abort.aborted) return

    // ---- Elasticsearch ----
    await searchStage(at, runs, events, esConfigured)
  }

  // ---------------------------------------------------------------------------------------------

  async function openStream(at: {namespace: string; pod: string}): Promise<{client?: TetragonClient; problem?: Outcome; agent?: string}> {
    const {connectTetragon} = await import('../../clients/tetragon.js')
    try {
      let address: string
      let agent: string
      if (flags['tetragon-address']) {
        address = flags['tetragon-address']
        agent = address
      } else {
        const [install, pods, addr] = await Promise.all([tetragonInstall(ctx, abort), tetragonPods(ctx, abort), serverAddress(ctx, abort)])
        const onNode = pods.find((p) => p.node === run.node && p.ready)
        if (!onNode) {
          return {problem: {status: 'fail', message: `no ready Tetragon agent pod on node ${run.node}, so nothing observes the probe pod`, hint: `kubectl -n ${install.namespace} get pods -l app.kubernetes.io/name=tetragon -o wide`}}
        }
        if (addr.kind === 'disabled' || addr.kind === 'unix') {
          return {
            problem: {
              status: 'fail',
              message: `the agent's gRPC server is ${addr.kind === 'disabled' ? 'disabled' : `a unix socket (${addr.socketPath})`} (${addr.source}), which a port-forward cannot reach`,
              hint: `helm upgrade tetragon cilium/tetragon -n ${install.namespace} --reuse-values --set tetragon.grpc.enabled=true --set tetragon.grpc.address=localhost:54321`,
            },
          }
        }
        const forward = await kube.portForward(install.namespace, onNode.name, addr.port ?? 54321)
        closers.push(() => forward.close())
        address = `${forward.host}:${forward.port}`
        agent = `${install.namespace}/${onNode.name}`
      }
      const client = connectTetragon({address}, {timeoutMs: input.grpcTimeoutMs})
      closers.push(() => client.close())
      run.agent = agent
      sub = subscribe(client, at.namespace, at.pod, abort)
      return {client, agent}
    } catch (error) {
      if (abort.aborted) throw error
      return {problem: {status: 'fail', message: `cannot open the event stream: ${redact((error as Error).message.split('\n')[0]!)}`, hint: (error as UserError).tryMessage}}
    }
  }

  function outputDigest(text: string, firstLine: boolean): {bytes: number; sha256: string; firstLine?: string} {
    return {bytes: Buffer.byteLength(text), sha256: createHash('sha256').update(text).digest('hex'), ...(firstLine && text ? {firstLine: text.split('\n')[0]!.slice(0, 200)} : {})}
  }

  function execOutcome(r: CommandRun): Outcome {
    // What the command printed proves only that it ran and what it read: its size and digest, never the content (cat
    // prints /etc/shadow, of a real workload with --pod); whoami's one line is the user the step reports.
    const evidence = {argv: r.argv, exitCode: r.exitCode, startedAt: new Date(r.startedAt).toISOString(), endedAt: new Date(r.endedAt).toISOString(), durationMs: r.endedAt - r.startedAt, stdout: outputDigest(r.stdout, r.name === 'whoami'), stderr: outputDigest(r.stderr, true)}
    const cmd = r.argv.join(' ')
    if (r.error) return {status: 'fail', message: `${cmd}: ${r.error}`, hint: `Use a pod/image with sh, whoami, curl and cat (default ${DEFAULT_IMAGE}).`, evidence}
    const err = r.stderr.trim().split('\n')[0] ?? ''
    if (r.name === 'curl') {
      if (r.exitCode === 0) return {status: 'pass', message: `${cmd}: exit 0, ${Buffer.byteLength(r.stdout)} bytes`, evidence}
      // 6: could not resolve host (no connection attempted); 7: refused; 28: timed out (curl(1) EXIT CODES).
      if (r.exitCode === 7 || r.exitCode === 28) {
        return {status: 'warn', message: `${cmd}: exit ${r.exitCode} (${err || 'no answer'}); the connection was attempted, so a tcp_connect event is still expected`, hint: 'Use a --url reachable from the cluster (an in-cluster Service in air-gapped clusters).', evidence}
      }
      return {status: 'fail', message: `${cmd}: exit ${r.exitCode}${err ? ` (${err})` : ''}${r.exitCode === 6 ? '; no connection was attempted, so there is no tcp_connect event' : ''}`, hint: 'Use a --url the probe pod can resolve and reach (an in-cluster Service in air-gapped clusters).', evidence}
    }
    if (r.exitCode === 0) return {status: 'pass', message: `${cmd}: exit 0${r.name === 'whoami' ? `, ${r.stdout.trim().split('\n')[0]!.slice(0, 200) || '(no output)'}` : ''}`, evidence}
    return {
      status: 'fail',
      message: `${cmd}: exit ${r.exitCode}${err ? ` (${err})` : ''}`,
      hint: r.name === 'cat' ? 'The probe must run as root to read /etc/shadow (the read is what the file policy reports).' : undefined,
      evidence,
    }
  }

  interface Matched {
    exec?: StreamEvent
    exit?: StreamEvent
    kprobe?: StreamEvent
  }

  async function matchStream(
    at: {namespace: string; pod: string},
    runs: Map<CommandName, CommandRun>,
    stream: {client?: TetragonClient; problem?: Outcome; agent?: string},
    coverage: PolicyCoverage | undefined,
    marker: StreamEvent | undefined,
  ): Promise<Map<CommandName, Matched>> {
    const out = new Map<CommandName, Matched>()
    const grpcIds = ['grpc.whoami', 'grpc.curl', 'grpc.connect', 'grpc.cat', 'grpc.file']
    if (!sub || stream.problem) {
      for (const id of grpcIds) add(id, stream.problem ?? {status: 'fail', message: 'no event stream'})
      return out
    }
    const s = sub
    const lastEnd = Math.max(...[...runs.values()].map((r) => r.endedAt))
    // The global --timeout aborts the wait through `abort`; this bound is the stage's own.
    const until = lastEnd + input.eventTimeoutMs
    const left = () => Math.max(0, until - Date.now())
    const port = Number(input.url.port || (input.url.protocol === 'https:' ? 443 : 80))
    const hostIp = /^[\d.]+$/.test(input.url.hostname) ? input.url.hostname : undefined
    const ours = (e: StreamEvent) => inPod(e.json, at.namespace, at.pod)
    const bin = (e: StreamEvent) => basename(String(processOf(e.json)?.binary ?? ''))

    const waitCommand = async (name: CommandName): Promise<Matched> => {
      const r = runs.get(name)!
      const m: Matched = {}
      if (r.error) return m
      m.exec = await s.waitFor((e) => e.at >= r.startedAt && kindOf(e.json) === 'process_exec' && ours(e) && bin(e) === name && argsMatch(name, String(processOf(e.json)?.arguments ?? '')), left(), abort)
      const execId = m.exec ? processOf(m.exec.json)?.exec_id : undefined
      const wantsKprobe = (name === 'curl' && kprobeExpected(coverage?.network) && r.exitCode !== 6) || (name === 'cat' && kprobeExpected(coverage?.file))
      await Promise.all([
        execId !== undefined
          ? s.waitFor((e) => kindOf(e.json) === 'process_exit' && processOf(e.json)?.exec_id === execId, left(), abort).then((x) => (m.exit = x))
          : undefined,
        wantsKprobe
          ? s
              .waitFor((e) => {
                if (kindOf(e.json) !== 'process_kprobe' || !ours(e) || e.at < r.startedAt) return false
                const p = processOf(e.json)
                if (execId !== undefined ? p?.exec_id !== execId : bin(e) !== name) return false
                if (name === 'curl') {
                  const sa = sockArg(e.json)
                  return bodyOf(e.json)?.function_name === 'tcp_connect' && sa?.dport === port && (hostIp === undefined || sa?.daddr === hostIp)
                }
                return isShadow(filePath(e.json))
              }, left(), abort)
              .then((x) => (m.kprobe = x))
          : undefined,
      ])
      return m
    }
    const matched = await Promise.all(COMMANDS.map(async (n) => [n, await waitCommand(n)] as const))
    for (const [n, m] of matched) out.set(n, m)
    if (abort.aborted) return out

    const streamNote = s.error() ? ` (the stream failed: ${s.error()!.message.split('\n')[0]})` : !marker ? ' (the sh marker run before the commands never appeared either: the agent does not report this pod)' : ''
    const lat = (r: CommandRun, e: StreamEvent) => ({latencyMs: e.at - r.startedAt, afterExitMs: e.at - r.endedAt})
    const execStep = (name: CommandName) => {
      const r = runs.get(name)!
      const m = out.get(name)!
      if (r.error) return add(`grpc.${name}`, {status: 'not-evaluated', message: `requires exec.${name}, which failed`})
      if (!m.exec) {
        return add(`grpc.${name}`, {
          status: 'fail',
          message: `no process_exec of ${name} from ${at.namespace}/${at.pod} on the stream of ${stream.agent} within ${ms(input.eventTimeoutMs)}${streamNote}`,
          hint: `kubectl -n ${run.agent?.split('/')[0]} logs ${run.agent?.split('/')[1] ?? 'ds/tetragon'} -c tetragon --tail=50`,
          evidence: {agent: stream.agent, received: s.events.length},
        })
      }
      const p = processOf(m.exec.json)!
      const exit = m.exit ? processOf(m.exit.json) : undefined
      add(`grpc.${name}`, {
        status: 'pass',
        message: `process_exec ${p.binary}${p.arguments ? ` ${p.arguments}` : ''} after ${ms(m.exec.at - r.startedAt)}${m.exit ? `, process_exit after ${ms(m.exit.at - r.startedAt)}` : ''}`,
        evidence: {agent: stream.agent, node: m.exec.json.node_name, execId: p.exec_id, binary: p.binary, exec: lat(r, m.exec), ...(m.exit ? {exit: lat(r, m.exit), status: (exit && (m.exit.json.process_exit as any)?.status) ?? 0} : {})},
      })
    }
    const kprobeStep = (id: 'grpc.connect' | 'grpc.file', name: CommandName, cov: Coverage | undefined, what: string) => {
      const r = runs.get(name)!
      const m = out.get(name)!
      const pol = id === 'grpc.connect' ? 'network' : 'file'
      if (r.error) return add(id, {status: 'not-evaluated', message: `requires exec.${name}, which failed`})
      if (cov?.state === 'missing') {
        return add(id, {
          status: flags['require-policies'] ? 'fail' : 'skip',
          message: `no ${pol} policy loaded (${cov.reason}): Tetragon emits only exec/exit for ${name} without one`,
          hint: SETUP_HINT[pol],
          evidence: {coverage: cov},
        })
      }
      if (name === 'curl' && r.exitCode === 6) return add(id, {status: 'skip', message: 'curl could not resolve the URL host, so it never connected (no tcp_connect to observe)', hint: 'Use a --url the probe pod can resolve.'})
      if (!m.kprobe) {
        return add(id, {
          status: 'fail',
          message: `no ${what} from ${at.namespace}/${at.pod} on the stream within ${ms(input.eventTimeoutMs)}${cov ? ` (policy: ${cov.reason})` : ''}${streamNote}`,
          hint: SETUP_HINT[pol],
          evidence: {coverage: cov, received: s.events.length},
        })
      }
      const b = bodyOf(m.kprobe.json)!
      const sa = sockArg(m.kprobe.json)
      add(id, {
        status: 'pass',
        message: `${b.function_name} ${name === 'curl' ? `${sa?.saddr}:${sa?.sport} -> ${sa?.daddr}:${sa?.dport}` : filePath(m.kprobe.json)} (policy ${b.policy_name ?? '?'}) after ${ms(m.kprobe.at - r.startedAt)}`,
        evidence: {function: b.function_name, policy: b.policy_name, ...(sa ? {daddr: sa.daddr, dport: sa.dport} : {path: filePath(m.kprobe.json)}), ...lat(r, m.kprobe)},
      })
    }
    execStep('whoami')
    execStep('curl')
    kprobeStep('grpc.connect', 'curl', coverage?.network, `tcp_connect kprobe to port ${port}${hostIp ? ` of ${hostIp}` : ''}`)
    execStep('cat')
    kprobeStep('grpc.file', 'cat', coverage?.file, 'file kprobe on /etc/shadow')
    return out
  }

  function argsMatch(name: CommandName, args: string): boolean {
    if (name === 'curl') return args.includes(input.url.hostname)
    if (name === 'cat') return args.includes('etc/shadow')
    return true
  }

  function kprobeExpected(c: Coverage | undefined): boolean {
    return c?.state !== 'missing'
  }

  async function searchStage(at: {namespace: string; pod: string}, runs: Map<CommandName, CommandRun>, events: Map<CommandName, Matched>, esConfigured: boolean): Promise<void> {
    const docIds: Array<{id: string; name: CommandName; kprobe: boolean}> = [
      {id: 'doc.whoami', name: 'whoami', kprobe: false},
      {id: 'doc.curl', name: 'curl', kprobe: false},
      {id: 'doc.connect', name: 'curl', kprobe: true},
      {id: 'doc.cat', name: 'cat', kprobe: false},
      {id: 'doc.file', name: 'cat', kprobe: true},
    ]
    const es: EsHandle | undefined = esConfigured ? await ctx.es() : undefined
    if (!es) {
      for (const d of docIds) add(d.id, {status: 'skip', message: 'Elasticsearch is not configured (set ELASTICSEARCH_URL or ELASTICSEARCH_CLOUD_ID)'})
      return
    }
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
    Object.assign(run, {profile, dataset})

    const grpcOf = (d: {id: string}) => steps.find((s) => s.id === d.id.replace('doc.', 'grpc.'))
    const wants: DocWant[] = []
    const pending: typeof docIds = []
    for (const d of docIds) {
      const r = runs.get(d.name)!
      const g = grpcOf(d)
      if (r.error) {
        add(d.id, {status: 'not-evaluated', message: `requires exec.${d.name}, which failed`})
        continue
      }
      if (d.kprobe && g?.status === 'skip') {
        add(d.id, {status: g.status, message: g.message, hint: g.hint})
        continue
      }
      if (d.kprobe && (g?.evidence as {coverage?: Coverage} | undefined)?.coverage?.state === 'missing') {
        // --require-policies made the missing policy a failure; there is no event to look for.
        add(d.id, {status: 'not-evaluated', message: `requires ${g!.id}, which failed: ${g!.message}`})
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
    const {found, polls, seen} = await waitForDocuments({
      es,
      dataset,
      namespace: at.namespace,
      pod: at.pod,
      // Filebeat stamps @timestamp when it reads the line; allow for clock skew between here and the cluster.
      sinceMs: firstStart - 300_000,
      wants,
      timeoutMs: input.esTimeoutMs,
      signal: abort,
    })
    if (abort.aborted) return
    const withDataset = await idsWithDataset(es, dataset, [...found.values()].map((d) => d.id), abort).catch(() => new Set<string>())
    const missing = pending.filter((d) => !found.has(d.id))
    const diagnosis = missing.length > 0 ? await diagnose(at, dataset, missing.map((d) => d.name), es, firstStart) : undefined
    for (const d of pending) {
      const doc = found.get(d.id)
      const r = runs.get(d.name)!
      const ev = d.kprobe ? events.get(d.name)?.kprobe : events.get(d.name)?.exec
      if (!doc) {
        add(d.id, {
          status: 'fail',
          message: `no document in logs-${dataset}-* within --es-timeout ${flags['es-timeout']}${ev ? `, although the event was on the gRPC stream` : ''}: ${diagnosis!.message}`,
          hint: diagnosis!.hint,
          docs: ES_DOCS.package,
          evidence: {dataset, profile, polls, documentsOfPod: seen, ...diagnosis!.evidence},
        }, performance.now() - started)
        continue
      }
      const daddr = d.kprobe && d.name === 'curl' ? (ev ? sockArg(ev.json)?.daddr : doc.event ? sockArg(doc.event)?.daddr : undefined) : undefined
      const fields = checkFields({profile, dataset, doc, datasetMatched: withDataset.has(doc.id), binary: d.name, daddr: d.kprobe && d.name === 'curl' ? (daddr ?? '') : undefined})
      const bad = fields.filter((f) => !f.ok)
      const evidence = {index: doc.index, id: doc.id, dataset, profile, searchableAfterMs: doc.foundAt - r.startedAt, polls, fields: Object.fromEntries(fields.map((f) => [f.field, f.ok ? 'ok' : {expected: f.expected, got: f.got ?? null}]))}
      const kind = doc.event ? kindOf(doc.event) : 'document'
      if (bad.length === 0) {
        add(d.id, {status: 'pass', message: `${kind} document in ${doc.index} searchable after ${ms(doc.foundAt - r.startedAt)}; ${fields.map((f) => f.field).join(', ')} as the ${profile} profile expects`, evidence}, performance.now() - started)
        continue
      }
      const instead = bad.map((f) => INSTEAD[f.field]).filter(Boolean)
      add(d.id, {
        status: 'fail',
        message: `${kind} document found in ${doc.index}, but ${bad.map((f) => `${f.field} is ${f.got === undefined ? 'missing' : JSON.stringify(f.got)} (expected ${f.expected})`).join('; ')}`,
        hint:
          profile === 'seed'
            ? `The cilium_tetragon pipeline never sets ${bad.map((f) => f.field).join(', ')}${instead.length ? `; the data is in ${instead.join('; ')}` : ''}. Validate what the package writes with --profile package.`
            : `Check the ingest pipeline logs-${PACKAGE_DATASET}-<version> and the shipper's output index (${DATA_STREAM}).`,
        docs: ES_DOCS.package,
        evidence,
      }, performance.now() - started)
    }
  }

  /** Why documents did not arrive: the export filters, the other dataset, or the shipper / pipeline. */
  async function diagnose(at: {namespace: string; pod: string}, dataset: string, names: CommandName[], es: EsHandle, since: number): Promise<{message: string; hint: string; evidence: Record<string, unknown>}> {
    // The lists the agent applies (args > environment > ConfigMap), read as doctor's tetragon.export-filters reads them.
    const filters = await exportFilterConfig(ctx, abort).catch(() => undefined)
    const install = await tetragonInstall(ctx, abort).catch(() => undefined)
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
    const newest = await es
      .request<any>({method: 'POST', path: `/logs-${encodeURIComponent(dataset)}-*/_search`, querystring: {ignore_unavailable: true, allow_no_indices: true}, body: {size: 1, _source: ['@timestamp'], sort: [{'@timestamp': {order: 'desc'}}]}}, abort)
      .then((r) => r.body?.hits?.hits?.[0]?._source?.['@timestamp'] as string | undefined)
      .catch(() => undefined)
    const age = newest ? Date.now() - Date.parse(newest) : undefined
    return {
      message: `the export kept the events but nothing indexed them (${age === undefined ? `no document at all in logs-${dataset}-*` : `newest document in logs-${dataset}-* is ${ms(Math.max(0, age))} old`}): the shipper is not shipping, or ingestion is slower than --es-timeout`,
      hint: `kubectl -n ${tns} logs ds/tetragon -c export-stdout --tail=20 (and the shipper's own logs); if ingestion is only slow, raise --es-timeout`,
      evidence: {newestDocument: newest ?? null},
    }
  }
}

/**
 * The allow list is newline-separated JSON filters, any of which keeps an event (tetragon.md §2.3): appending a filter
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
