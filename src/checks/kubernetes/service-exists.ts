import {fail, pass, type Check} from '../../engine/types.js'
import type {CheckContext} from '../context.js'
import {DEFAULT_GRPC_PORT, grpcService} from '../../cluster/facts.js'
import {DOCS} from '../../docs.js'

/**
 * One line to paste: the Service as JSON (valid YAML) piped to kubectl. A heredoc broke when a terminal or the
 * report indented its closing EOF (bash then waits at a `>` prompt); names and labels are DNS-1123, no quoting needed.
 */
export function serviceManifest(name: string, namespace: string, selector: Record<string, string>, port = DEFAULT_GRPC_PORT): string {
  const service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {name, namespace},
    spec: {selector, ports: [{name: 'grpc', port, targetPort: port}]},
  }
  return `echo '${JSON.stringify(service)}' | kubectl apply -f -`
}

export const grpcServiceExists: Check<CheckContext> = {
  id: 'service.exists',
  layer: 'kubernetes',
  title: 'gRPC Service exists',
  requires: ['k8s.connect'],
  async run(ctx, signal) {
    const {namespace, service} = await grpcService(ctx, signal)
    const name = ctx.opts.serviceName
    if (!service) {
      return fail(`Service ${namespace}/${name} not found; the Helm chart creates none for gRPC (its \`tetragon\` Service is metrics only)`, {
        hint: `${serviceManifest(name, namespace, {'app.kubernetes.io/name': 'tetragon'})}\n# or: tetractl doctor --fix --only service.exists`,
        docs: DOCS.service,
        evidence: {namespace, name},
      })
    }
    const ports = (service.spec?.ports ?? []).map((p) => `${p.port}→${p.targetPort ?? p.port}`)
    return pass(`Service ${namespace}/${name} (${service.spec?.type ?? 'ClusterIP'} ${service.spec?.clusterIP ?? ''}, ports ${ports.join(', ')})`, {
      namespace,
      name,
      clusterIP: service.spec?.clusterIP,
      ports,
    })
  },
}
