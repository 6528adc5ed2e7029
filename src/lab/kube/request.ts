import type {ServerResponse} from 'node:http'

// Request attributes as kube-apiserver's RequestInfoFactory derives them
// (k8s.io/apiserver pkg/endpoints/request/requestinfo.go), and Status errors.

export interface RequestInfo {
  isResource: boolean
  method: string
  path: string
  query: URLSearchParams
  /** Kubernetes verb for the request log (`connect` for exec/attach/portforward/proxy). */
  verb: string
  /** Verb RBAC checks. */
  authzVerb: string
  apiGroup: string
  apiVersion: string
  resource: string
  subresource: string
  namespace: string
  name: string
  /** Path segments after the subresource (pods/proxy). */
  rest: string[]
}

/** Subresources served by a Connecter (admission operation CONNECT). */
export const CONNECT_SUBRESOURCES = new Set(['exec', 'attach', 'portforward', 'proxy'])
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize'])

export function parseRequestInfo(method: string, rawUrl: string): RequestInfo {
  const url = new URL(rawUrl, 'https://lab.invalid')
  const path = url.pathname
  const info: RequestInfo = {isResource: false, method, path, query: url.searchParams, verb: method.toLowerCase(), authzVerb: method.toLowerCase(), apiGroup: '', apiVersion: '', resource: '', subresource: '', namespace: '', name: '', rest: []}
  // Keep encoded segments intact except for decoding each one (names never contain '/').
  let parts = path.split('/').filter((p) => p !== '').map((p) => decodeURIComponent(p))
  if (parts[0] !== 'api' && parts[0] !== 'apis') return info
  if (parts[0] === 'api') {
    if (parts.length < 3) return info
    info.apiVersion = parts[1]!
    parts = parts.slice(2)
  } else {
    if (parts.length < 4) return info
    info.apiGroup = parts[1]!
    info.apiVersion = parts[2]!
    parts = parts.slice(3)
  }
  info.isResource = true
  if (parts[0] === 'namespaces' && parts.length > 1) {
    info.namespace = parts[1]!
    if (parts.length > 2 && !NAMESPACE_SUBRESOURCES.has(parts[2]!)) parts = parts.slice(2)
  }
  info.resource = parts[0] ?? ''
  info.name = parts[1] ?? ''
  info.subresource = parts[2] ?? ''
  info.rest = parts.slice(3)
  const watch = queryBool(info.query, 'watch')
  const m = method.toUpperCase()
  let verb: string
  if (m === 'GET' || m === 'HEAD') verb = info.name ? 'get' : watch ? 'watch' : 'list'
  else if (m === 'POST') verb = 'create'
  else if (m === 'PUT') verb = 'update'
  else if (m === 'PATCH') verb = 'patch'
  else if (m === 'DELETE') verb = info.name ? 'delete' : 'deletecollection'
  else verb = m.toLowerCase()
  info.authzVerb = verb
  info.verb = CONNECT_SUBRESOURCES.has(info.subresource) ? 'connect' : verb
  return info
}

/**
 * A boolean query parameter as the API server decodes it (apimachinery pkg/runtime/conversion.go
 * Convert_Slice_string_To_bool): absent, "0" or "false" in any case is false; any other value, "" and
 * Python's "True" included, is true.
 */
export function queryBool(q: URLSearchParams, name: string): boolean {
  const v = q.get(name)
  if (v === null) return false
  return !(v === '0' || v.toLowerCase() === 'false')
}

export interface StatusBody {
  kind: 'Status'
  apiVersion: 'v1'
  metadata: Record<string, never>
  status: 'Failure' | 'Success'
  message: string
  reason: string
  details?: Record<string, unknown>
  code: number
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message)
  }

  body(): StatusBody {
    // A plain Go error turned into a Status (responsewriters ErrorToAPIStatus) has no reason: '' leaves it out.
    return {kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: this.message, ...(this.reason ? {reason: this.reason} : {}), ...(this.details ? {details: this.details} : {}), code: this.code} as StatusBody
  }
}

/** errors.NewNotFound: `pods "x" not found` with details {name, group?, kind}. */
export function notFound(group: string, resource: string, name: string): ApiError {
  const gr = group ? `${resource}.${group}` : resource
  return new ApiError(404, 'NotFound', `${gr} "${name}" not found`, {name, ...(group ? {group} : {}), kind: resource})
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message)
}

/** The 404 of an unknown API path (no such resource). */
export function unknownResource(): ApiError {
  return new ApiError(404, 'NotFound', 'the server could not find the requested resource', {})
}

export function methodNotAllowed(): ApiError {
  return new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {})
}

export function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(code, {'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-cache, private'})
  res.end(text)
}

export function sendError(res: ServerResponse, err: ApiError): void {
  sendJson(res, err.code, err.body())
}
