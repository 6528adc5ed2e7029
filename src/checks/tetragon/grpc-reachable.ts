import {fail, pass, warn, type Check, type Outcome} from '../../engine/types.js'
import type {CheckContext} from '../context.js'
import {DEFAULT_GRPC_PORT, grpcService, tetragonInstall} from '../../cluster/facts.js'
import {podAccess} from '../../cluster/agents.js'
import {agentsOr, grpcAgents, isOutcome, notReadyNote, podProblem, type Agents} from './agents.js'
import {clusterRequires, handshake, handshakeProblem, handshakeWith, standaloneMode} from './api.js'
import {serverAddress} from '../../cluster/server-address.js'
import {DOCS} from '../../docs.js'

// Two paths, because they fail differently (a port-forward dials localhost in the pod's network namespace,
// containerd internal/cri/server/sandbox_portforward_linux.go): the collector's path (a TCP connect from the cluster
// network to the Service's endpoint, probed through the API server's services proxy) and the API handshake
// (GetVersion through a port-forward, which dials localhost inside the pod and so also reaches a loopback bind).
/** The collector's path, probed through the API server's services proxy (memoised so it can start early). */
export function collectorPathProbe(ctx: CheckContext, signal?: AbortSignal) {
  return ctx.memo.get('grpc.collector-path', async () => {
    const [{namespace, service}, kube] = await Promise.all([grpcService(ctx, signal), ctx.kube()])
    const port = service?.spec?.ports?.[0]?.port ?? DEFAULT_GRPC_PORT
    const {proxyGetService} = await import('../../clients/kube-proxy.js')
    return proxyGetService(kube, namespace, ctx.opts.serviceName, port, '', signal)
  })
}

export const grpcReachable: Check<CheckContext> = {
  id: 'tetragon.grpc-reachable',
  layer: 'tetragon',
  title: 'Tetragon gRPC API answers on the collector\'s path (Service) and to GetVersion',
  // An agent to talk to, not all agents ready (a partial rollout is reported by tetragon.daemonset).
  requires: clusterRequires(['service.exists', 'k8s.connect']),
  async run(ctx, signal): Promise<Outcome> {
    const api = standaloneMode(ctx) ? await standaloneHandshake(ctx, signal) : await clusterHandshakes(ctx, signal)
    if (isOutcome(api)) return api
    if (standaloneMode(ctx) || ctx.opts.tetragonAddress) {
      if (api.ok) return pass(`GetVersion from ${api.target}: ${api.version}`, {address: api.target, version: api.version})
      // Standalone, the agent is the whole target: not reaching it means nothing could be evaluated (exit 3).
      const code = (api.error as {exitCode?: number}).exitCode
      return {...fail(`Tetragon gRPC at ${ctx.opts.tetragonAddress}: ${api.problem}`, {
        hint: 'Manual step: check the agent\'s server-address (/etc/tetragon/tetragon.conf.d/server-address; the package default is unix:///var/run/tetragon/tetragon.sock, root only)',
        docs: DOCS.grpc,
        evidence: {address: ctx.opts.tetragonAddress},
      }), unreachable: code === 3}
    }

    const [install, addr, {namespace, service}, collector] = await Promise.all([tetragonInstall(ctx, signal), serverAddress(ctx, signal), grpcService(ctx, signal), collectorPathProbe(ctx, signal)])
    const agents = api.agents!
    const port = service?.spec?.ports?.[0]?.port ?? DEFAULT_GRPC_PORT
    const release = install.daemonSet?.metadata?.labels?.['app.kubernetes.io/instance'] ?? install.daemonSet?.metadata?.name ?? 'tetragon'
    // Same fix as tetragon.grpc-bind: listen on all interfaces.
    const hint = `helm upgrade ${release} cilium/tetragon -n ${install.namespace} --reuse-values --set tetragon.grpc.enabled=true --set tetragon.grpc.address=0.0.0.0:54321`
    const svc = `${namespace}/${ctx.opts.serviceName}:${port}`
    const evidence = {
      service: svc,
      collectorPath: `${collector.kind}: ${collector.detail}`,
      handshake: api.ok ? `GetVersion ${api.version} via ${api.via} to ${api.target}` : api.problem,
      serverAddress: addr.raw,
      agents: api.perAgent,
      ...(agents.notReady.length ? {notReady: agents.notReady.slice(0, 10).map(podProblem)} : {}),
    }
    // How many agents answered, and which were not ready to ask (a partial rollout): said in every message.
    const answered = api.perAgent.length - api.silent.length
    const of = ` (GetVersion answered on ${answered} of ${agents.pods.length} agents${notReadyNote(agents)})`
    const docs = DOCS.grpc

    if (collector.kind === 'no-endpoints') {
      return fail(`Service ${svc} has no ready endpoint: a collector dialing it is refused`, {
        hint: `kubectl -n ${namespace} get endpointslices -l kubernetes.io/service-name=${ctx.opts.serviceName} -o wide`,
        docs,
        evidence,
      })
    }
    if (collector.kind === 'refused') {
      if (api.ok) {
        // The seed's "listening on localhost": the port-forward dials loopback inside the pod, the collector cannot.
        return fail(`gRPC answers through a port-forward (Tetragon ${api.version}) but the collector's path to ${svc} is refused: the agent listens on localhost only (server-address ${addr.raw || '""'})`, {hint, docs, evidence})
      }
      if (addr.kind === 'unix') {
        return fail(`gRPC is a unix socket (${addr.socketPath}): refused both on the collector's path to ${svc} and through a port-forward`, {hint, docs, evidence})
      }
      if (addr.kind === 'disabled') {
        return fail(`gRPC server disabled (empty server-address): nothing listens for the collector at ${svc} nor for a port-forward`, {hint, docs, evidence})
      }
      return fail(`nothing listens on the gRPC port: the collector's path to ${svc} is refused and the API did not answer (${api.problem})`, {
        hint: `kubectl -n ${install.namespace} logs ds/${install.daemonSet?.metadata?.name ?? 'tetragon'} -c tetragon | grep -i "grpc server"\n${hint}`,
        docs,
        evidence,
      })
    }
    if (collector.kind === 'http') {
      return fail(`${svc} answers plain HTTP (${collector.status}), not gRPC: the Service points at the wrong port`, {
        hint: `kubectl -n ${namespace} get service ${ctx.opts.serviceName} -o jsonpath='{.spec.ports}'  # targetPort must be the gRPC port ${addr.port ?? DEFAULT_GRPC_PORT}`,
        docs,
        evidence,
      })
    }
    if (collector.kind === 'other') {
      return fail(`the collector's path to ${svc} failed: ${collector.detail}`, {hint: `kubectl -n ${namespace} get endpointslices -l kubernetes.io/service-name=${ctx.opts.serviceName} -o wide`, docs, evidence})
    }
    // An HTTP/2 server listens behind the Service.
    if (!api.ok) {
      return warn(`an HTTP/2 server answers behind ${svc}, but GetVersion failed (${api.problem})${of}`, {
        hint: `kubectl -n ${install.namespace} logs ds/${install.daemonSet?.metadata?.name ?? 'tetragon'} -c tetragon --tail=50`,
        docs,
        evidence,
      })
    }
    if (api.silent.length > 0) {
      // A ready agent whose API does not answer: its node's events never reach a collector dialing it.
      return warn(`an HTTP/2 (gRPC) server answers on the collector's path to ${svc}, but not every ready agent's API answered: ${api.silent[0]!.line}${of}`, {
        hint: `kubectl -n ${install.namespace} logs ${api.silent[0]!.pod} -c tetragon --tail=50`,
        docs,
        evidence,
      })
    }
    const suffix = agents.pods.length > 1 || agents.notReady.length > 0 ? of : ''
    return pass(`an HTTP/2 (gRPC) server answers on the collector's path to ${svc}; GetVersion: ${api.version}${suffix}`, evidence)
  },
}

type ApiResult = ({ok: true; version: string; target: string; via: string} | {ok: false; error: unknown; problem: string}) & {
  /** `node (namespace/pod): GetVersion v1.7.0` or `node (namespace/pod): <problem>`, one per agent asked. */
  perAgent: string[]
  /** Ready agents whose API did not answer: pod name and line. */
  silent: Array<{pod: string; line: string}>
  agents?: Agents
}

async function standaloneHandshake(ctx: CheckContext, signal: AbortSignal): Promise<ApiResult> {
  return handshake(ctx, signal).then(
    (h) => ({ok: true as const, version: h.version, target: h.access.target, via: h.access.via, perAgent: [`${h.access.target}: GetVersion ${h.version}`], silent: []}),
    async (error: unknown) => {
      const access = await ctx.tetragon(signal).catch(() => undefined)
      return {ok: false as const, error, problem: handshakeProblem(error, access), perAgent: [], silent: []}
    },
  )
}

/** GetVersion from each ready agent (a bounded sample); a refused port-forward (403) throws, naming the permission. */
async function clusterHandshakes(ctx: CheckContext, signal: AbortSignal): Promise<ApiResult | Outcome> {
  const agents = await agentsOr(ctx, signal, false)
  if (isOutcome(agents)) return agents
  const results = await Promise.all(
    grpcAgents(agents.ready).map(async (pod) => {
      const access = await podAccess(ctx, pod, signal)
      const name = `${pod.node ?? pod.name} (${access.target})`
      try {
        const h = await handshakeWith(ctx, access)
        return {ok: true as const, version: h.version, target: access.target, via: access.via, line: `${name}: GetVersion ${h.version}`}
      } catch (error) {
        const refused = access.refusal()
        if (refused) throw refused
        const problem = handshakeProblem(error, access)
        return {ok: false as const, error, problem, line: `${name}: ${problem}`, pod: pod.name}
      }
    }),
  )
  const perAgent = results.map((r) => r.line)
  const silent = results.flatMap((r) => (r.ok ? [] : [{pod: r.pod, line: r.line}]))
  const first = results.find((r) => r.ok) ?? results[0]
  if (!first) return {ok: false, error: undefined, problem: `no ready agent pod to port-forward to (0 of ${agents.pods.length} ready)`, perAgent, silent, agents}
  const common = {perAgent, silent, agents}
  return first.ok ? {ok: true, version: first.version, target: first.target, via: first.via, ...common} : {ok: false, error: first.error, problem: first.problem, ...common}
}
