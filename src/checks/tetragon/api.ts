// Shared by the Tetragon gRPC checks: the mode (cluster or standalone agent), the memoised API handshake
// (GetVersion through ctx.tetragon()), and the outcome of a check that needs the API when the handshake failed.
import {notEvaluated, type Outcome} from '../../engine/types.js'
import type {CheckContext} from '../context.js'
import type {TetragonAccess} from '../../cluster/agents.js'

/** A standalone agent (--tetragon-address / TETRACTL_TETRAGON_ADDRESS): the checks talk to it directly and need no cluster. */
export function standaloneMode(ctx: CheckContext): boolean {
  return Boolean(ctx.opts.tetragonAddress)
}

/** Requirements that only make sense with a cluster. */
export function clusterRequires(ids: string[]): (ctx: CheckContext) => string[] {
  return (ctx) => (standaloneMode(ctx) ? [] : ids)
}

export interface Handshake {
  access: TetragonAccess
  /** GetVersion as the agent reports it. */
  version: string
}

/** GetVersion through the check's access (port-forward or --tetragon-address), once per run. */
export function handshake(ctx: CheckContext, signal?: AbortSignal): Promise<Handshake> {
  return ctx.memo.get('tetragon.handshake', async () => handshakeWith(ctx, await ctx.tetragon(signal)))
}

/** GetVersion from one agent, once per run. */
export function handshakeWith(ctx: CheckContext, access: TetragonAccess): Promise<Handshake> {
  return ctx.memo.get(`tetragon.handshake/${access.target}`, async () => ({access, version: await access.client.getVersion()}))
}

/** Why the API did not answer, in one line: the port-forward's own error wins over the gRPC symptom. */
export function handshakeProblem(error: unknown, access?: TetragonAccess): string {
  const forward = access?.forwardErrors().find(Boolean)
  if (forward && /connection refused/.test(forward)) return `port-forward to ${access!.target}: connection refused inside the pod`
  const msg = error instanceof Error ? error.message : String(error)
  return msg.split('\n')[0]!.replace(/\.$/, '')
}

/**
 * For checks that read the API: the handshake, or a not-evaluated outcome naming tetragon.grpc-reachable
 * (the check that reports the connection problem itself, once).
 */
export async function handshakeOr(ctx: CheckContext, signal?: AbortSignal): Promise<Handshake | Outcome> {
  try {
    return await handshake(ctx, signal)
  } catch (error) {
    const access = await ctx.tetragon(signal).catch(() => undefined)
    // A refused port-forward is a permission to name (not-evaluated through the runner), not an agent symptom.
    const refused = access?.refusal()
    if (refused) throw refused
    return notEvaluated(`the agent's gRPC API did not answer (${handshakeProblem(error, access)}); see tetragon.grpc-reachable`)
  }
}

export const isOutcome = (x: Handshake | Outcome): x is Outcome => 'status' in x

