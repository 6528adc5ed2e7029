import {fail, pass, type Check} from '../../engine/types.js'
import type {CheckContext} from '../context.js'
import {serverAddress} from '../../cluster/server-address.js'
import {DEFAULT_GRPC_PORT, grpcEndpointSlices, grpcService, tetragonInstall, tetragonPods} from '../../cluster/facts.js'
import {DOCS} from '../../docs.js'

export const serviceHasReadyEndpoints: Check<CheckContext> = {
  id: 'service.endpoints',
  layer: 'kubernetes',
  title: 'gRPC Service has a ready endpoint per ready agent, on the gRPC port',
  requires: ['service.selector'],
  async run(ctx, signal) {
    const [{namespace, service}, install, agents, addr] = await Promise.all([
      grpcService(ctx, signal),
      tetragonInstall(ctx, signal),
      tetragonPods(ctx, signal),
      serverAddress(ctx, signal).catch(() => undefined),
    ])
    const name = `${namespace}/${ctx.opts.serviceName}`
    // Count from EndpointSlices: the Endpoints API truncates at 1,000 addresses (annotation endpoints.kubernetes.io/over-capacity: truncated); EndpointSlices hold them all.
    const slices = await grpcEndpointSlices(ctx, signal)
    const ready = new Set<string>()
    const notReady = new Set<string>()
    const ports = new Set<number>()
    for (const slice of slices) {
      for (const p of slice.ports ?? []) if (p.port) ports.add(p.port)
      // `endpoints` is null, not [], when the selector matches nothing.
      for (const ep of slice.endpoints ?? []) {
        for (const a of ep.addresses ?? []) (ep.conditions?.ready === false ? notReady : ready).add(a)
      }
    }
    const readyAgents = agents.filter((p) => p.ready).length
    const grpcPort = addr?.port ?? DEFAULT_GRPC_PORT
    const servicePorts = (service?.spec?.ports ?? []).map((p) => ({port: p.port, targetPort: p.targetPort}))
    const evidence = {readyEndpoints: ready.size, notReadyEndpoints: notReady.size, readyAgents, agents: agents.length, endpointPorts: [...ports], grpcPort, servicePorts}
    if (ready.size === 0) {
      return fail(`Service ${name} has no ready endpoint (${notReady.size} not ready; ${readyAgents} of ${agents.length} agent pods ready): collectors get connection refused`, {
        hint: `kubectl -n ${install.namespace} get pods -l app.kubernetes.io/name=tetragon -o wide\nkubectl -n ${namespace} get endpointslices -l kubernetes.io/service-name=${ctx.opts.serviceName}`,
        docs: DOCS.service,
        evidence,
      })
    }
    if (ports.size > 0 && !ports.has(grpcPort)) {
      return fail(`Service ${name} sends traffic to port ${[...ports].join(', ')}, but Tetragon's gRPC listens on ${grpcPort}`, {
        hint: `kubectl -n ${namespace} patch service ${ctx.opts.serviceName} --type=json -p '[{"op":"replace","path":"/spec/ports/0/targetPort","value":${grpcPort}}]'`,
        docs: DOCS.service,
        evidence,
      })
    }
    if (ready.size !== readyAgents) {
      return fail(`Service ${name} has ${ready.size} ready endpoints but ${readyAgents} agent pods are ready`, {
        hint: `kubectl -n ${namespace} get endpointslices -l kubernetes.io/service-name=${ctx.opts.serviceName} -o wide`,
        docs: DOCS.service,
        evidence,
      })
    }
    return pass(`Service ${name}: ${ready.size} ready endpoints (one per ready agent) on port ${grpcPort}`, evidence)
  },
}
