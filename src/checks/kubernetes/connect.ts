import {pass, type Check} from '../../engine/types.js'
import type {CheckContext} from '../context.js'
import {prefetch} from '../prefetch.js'

export const kubernetesApiReachable: Check<CheckContext> = {
  id: 'k8s.connect',
  layer: 'kubernetes',
  title: 'Kubernetes API reachable',
  requires: [],
  async run(ctx, signal) {
    const kube = await ctx.kube()
    const version = await kube.version(signal)
    // The run's signal, not this check's: prefetched reads outlive k8s.connect.
    prefetch(ctx)
    return pass(`Kubernetes ${version.gitVersion} at ${kube.server} (context ${kube.contextName})`, {
      server: kube.server,
      context: kube.contextName,
      version: version.gitVersion,
    })
  },
}
