// Names the user gives us that end up in API paths, fix hints and shell commands: checked against the
// rules of the system that owns them, so nothing else can be pasted there.
import {UserError} from './engine/errors.js'

// Kubernetes: k8s.io/apimachinery/pkg/util/validation (IsDNS1123Label: 63 chars; IsDNS1123Subdomain: 253).
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/

function check(value: string, setting: string, what: string, re: RegExp, max: number, example: string): string {
  if (value.length > max || !re.test(value)) {
    const chars = re === DNS1123_LABEL ? "lowercase letters, digits and '-'" : "lowercase letters, digits, '-' and '.'"
    throw new UserError(`${setting} must be ${what} (${chars}, starting and ending with a letter or digit, at most ${max} characters), not "${value}".`, `Example: ${setting} ${example}`)
  }
  return value
}

/** Namespaces, Services (DNS-1123 label since the RelaxedServiceNameValidation gate; DNS-1035 before), containers. */
export function dns1123Label(value: string, setting: string, what: string, example: string): string {
  return check(value, setting, what, DNS1123_LABEL, 63, example)
}

/** Pods and nodes: DNS-1123 subdomain. */
export function dns1123Subdomain(value: string, setting: string, what: string, example: string): string {
  return check(value, setting, what, DNS1123_SUBDOMAIN, 253, example)
}

/** Helm's release-name rule (helm pkg/chartutil/validate_name.go: the subdomain pattern, at most 53 characters). */
export function helmReleaseName(value: string, setting: string): string {
  return check(value, setting, 'a Helm release name', DNS1123_SUBDOMAIN, 53, 'tetragon')
}

/** NAMESPACE/NAME of a pod. */
export function podRef(value: string, setting: string): string {
  const [ns, name, ...rest] = value.trim().split('/')
  const ok = rest.length === 0 && ns && name && ns.length <= 63 && DNS1123_LABEL.test(ns) && name.length <= 253 && DNS1123_SUBDOMAIN.test(name)
  if (!ok) throw new UserError(`${setting} must be NAMESPACE/NAME (lower-case DNS names), not "${value}".`, `Example: ${setting} default/xwing`)
  return value
}

/**
 * A data stream dataset (`logs-<dataset>-<namespace>`): Elasticsearch's index-name rules (lowercase; none of
 * \ / * ? " < > | , # : or space; not starting with - _ +; not . or ..) and the naming scheme's own (no '-',
 * at most 100 characters; ECS data_stream.dataset).
 */
export function datasetName(value: string, setting: string): string {
  const bad = (why: string) => new UserError(`${setting} must be a data stream dataset (${why}), not "${value}".`, `Example: ${setting} cilium_tetragon.log`)
  if (value.length === 0 || value.length > 100) throw bad('1 to 100 characters')
  if (value !== value.toLowerCase()) throw bad('lowercase only')
  if (value.includes('-')) throw bad("no '-': it separates type, dataset and namespace")
  if (/[\\/*?"<>|,#:\s]/.test(value)) throw bad('none of \\ / * ? " < > | , # : or spaces')
  if (/^[_+]/.test(value) || value === '.' || value === '..') throw bad("not starting with '_' or '+', not '.' or '..'")
  return value
}
