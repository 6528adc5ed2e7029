// The changes `setup` and `doctor --fix` share. Each is planned from reads only (so --dry-run and
// the confirmation prompt can show it), then applied; a plan whose `change` is 'none' is skipped,
// which is what makes a second run a no-op.
import type {V1Service} from '@kubernetes/client-node'
import YAML from 'yaml'

import type {ClusterContext} from '../../cluster/context.js'
import {AGENT_SELECTOR, DEFAULT_GRPC_PORT, DEFAULT_NAMESPACE, labelString, selects, tetragonInstall, tetragonPods} from '../../cluster/facts.js'
import {recommendedSelector, selectorPatch} from '../../checks/kubernetes/service-selector.js'
import {serverAddress} from '../../cluster/server-address.js'
import {FIELD_MANAGER, type KubeWriter, type TracingPolicyObject} from '../../clients/kube-apply.js'
import type {Helm, HelmRelease, HelmRepo} from '../../clients/helm.js'
import type {KubeClient} from '../../clients/kube.js'
import {ExitCode} from '../../engine/exit-codes.js'
import {ForbiddenError, InterruptedError, UserError} from '../../engine/errors.js'
import {interruption, privateTempDir} from '../../engine/interrupt.js'
import {coveredBy, policyFor, type PolicyKind} from '../../policies/index.js'
import {type Values, valuesDiff, valuesEqual, valuesYaml, valuesYamlForDisplay, withGrpcValues} from './values.js'
import {sleep} from '../../engine/sleep.js'

export const CILIUM_REPO_URL = 'https://helm.cilium.io/'
const sameRepo = (url: string) => url.replace(/\/+$/, '') === CILIUM_REPO_URL.replace(/\/+$/, '')

export type Change = 'create' | 'update' | 'none'

/** One planned change, as shown before it is applied. */
export interface Planned {
  id: string
  /** `Helm release kube-system/tetragon`, `Service kube-system/tetragon-grpc`. */
  title: string
  change: Change
  /** Why (or why not). */
  summary: string
  /** Commands, diff and manifest lines to show. */
  detail: string[]
}

// ---------------------------------------------------------------------------------------------
// Helm release

export interface ReleasePlan extends Planned {
  namespace: string
  release: string
  existing?: HelmRelease
  repo: HelmRepo
  repoPresent: boolean
  chartRef: string
  chartVersion?: string
  current: Values
  desired: Values
  /** Commands in order (repo add/update when missing, then upgrade --install). */
  commands: string[][]
}

export interface ReleaseInput {
  helm: Helm
  ctx: ClusterContext
  /** -n as the user gave it (undefined: the release's or the DaemonSet's namespace). */
  namespace?: string
  release?: string
  chartVersion?: string
  signal?: AbortSignal
}

const chartVersionOf = (r: HelmRelease) => r.chart.replace(/^tetragon-/, '')

/** Finds the Tetragon release, its values and what the upgrade must change. Reads only. */
export async function planRelease(input: ReleaseInput): Promise<ReleasePlan> {
  const {helm, ctx} = input
  const [releases, install, repos] = await Promise.all([helm.listReleases(), tetragonInstall(ctx, input.signal), helm.repoList()])
  const tetragon = releases.filter((r) => /^tetragon-\d/.test(r.chart) || r.name === (input.release ?? 'tetragon'))
  let existing: HelmRelease | undefined
  let namespace: string
  if (input.namespace) {
    namespace = input.namespace
    existing = tetragon.find((r) => r.namespace === namespace && (!input.release || r.name === input.release))
    const elsewhere = tetragon.find((r) => r.namespace !== namespace)
    if (!existing && elsewhere) {
      throw new UserError(
        `Tetragon is already installed by Helm release ${elsewhere.name} in namespace ${elsewhere.namespace}, not ${namespace}; installing a second copy would run two agents on every node. Nothing was changed.`,
        `Pass -n ${elsewhere.namespace} to configure that release, or remove it first (helm uninstall ${elsewhere.name} -n ${elsewhere.namespace}).`,
      )
    }
  } else {
    if (tetragon.length > 1) {
      throw new UserError(`Found ${tetragon.length} Helm releases of Tetragon (${tetragon.map((r) => `${r.namespace}/${r.name}`).join(', ')}). Nothing was changed.`, 'Pass -n NAMESPACE to choose one.')
    }
    existing = tetragon[0]
    namespace = existing?.namespace ?? install.daemonSet?.metadata?.namespace ?? DEFAULT_NAMESPACE
  }
  if (!existing && install.daemonSet && install.daemonSet.metadata?.namespace === namespace) {
    // Helm refuses to adopt objects it did not create ("invalid ownership metadata").
    throw new UserError(
      `DaemonSet ${namespace}/${install.daemonSet.metadata?.name} exists but no Helm release manages it; tetractl setup only manages Helm installs. Nothing was changed.`,
      'Configure that installation by hand (the hints of `tetractl doctor`), or reinstall it with Helm.',
    )
  }
  const release = existing?.name ?? input.release ?? 'tetragon'
  const current = existing ? await helm.getValues(release, namespace) : {}
  const desired = withGrpcValues(current)
  const diff = valuesDiff(current, desired)
  const chartVersion = input.chartVersion ?? (existing ? chartVersionOf(existing) : undefined)

  const byUrl = repos.find((r) => sameRepo(r.url))
  const clash = !byUrl && repos.find((r) => r.name === 'cilium')
  if (clash) {
    throw new UserError(`The Helm repository named cilium points at ${clash.url}, not ${CILIUM_REPO_URL}. Nothing was changed.`, `Fix it (helm repo remove cilium && helm repo add cilium ${CILIUM_REPO_URL}).`)
  }
  const repo = byUrl ?? {name: 'cilium', url: CILIUM_REPO_URL}
  const chartRef = `${repo.name}/tetragon`

  // Values may already be right while the cluster is not (an edited ConfigMap, a failed release).
  let addressOk = true
  if (existing && install.daemonSet) {
    const addr = await serverAddress(ctx, input.signal).catch(() => undefined)
    addressOk = addr?.kind === 'all-interfaces'
  }
  const reasons: string[] = []
  if (!existing) reasons.push('no release yet: install')
  if (existing && diff.length > 0) reasons.push('values change')
  if (existing && input.chartVersion && input.chartVersion !== chartVersionOf(existing)) reasons.push(`chart ${chartVersionOf(existing)} → ${input.chartVersion}`)
  if (existing && existing.status !== 'deployed') reasons.push(`release status is ${existing.status}`)
  if (existing && diff.length === 0 && !addressOk) reasons.push('the agents do not run with these values (re-render)')
  const change: Change = !existing ? 'create' : reasons.length > 0 ? 'update' : 'none'

  const valuesFile = '<values file>'
  const commands: string[][] = []
  if (change !== 'none' && !byUrl) commands.push(helm.repoAddArgs(repo.name, repo.url), helm.repoUpdateArgs(repo.name))
  if (change !== 'none') commands.push(helm.upgradeArgs({release, chart: chartRef, namespace, valuesFile, version: chartVersion}))
  const title = `Helm release ${namespace}/${release}`
  const detail =
    change === 'none'
      ? []
      : [
          ...(diff.length > 0 ? ['values (diff against the release):', ...diff.map((l) => `  ${l}`)] : []),
          ...commands.map((c) => `$ ${helm.display(c)}`),
          `values file:`,
          ...valuesYamlForDisplay(desired).trimEnd().split('\n').map((l) => `  ${l}`),
        ]
  return {
    id: 'helm-release',
    title,
    change,
    summary:
      change === 'none'
        ? `${existing ? `chart ${existing.chart}, ` : ''}values already set (tetragon.grpc.enabled=true, tetragon.grpc.address=0.0.0.0:54321)`
        : `${change === 'create' ? 'install' : 'upgrade'} ${chartRef}${chartVersion ? ` ${chartVersion}` : ''}: ${reasons.join('; ')}`,
    detail,
    namespace,
    release,
    existing,
    repo,
    repoPresent: Boolean(byUrl),
    chartRef,
    chartVersion,
    current,
    desired,
    commands,
  }
}

/** Adds the repository when missing, writes the values to a private temp file, runs the upgrade. */
export async function applyRelease(helm: Helm, plan: ReleasePlan, timeoutMs: number, note: (s: string) => void): Promise<string> {
  if (!plan.repoPresent) {
    await helm.mutate(helm.repoAddArgs(plan.repo.name, plan.repo.url), 60_000)
    await helm.mutate(helm.repoUpdateArgs(plan.repo.name), 120_000)
    note(`added the Helm repository ${plan.repo.name} (${plan.repo.url})`)
  }
  interruption.throwIfInterrupted()
  // The values may hold credentials (the release's own values): a private folder, removed on every exit path.
  const tmp = await privateTempDir('tetractl-values-')
  try {
    const file = await tmp.write('values.yaml', valuesYaml(plan.desired))
    const out = await helm.mutate(helm.upgradeArgs({release: plan.release, chart: plan.chartRef, namespace: plan.namespace, valuesFile: file, version: plan.chartVersion}), timeoutMs)
    const revision = /REVISION:\s*(\d+)/.exec(out)?.[1]
    return `${plan.existing ? 'upgraded' : 'installed'}${revision ? ` (revision ${revision})` : ''}`
  } finally {
    await tmp.remove()
  }
}

/** Waits until the DaemonSet's pods are updated and available (kubectl rollout status semantics). */
export async function waitRollout(kube: KubeClient, namespace: string, name: string, timeoutMs: number, onTick?: (s: string) => void): Promise<string> {
  const deadline = Date.now() + timeoutMs
  let last = ''
  for (;;) {
    const ds = await kube.call({verb: 'get', resource: 'daemonsets', namespace, group: 'apps'}, (o) => kube.apps.readNamespacedDaemonSet({name, namespace}, o))
    const st = ds.status
    const desired = st?.desiredNumberScheduled ?? 0
    const updated = st?.updatedNumberScheduled ?? 0
    const available = st?.numberAvailable ?? 0
    const observed = (st?.observedGeneration ?? 0) >= (ds.metadata?.generation ?? 0)
    last = `${updated} of ${desired} agents updated, ${available} available`
    onTick?.(last)
    if (observed && desired > 0 && updated === desired && available === desired) return `${available}/${desired} agents updated and available`
    if (Date.now() >= deadline) throw new UserError(`DaemonSet ${namespace}/${name} did not finish rolling out within ${Math.round(timeoutMs / 1000)} s (${last}).`, `kubectl -n ${namespace} rollout status ds/${name}`, ExitCode.FINDINGS)
    await sleep(1000, interruption.signal)
    interruption.throwIfInterrupted()
  }
}

// ---------------------------------------------------------------------------------------------
// Service tetragon-grpc

export interface ServicePlan extends Planned {
  namespace: string
  name: string
  current?: V1Service
  desired: V1Service
  selector: Record<string, string>
}

export function grpcServiceObject(name: string, namespace: string, selector: Record<string, string>): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {name, namespace},
    spec: {selector, ports: [{name: 'grpc', port: DEFAULT_GRPC_PORT, targetPort: DEFAULT_GRPC_PORT, protocol: 'TCP'}]},
  }
}

function serviceMatches(svc: V1Service, selector: Record<string, string>): boolean {
  const sel = svc.spec?.selector ?? {}
  const selOk = valuesEqual(sel, selector)
  const portOk = (svc.spec?.ports ?? []).some((p) => p.port === DEFAULT_GRPC_PORT && Number(p.targetPort ?? p.port) === DEFAULT_GRPC_PORT)
  return selOk && portOk
}

/** The Service with the selector taken from the agent pods' real labels (service.selector's recommendation). */
export async function planService(ctx: ClusterContext, writer: KubeWriter, opts: {namespace: string; name: string; signal?: AbortSignal}): Promise<ServicePlan> {
  const pods = await tetragonPods(ctx, opts.signal).catch(() => [])
  const selector = recommendedSelector(pods[0]?.labels ?? {})
  const current = await writer.getService(opts.namespace, opts.name, opts.signal)
  const desired = grpcServiceObject(opts.name, opts.namespace, selector)
  const change: Change = !current ? 'create' : serviceMatches(current, selector) ? 'none' : 'update'
  const title = `Service ${opts.namespace}/${opts.name}`
  const why = !current
    ? 'missing (the chart creates no gRPC Service)'
    : change === 'none'
      ? `selects ${labelString(selector)} on port ${DEFAULT_GRPC_PORT}`
      : `selector ${labelString(current.spec?.selector ?? {}) || '(none)'} → ${labelString(selector)}`
  return {
    id: 'service',
    title,
    change,
    summary: change === 'none' ? why : `${change === 'create' ? 'create' : 'update'} by server-side apply (field manager ${FIELD_MANAGER}): ${why}`,
    detail: change === 'none' ? [] : YAML.stringify(desired).trimEnd().split('\n'),
    namespace: opts.namespace,
    name: opts.name,
    current,
    desired,
    selector,
  }
}

/**
 * Server-side apply. Real apply merges the selector map key by key, so keys another manager owns
 * survive; a JSON merge patch then removes them (the service.selector hint's own command).
 */
export async function applyService(writer: KubeWriter, plan: ServicePlan, force: boolean): Promise<string> {
  const applied = await writer.applyService(plan.desired, {force})
  const left = applied.spec?.selector ?? {}
  if (!valuesEqual(left, plan.selector)) {
    await writer.mergePatchService(plan.namespace, plan.name, JSON.parse(selectorPatch(left, plan.selector)))
    return `${plan.current ? 'updated' : 'created'}; removed selector keys another manager kept (${Object.keys(left).filter((k) => !(k in plan.selector)).join(', ')})`
  }
  return plan.current ? 'updated' : 'created'
}

/** service.selector's fix: the merge patch its hint prints (`kubectl patch --type=merge`). */
export function planSelectorPatch(svc: V1Service, wanted: Record<string, string>): {patch: unknown; text: string} {
  const text = selectorPatch(svc.spec?.selector ?? {}, wanted)
  return {patch: JSON.parse(text), text}
}

/** Waits for ready endpoints behind the Service, one per ready agent, on the gRPC port. */
export async function waitEndpoints(ctx: ClusterContext, kube: KubeClient, plan: {namespace: string; name: string; selector: Record<string, string>}, timeoutMs: number, onTick?: (s: string) => void): Promise<string> {
  const deadline = Date.now() + timeoutMs
  let last = ''
  for (;;) {
    const install = await tetragonInstall(ctx)
    const [slices, pods] = await Promise.all([
      kube.listEndpointSlices(plan.namespace, plan.name),
      kube.listPods(install.namespace, {labelSelector: AGENT_SELECTOR}, (p) => ({ready: (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'), labels: p.metadata?.labels ?? {}})),
    ])
    const ready = new Set<string>()
    let onPort = false
    for (const s of slices) {
      if ((s.ports ?? []).some((p) => p.port === DEFAULT_GRPC_PORT)) onPort = true
      for (const ep of s.endpoints ?? []) if (ep.conditions?.ready !== false) for (const a of ep.addresses ?? []) ready.add(a)
    }
    const readyAgents = pods.filter((p) => p.ready && selects(plan.selector, p.labels)).length
    last = `${ready.size} ready endpoints, ${readyAgents} ready agents`
    onTick?.(last)
    if (ready.size > 0 && onPort && ready.size === readyAgents) return `${ready.size} ready endpoints on port ${DEFAULT_GRPC_PORT}`
    if (Date.now() >= deadline) {
      throw new UserError(`Service ${plan.namespace}/${plan.name} has no ready endpoint per agent after ${Math.round(timeoutMs / 1000)} s (${last}).`, `kubectl -n ${plan.namespace} get endpointslices -l kubernetes.io/service-name=${plan.name}`, ExitCode.FINDINGS)
    }
    await sleep(1000, interruption.signal)
    interruption.throwIfInterrupted()
  }
}

// ---------------------------------------------------------------------------------------------
// TracingPolicies

export interface PolicyPlan extends Planned {
  kind: PolicyKind
  desired: TracingPolicyObject
}

export async function planPolicies(writer: KubeWriter, kinds: PolicyKind[], signal?: AbortSignal): Promise<PolicyPlan[]> {
  if (kinds.length === 0) return []
  const existing = await writer.listTracingPolicies(signal)
  return kinds.map((kind) => {
    const desired = policyFor(kind)
    const title = `TracingPolicy ${desired.metadata.name}`
    const same = existing.find((p) => p.metadata?.name === desired.metadata.name)
    const other = existing.find((p) => p.metadata?.name !== desired.metadata.name && coveredBy(kind, p))
    let change: Change
    let summary: string
    if (same) {
      change = valuesEqual(same.spec, desired.spec) ? 'none' : 'update'
      summary = change === 'none' ? 'loaded, as written' : `update by server-side apply (field manager ${FIELD_MANAGER})`
    } else if (other) {
      change = 'none'
      summary = `not needed: TracingPolicy ${other.metadata.name} already hooks ${kind === 'network' ? 'tcp_connect' : 'security_file_permission for reads of /etc/shadow'} (a second policy would duplicate every event)`
    } else {
      change = 'create'
      summary = `create by server-side apply (field manager ${FIELD_MANAGER}): ${kind === 'network' ? 'tcp_connect/tcp_close/tcp_sendmsg events (cilium/tetragon examples/tracingpolicy/tcp-connect.yaml)' : 'reads of sensitive files such as /etc/shadow (cilium/tetragon examples/quickstart/file_monitoring.yaml)'}`
    }
    return {id: `policy:${desired.metadata.name}`, title, change, summary, detail: change === 'none' ? [] : YAML.stringify(desired).trimEnd().split('\n'), kind, desired}
  })
}

// ---------------------------------------------------------------------------------------------
// Permissions

export interface Need {
  verb: string
  resource: string
  group?: string
  namespace?: string
  for: string
}

/** The writes a plan makes, as SelfSubjectAccessReview attributes. */
export function needsOf(plans: Planned[]): Need[] {
  const needs: Need[] = []
  for (const p of plans) {
    if (p.change === 'none') continue
    if (p.id === 'helm-release') {
      const ns = (p as ReleasePlan).namespace
      // Helm keeps the release in a Secret and patches the chart's objects (helm storage driver "secret").
      needs.push({verb: 'create', resource: 'secrets', namespace: ns, for: p.title}, {verb: 'patch', resource: 'configmaps', namespace: ns, for: p.title}, {verb: 'patch', resource: 'daemonsets', group: 'apps', namespace: ns, for: p.title})
    } else if (p.id === 'service' || p.id === 'service-selector') {
      const ns = (p as ServicePlan).namespace
      needs.push({verb: 'patch', resource: 'services', namespace: ns, for: p.title})
      // An apply that creates the object is authorized as create too (apiserver handlers/patch.go).
      if (p.change === 'create') needs.push({verb: 'create', resource: 'services', namespace: ns, for: p.title})
    } else if (p.id.startsWith('policy:')) {
      needs.push({verb: 'patch', resource: 'tracingpolicies', group: 'cilium.io', for: p.title})
      if (p.change === 'create') needs.push({verb: 'create', resource: 'tracingpolicies', group: 'cilium.io', for: p.title})
    }
  }
  return needs
}

/** Asks the API server about every write first, so a missing permission stops the run before any change. */
export async function checkPermissions(kube: KubeClient, needs: Need[]): Promise<void> {
  const results = await Promise.all(
    needs.map(async (n) => {
      try {
        return {n, allowed: (await kube.canI(n.verb, n.resource, {group: n.group, namespace: n.namespace})).allowed}
      } catch (error) {
        // Without access reviews the writes themselves will tell.
        if (error instanceof ForbiddenError) return {n, allowed: true}
        throw error
      }
    }),
  )
  const denied = results.filter((r) => !r.allowed).map((r) => r.n)
  if (denied.length === 0) return
  const what = denied.map((n) => `${n.verb} ${n.group ? `${n.resource}.${n.group}` : n.resource}${n.namespace ? ` in namespace ${n.namespace}` : ''} (for ${n.for})`)
  const first = denied[0]!
  throw new UserError(
    `Not allowed to ${what.join(', ')}. Nothing was changed.`,
    `Grant the verbs, e.g. kubectl create ${first.namespace ? `role -n ${first.namespace}` : 'clusterrole'} tetractl-setup --verb=${[...new Set(denied.filter((d) => d.resource === first.resource).map((d) => d.verb))].join(',')} --resource=${first.group ? `${first.resource}.${first.group}` : first.resource} and bind it to your user.`,
    ExitCode.FINDINGS,
  )
}

// ---------------------------------------------------------------------------------------------


/** Records what was applied, so a failure can say exactly what is and is not in place. */
export class Ledger {
  readonly applied: string[] = []
  private readonly pending = new Map<string, Planned>()

  constructor(plans: Planned[]) {
    for (const p of plans) if (p.change !== 'none') this.pending.set(p.id, p)
  }

  done(p: Planned, what: string): void {
    this.applied.push(`${p.title} ${what}`)
    this.pending.delete(p.id)
  }

  /** Wraps an error with the applied / not applied lists, keeping its exit code (1 at least). */
  fail(error: unknown, failed: Planned): Error {
    const rest = [...this.pending.values()].filter((p) => p.id !== failed.id).map((p) => p.title)
    const state = ` Applied before the failure: ${this.applied.length ? this.applied.join('; ') : 'nothing'}. Not applied: ${[failed.title, ...rest].join(', ')}.`
    if (error instanceof InterruptedError) return new InterruptedError(error.signal, `${error.message.replace(/^interrupted \(\w+\):?\s*/, '').replace(/\.?$/, '.')}${state}`, error.tryMessage)
    const sig = interruption.reason()
    if (sig) return new InterruptedError(sig, `${failed.title}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}.${state}`)
    if (error instanceof UserError) {
      const code = error.exitCode === ExitCode.UNREACHABLE ? ExitCode.UNREACHABLE : ExitCode.FINDINGS
      return new UserError(`${error.message.replace(/\.?$/, '.')}${state}`, error.tryMessage, code)
    }
    if (error instanceof ForbiddenError) return new UserError(`${failed.title}: ${error.message}.${state}`, `kubectl auth can-i ${error.verb} ${error.resource}${error.namespace ? ` -n ${error.namespace}` : ''}`, ExitCode.FINDINGS)
    return new UserError(`${failed.title}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}.${state}`, undefined, ExitCode.FINDINGS)
  }
}
