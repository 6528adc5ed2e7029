// TracingPolicies `tetractl setup --policies` applies, adapted from cilium/tetragon v1.7.0
// examples. Without a policy Tetragon emits only process_exec / process_exit (docs/content/en/docs/concepts/events.md).
import type {TracingPolicyObject} from '../clients/kube-apply.js'

export type PolicyKind = 'network' | 'file'
export const POLICY_KINDS: readonly PolicyKind[] = ['network', 'file']

const LABELS = {'app.kubernetes.io/managed-by': 'tetractl'}

/**
 * `connect`: cilium/tetragon v1.7.0 examples/tracingpolicy/tcp-connect.yaml — kprobes on
 * tcp_connect, tcp_close (arg 0 `sock`) and tcp_sendmsg (arg 0 `sock`, arg 2 `int` = bytes), no
 * selectors, so in-cluster destinations are kept (unlike the quickstart's NotDAddr variant).
 */
export function networkPolicy(): TracingPolicyObject {
  const sock = {index: 0, type: 'sock'}
  return {
    apiVersion: 'cilium.io/v1alpha1',
    kind: 'TracingPolicy',
    metadata: {name: 'connect', labels: LABELS},
    spec: {
      kprobes: [
        {call: 'tcp_connect', syscall: false, args: [sock]},
        {call: 'tcp_close', syscall: false, args: [sock]},
        {call: 'tcp_sendmsg', syscall: false, args: [sock, {index: 2, type: 'int'}]},
      ],
    },
  }
}

/** examples/quickstart/file_monitoring.yaml (file-monitoring-filtered), selector (a): reads of these prefixes. */
export const SENSITIVE_READ_PREFIXES = ['/boot', '/root/.ssh', '/etc/shadow', '/etc/profile', '/etc/sudoers', '/etc/pam.conf', '/etc/bashrc', '/etc/csh.cshrc', '/etc/csh.login']
/** Same example, selector (b): reads of shell rc / history files. */
export const SHELL_FILE_SUFFIXES = ['.bashrc', '.bash_profile', '.bash_login', '.bash_logout', '.cshrc', '.cshdirs', '.profile', '.login', '.logout', '.history']
/** MAY_READ in security_file_permission's mask argument (as in the same example). */
const MAY_READ = '4'

/**
 * `sensitive-file-reads`: the read part of cilium/tetragon v1.7.0 examples/quickstart/file_monitoring.yaml:
 * one kprobe, security_file_permission (arg 0 `file`, arg 1 `int` mask, return int), with
 * selectors (a) and (b) ANDed with mask = MAY_READ. It leaves out the example's security_path_truncate
 * hook, which fails the whole policy on kernels ≥ 6.2
 * (cilium/tetragon v1.7.0 docs/content/en/docs/use-cases/filename-access.md), and its
 * mmap / write selectors, which are not reads.
 */
export function filePolicy(): TracingPolicyObject {
  const read = {index: 1, operator: 'Equal', values: [MAY_READ]}
  return {
    apiVersion: 'cilium.io/v1alpha1',
    kind: 'TracingPolicy',
    metadata: {name: 'sensitive-file-reads', labels: LABELS},
    spec: {
      kprobes: [
        {
          call: 'security_file_permission',
          syscall: false,
          return: true,
          args: [{index: 0, type: 'file'}, {index: 1, type: 'int'}],
          returnArg: {index: 0, type: 'int'},
          selectors: [
            {matchArgs: [{index: 0, operator: 'Prefix', values: SENSITIVE_READ_PREFIXES}, read]},
            {matchArgs: [{index: 0, operator: 'Postfix', values: SHELL_FILE_SUFFIXES}, read]},
          ],
        },
      ],
    },
  }
}

export function policyFor(kind: PolicyKind): TracingPolicyObject {
  return kind === 'network' ? networkPolicy() : filePolicy()
}

interface Kprobe {
  call?: string
  selectors?: Array<{matchArgs?: Array<{index?: number; operator?: string; values?: string[]}>}>
}

/**
 * Does an existing policy already produce the events ours would? Then applying ours would only
 * duplicate every event. network: a tcp_connect hook without selectors. file: a
 * security_file_permission hook with no selector or one matching reads of /etc/shadow.
 */
export function coveredBy(kind: PolicyKind, existing: TracingPolicyObject): boolean {
  const kprobes = ((existing.spec as {kprobes?: Kprobe[]})?.kprobes ?? []) as Kprobe[]
  if (kind === 'network') return kprobes.some((k) => k.call === 'tcp_connect' && (k.selectors ?? []).length === 0)
  return kprobes.some((k) => {
    if (k.call !== 'security_file_permission') return false
    const sels = k.selectors ?? []
    if (sels.length === 0) return true
    return sels.some((s) =>
      (s.matchArgs ?? []).every((m) => {
        if (m.index === 0 && m.operator === 'Prefix') return (m.values ?? []).some((v) => '/etc/shadow'.startsWith(v))
        if (m.index === 1 && m.operator === 'Equal') return (m.values ?? []).includes(MAY_READ)
        return false
      }),
    )
  })
}
