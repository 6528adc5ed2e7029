// Starts every independent read as soon as the Kubernetes API has answered, in waves, so that no check
// waits for a fetch another could have started earlier: keeps the longest chain of sequential requests
// short (P2) and the wall time low. Only what the selected checks read is fetched. Errors are left for
// the checks that await the same memoised promise.
import {shipperDaemonSets} from './elastic/agent-shipper.js'
import type {CheckContext} from './context.js'
import {collectorPods, collectorResolution, corednsPods} from './kubernetes/dns.js'
import {grpcEndpointSlices, grpcService, nodeCount, tetragonConfigMap, tetragonInstall, tetragonPods} from '../cluster/facts.js'
import {handshake} from './tetragon/api.js'
import {collectorPathProbe} from './tetragon/grpc-reachable.js'
import {policyResources} from './tetragon/policies.js'

export function prefetch(ctx: CheckContext): void {
  const wants = (...ids: string[]) => !ctx.selected || ids.some((id) => ctx.selected!.has(id))
  const quiet = (p: Promise<unknown>) => void p.catch(() => {})
  // Wave 2 (needs only the API): the agent DaemonSet, the node count, collector and CoreDNS pods, policies, shippers.
  quiet(tetragonInstall(ctx))
  if (wants('tetragon.daemonset')) quiet(nodeCount(ctx))
  if (wants('dns.service')) {
    quiet(corednsPods(ctx))
    // Wave 3: resolve the collector's address from a collector pod.
    quiet(collectorResolution(ctx))
  } else if (wants('agent.shipper')) quiet(collectorPods(ctx))
  if (wants('tetragon.policies')) quiet(policyResources(ctx))
  // The shipper's own pods are not prefetched: thousands on a large cluster, paged at the same time as the agents'
  // they would raise the peak memory (P3) for a check that is not on the longest path.
  if (wants('agent.shipper')) quiet(shipperDaemonSets(ctx))
  // Wave 3 (needs the DaemonSet's namespace): pods, ConfigMap, Service, EndpointSlices.
  quiet(tetragonPods(ctx))
  quiet(tetragonConfigMap(ctx))
  if (wants('service.exists', 'service.selector', 'service.endpoints', 'dns.service', 'tetragon.grpc-reachable')) quiet(grpcService(ctx))
  if (wants('service.endpoints')) quiet(grpcEndpointSlices(ctx))
  // Wave 4: the collector-path probe (services proxy) and the API handshake (port-forward).
  if (wants('tetragon.grpc-reachable')) quiet(collectorPathProbe(ctx))
  if (!ctx.opts.tetragonAddress && wants('tetragon.grpc-reachable', 'tetragon.version', 'tetragon.schema', 'tetragon.policies')) quiet(handshake(ctx))
}
