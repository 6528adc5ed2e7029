import type {KObj} from './store.js'

// Label and field selectors with the grammar of k8s.io/apimachinery pkg/labels/selector.go and
// pkg/fields/selector.go.

export class SelectorError extends Error {}

export type LabelRequirement =
  | {key: string; op: 'exists' | '!'}
  | {key: string; op: '=' | '!='; value: string}
  | {key: string; op: 'in' | 'notin'; values: string[]}
  | {key: string; op: 'gt' | 'lt'; value: number}

type Tok = {t: 'id' | '!' | '=' | '==' | '!=' | '(' | ')' | ',' | 'in' | 'notin' | '>' | '<' | 'end'; v: string}

function lex(s: string): Tok[] {
  const out: Tok[] = []
  let i = 0
  while (i < s.length) {
    const c = s[i]!
    if (c === ' ' || c === '\t') { i++; continue }
    if (c === '!' && s[i + 1] === '=') { out.push({t: '!=', v: '!='}); i += 2; continue }
    if (c === '=' && s[i + 1] === '=') { out.push({t: '==', v: '=='}); i += 2; continue }
    if (c === '!' || c === '=' || c === '(' || c === ')' || c === ',' || c === '>' || c === '<') { out.push({t: c as Tok['t'], v: c}); i++; continue }
    let j = i
    while (j < s.length && !' \t!=(),<>'.includes(s[j]!)) j++
    const word = s.slice(i, j)
    out.push({t: word === 'in' ? 'in' : word === 'notin' ? 'notin' : 'id', v: word})
    i = j
  }
  out.push({t: 'end', v: ''})
  return out
}

// Label value: at most 63 chars, alphanumeric at both ends, `-_.` inside (validation.IsValidLabelValue).
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/

function checkValue(v: string): void {
  if (v.length > 63 || !LABEL_VALUE.test(v)) {
    throw new SelectorError(`unable to parse requirement: values[0]: Invalid value: "${v}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`)
  }
}

export function parseLabelSelector(s: string): LabelRequirement[] {
  const toks = lex(s)
  let p = 0
  const peek = () => toks[p]!
  const next = () => toks[p++]!
  const reqs: LabelRequirement[] = []
  if (peek().t === 'end') return reqs
  for (;;) {
    let neg = false
    if (peek().t === '!') { next(); neg = true }
    const k = next()
    if (k.t !== 'id') throw new SelectorError(`unable to parse requirement: found '${k.v}', expected: identifier`)
    const key = k.v
    if (neg) {
      reqs.push({key, op: '!'})
    } else {
      const op = peek()
      if (op.t === ',' || op.t === 'end') {
        reqs.push({key, op: 'exists'})
      } else if (op.t === '=' || op.t === '==' || op.t === '!=') {
        next()
        const v = peek().t === 'id' ? next().v : ''
        checkValue(v)
        reqs.push({key, op: op.t === '!=' ? '!=' : '=', value: v})
      } else if (op.t === 'in' || op.t === 'notin') {
        next()
        if (next().t !== '(') throw new SelectorError(`unable to parse requirement: found '${toks[p - 1]!.v}', expected: '('`)
        const values: string[] = []
        for (;;) {
          const v = peek().t === 'id' ? next().v : ''
          checkValue(v)
          values.push(v)
          const sep = next()
          if (sep.t === ')') break
          if (sep.t !== ',') throw new SelectorError(`unable to parse requirement: found '${sep.v}', expected: ',', ')' or identifier`)
        }
        reqs.push({key, op: op.t, values})
      } else if (op.t === '>' || op.t === '<') {
        next()
        const v = next().v
        const n = Number(v)
        if (!Number.isInteger(n)) throw new SelectorError(`unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer`)
        reqs.push({key, op: op.t === '>' ? 'gt' : 'lt', value: n})
      } else {
        throw new SelectorError(`unable to parse requirement: found '${op.v}', expected: in, notin, =, ==, !=, gt, lt`)
      }
    }
    const sep = next()
    if (sep.t === 'end') break
    if (sep.t !== ',') throw new SelectorError(`found '${sep.v}', expected: ',' or 'end of string'`)
  }
  return reqs
}

export function matchLabels(reqs: LabelRequirement[], labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {}
  for (const r of reqs) {
    const has = Object.prototype.hasOwnProperty.call(l, r.key)
    const v = l[r.key]
    switch (r.op) {
      case 'exists': if (!has) return false; break
      case '!': if (has) return false; break
      case '=': if (!has || v !== r.value) return false; break
      // `!=` and `notin` also match objects without the label (selector.go Requirement.Matches).
      case '!=': if (has && v === r.value) return false; break
      case 'in': if (!has || !r.values.includes(v!)) return false; break
      case 'notin': if (has && r.values.includes(v!)) return false; break
      case 'gt': if (!has || !(Number(v) > r.value)) return false; break
      case 'lt': if (!has || !(Number(v) < r.value)) return false; break
    }
  }
  return true
}

/** A Service's or workload's map selector (all pairs must match). */
export function matchSelectorMap(sel: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {}
  return Object.entries(sel).every(([k, v]) => l[k] === v)
}

export interface FieldRequirement {
  field: string
  op: '=' | '!='
  value: string
}

/** Field labels each resource supports (pkg/registry/core/*\/strategy.go ToSelectableFields). */
const FIELDS: Record<string, string[]> = {
  pods: ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.podIPs', 'status.nominatedNodeName'],
  nodes: ['spec.unschedulable'],
  namespaces: ['status.phase'],
  replicasets: ['status.replicas'],
  // pkg/registry/core/event/strategy.go ToSelectableFields.
  events: ['involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid', 'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath', 'reason', 'reportingComponent', 'source', 'type'],
}

export function parseFieldSelector(s: string, resource: string): FieldRequirement[] {
  const out: FieldRequirement[] = []
  if (!s.trim()) return out
  for (const part of s.split(',')) {
    const m = /^\s*([^!=\s]+)\s*(==|!=|=)\s*(.*?)\s*$/.exec(part)
    if (!m) throw new SelectorError(`invalid selector: '${s}'; can't understand '${part}'`)
    const field = m[1]!
    if (field !== 'metadata.name' && field !== 'metadata.namespace' && !(FIELDS[resource] ?? []).includes(field)) {
      // kube-apiserver: "field label not supported: <field>" (400 BadRequest).
      throw new SelectorError(`field label not supported: ${field}`)
    }
    out.push({field, op: m[2] === '!=' ? '!=' : '=', value: m[3]!})
  }
  return out
}

function fieldValue(obj: KObj, field: string): string {
  switch (field) {
    case 'metadata.name': return obj.metadata.name
    case 'metadata.namespace': return obj.metadata.namespace ?? ''
    case 'spec.nodeName': return obj.spec?.nodeName ?? ''
    case 'spec.restartPolicy': return obj.spec?.restartPolicy ?? ''
    case 'spec.schedulerName': return obj.spec?.schedulerName ?? ''
    case 'spec.serviceAccountName': return obj.spec?.serviceAccountName ?? ''
    case 'spec.hostNetwork': return String(Boolean(obj.spec?.hostNetwork))
    case 'spec.unschedulable': return String(Boolean(obj.spec?.unschedulable))
    case 'status.phase': return obj.status?.phase ?? ''
    case 'status.podIP': return obj.status?.podIP ?? ''
    case 'status.podIPs': return (obj.status?.podIPs ?? []).map((x: {ip: string}) => x.ip).join(',')
    case 'status.nominatedNodeName': return obj.status?.nominatedNodeName ?? ''
    case 'status.replicas': return String(obj.status?.replicas ?? 0)
    case 'source': return obj.source?.component ?? ''
    default:
      if (field.startsWith('involvedObject.')) return String(obj.involvedObject?.[field.slice('involvedObject.'.length)] ?? '')
      if (['reason', 'reportingComponent', 'type'].includes(field)) return String(obj[field] ?? '')
      return ''
  }
}

export function matchFields(reqs: FieldRequirement[], obj: KObj): boolean {
  return reqs.every((r) => (fieldValue(obj, r.field) === r.value) === (r.op === '='))
}
