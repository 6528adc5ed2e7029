import {fail, pass, warn, type Check} from '../../engine/types.js'
import type {CheckContext} from '../context.js'
import {tetragonInstall} from '../../cluster/facts.js'
import {agentsOr, isOutcome} from './agents.js'
import {serverAddress} from '../../cluster/server-address.js'
import {DOCS} from '../../docs.js'

export const grpcListensOnPodNetwork: Check<CheckContext> = {
  id: 'tetragon.grpc-bind',
  layer: 'tetragon',
  title: 'Tetragon gRPC server reachable from other pods',
  // Read from the DaemonSet and the ConfigMap, whatever the agents' readiness (a partial rollout is tetragon.daemonset's finding).
  requires: ['k8s.connect'],
  async run(ctx, signal) {
    const agents = await agentsOr(ctx, signal, false)
    if (isOutcome(agents)) return agents
    const [install, addr] = await Promise.all([tetragonInstall(ctx, signal), serverAddress(ctx, signal)])
    const release = install.daemonSet?.metadata?.labels?.['app.kubernetes.io/instance'] ?? install.daemonSet?.metadata?.name ?? 'tetragon'
    const chart = install.daemonSet?.metadata?.labels?.['helm.sh/chart']
    const hint = `helm upgrade ${release} cilium/tetragon -n ${install.namespace} --reuse-values --set tetragon.grpc.enabled=true --set tetragon.grpc.address=0.0.0.0:54321\n# or: tetractl doctor --fix --only tetragon.grpc-bind`
    const evidence = {serverAddress: addr.raw, source: addr.source, kind: addr.kind, chart}
    switch (addr.kind) {
      case 'disabled':
        return fail(`gRPC server disabled (server-address is empty in the ${addr.source}: tetragon.grpc.enabled=false)`, {hint, docs: DOCS.grpc, evidence})
      case 'unix':
        // Chart v1.7.0 made the unix socket the default (contrib/upgrade-notes/v1.7.0.md).
        return fail(`gRPC listens only on the unix socket ${addr.socketPath} (chart 1.7 default): no TCP port for a collector or the tetragon-grpc Service`, {hint, docs: DOCS.grpc, evidence})
      case 'loopback':
        // Agents run with hostNetwork, so this is the node's loopback: a port-forward works, a collector does not
        // (port-forward dials localhost in the pod's netns: containerd internal/cri/server/sandbox_portforward_linux.go).
        return fail(`gRPC listens on ${addr.host}:${addr.port} (the node's loopback; chart ≤1.6 default): the Service and collectors get connection refused`, {hint, docs: DOCS.grpc, evidence})
      case 'specific':
        return warn(`gRPC listens only on ${addr.host}:${addr.port}; with hostNetwork each node has its own IP, so this works on at most one node`, {hint, docs: DOCS.grpc, evidence})
      default:
        return pass(`gRPC listens on ${addr.raw.includes(':') ? addr.raw : `${addr.raw}:${addr.port}`} (all interfaces, from the ${addr.source})`, evidence)
    }
  },
}
