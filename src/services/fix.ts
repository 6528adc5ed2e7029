// doctor --fix: for tetragon.grpc-bind, service.exists and service.selector, do what their hints say
// (helm upgrade with the gRPC values; apply the Service; merge-patch the selector), after showing the
// change and asking (or --yes; never silently without a terminal), then re-run the affected checks.
import {createInterface} from 'node:readline/promises'

import {checks as registry} from '../checks/index.js'
import type {CheckContext} from '../checks/context.js'
import {grpcService, labelString, serviceNamespace, tetragonInstall, tetragonPods} from '../cluster/facts.js'
import {recommendedSelector} from '../checks/kubernetes/service-selector.js'
import {Helm} from '../clients/helm.js'
import {KubeWriter} from '../clients/kube-apply.js'
import type {KubeClient} from '../clients/kube.js'
import {requirementsOf} from '../engine/types.js'
import {ExitCode} from '../engine/exit-codes.js'
import {UserError} from '../engine/errors.js'
import {interruption, privateTempDir} from '../engine/interrupt.js'
import {safeText} from '../engine/redact.js'
import {Memo} from '../engine/memo.js'
import {summarize} from '../engine/report.js'
import type {CheckResult, Report} from '../engine/types.js'
import {renderPlan} from './setup/render.js'
import {
  applyRelease,
  applyService,
  checkPermissions,
  Ledger,
  needsOf,
  planRelease,
  planSelectorPatch,
  planService,
  type Planned,
  type ReleasePlan,
  type ServicePlan,
  waitRollout,
} from './setup/steps.js'

export interface FixArgs {
  report: Report
  kube: KubeClient
  ctx: CheckContext
  yes: boolean
  /** --helm (or TETRACTL_HELM, read by the flag); default helm on PATH. */
  helmBin?: string
  json: boolean
  log(s: string): void
  /** Re-run these checks (and what they require) on fresh facts; returns the new report for them. */
  rerun(ids: string[]): Promise<Report>
}

export const FIXABLE = ['tetragon.grpc-bind', 'service.exists', 'service.selector'] as const

const HELM_TIMEOUT_MS = 5 * 60_000
const WAIT_TIMEOUT_MS = 5 * 60_000

interface SelectorPlan extends Planned {
  namespace: string
  name: string
  patch: unknown
}

/** Checks that depend, directly or not, on any of `ids`. */
function dependantsOf(ids: Set<string>, ctx: CheckContext): Set<string> {
  const out = new Set(ids)
  let grew = true
  while (grew) {
    grew = false
    for (const c of registry) if (!out.has(c.id) && requirementsOf(c, ctx).some((r) => out.has(r))) (out.add(c.id), (grew = true))
  }
  return out
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({input: process.stdin, output: process.stderr})
  // Ctrl-C at the prompt reaches readline as input, not as a signal: make it the same interruption.
  rl.on('SIGINT', () => process.kill(process.pid, 'SIGINT'))
  try {
    return /^y(es)?$/i.test((await rl.question(question, {signal: interruption.signal})).trim())
  } catch (error) {
    interruption.throwIfInterrupted('nothing was changed')
    throw error
  } finally {
    rl.close()
  }
}

export async function applyFixes(args: FixArgs): Promise<Report> {
  const {report, kube, ctx} = args
  // Human output goes to stdout; with --json, stdout is the report alone.
  const say = (s: string) => (args.json ? process.stderr.write(`${safeText(s)}\n`) : args.log(safeText(s)))
  const needing = report.checks.filter((c) => (FIXABLE as readonly string[]).includes(c.id) && (c.status === 'fail' || c.status === 'warn'))
  if (needing.length === 0) {
    say(`--fix: nothing to fix (${FIXABLE.join(', ')} ${report.checks.some((c) => (FIXABLE as readonly string[]).includes(c.id)) ? 'passed or were not evaluated' : 'were not run'}).`)
    return report
  }
  const ids = new Set(needing.map((c) => c.id))
  const writer = new KubeWriter(kube)
  const plans: Planned[] = []
  const notes: string[] = []

  // Helm gets the cluster and context tetractl uses: the resolved kubeconfig in a private temp file.
  // It holds the bearer token: private folder (0700, file 0600), removed on every exit path, signals included.
  const tmp = await privateTempDir('tetractl-fix-')
  try {
    let helm: Helm | undefined
    if (ids.has('tetragon.grpc-bind')) {
      const kubeconfig = await tmp.write('kubeconfig', kube.kc.exportConfig())
      helm = new Helm({bin: args.helmBin, kubeconfig, kubeContext: kube.contextName})
      await helm.version()
      const install = await tetragonInstall(ctx)
      plans.push(await planRelease({helm, ctx, namespace: install.namespace}))
    }
    const namespace = await serviceNamespace(ctx)
    const name = ctx.opts.serviceName
    if (ids.has('service.exists')) {
      plans.push(await planService(ctx, writer, {namespace, name}))
    } else if (ids.has('service.selector')) {
      const [{service}, pods] = await Promise.all([grpcService(ctx), tetragonPods(ctx)])
      if (service) {
        const wanted = recommendedSelector(pods[0]?.labels ?? {})
        const {patch, text} = planSelectorPatch(service, wanted)
        const p: SelectorPlan = {
          id: 'service-selector',
          title: `Service ${namespace}/${name}`,
          change: 'update',
          summary: `selector ${labelString(service.spec?.selector ?? {}) || '(none)'} → ${labelString(wanted)} (JSON merge patch, field manager tetractl)`,
          detail: [`$ kubectl -n ${namespace} patch service ${name} --type=merge -p '${text}'`],
          namespace,
          name,
          patch,
        }
        plans.push(p)
      }
    }
    const changes = plans.filter((p) => p.change !== 'none')
    for (const p of plans.filter((x) => x.change === 'none')) notes.push(`${p.title}: ${p.summary}`)
    say(`--fix: ${changes.length ? 'changes for' : 'no change possible for'} ${[...ids].join(', ')}`)
    if (changes.length) say(renderPlan(changes, {verbose: false}))
    for (const n of notes) say(`  (${n})`)
    if (changes.length === 0) return report

    if (!args.yes) {
      if (!process.stdin.isTTY) {
        throw new UserError('doctor --fix needs a confirmation and there is no terminal to ask on. Nothing was changed.', 'Re-run with --yes to apply the changes shown above.', ExitCode.USAGE)
      }
      if (!(await confirm('Apply these changes? [y/N] '))) {
        say('Nothing was changed.')
        return report
      }
    }

    interruption.throwIfInterrupted('nothing was changed')
    await checkPermissions(kube, needsOf(changes))
    const ledger = new Ledger(changes)
    for (const p of changes) {
      try {
        interruption.throwIfInterrupted()
        let what: string
        if (p.id === 'helm-release') {
          const r = p as ReleasePlan
          what = await applyRelease(helm!, r, HELM_TIMEOUT_MS, (s) => say(`✔ ${s}`))
          const ds = (await tetragonInstall({...ctx, memo: new Memo()})).daemonSet?.metadata?.name ?? r.release
          what += `; ${await waitRollout(kube, r.namespace, ds, WAIT_TIMEOUT_MS)}`
        } else if (p.id === 'service') {
          what = await applyService(writer, p as ServicePlan, false)
        } else {
          const s = p as SelectorPlan
          await writer.mergePatchService(s.namespace, s.name, s.patch)
          what = 'selector patched'
        }
        ledger.done(p, what)
        say(`✔ ${p.title} ${what}`)
      } catch (error) {
        throw ledger.fail(error, p)
      }
    }
  } finally {
    await tmp.remove()
  }
  interruption.throwIfInterrupted('the changes above were applied; run `tetractl doctor` to check them')

  // Re-run what was fixed, what depends on it and whatever else was not fine, so the exit code of
  // the merged report is the re-run's own (computed with the user's --fail-on).
  const rerunIds = dependantsOf(ids, args.ctx)
  for (const c of report.checks) if (c.status === 'fail' || c.status === 'warn' || c.status === 'not-evaluated') rerunIds.add(c.id)
  const wanted = new Set(report.checks.map((c) => c.id))
  const again = await args.rerun([...rerunIds].filter((id) => wanted.has(id)))
  const fresh = new Map(again.checks.map((c) => [c.id, c]))
  const checks: CheckResult[] = report.checks.map((c) => fresh.get(c.id) ?? c)
  const unreachable = checks.some((c) => c.unreachable)
  say(`--fix: re-ran ${[...fresh.keys()].filter((id) => wanted.has(id)).join(', ')}`)
  return {...report, checks, summary: summarize(checks), exitCode: unreachable ? ExitCode.UNREACHABLE : again.exitCode}
}
