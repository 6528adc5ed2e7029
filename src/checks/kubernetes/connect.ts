import {pass, type Check} from '../../engine/types.js'
import type {CheckContext} from '../context.js'
import {prefetch} from '../prefetch.js'

export const kubernetesApiReachable: Check<CheckContext> = {
  id: 'k8s.connect',
  layer: 'kubernetes',
  title: 'Kubernetes API reachable',
  requires: [],
  // Once the API answers, every independent read the selected checks need starts (the runner calls it).
  prefetchOnPass: prefetch,
  async run(ctx, signal) {
    const kube = await ctx.kube()
    const version = await kube.version(signal)
    return pass(`Kubernetes ${version.gitVersion} at ${kube.server} (context ${kube.contextName})`, {
      server: kube.server,
      context: kube.contextName,
      version: version.gitVersion,
    })
  },
}
