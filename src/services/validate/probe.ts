// The trigger stage: the probe pod (created in its own labelled namespace, or an existing one with --pod) and the
// probe commands run in it through exec, each with its start / end time and exit code.
import type {V1Pod} from '@kubernetes/client-node'

import type {KubeClient} from '../../clients/kube.js'
import {DEFAULT_PROBE_IMAGE as DEFAULT_IMAGE} from '../../defaults.js'
import {ExitCode} from '../../engine/exit-codes.js'
import {UserError} from '../../engine/errors.js'
import type {CommandName} from './types.js'

/**
 * The default probe image (src/defaults.ts) runs as a non-root user, so the pod sets runAsUser 0: `cat /etc/shadow`
 * must be allowed to read for security_file_permission to fire (the hook fires on the read, which needs a successful open).
 */
export {DEFAULT_IMAGE}
export const MANAGED_BY = {'app.kubernetes.io/managed-by': 'tetractl'}
export const PROBE_CONTAINER = 'probe'
export const PROBE_POD = 'tetractl-probe'

export function probeNamespaceName(runId: string): string {
  return `tetractl-validate-${runId}`
}

/** The probe pod: sleeps for at most `lifetimeS` (it ends itself even if tetractl is killed before cleanup). */
export function probePod(args: {image: string; runId: string; lifetimeS: number}): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: PROBE_POD,
      labels: {...MANAGED_BY, 'app.kubernetes.io/name': 'tetractl-probe', 'tetractl.io/run-id': args.runId},
    },
    spec: {
      containers: [
        {
          name: PROBE_CONTAINER,
          image: args.image,
          command: ['sleep', String(Math.max(60, Math.ceil(args.lifetimeS)))],
          securityContext: {runAsUser: 0, runAsGroup: 0, allowPrivilegeEscalation: false},
          resources: {requests: {cpu: '10m', memory: '16Mi'}, limits: {memory: '64Mi'}},
        },
      ],
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 0,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
    },
  }
}

export function parsePodRef(ref: string): {namespace: string; name: string} {
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/.exec(ref.trim())
  if (!m) throw new UserError(`--pod must be NAMESPACE/NAME (lower-case DNS names), not "${ref}".`, 'Example: --pod default/xwing')
  return {namespace: m[1]!, name: m[3]!}
}

export function validateUrl(raw: string): URL {
  let u: URL | undefined
  try {
    u = new URL(raw)
  } catch {
    u = undefined
  }
  if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:') || !u.hostname) {
    throw new UserError(`--url must be an http:// or https:// URL, not "${raw}".`, 'Example: --url http://google.com')
  }
  if (u.username || u.password) throw new UserError('--url must not contain credentials.', 'The probe request is anonymous; pass a URL without user:password@.')
  return u
}

/** The container to exec into: --container, else the default-container annotation, else the first. */
export function pickContainer(pod: V1Pod, wanted?: string): string {
  const names = (pod.spec?.containers ?? []).map((c) => c.name)
  const ref = `${pod.metadata?.namespace}/${pod.metadata?.name}`
  if (wanted) {
    if (!names.includes(wanted)) throw new UserError(`Pod ${ref} has no container "${wanted}" (it has: ${names.join(', ')}).`, 'Pass one of them with --container.')
    return wanted
  }
  return pod.metadata?.annotations?.['kubectl.kubernetes.io/default-container'] ?? names[0]!
}

export function podUsable(pod: V1Pod, container: string): void {
  const ref = `${pod.metadata?.namespace}/${pod.metadata?.name}`
  const st = (pod.status?.containerStatuses ?? []).find((s) => s.name === container)
  if (pod.status?.phase !== 'Running' || !st?.state?.running) {
    throw new UserError(`Pod ${ref} is not running (phase ${pod.status?.phase ?? 'unknown'}${st?.state?.waiting?.reason ? `, ${st.state.waiting.reason}` : ''}).`, 'Pass a running pod with --pod, or omit --pod to let validate create a probe pod.')
  }
  if (!pod.spec?.nodeName) throw new UserError(`Pod ${ref} is not scheduled on a node.`, 'Pass a running pod with --pod.')
}

export interface CommandRun {
  name: CommandName
  argv: string[]
  startedAt: number
  endedAt: number
  exitCode?: number
  stdout: string
  stderr: string
  /** The process never started (binary missing in the image) or the exec failed. */
  error?: string
}

export function commandArgv(name: CommandName, url: string): string[] {
  switch (name) {
    case 'whoami':
      return ['whoami']
    case 'curl':
      return ['curl', '-sS', '-m', '5', url]
    case 'cat':
      return ['cat', '/etc/shadow']
  }
}

const NOT_FOUND = /executable file not found|no such file or directory|not found in \$PATH/i

export async function runCommand(kube: KubeClient, at: {namespace: string; pod: string; container: string}, name: CommandName, url: string, signal: AbortSignal): Promise<CommandRun> {
  const argv = commandArgv(name, url)
  const startedAt = Date.now()
  try {
    // curl bounds itself with -m 5; the exec itself gets a margin for the API round trips.
    const r = await kube.exec(at.namespace, at.pod, at.container, argv, {timeoutMs: name === 'curl' ? 20_000 : 15_000, signal})
    const endedAt = Date.now()
    const missing = r.message && NOT_FOUND.test(r.message) ? `${argv[0]} is not in the image (${r.message.split('\n')[0]!.slice(0, 200)})` : undefined
    return {name, argv, startedAt, endedAt, exitCode: missing ? undefined : r.exitCode, stdout: r.stdout, stderr: r.stderr, error: missing}
  } catch (error) {
    return {name, argv, startedAt, endedAt: Date.now(), stdout: '', stderr: '', error: (error as Error).message.split('\n')[0]}
  }
}

/**
 * The stream marker: `sh -c true` in the probe pod. Its process_exec on the stream proves the subscription is live
 * before the probe commands run. A pod whose image has no sh cannot be used (exit 2).
 */
export async function runMarker(kube: KubeClient, at: {namespace: string; pod: string; container: string}, signal: AbortSignal, given: boolean): Promise<number> {
  const startedAt = Date.now()
  const r = await kube.exec(at.namespace, at.pod, at.container, ['sh', '-c', 'true'], {timeoutMs: 15_000, signal})
  if (r.message && NOT_FOUND.test(r.message)) {
    const ref = `${at.namespace}/${at.pod}`
    throw new UserError(
      given
        ? `Pod ${ref} (container ${at.container}) has no sh: validate needs sh, whoami, curl and cat in the pod.`
        : `The probe image has no sh: validate needs sh, whoami, curl and cat in the pod.`,
      given ? 'Pick a pod whose image has them, or omit --pod to let validate create a probe pod.' : `Pass an image with them with --image (default ${DEFAULT_IMAGE}).`,
      ExitCode.USAGE,
    )
  }
  return startedAt
}
