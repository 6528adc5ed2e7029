// Preflight step `validate.rbac`: SelfSubjectAccessReviews for what validate itself does (doctor's k8s.rbac reviews
// the doctor's reads, which validate mostly does not need: it creates a namespace and a pod, execs into it, and
// port-forwards to one Tetragon agent). Runs through the same runner as the doctor checks it sits with.
import type {CheckContext} from '../../checks/context.js'
import {tetragonInstall} from '../../cluster/facts.js'
import {ForbiddenError} from '../../engine/errors.js'
import {fail, pass, warn, type Check} from '../../engine/types.js'
import {DOCS} from '../../docs.js'

interface Need {
  verb: string
  resource: string
  subresource?: string
  namespace?: string
  why: string
}

export function validateAccess(target: {namespace: string; create: boolean}): Check<CheckContext> {
  return {
    id: 'validate.rbac',
    layer: 'kubernetes',
    title: 'Permissions validate needs (probe pod, exec, port-forward)',
    requires: ['k8s.connect'],
    async run(ctx, signal) {
      const kube = await ctx.kube()
      const install = await tetragonInstall(ctx, signal).catch(() => undefined)
      const tetragonNs = install?.namespace ?? ctx.opts.namespace ?? 'kube-system'
      const stream = kube.streamVerb()
      const ns = target.namespace
      const needs: Need[] = [
        ...(target.create
          ? [
              {verb: 'create', resource: 'namespaces', why: 'create the probe namespace'},
              {verb: 'delete', resource: 'namespaces', why: 'delete it afterwards'},
              {verb: 'create', resource: 'pods', namespace: ns, why: 'create the probe pod'},
            ]
          : []),
        {verb: 'get', resource: 'pods', namespace: ns, why: 'read the probe pod'},
        {verb: stream, resource: 'pods', subresource: 'exec', namespace: ns, why: 'run the probe commands'},
        {verb: 'list', resource: 'pods', namespace: tetragonNs, why: "find the probe node's agent"},
        {verb: stream, resource: 'pods', subresource: 'portforward', namespace: tetragonNs, why: "read the agent's event stream"},
      ]
      let denied: Need[]
      try {
        const reviews = await Promise.all(
          needs.map(async (n) => ({n, allowed: (await kube.canI(n.verb, n.resource, {namespace: n.namespace, subresource: n.subresource}, signal)).allowed})),
        )
        denied = reviews.filter((r) => !r.allowed).map((r) => r.n)
      } catch (error) {
        if (error instanceof ForbiddenError) return warn('cannot review access (SelfSubjectAccessReview is forbidden); steps will report what they may not do', {docs: DOCS.rbac})
        throw error
      }
      const name = (n: Need) => `${n.verb} ${n.resource}${n.subresource ? `/${n.subresource}` : ''}${n.namespace ? ` in ${n.namespace}` : ''}`
      const evidence = {context: kube.contextName, reviewed: needs.map(name), denied: denied.map(name)}
      if (denied.length === 0) return pass(`context ${kube.contextName} may do all ${needs.length} things validate needs`, evidence)
      const verbs = [...new Set(denied.map((d) => d.verb))].join(',')
      const resources = [...new Set(denied.map((d) => `${d.resource}${d.subresource ? `/${d.subresource}` : ''}`))].join(',')
      const outcome = fail(`not allowed to ${denied.map((d) => `${name(d)} (${d.why})`).join('; ')}`, {
        hint: `# as a cluster admin; TETRACTL_USER = the user tetractl runs as (what kubectl auth whoami prints with tetractl's kubeconfig and context)\nkubectl create clusterrole tetractl-validate --verb=${verbs} --resource=${resources}\nkubectl create clusterrolebinding tetractl-validate --clusterrole=tetractl-validate --user="$TETRACTL_USER"`,
        docs: DOCS.rbac,
        evidence,
      })
      return denied.length === needs.length ? {...outcome, unreachable: true} : outcome
    },
  }
}
