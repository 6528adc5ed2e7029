import {fail, pass, warn, type Check, type Outcome} from '../../engine/types.js'
import type {CheckContext} from '../context.js'
import {DEFAULT_GRPC_PORT, grpcService, tetragonInstall} from '../kubernetes/facts.js'
import {clusterRequires, handshake, handshakeProblem, standaloneMode, TETRAGON_DOCS} from './api.js'
import {serverAddress} from './server-address.js'

// Two paths, because they fail differently (toolchain.md §12): the collector's path (a TCP connect from the cluster
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
  get requires() {
    return clusterRequires(['service.exists', 'tetragon.daemonset'])
  },
  async run(ctx, signal): Promise<Outcome> {
    const api = await handshake(ctx, signal).then(
      (h) => ({ok: true as const, version: h.version, target: h.access.target, via: h.access.via}),
      async (error: unknown) => {
        const access = await ctx.tetragon(signal).catch(() => undefined)
        return {ok: false as const, error, problem: handshakeProblem(error, access)}
      },
    )
    if (standaloneMode(ctx) || ctx.opts.tetragonAddress) {
      if (api.ok) return pass(`GetVersion from ${api.target}: ${api.version}`, {address: api.target, version: api.version})
      // Standalone, the agent is the whole target: not reaching it means nothing could be evaluated (exit 3).
      const code = (api.error as {exitCode?: number}).exitCode
      return {...fail(`Tetragon gRPC at ${ctx.opts.tetragonAddress}: ${api.problem}`, {
        hint: 'check the agent\'s server-address (/etc/tetragon/tetragon.conf.d/server-address; the package default is unix:///var/run/tetragon/tetragon.sock, root only)',
        docs: TETRAGON_DOCS.grpc,
        evidence: {address: ctx.opts.tetragonAddress},
      }), unreachable: code === 3}
    }

    const [install, addr, {namespace, service}, collector] = await Promise.all([tetragonInstall(ctx, signal), serverAddress(ctx, signal), grpcService(ctx, signal), collectorPathProbe(ctx, signal)])
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
    }
    const docs = TETRAGON_DOCS.grpc

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
      return warn(`an HTTP/2 server answers behind ${svc}, but GetVersion failed (${api.problem})`, {
        hint: `kubectl -n ${install.namespace} logs ds/${install.daemonSet?.metadata?.name ?? 'tetragon'} -c tetragon --tail=50`,
        docs,
        evidence,
      })
    }
    return pass(`an HTTP/2 (gRPC) server answers on the collector's path to ${svc}; GetVersion: ${api.version}`, evidence)
  },
}
