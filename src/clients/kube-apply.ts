// Writes to the Kubernetes API for `tetractl setup` and `doctor --fix`: server-side apply (field
// manager `tetractl`, `force` only on request), JSON merge patch, create and get, for Services and
// cluster-scoped TracingPolicies. Errors become the project's: 403 → ForbiddenError, a field-manager
// conflict → ApplyConflictError naming the other managers and fields.
import * as k8s from '@kubernetes/client-node'

import {ExitCode} from '../engine/exit-codes.js'
import {ForbiddenError, UserError} from '../engine/errors.js'
import type {KubeClient} from './kube.js'

export const FIELD_MANAGER = 'tetractl'

export interface ApplyOptions {
  /** Take over fields other managers own (kubectl apply --server-side --force-conflicts). */
  force?: boolean
  /** Validate and compute on the server without persisting (dryRun=All). */
  dryRun?: boolean
  signal?: AbortSignal
}

/** An apply refused because other field managers own some of the fields (HTTP 409). */
export class ApplyConflictError extends UserError {
  constructor(
    readonly object: string,
    readonly conflicts: Array<{manager: string; field: string}>,
    serverMessage: string,
  ) {
    super(
      `${object}: ${serverMessage.split('\n')[0]}${conflicts.length > 1 ? ` (${conflicts.map((c) => `${c.field} owned by ${c.manager}`).join(', ')})` : ''}.`,
      'Another field manager owns these fields; re-run with --force-conflicts to make tetractl their manager.',
      ExitCode.FINDINGS,
    )
    this.name = 'ApplyConflictError'
  }
}

export interface TracingPolicyObject {
  apiVersion: 'cilium.io/v1alpha1'
  kind: 'TracingPolicy'
  metadata: {name: string; labels?: Record<string, string>}
  spec: Record<string, unknown>
}

const TP = {group: 'cilium.io', version: 'v1alpha1', plural: 'tracingpolicies'} as const

/** Sets the patch Content-Type on top of KubeClient's per-call options (client-node 1.x setHeaderOptions). */
function withContentType(o: k8s.ConfigurationOptions, contentType: string): k8s.ConfigurationOptions {
  return k8s.setHeaderOptions('Content-Type', contentType, o)
}

function parseStatus(body: unknown): {message?: string; details?: {causes?: Array<{reason?: string; message?: string; field?: string}>}} {
  if (typeof body === 'string') {
    try {
      return JSON.parse(body)
    } catch {
      return {message: body}
    }
  }
  return typeof body === 'object' && body !== null ? (body as ReturnType<typeof parseStatus>) : {}
}

export class KubeWriter {
  constructor(readonly kube: KubeClient) {}

  /** Runs a write; 409 apply conflicts and 403s become user-facing errors. */
  private async write<T>(what: {verb: string; resource: string; namespace?: string; group?: string; object: string}, fn: (o: k8s.ConfigurationOptions) => Promise<T>, signal?: AbortSignal): Promise<T> {
    try {
      return await this.kube.call(what, fn, signal)
    } catch (error) {
      throw this.refine(error, what.object)
    }
  }

  private refine(error: unknown, object: string): unknown {
    if (error instanceof ForbiddenError) return error
    const m = error instanceof Error ? /HTTP (\d+)(?:: (.*))?$/s.exec(error.message) : null
    return m ? new UserError(`${object}: the API refused the change (HTTP ${m[1]}${m[2] ? `: ${m[2].split('\n')[0]}` : ''}).`, undefined, ExitCode.FINDINGS) : error
  }

  /** Catches the raw 409 before KubeClient.translate flattens it. */
  private conflictAware<T>(object: string, fn: (o: k8s.ConfigurationOptions) => Promise<T>): (o: k8s.ConfigurationOptions) => Promise<T> {
    return async (o) => {
      try {
        return await fn(o)
      } catch (error) {
        if (error instanceof k8s.ApiException && error.code === 409) {
          const status = parseStatus(error.body)
          const conflicts = (status.details?.causes ?? [])
            .filter((c) => c.reason === 'FieldManagerConflict')
            .map((c) => ({manager: (c.message ?? '').replace(/^conflict with /, ''), field: c.field ?? ''}))
          throw new ApplyConflictError(object, conflicts, status.message ?? 'Apply failed with a conflict')
        }
        throw error
      }
    }
  }

  getService(namespace: string, name: string, signal?: AbortSignal): Promise<k8s.V1Service | undefined> {
    return this.kube.readService(namespace, name, signal)
  }

  /** Server-side apply of a Service (creates it when missing). */
  applyService(body: k8s.V1Service, opts: ApplyOptions = {}): Promise<k8s.V1Service> {
    const name = body.metadata!.name!
    const namespace = body.metadata!.namespace!
    const object = `Service ${namespace}/${name}`
    return this.write(
      {verb: 'patch', resource: 'services', namespace, object},
      this.conflictAware(object, (o) =>
        this.kube.core.patchNamespacedService(
          {name, namespace, body, fieldManager: FIELD_MANAGER, force: opts.force || undefined, dryRun: opts.dryRun ? 'All' : undefined},
          withContentType(o, k8s.PatchStrategy.ServerSideApply),
        ),
      ),
      opts.signal,
    )
  }

  /** JSON merge patch of a Service (RFC 7386: null deletes a key), as `kubectl patch --type=merge`. */
  mergePatchService(namespace: string, name: string, patch: unknown, opts: {dryRun?: boolean; signal?: AbortSignal} = {}): Promise<k8s.V1Service> {
    return this.write(
      {verb: 'patch', resource: 'services', namespace, object: `Service ${namespace}/${name}`},
      (o) => this.kube.core.patchNamespacedService({name, namespace, body: patch, fieldManager: FIELD_MANAGER, dryRun: opts.dryRun ? 'All' : undefined}, withContentType(o, k8s.PatchStrategy.MergePatch)),
      opts.signal,
    )
  }

  createService(body: k8s.V1Service, signal?: AbortSignal): Promise<k8s.V1Service> {
    const namespace = body.metadata!.namespace!
    return this.write({verb: 'create', resource: 'services', namespace, object: `Service ${namespace}/${body.metadata!.name}`}, (o) => this.kube.core.createNamespacedService({namespace, body, fieldManager: FIELD_MANAGER}, o), signal)
  }

  async getTracingPolicy(name: string, signal?: AbortSignal): Promise<TracingPolicyObject | undefined> {
    return this.kube.read({verb: 'get', resource: 'tracingpolicies', group: TP.group}, (o) => this.kube.custom.getClusterCustomObject({...TP, name}, o), signal) as Promise<TracingPolicyObject | undefined>
  }

  async listTracingPolicies(signal?: AbortSignal): Promise<TracingPolicyObject[]> {
    const list = await this.kube.read({verb: 'list', resource: 'tracingpolicies', group: TP.group}, (o) => this.kube.custom.listClusterCustomObject({...TP}, o), signal)
    return ((list as {items?: TracingPolicyObject[]} | undefined)?.items ?? []) as TracingPolicyObject[]
  }

  applyTracingPolicy(body: TracingPolicyObject, opts: ApplyOptions = {}): Promise<TracingPolicyObject> {
    const name = body.metadata.name
    const object = `TracingPolicy ${name}`
    return this.write(
      {verb: 'patch', resource: 'tracingpolicies', group: TP.group, object},
      this.conflictAware(object, (o) =>
        this.kube.custom.patchClusterCustomObject(
          {...TP, name, body, fieldManager: FIELD_MANAGER, force: opts.force || undefined, dryRun: opts.dryRun ? 'All' : undefined},
          withContentType(o, k8s.PatchStrategy.ServerSideApply),
        ),
      ),
      opts.signal,
    ) as Promise<TracingPolicyObject>
  }
}
