import {fail, pass, warn, type Check} from '../../engine/types.js'
import type {CheckContext} from '../context.js'
import {grpcService, labelString, selects, summarizePod, tetragonInstall, tetragonPods} from '../../cluster/facts.js'
import {DOCS} from '../../docs.js'

/** The selector to use: the chart's selector label plus the release instance (cilium/tetragon v1.7.0 install/kubernetes/tetragon/templates/daemonset.yaml). */
export function recommendedSelector(podLabels: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {'app.kubernetes.io/name': podLabels['app.kubernetes.io/name'] ?? 'tetragon'}
  return out
}

/** A merge patch replaces map keys one by one: null out the keys that must go. */
export function selectorPatch(current: Record<string, string>, wanted: Record<string, string>): string {
  const patch: Record<string, string | null> = {}
  for (const k of Object.keys(current)) if (!(k in wanted)) patch[k] = null
  Object.assign(patch, wanted)
  return JSON.stringify({spec: {selector: patch}})
}

export const serviceSelectsAgentPods: Check<CheckContext> = {
  id: 'service.selector',
  layer: 'kubernetes',
  title: 'gRPC Service selects the Tetragon agent pods',
  requires: ['service.exists'],
  async run(ctx, signal) {
    const [{namespace, service}, install, agents] = await Promise.all([grpcService(ctx, signal), tetragonInstall(ctx, signal), tetragonPods(ctx, signal)])
    const selector = service?.spec?.selector ?? {}
    const name = `${namespace}/${ctx.opts.serviceName}`
    if (Object.keys(selector).length === 0) {
      return warn(`Service ${name} has no selector: its endpoints are managed by hand and will not follow agent pods`, {
        hint: `kubectl -n ${namespace} patch service ${ctx.opts.serviceName} --type=merge -p '${selectorPatch({}, recommendedSelector(agents[0]?.labels ?? {}))}'`,
        docs: DOCS.service,
      })
    }
    const wanted = recommendedSelector(agents[0]?.labels ?? {})
    const patchHint = `kubectl -n ${namespace} patch service ${ctx.opts.serviceName} --type=merge -p '${selectorPatch(selector, wanted)}'\n# or: tetractl doctor --fix --only service.selector`
    // A Service only selects pods in its own namespace.
    const sameNamespace = namespace === install.namespace
    const matched = sameNamespace ? agents.filter((p) => selects(selector, p.labels)) : []
    const evidence: Record<string, unknown> = {selector: labelString(selector), agentPods: agents.length, matchedAgents: matched.length, agentLabels: agents[0]?.labels}
    if (matched.length === 0) {
      const why = sameNamespace
        ? `matches none of the ${agents.length} Tetragon pods, whose labels are ${labelString(agents[0]?.labels ?? {}) || '(no pods found)'}`
        : `cannot select the Tetragon pods, which run in namespace ${install.namespace}`
      return fail(`Service ${name} selector ${labelString(selector)} ${why}; use ${labelString(wanted)}`, {hint: patchHint, docs: DOCS.service, evidence})
    }
    // The tetragon-operator pods share several agent labels (part-of, instance): a broad selector sends collectors to it.
    // Ask only for the pods the selector matches that are not agents: one small page even at 5,000 nodes.
    const kube = await ctx.kube()
    const strangers = await kube.listPods(namespace, {labelSelector: `${labelString(selector)},app.kubernetes.io/name!=tetragon`, signal}, summarizePod)
    evidence.otherPods = strangers.map((p) => p.name)
    if (strangers.length > 0) {
      return warn(`Service ${name} selects ${matched.length} agent pods but also ${strangers.map((p) => p.name).slice(0, 3).join(', ')}, which serve no Tetragon gRPC`, {
        hint: patchHint,
        docs: DOCS.service,
        evidence,
      })
    }
    if (matched.length < agents.length) {
      return warn(`Service ${name} selects ${matched.length} of ${agents.length} Tetragon pods`, {hint: patchHint, docs: DOCS.service, evidence})
    }
    return pass(`Service ${name} selects all ${agents.length} Tetragon pods (${labelString(selector)})`, evidence)
  },
}
