// The facts setup reads about the install (the same memoised readers the checks use), on a fresh memo each
// time: after a change, what was read before is forgotten.
import type {KubeClient} from '../../clients/kube.js'
import {clusterContext, type ClusterContext} from '../../cluster/context.js'
import {Memo} from '../../engine/memo.js'

export interface FactsOptions {
  namespace?: string
  serviceName: string
  serviceNamespace?: string
}

export function factsContext(kube: KubeClient, o: FactsOptions): ClusterContext {
  // Setup opens no gRPC connection; the timeout is --grpc-timeout's default for completeness.
  return clusterContext(kube, new Memo(), {...o, grpcTimeoutMs: 5_000})
}
