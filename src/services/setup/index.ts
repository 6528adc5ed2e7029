// The setup use case: the documented installation (Helm repo, gRPC values, upgrade --install,
// rollout, the tetragon-grpc Service, endpoints, optional TracingPolicies and Fleet package), planned
// from reads, shown, applied in order and then checked by doctor's Kubernetes and Tetragon layers.
import {doctorFlagSet, flagsFromEnvironment} from '../../flags.js'
import type {ClusterContext} from '../../cluster/context.js'
import {tetragonInstall} from '../../cluster/facts.js'
import {Helm} from '../../clients/helm.js'
import {KubeWriter} from '../../clients/kube-apply.js'
import type {KubeClient} from '../../clients/kube.js'
import {UserError} from '../../engine/errors.js'
import {interruption} from '../../engine/interrupt.js'
import {safeText} from '../../engine/redact.js'
import type {Report} from '../../engine/types.js'
import {POLICY_KINDS, type PolicyKind} from '../../policies/index.js'
import type {DoctorFlags} from '../doctor.js'
import {factsContext} from './context.js'
import {applyKibana, planKibana} from './kibana.js'
import {
  applyRelease,
  applyService,
  checkPermissions,
  Ledger,
  needsOf,
  planPolicies,
  planRelease,
  planService,
  type Planned,
  type PolicyPlan,
  type ReleasePlan,
  type ServicePlan,
  waitEndpoints,
  waitRollout,
} from './steps.js'
import {renderPlan, withSpinner} from './render.js'

export interface SetupFlags {
  kubeconfig?: string
  context?: string
  namespace?: string
  /** Durations in milliseconds (src/flags.ts durationFlag). */
  'request-timeout': number
  'service-name': string
  'service-namespace'?: string
  'collector-address': string
  release?: string
  'chart-version'?: string
  helm?: string
  policies?: string[]
  'agent-policy'?: string
  'dry-run'?: boolean
  'force-conflicts'?: boolean
  'wait-timeout': number
  'helm-timeout': number
  'kibana-url'?: string
  'kibana-api-key'?: string
  'es-api-key'?: string
  'es-username'?: string
  'es-password'?: string
  'es-ca-cert'?: string
  'es-insecure'?: boolean
  verbose?: boolean
}

export interface SetupStep {
  id: string
  title: string
  change: Planned['change']
  summary: string
  status: 'planned' | 'unchanged' | 'applied'
  result?: string
  detail: string[]
}

export interface SetupResult {
  tool: 'tetractl'
  command: 'setup'
  version: string
  dryRun: boolean
  target: {context: string; server: string}
  namespace: string
  release: string
  helm: string
  steps: SetupStep[]
  changed: boolean
  doctor?: Report
  exitCode: number
}

export async function runSetup(args: {flags: SetupFlags; json: boolean; version: string; log(s: string): void; startedAt: Date}): Promise<SetupResult> {
  const {flags, json} = args
  // Plans quote the release's values and servers' answers: shown without escape sequences or credentials.
  const out = (s: string) => (json ? undefined : args.log(safeText(s)))
  const requestTimeoutMs = flags['request-timeout']
  const waitTimeoutMs = flags['wait-timeout']
  const helmTimeoutMs = flags['helm-timeout']
  const kinds = [...new Set((flags.policies ?? []).map((p) => p.trim()).filter(Boolean))]
  const unknown = kinds.filter((k) => !POLICY_KINDS.includes(k as PolicyKind))
  if (unknown.length) throw new UserError(`Unknown --policies value: ${unknown.join(', ')}.`, `Use ${POLICY_KINDS.join(', ')} (comma-separated).`)
  if (flags['agent-policy'] && !flags['kibana-url']) throw new UserError('--agent-policy needs Kibana: set --kibana-url (or KIBANA_URL).')
  // The doctor settings setup has no flag for (its closing checks read them): their variables and
  // defaults, through oclif, so a bad value is refused here, before any work.
  const doctorSettings = await flagsFromEnvironment(doctorFlagSet)

  // Preflight: the cluster answers (exit 3 otherwise) and Helm is Helm 3 (exit 2 otherwise).
  const {KubeClient} = await import('../../clients/kube.js')
  const kube: KubeClient = KubeClient.load({kubeconfig: flags.kubeconfig, context: flags.context, requestTimeoutMs})
  await kube.version()
  const helm = new Helm({bin: flags.helm, kubeconfig: flags.kubeconfig, kubeContext: kube.contextName, timeoutMs: Math.max(requestTimeoutMs * 3, 30_000)})
  const helmVersion = await helm.version()

  const factsFor = (namespace?: string): ClusterContext =>
    factsContext(kube, {namespace, serviceName: flags['service-name'], serviceNamespace: flags['service-namespace']})
  const release = await planRelease({helm, ctx: factsFor(flags.namespace), namespace: flags.namespace, release: flags.release, chartVersion: flags['chart-version']})
  const namespace = release.namespace
  const serviceNamespace = flags['service-namespace'] ?? namespace
  const serviceAddress = `${flags['service-name']}.${serviceNamespace}.svc.cluster.local:54321`
  const writer = new KubeWriter(kube)
  let ctx = factsFor(namespace)
  let service = await planService(ctx, writer, {namespace: serviceNamespace, name: flags['service-name']})
  const policies = await planPolicies(writer, kinds as PolicyKind[])
  let kibana: import('../../clients/kibana.js').KibanaHandle | undefined
  if (flags['kibana-url']) {
    const {createKibanaHandle, kibanaOptionsFromEnv} = await import('../../clients/kibana.js')
    const o = kibanaOptionsFromEnv(process.env, {url: flags['kibana-url'], apiKey: flags['kibana-api-key'], caFile: flags['es-ca-cert'], insecure: flags['es-insecure'] || undefined, requestTimeoutMs})
    kibana = o ? createKibanaHandle(o) : undefined
  }
  const kibanaPlans = kibana ? await planKibana(kibana, {agentPolicy: flags['agent-policy'], serviceAddress}) : []
  const plans: Planned[] = [release, service, ...policies, ...kibanaPlans]
  const changes = plans.filter((p) => p.change !== 'none')

  const result: SetupResult = {
    tool: 'tetractl',
    command: 'setup',
    version: args.version,
    dryRun: Boolean(flags['dry-run']),
    target: {context: kube.contextName, server: kube.server},
    namespace,
    release: release.release,
    helm: helmVersion.version,
    steps: plans.map((p) => ({id: p.id, title: p.title, change: p.change, summary: p.summary, status: p.change === 'none' ? 'unchanged' : 'planned', detail: p.detail})),
    changed: false,
    exitCode: 0,
  }
  const step = (p: Planned) => result.steps.find((s) => s.id === p.id)!

  out(`tetractl setup: context ${kube.contextName}, namespace ${namespace}, release ${release.release}${release.existing ? ` (${release.existing.chart})` : ''}, helm ${helmVersion.version}${flags['dry-run'] ? ' — dry run' : ''}`)
  out(renderPlan(plans, {verbose: Boolean(flags.verbose) || Boolean(flags['dry-run'])}))

  // A signal during the reads: stop before the first change.
  interruption.throwIfInterrupted('nothing was changed')
  if (flags['dry-run']) {
    out(changes.length ? `Dry run: ${changes.length} change(s) shown above; nothing was changed.` : 'Dry run: nothing to change.')
    return result
  }

  if (changes.length === 0) {
    out('Nothing to change: the Helm values, the Service' + (policies.length ? ', the TracingPolicies' : '') + (kibanaPlans.length ? ', the Fleet package' : '') + ' are already as the documented setup wants them.')
  } else {
    // Everything that could refuse is asked first, so a refusal leaves the cluster untouched.
    await checkPermissions(kube, needsOf(changes))
    const force = Boolean(flags['force-conflicts'])
    const preflightApply = async (p: Planned, fn: () => Promise<unknown>) => {
      try {
        await fn()
      } catch (error) {
        if (error instanceof UserError) throw new UserError(`${error.message.replace(/\.?$/, '.')} Nothing was changed.`, error.tryMessage, error.exitCode)
        throw error
      }
      return p
    }
    if (service.change !== 'none') await preflightApply(service, () => writer.applyService(service.desired, {force, dryRun: true}))
    for (const p of policies) if (p.change !== 'none') await preflightApply(p, () => writer.applyTracingPolicy(p.desired, {force, dryRun: true}))

    const ledger = new Ledger(changes)
    const run = async (p: Planned, fn: () => Promise<string>) => {
      try {
        interruption.throwIfInterrupted()
        const what = await fn()
        ledger.done(p, what)
        Object.assign(step(p), {status: 'applied', result: what})
        out(`✔ ${p.title} ${what}`)
      } catch (error) {
        throw ledger.fail(error, p)
      }
    }
    const spin = !json && process.stderr.isTTY === true

    if (release.change !== 'none') {
      await run(release, () => applyRelease(helm, release, helmTimeoutMs, (s) => out(`✔ ${s}`)))
      ctx = factsFor(namespace)
      const ds = (await tetragonInstall(ctx)).daemonSet?.metadata?.name ?? release.release
      const rolled = await withSpinner(spin, `waiting for DaemonSet ${namespace}/${ds} to roll out`, (tick) => waitRollout(kube, namespace, ds, waitTimeoutMs, tick)).catch((error) => {
        throw ledger.fail(error, {id: 'rollout', title: `rollout of DaemonSet ${namespace}/${ds}`, change: 'update', summary: '', detail: []})
      })
      out(`✔ DaemonSet ${namespace}/${ds} rolled out: ${rolled}`)
      // The pods' labels may have changed with the chart: plan the Service again on fresh facts.
      if (service.change !== 'none') {
        const again = await planService(factsFor(namespace), writer, {namespace: serviceNamespace, name: flags['service-name']})
        if (again.change === 'none') ledger.done(service, 'already matches after the upgrade')
        service = again
      }
    }
    if (service.change !== 'none') await run(service, () => applyService(writer, service, force))
    if (release.change !== 'none' || service.change !== 'none') {
      const sp = service as ServicePlan
      const ep = await withSpinner(spin, `waiting for endpoints of Service ${sp.namespace}/${sp.name}`, (tick) => waitEndpoints(factsFor(namespace), kube, sp, waitTimeoutMs, tick)).catch((error) => {
        throw ledger.fail(error, {id: 'endpoints', title: `endpoints of Service ${sp.namespace}/${sp.name}`, change: 'update', summary: '', detail: []})
      })
      out(`✔ Service ${sp.namespace}/${sp.name}: ${ep}`)
    }
    for (const p of policies as PolicyPlan[]) if (p.change !== 'none') await run(p, async () => (await writer.applyTracingPolicy(p.desired, {force}), p.change === 'create' ? 'created' : 'updated'))
    for (const p of kibanaPlans) if (p.change !== 'none') await run(p, () => applyKibana(kibana!, p, {agentPolicy: flags['agent-policy'], serviceAddress}))
    result.changed = true
  }
  if (kibanaPlans.some((p) => p.id === 'kibana-policy')) out(`Note: ${kibanaPlans.find((p) => p.id === 'kibana-policy')!.summary.replace(/^.*?note: /, '')}`)

  interruption.throwIfInterrupted(result.changed ? `the changes above were applied; run \`tetractl doctor --only kubernetes,tetragon\` to check them` : undefined)
  // The matching doctor checks, through doctor's own runner path.
  out('\nChecks (tetractl doctor --only kubernetes,tetragon):')
  const {runDoctor} = await import('../doctor.js')
  const doctorFlags: DoctorFlags = {
    ...doctorSettings,
    kubeconfig: flags.kubeconfig,
    context: flags.context,
    namespace,
    'request-timeout': flags['request-timeout'],
    'service-name': flags['service-name'],
    'service-namespace': flags['service-namespace'],
    'collector-address': flags['collector-address'],
    only: ['kubernetes', 'tetragon'],
    verbose: Boolean(flags.verbose),
  }
  result.doctor = await runDoctor({flags: doctorFlags, json, version: args.version, log: args.log, startedAt: new Date()})
  result.exitCode = result.doctor.exitCode
  return result
}

export type {ReleasePlan}
