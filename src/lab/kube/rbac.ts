import type {RbacRule} from '../spec.js'

// Authentication and RBAC authorization as kube-apiserver does them with the RBAC authorizer
// (plugin/pkg/auth/authorizer/rbac) and the default bootstrap policy.

export interface Subject {
  /** Username as RBAC sees it, e.g. `system:serviceaccount:kube-system:tetractl`. */
  user: string
  groups: string[]
  /** Short label for the request log (never the token). */
  label: string
  rules: RbacRule[] | 'admin'
  /** How an allowing binding names the subject in SSAR reasons. */
  bindingSubject: string
}

export interface ResourceAttrs {
  verb: string
  apiGroup: string
  resource: string
  subresource: string
  namespace: string
  name: string
}

export interface NonResourceAttrs {
  verb: string
  path: string
}

export type Attrs = ResourceAttrs | NonResourceAttrs

const isResource = (a: Attrs): a is ResourceAttrs => 'resource' in a

export const ANONYMOUS: Subject = {user: 'system:anonymous', groups: ['system:unauthenticated'], label: 'anonymous', rules: [], bindingSubject: 'Group "system:unauthenticated"'}

/** RBAC rules every authenticated user has (bootstrap ClusterRoles system:basic-user, system:discovery, system:public-info-viewer). */
const BASIC_USER: RbacRule[] = [
  {apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'], verbs: ['create']},
  {apiGroups: ['authentication.k8s.io'], resources: ['selfsubjectreviews'], verbs: ['create']},
]
const DISCOVERY_URLS = ['/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/openapi', '/openapi/*', '/readyz', '/version', '/version/']
/** system:public-info-viewer is also bound to system:unauthenticated. */
const PUBLIC_INFO_URLS = ['/healthz', '/livez', '/readyz', '/version', '/version/']

function matchList(list: string[], v: string): boolean {
  return list.includes('*') || list.includes(v)
}

// rbac/v1 ResourceMatches: "*", exact "res/sub", or "*/sub".
function resourceMatches(list: string[], resource: string, subresource: string): boolean {
  const full = subresource ? `${resource}/${subresource}` : resource
  return list.some((r) => r === '*' || r === full || (subresource !== '' && r === `*/${subresource}`))
}

function ruleAllows(rule: RbacRule, a: ResourceAttrs): boolean {
  // A rule limited to namespaces is a RoleBinding: it never grants cluster-scoped or
  // all-namespaces requests.
  if (rule.namespaces && !(a.namespace !== '' && rule.namespaces.includes(a.namespace))) return false
  return matchList(rule.verbs, a.verb) && matchList(rule.apiGroups, a.apiGroup) && resourceMatches(rule.resources, a.resource, a.subresource)
}

function nonResourceAllows(urls: string[], path: string): boolean {
  return urls.some((u) => u === '*' || u === path || (u.endsWith('*') && path.startsWith(u.slice(0, -1))))
}

export interface Decision {
  allowed: boolean
  reason: string
}

export function authorize(s: Subject, a: Attrs): Decision {
  const authenticated = s.groups.includes('system:authenticated')
  if (s.rules === 'admin') {
    return {allowed: true, reason: `RBAC: allowed by ClusterRoleBinding "tetractl-lab" of ClusterRole "cluster-admin" to ${s.bindingSubject}`}
  }
  if (!isResource(a)) {
    if (a.verb === 'get' && nonResourceAllows(authenticated ? DISCOVERY_URLS : PUBLIC_INFO_URLS, a.path)) {
      const role = authenticated ? 'system:discovery' : 'system:public-info-viewer'
      return {allowed: true, reason: `RBAC: allowed by ClusterRoleBinding "${role}" of ClusterRole "${role}" to Group "${authenticated ? 'system:authenticated' : 'system:unauthenticated'}"`}
    }
    return {allowed: false, reason: ''}
  }
  if (authenticated && BASIC_USER.some((r) => ruleAllows(r, a))) {
    return {allowed: true, reason: 'RBAC: allowed by ClusterRoleBinding "system:basic-user" of ClusterRole "system:basic-user" to Group "system:authenticated"'}
  }
  for (const r of s.rules) {
    if (ruleAllows(r, a)) {
      const binding = r.namespaces ? `RoleBinding "tetractl-lab/${a.namespace}" of Role "tetractl-lab"` : 'ClusterRoleBinding "tetractl-lab" of ClusterRole "tetractl-lab"'
      return {allowed: true, reason: `RBAC: allowed by ${binding} to ${s.bindingSubject}`}
    }
  }
  return {allowed: false, reason: ''}
}

/** apiserver responsewriters.forbiddenMessage, wrapped the way errors.NewForbidden does. */
export function forbiddenStatus(s: Subject, a: Attrs): {message: string; details: Record<string, string>} {
  if (!isResource(a)) {
    return {message: `forbidden: User "${s.user}" cannot ${a.verb} path "${a.path}"`, details: {}}
  }
  const res = a.subresource ? `${a.resource}/${a.subresource}` : a.resource
  const scope = a.namespace ? `in the namespace "${a.namespace}"` : 'at the cluster scope'
  const inner = `User "${s.user}" cannot ${a.verb} resource "${res}" in API group "${a.apiGroup}" ${scope}`
  const gr = a.apiGroup ? `${a.resource}.${a.apiGroup}` : a.resource
  const message = a.name ? `${gr} "${a.name}" is forbidden: ${inner}` : `${gr} is forbidden: ${inner}`
  return {message, details: {...(a.name ? {name: a.name} : {}), ...(a.apiGroup ? {group: a.apiGroup} : {}), kind: a.resource}}
}

/** SelfSubjectRulesReview status for one namespace. */
export function rulesReview(s: Subject, namespace: string): Record<string, unknown> {
  const authenticated = s.groups.includes('system:authenticated')
  const resourceRules: Array<Record<string, string[]>> = []
  const nonResourceRules: Array<Record<string, string[]>> = []
  if (s.rules === 'admin') {
    resourceRules.push({verbs: ['*'], apiGroups: ['*'], resources: ['*']})
    nonResourceRules.push({verbs: ['*'], nonResourceURLs: ['*']})
  }
  if (authenticated) {
    for (const r of BASIC_USER) resourceRules.push({verbs: r.verbs, apiGroups: r.apiGroups, resources: r.resources})
    nonResourceRules.push({verbs: ['get'], nonResourceURLs: DISCOVERY_URLS})
  } else {
    nonResourceRules.push({verbs: ['get'], nonResourceURLs: PUBLIC_INFO_URLS})
  }
  if (s.rules !== 'admin') {
    for (const r of s.rules) {
      if (r.namespaces && !r.namespaces.includes(namespace)) continue
      resourceRules.push({verbs: r.verbs, apiGroups: r.apiGroups, resources: r.resources})
    }
  }
  return {resourceRules, nonResourceRules, incomplete: false}
}
