// Writes to the Kubernetes API (namespaces and pods, for `tetractl validate`) and the TracingPolicy reads, on top of
// KubeClient: every call goes through KubeClient.call, so it has the request timeout, the caller's abort and the
// project's error translation (401 → exit 3, 403 → ForbiddenError naming the verb, 404 → NotFound).
import type {V1Namespace, V1Pod} from '@kubernetes/client-node'

import {UserError} from '../engine/errors.js'
import {type KubeClient, NotFound} from './kube.js'
import {sleep} from '../engine/sleep.js'

export {NotFound} from './kube.js'

export async function createNamespace(kube: KubeClient, name: string, labels: Record<string, string>, signal?: AbortSignal): Promise<V1Namespace> {
  return kube.call(
    {verb: 'create', resource: 'namespaces'},
    (o) => kube.core.createNamespace({body: {apiVersion: 'v1', kind: 'Namespace', metadata: {name, labels}}}, o),
    signal,
  )
}

/** Deletes a namespace (and everything in it); a namespace already gone is not an error. Returns whether it existed. */
export async function deleteNamespace(kube: KubeClient, name: string, signal?: AbortSignal): Promise<boolean> {
  try {
    await kube.call({verb: 'delete', resource: 'namespaces'}, (o) => kube.core.deleteNamespace({name, propagationPolicy: 'Background'}, o), signal)
    return true
  } catch (error) {
    if (error instanceof NotFound) return false
    throw error
  }
}

export async function createPod(kube: KubeClient, namespace: string, pod: V1Pod, signal?: AbortSignal): Promise<V1Pod> {
  return kube.call({verb: 'create', resource: 'pods', namespace}, (o) => kube.core.createNamespacedPod({namespace, body: pod}, o), signal)
}

export function readPod(kube: KubeClient, namespace: string, name: string, signal?: AbortSignal): Promise<V1Pod | undefined> {
  return kube.read({verb: 'get', resource: 'pods', namespace}, (o) => kube.core.readNamespacedPod({name, namespace}, o), signal)
}

/** Deletes a pod at once (grace period 0); a pod already gone is not an error. Returns whether it existed. */
export async function deletePod(kube: KubeClient, namespace: string, name: string, signal?: AbortSignal): Promise<boolean> {
  try {
    await kube.call({verb: 'delete', resource: 'pods', namespace}, (o) => kube.core.deleteNamespacedPod({name, namespace, gracePeriodSeconds: 0}, o), signal)
    return true
  } catch (error) {
    if (error instanceof NotFound) return false
    throw error
  }
}

/** Container waiting reasons that will not resolve by waiting (kubelet images/container states). */
const STUCK = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull', 'CreateContainerConfigError', 'CreateContainerError', 'CrashLoopBackOff', 'RunContainerError'])

export class PodNotRunningError extends UserError {
  constructor(
    message: string,
    tryMessage: string,
    readonly pod?: V1Pod,
  ) {
    super(message, tryMessage, 1)
    this.name = 'PodNotRunningError'
  }
}


/**
 * Polls the pod (backoff 100 ms → 1 s) until it is Running with every container running, bounded by `timeoutMs`.
 * Fails early on a terminal phase or a container stuck in an image/config error.
 */
export async function waitForPodRunning(kube: KubeClient, namespace: string, name: string, opts: {timeoutMs: number; signal?: AbortSignal}): Promise<V1Pod> {
  const deadline = Date.now() + opts.timeoutMs
  let delay = 100
  let last: V1Pod | undefined
  for (;;) {
    if (opts.signal?.aborted) throw new Error('aborted')
    last = await readPod(kube, namespace, name, opts.signal)
    if (!last) throw new PodNotRunningError(`pod ${namespace}/${name} disappeared while starting`, 'Something deleted it; check admission webhooks and `kubectl get events -n ' + namespace + '`.')
    const phase = last.status?.phase
    const statuses = last.status?.containerStatuses ?? []
    if (phase === 'Running' && statuses.length > 0 && statuses.every((s) => s.state?.running)) return last
    if (phase === 'Failed' || phase === 'Succeeded') {
      throw new PodNotRunningError(`pod ${namespace}/${name} ended (${phase}${last.status?.reason ? `: ${last.status.reason}` : ''}) before validate could use it`, `kubectl -n ${namespace} describe pod ${name}`, last)
    }
    const stuck = statuses.find((s) => s.state?.waiting?.reason && STUCK.has(s.state.waiting.reason))
    if (stuck) {
      const w = stuck.state!.waiting!
      throw new PodNotRunningError(
        `pod ${namespace}/${name} cannot start: container ${stuck.name} ${w.reason}${w.message ? ` (${w.message.split('\n')[0]})` : ''}`,
        w.reason?.includes('Image') ? 'Mirror the probe image into a registry the nodes can pull from and pass it with --image.' : `kubectl -n ${namespace} describe pod ${name}`,
        last,
      )
    }
    const unschedulable = (last.status?.conditions ?? []).find((c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable')
    if (Date.now() >= deadline) {
      const why = unschedulable ? `unschedulable: ${unschedulable.message ?? ''}` : `phase ${phase ?? 'unknown'}`
      throw new PodNotRunningError(`pod ${namespace}/${name} not running after ${Math.round(opts.timeoutMs / 1000)} s (${why})`, `kubectl -n ${namespace} describe pod ${name}`, last)
    }
    await sleep(Math.min(delay, Math.max(0, deadline - Date.now())), opts.signal)
    delay = Math.min(1000, delay * 2)
  }
}

export interface TracingPolicyObject {
  kind: 'TracingPolicy' | 'TracingPolicyNamespaced'
  name: string
  namespace?: string
  spec: {kprobes?: Array<{call?: string; selectors?: Array<{matchArgs?: Array<{index?: number; operator?: string; values?: string[]}>}>}>}
}

/**
 * TracingPolicy (cluster-wide) and TracingPolicyNamespaced objects in `namespace`
 * (cilium.io/v1alpha1, cilium/tetragon v1.7.0 install/kubernetes/tetragon/crds-yaml/).
 * `undefined` when the CRDs are not installed.
 */
export async function listTracingPolicies(kube: KubeClient, namespace: string, signal?: AbortSignal): Promise<TracingPolicyObject[] | undefined> {
  const group = 'cilium.io'
  const version = 'v1alpha1'
  const map = (kind: TracingPolicyObject['kind']) => (o: any): TracingPolicyObject => ({kind, name: o?.metadata?.name ?? '', namespace: o?.metadata?.namespace, spec: o?.spec ?? {}})
  const cluster = await kube.read(
    {verb: 'list', resource: 'tracingpolicies', group},
    (o) => kube.custom.listClusterCustomObject({group, version, plural: 'tracingpolicies'}, o),
    signal,
  )
  if (cluster === undefined) return undefined
  const namespaced = await kube
    .read(
      {verb: 'list', resource: 'tracingpoliciesnamespaced', group, namespace},
      (o) => kube.custom.listNamespacedCustomObject({group, version, namespace, plural: 'tracingpoliciesnamespaced'}, o),
      signal,
    )
    .catch(() => undefined)
  return [...itemsOf(cluster).map(map('TracingPolicy')), ...itemsOf(namespaced).map(map('TracingPolicyNamespaced'))]
}

/** The items of a custom-object list (client-node types those lists as plain objects). */
function itemsOf(list: unknown): unknown[] {
  const items = typeof list === 'object' && list !== null && 'items' in list ? list.items : undefined
  return Array.isArray(items) ? items : []
}
