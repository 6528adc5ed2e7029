import {setMaxListeners} from 'node:events'

import type {V1ResourceRule} from '@kubernetes/client-node'

import type {KubeClient} from '../../clients/kube.js'
import {fail, pass, warn, type Check} from '../../engine/types.js'
import {ForbiddenError} from '../../engine/errors.js'
import type {CheckContext} from '../context.js'
import {serviceNamespace, tetragonInstall} from '../../cluster/facts.js'
import {DOCS} from '../../docs.js'

interface Need {
  verb: string
  resource: string
  group?: string
  subresource?: string
  namespace?: string
  /** The checks that need it. */
  for: string[]
}

export const accessReviewForChecks: Check<CheckContext> = {
  id: 'k8s.rbac',
  layer: 'kubernetes',
  title: 'Permissions the checks need',
  requires: ['k8s.connect'],
  async run(ctx, signal) {
    const kube = await ctx.kube()
    const [install, svcNs] = await Promise.all([tetragonInstall(ctx, signal).catch(() => undefined), serviceNamespace(ctx, signal).catch(() => undefined)])
    const ns = install?.namespace ?? ctx.opts.namespace ?? 'kube-system'
    const svc = svcNs ?? ns
    // The API checks reach each agent through a port-forward: a WebSocket upgrade, authorized as `get` on
    // pods/portforward before Kubernetes 1.35 and as `create` from 1.35 (KEP-4006 gate
    // AuthorizePodWebsocketUpgradeCreatePermission), the verb `kubectl port-forward` over SPDY (a POST) always needed.
    const grpc = ['tetragon.grpc-reachable', 'tetragon.version', 'tetragon.schema', 'tetragon.liveness', 'tetragon.policies']
    const needs: Need[] = [
      {verb: 'list', resource: 'daemonsets', group: 'apps', for: ['tetragon.daemonset', 'agent.shipper']},
      {verb: 'list', resource: 'pods', namespace: ns, for: ['tetragon.daemonset', 'service.selector', 'tetragon.export']},
      {verb: 'get', resource: 'configmaps', namespace: ns, for: ['tetragon.grpc-bind', 'tetragon.export-filters']},
      {verb: 'list', resource: 'namespaces', for: ['tetragon.export-filters']},
      {verb: 'get', resource: 'services', namespace: svc, for: ['service.exists']},
      {verb: 'list', resource: 'endpointslices', group: 'discovery.k8s.io', namespace: svc, for: ['service.endpoints']},
      {verb: 'list', resource: 'nodes', for: ['tetragon.daemonset']},
      {verb: kube.streamVerb(), resource: 'pods', subresource: 'exec', for: ['dns.service']},
      {verb: kube.streamVerb(), resource: 'pods', subresource: 'portforward', namespace: ns, for: grpc},
      // The collector's path is probed through the services proxy; metrics are scraped through the pods proxy.
      {verb: 'get', resource: 'services', subresource: 'proxy', namespace: svc, for: ['tetragon.grpc-reachable']},
      {verb: 'get', resource: 'pods', subresource: 'proxy', namespace: ns, for: ['tetragon.dropped-events']},
      {verb: 'get', resource: 'pods', subresource: 'log', namespace: ns, for: ['tetragon.dropped-events (its log excerpt)']},
      {verb: 'list', resource: 'tracingpolicies', group: 'cilium.io', for: ['tetragon.policies']},
      {verb: 'list', resource: 'tracingpoliciesnamespaced', group: 'cilium.io', for: ['tetragon.policies']},
    ]
    let reviews: Array<{need: Need; allowed: boolean}>
    let counts = {rulesReviews: 0, accessReviews: 0}
    try {
      ;({reviews, counts} = await review(kube, needs, signal))
    } catch (error) {
      if (error instanceof ForbiddenError) return warn('cannot review access (SelfSubjectAccessReview is forbidden); checks will report what they cannot read', {docs: DOCS.rbac})
      throw error
    }
    const denied = reviews.filter((r) => !r.allowed).map((r) => r.need)
    const name = (n: Need) => `${n.verb} ${n.resource}${n.subresource ? `/${n.subresource}` : ''}${n.group ? `.${n.group}` : ''}${n.namespace ? ` in ${n.namespace}` : ' (cluster-wide)'}`
    const evidence = {context: kube.contextName, denied: denied.map(name), reviewed: needs.length, ...counts}
    if (denied.length === 0) return pass(`context ${kube.contextName} may do all ${needs.length} things the checks need`, evidence)
    const affected = [...new Set(denied.flatMap((d) => d.for))]
    const verbs = [...new Set(denied.map((d) => d.verb))].join(',')
    const resources = [...new Set(denied.map((d) => `${d.resource}${d.subresource ? `/${d.subresource}` : ''}${d.group ? `.${d.group}` : ''}`))].join(',')
    const outcome = fail(`not allowed to ${denied.map(name).join('; ')}: ${affected.join(', ')} cannot be evaluated`, {
      hint: `# as a cluster admin; TETRACTL_USER = the user tetractl runs as (what kubectl auth whoami prints with tetractl's kubeconfig and context)\nkubectl create clusterrole tetractl-doctor --verb=${verbs} --resource=${resources}\nkubectl create clusterrolebinding tetractl-doctor --clusterrole=tetractl-doctor --user="$TETRACTL_USER"`,
      docs: DOCS.rbac,
      evidence,
    })
    // Nothing at all is readable: the target cannot be evaluated (exit 3).
    if (denied.length === needs.length) return {...outcome, unreachable: true, message: `the credentials of context ${kube.contextName} may do none of the ${needs.length} things the checks need (${denied.map(name).join('; ')})`}
    return outcome
  },
}

/**
 * Whether RBAC rules grant a request without a resource name, matched as the API server's RBAC authorizer
 * does (kubernetes pkg/apis/rbac/v1/evaluation_helpers.go: VerbMatches, APIGroupMatches, ResourceMatches):
 * `*` matches any verb, group or resource; `*\/sub` matches that subresource of any resource; a rule
 * limited to resourceNames does not grant a list or an unnamed get.
 */
export function rulesAllow(rules: V1ResourceRule[], need: {verb: string; resource: string; group?: string; subresource?: string}): boolean {
  const combined = need.subresource ? `${need.resource}/${need.subresource}` : need.resource
  return rules.some(
    (r) =>
      (r.verbs ?? []).some((v) => v === '*' || v === need.verb) &&
      (r.apiGroups ?? []).some((g) => g === '*' || g === (need.group ?? '')) &&
      (r.resources ?? []).some((x) => x === '*' || x === combined || (need.subresource !== undefined && x === `*/${need.subresource}`)) &&
      (r.resourceNames ?? []).length === 0,
  )
}

/**
 * One SelfSubjectRulesReview per namespace answers the namespaced permissions at once; a
 * SelfSubjectAccessReview settles the rest. Rules reviews only prove an allow: RBAC has no deny, but the
 * rules of a namespace also hold RoleBindings, which grant nothing cluster-wide, so cluster-wide needs, needs
 * the rules do not grant, and namespaces whose review is incomplete (another authorizer) or forbidden are
 * asked one by one.
 */
async function review(kube: KubeClient, needs: Need[], signal?: AbortSignal): Promise<{reviews: Array<{need: Need; allowed: boolean}>; counts: {rulesReviews: number; accessReviews: number}}> {
  const namespaces = [...new Set(needs.map((n) => n.namespace).filter((n): n is string => Boolean(n)))]
  // One abort listener per concurrent review on the check's signal: bounded by the list of needs, not a leak.
  if (signal) setMaxListeners(needs.length + namespaces.length + 10, signal)
  const ask = async (n: Need) => [n, (await kube.canI(n.verb, n.resource, {group: n.group, namespace: n.namespace, subresource: n.subresource}, signal)).allowed] as const
  // Cluster-wide needs are asked at once, alongside the rules reviews (which cannot settle them).
  const clusterWide = needs.filter((n) => n.namespace === undefined)
  const rules = new Map<string, V1ResourceRule[]>()
  const [wide] = await Promise.all([
    Promise.all(clusterWide.map(ask)),
    ...namespaces.map(async (ns) => {
      const r = await kube.rulesReview(ns, signal).catch((error: unknown) => {
        if (error instanceof ForbiddenError) return undefined
        throw error
      })
      if (r && !r.incomplete) rules.set(ns, r.rules)
    }),
  ])
  const rest = needs.filter((n) => n.namespace !== undefined && !rulesAllow(rules.get(n.namespace) ?? [], n))
  const asked = new Map([...wide, ...(await Promise.all(rest.map(ask)))])
  return {
    reviews: needs.map((need) => ({need, allowed: asked.get(need) ?? true})),
    counts: {rulesReviews: namespaces.length, accessReviews: clusterWide.length + rest.length},
  }
}
