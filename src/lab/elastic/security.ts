// Authentication and authorization of the lab servers, following Elasticsearch security: Basic and
// ApiKey credentials, 401 `security_exception` bodies with the WWW-Authenticate challenges, 403 messages
// naming the action and the privileges that grant it. Kibana delegates to the same users (its
// authentication is backed by Elasticsearch). Only the lab imports this file.

import {timingSafeEqual} from 'node:crypto'

export interface IndexPrivilege {
  names: string[]
  privileges: string[]
}

export interface LabRole {
  cluster: string[]
  indices: IndexPrivilege[]
  /** Kibana feature access (lab shorthand: 'fleet:read', 'fleet:all', 'saved_objects:read', 'all'). */
  kibana?: string[]
}

export interface LabUser extends LabRole {
  username: string
  password: string
  roles: string[]
}

export interface LabApiKey extends LabRole {
  id: string
  key: string
  name: string
  username: string
}

export type Principal = {kind: 'user'; user: LabUser} | {kind: 'api_key'; key: LabApiKey}

/** Elasticsearch's default realm challenges (basic, bearer/token service, API keys). */
export const WWW_AUTHENTICATE = ['Basic realm="security", charset="UTF-8"', 'Bearer realm="security"', 'ApiKey']

export class AuthError extends Error {
  constructor(
    readonly status: 401 | 403,
    readonly reason: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(reason)
  }
}

const eq = (a: string, b: string) => {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/** Never returns or logs the secret part of the credentials. */
export function authenticate(authorization: string | undefined, uri: string, users: LabUser[], apiKeys: LabApiKey[]): Principal {
  if (!authorization) throw new AuthError(401, `missing authentication credentials for REST request [${uri}]`)
  const [scheme, value = ''] = authorization.split(/\s+/, 2)
  if (/^basic$/i.test(scheme)) {
    const decoded = Buffer.from(value, 'base64').toString('utf8')
    const sep = decoded.indexOf(':')
    const username = sep >= 0 ? decoded.slice(0, sep) : decoded
    const password = sep >= 0 ? decoded.slice(sep + 1) : ''
    const user = users.find((u) => u.username === username)
    if (!user || !eq(user.password, password)) throw new AuthError(401, `unable to authenticate user [${username}] for REST request [${uri}]`)
    return {kind: 'user', user}
  }
  if (/^apikey$/i.test(scheme)) {
    const decoded = Buffer.from(value, 'base64').toString('utf8')
    const sep = decoded.indexOf(':')
    const id = sep >= 0 ? decoded.slice(0, sep) : ''
    const secret = sep >= 0 ? decoded.slice(sep + 1) : ''
    const key = apiKeys.find((k) => k.id === id)
    if (!key || !eq(key.key, secret)) {
      throw new AuthError(401, 'unable to authenticate with provided credentials and anonymous access is not allowed for this request', {
        additional_unsuccessful_credentials: key || !id ? 'API key: invalid ApiKey value' : `API key: unable to find apikey with id ${id}`,
      })
    }
    return {kind: 'api_key', key}
  }
  throw new AuthError(401, `missing authentication credentials for REST request [${uri}]`)
}

export const principalName = (p: Principal) => (p.kind === 'user' ? p.user.username : `api_key:${p.key.id}`)
const role = (p: Principal): LabRole => (p.kind === 'user' ? p.user : p.key)
const isSuper = (p: Principal) => p.kind === 'user' && p.user.roles.includes('superuser')

/** Cluster privileges that grant each cluster action the lab serves. */
export const CLUSTER_ACTIONS: Record<string, string[]> = {
  'cluster:monitor/main': ['monitor', 'manage', 'all'],
  'cluster:monitor/health': ['monitor', 'manage', 'all'],
  'indices:admin/index_template/get': ['manage_index_templates', 'monitor', 'manage', 'all'],
  'cluster:admin/ingest/pipeline/get': ['read_pipeline', 'manage_ingest_pipelines', 'manage_pipeline', 'manage', 'all'],
  'cluster:admin/ingest/pipeline/simulate': ['read_pipeline', 'manage_ingest_pipelines', 'manage_pipeline', 'manage', 'all'],
  'cluster:admin/xpack/security/user/authenticate': ['monitor', 'manage', 'all', 'manage_own_api_key'],
}

/** Index privileges that grant each index action. */
export const INDEX_ACTIONS: Record<string, string[]> = {
  'indices:data/read/search': ['read', 'all'],
  // view_index_metadata covers field capabilities and mappings (Elasticsearch security privileges).
  'indices:data/read/field_caps': ['read', 'view_index_metadata', 'all'],
  'indices:admin/mappings/get': ['view_index_metadata', 'manage', 'all'],
  'indices:admin/mappings/fields/get': ['view_index_metadata', 'manage', 'all'],
  'indices:admin/data_stream/get': ['view_index_metadata', 'manage', 'all'],
  'indices:monitor/settings/get': ['view_index_metadata', 'monitor', 'manage', 'all'],
  'indices:data/write/bulk[s]': ['create_doc', 'create', 'index', 'write', 'all'],
  'indices:admin/rollover': ['manage', 'all'],
}

function subjectText(p: Principal): string {
  if (p.kind === 'api_key') return `API key id [${p.key.id}] of user [${p.key.username}]`
  return `user [${p.user.username}] with effective roles [${p.user.roles.join(',')}]`
}

export function authorizeCluster(p: Principal, action: string): void {
  if (isSuper(p)) return
  const grants = CLUSTER_ACTIONS[action] ?? ['all']
  if (role(p).cluster.some((c) => grants.includes(c))) return
  throw new AuthError(403, `action [${action}] is unauthorized for ${subjectText(p)}, this action is granted by the cluster privileges [${grants.join(',')}]`)
}

const wildcardRe = (p: string) => new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`)

/** Whether the principal holds an index privilege granting `action` on `name` (a data stream or index). */
export function mayAccessIndex(p: Principal, action: string, name: string): boolean {
  if (isSuper(p)) return true
  const grants = INDEX_ACTIONS[action] ?? ['all']
  return role(p).indices.some((ip) => ip.privileges.some((x) => grants.includes(x)) && ip.names.some((n) => wildcardRe(n).test(name)))
}

export function indexForbidden(p: Principal, action: string, names: string[]): AuthError {
  const grants = INDEX_ACTIONS[action] ?? ['all']
  return new AuthError(
    403,
    `action [${action}] is unauthorized for ${subjectText(p)} on indices [${names.join(',')}], this action is granted by the index privileges [${grants.join(',')}]`,
  )
}

export function kibanaAllowed(p: Principal, feature: string): boolean {
  if (isSuper(p)) return true
  const k = role(p).kibana ?? []
  const [area] = feature.split(':')
  return k.includes('all') || k.includes(feature) || k.includes(`${area}:all`)
}
