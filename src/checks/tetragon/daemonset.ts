import {fail, pass, warn, type Check} from '../../engine/types.js'
import type {CheckContext} from '../context.js'
import {AGENT_SELECTOR, imageVersion, nodeCount, tetragonInstall, tetragonPods} from '../../cluster/facts.js'
import {DOCS} from '../../docs.js'

export const tetragonDaemonSetReady: Check<CheckContext> = {
  id: 'tetragon.daemonset',
  layer: 'tetragon',
  title: 'Tetragon DaemonSet runs a ready agent on every node',
  requires: ['k8s.connect'],
  async run(ctx, signal) {
    const install = await tetragonInstall(ctx, signal)
    const ds = install.daemonSet
    if (!ds) {
      const where = ctx.opts.namespace ? `namespace ${ctx.opts.namespace}` : 'any namespace'
      return fail(`no DaemonSet labelled ${AGENT_SELECTOR} in ${where}`, {
        hint: `helm repo add cilium https://helm.cilium.io && helm install tetragon cilium/tetragon -n kube-system --set tetragon.grpc.address=0.0.0.0:54321\n# or: tetractl setup`,
        docs: DOCS.install,
      })
    }
    const [pods, nodes] = await Promise.all([tetragonPods(ctx, signal), nodeCount(ctx, signal)])
    const name = `${install.namespace}/${ds.metadata?.name}`
    const image = ds.spec?.template?.spec?.containers?.find((c) => c.name === 'tetragon')?.image
    const st = ds.status
    const desired = st?.desiredNumberScheduled ?? 0
    const ready = st?.numberReady ?? pods.filter((p) => p.ready).length
    const evidence = {
      daemonSet: name,
      version: imageVersion(image),
      chart: ds.metadata?.labels?.['helm.sh/chart'],
      nodes,
      desired,
      ready,
      updated: st?.updatedNumberScheduled,
      notReady: pods.filter((p) => !p.ready).slice(0, 10).map((p) => `${p.name} on ${p.node}`),
      // The one checked is kube-system's when there is one, wherever the list put it (namespaces come sorted by name).
      ...(install.all.length > 1 ? {alsoFound: install.all.filter((d) => d !== ds).map((d) => `${d.metadata?.namespace}/${d.metadata?.name}`)} : {}),
    }
    if (ready < desired) {
      const notReady = evidence.notReady
      return fail(`${name}: ${ready} of ${desired} agent pods ready${notReady.length ? ` (not ready: ${notReady.slice(0, 3).join(', ')}${notReady.length > 3 ? ', …' : ''})` : ''}`, {
        hint: `kubectl -n ${install.namespace} rollout status ds/${ds.metadata?.name}\nkubectl -n ${install.namespace} describe pod ${notReady[0]?.split(' ')[0] ?? `-l ${AGENT_SELECTOR}`}`,
        docs: DOCS.install,
        evidence,
      })
    }
    if (desired < nodes) {
      // The chart tolerates every taint (operator: Exists in the cilium/tetragon v1.7.0 Helm chart),
      // so a node without an agent is a nodeSelector/affinity choice or a scheduling problem.
      return warn(`${name}: agents scheduled on ${desired} of ${nodes} nodes; events from the other ${nodes - desired} are not collected`, {
        hint: `kubectl -n ${install.namespace} get ds ${ds.metadata?.name} -o jsonpath='{.spec.template.spec.nodeSelector}{.spec.template.spec.affinity}'`,
        docs: DOCS.install,
        evidence,
      })
    }
    return pass(`${name} ${evidence.version ?? ''}: ${ready}/${desired} agents ready on ${nodes} nodes`.replace('  ', ' '), evidence)
  },
}
