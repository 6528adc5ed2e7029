// The API server's services proxy as a probe of the collector's path: the API server dials a ready endpoint
// (pod IP:targetPort) from outside the pod's network namespace, like a collector reaching the Service does, and
// speaks HTTP/1.1. Imported lazily, like the KubeClient it uses.
import type {KubeClient} from './kube.js'

export type ServiceProxyVerdict =
  /** A server answered HTTP/1.x (status and the first bytes of the body). */
  | {kind: 'http'; status: number; detail: string}
  /** An HTTP/2-only server (gRPC) listens: the proxy reports a malformed HTTP response (kubernetes/kubectl#785). */
  | {kind: 'http2'; detail: string}
  /** Nothing listens on the endpoint's port (ECONNREFUSED from the API server). */
  | {kind: 'refused'; detail: string}
  /** The Service has no ready endpoint for that port. */
  | {kind: 'no-endpoints'; detail: string}
  /** Dial timeout, EOF or another 503 reason. */
  | {kind: 'other'; status: number; detail: string}

/** Classify the API server's 503 text (k8s.io/apimachinery proxy error responder). */
export function classifyServiceProxyError(status: number, message: string): ServiceProxyVerdict {
  const detail = message.split('\n')[0]!.slice(0, 300)
  if (/malformed HTTP response/.test(message)) return {kind: 'http2', detail}
  if (/connection refused/.test(message)) return {kind: 'refused', detail}
  if (/no endpoints available/.test(message)) return {kind: 'no-endpoints', detail}
  return {kind: 'other', status, detail}
}

/** GET /api/v1/namespaces/<ns>/services/<name>:<port>/proxy/<path>; never throws for an HTTP status. */
export async function proxyGetService(kube: KubeClient, namespace: string, name: string, port: number | string, path = '', signal?: AbortSignal): Promise<ServiceProxyVerdict> {
  const what = {verb: 'get', resource: 'services/proxy', namespace}
  try {
    const body = await kube.call(what, (o) => kube.core.connectGetNamespacedServiceProxyWithPath({name: `${name}:${port}`, namespace, path: path.replace(/^\//, '')}, o), signal)
    return {kind: 'http', status: 200, detail: String(body ?? '').slice(0, 80)}
  } catch (error) {
    // kube.call translated everything it knows (401/403/404, transport errors); other statuses arrive as plain
    // Errors carrying "HTTP <code>: <message>".
    const m = /HTTP (\d{3})(?::\s*(.*))?$/s.exec(error instanceof Error ? error.message : '')
    if (!m) throw error
    const status = Number(m[1])
    if (status === 503) return classifyServiceProxyError(status, m[2] ?? '')
    return {kind: 'http', status, detail: (m[2] ?? '').slice(0, 80)}
  }
}
