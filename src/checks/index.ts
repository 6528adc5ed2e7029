// The registry: every check, in the order they are reported. Ids are a public contract.
import type {Check} from '../engine/types.js'
import type {CheckContext} from './context.js'
import {shipperOnEveryTetragonNode} from './elastic/agent-shipper.js'
import {elasticChecks} from './elastic/index.js'
import {kubernetesApiReachable} from './kubernetes/connect.js'
import {collectorResolvesService} from './kubernetes/dns.js'
import {accessReviewForChecks} from './kubernetes/rbac.js'
import {serviceHasReadyEndpoints} from './kubernetes/service-endpoints.js'
import {grpcServiceExists} from './kubernetes/service-exists.js'
import {serviceSelectsAgentPods} from './kubernetes/service-selector.js'
import {tetragonDaemonSetReady} from './tetragon/daemonset.js'
import {exportSidecarRunning} from './tetragon/export.js'
import {tetragonExportFilters} from './tetragon/export-filters.js'
import {grpcListensOnPodNetwork} from './tetragon/grpc-bind.js'
import {tetragonDroppedEvents} from './tetragon/dropped-events.js'
import {grpcReachable} from './tetragon/grpc-reachable.js'
import {tetragonLiveness} from './tetragon/liveness.js'
import {tetragonPolicies} from './tetragon/policies.js'
import {tetragonSchema} from './tetragon/schema.js'
import {tetragonVersion} from './tetragon/version.js'

export const checks: Check<CheckContext>[] = [
  kubernetesApiReachable,
  accessReviewForChecks,
  tetragonDaemonSetReady,
  grpcListensOnPodNetwork,
  grpcReachable,
  tetragonVersion,
  tetragonSchema,
  tetragonLiveness,
  tetragonPolicies,
  tetragonDroppedEvents,
  grpcServiceExists,
  serviceSelectsAgentPods,
  serviceHasReadyEndpoints,
  collectorResolvesService,
  exportSidecarRunning,
  tetragonExportFilters,
  ...elasticChecks.filter((c) => c.layer === 'elastic'),
  shipperOnEveryTetragonNode,
  ...elasticChecks.filter((c) => c.layer !== 'elastic'),
]
