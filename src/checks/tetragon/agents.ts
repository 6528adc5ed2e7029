// Which agents a check can evaluate. During a rollout some agent pods are not Ready (a crash-looping
// container reports `waiting: CrashLoopBackOff` with a growing restartCount): tetragon.daemonset reports them,
// and every other check evaluates what it can (the DaemonSet and ConfigMap always, the API of each ready
// agent) and names the agents it could not reach, instead of refusing to run because not all are ready.
import {notEvaluated, type Outcome, type Status} from '../../engine/types.js'
import type {CheckContext} from '../context.js'
import {firstAgentPods, tetragonInstall, tetragonPods, type PodSummary, type TetragonInstall} from '../../cluster/facts.js'
import {MAX_GRPC_AGENTS, podAccess, type TetragonAccess} from '../../cluster/agents.js'
import {handshakeProblem, handshakeWith, standaloneMode, type Handshake} from './api.js'

export interface Agents {
  install: TetragonInstall
  pods: PodSummary[]
  ready: PodSummary[]
  notReady: PodSummary[]
}

export const isOutcome = (x: object): x is Outcome => 'status' in x && 'message' in x

/** `tetragon-x on node-3 (tetragon: waiting: CrashLoopBackOff, 7 restarts)`. */
export function podProblem(p: PodSummary): string {
  const bad = p.containers.filter((c) => !c.ready || c.state !== 'running')
  const what = bad.map((c) => `${c.name}: ${c.state}${c.restarts ? `, ${c.restarts} restart${c.restarts === 1 ? '' : 's'}` : ''}`)
  return `${p.name}${p.node ? ` on ${p.node}` : ''}${what.length ? ` (${what.join('; ')})` : ''}`
}

/** `; 1 of 3 agents not ready: tetragon-x on node-3 (…)`, or '' when all are ready. */
export function notReadyNote(a: Agents): string {
  if (a.notReady.length === 0) return ''
  const shown = a.notReady.slice(0, 3).map(podProblem).join(', ')
  return `; ${a.notReady.length} of ${a.pods.length} agents not ready: ${shown}${a.notReady.length > 3 ? ', …' : ''}`
}

/**
 * The agent DaemonSet and its pods, or why the check cannot be evaluated: no DaemonSet at all, or (with
 * `needReady`) no ready agent to talk to.
 */
export async function agentsOr(ctx: CheckContext, signal: AbortSignal | undefined, needReady: boolean): Promise<Agents | Outcome> {
  const install = await tetragonInstall(ctx, signal)
  if (!install.daemonSet) return notEvaluated('no Tetragon agent DaemonSet to read; see tetragon.daemonset')
  const pods = await tetragonPods(ctx, signal)
  const ready = pods.filter((p) => p.ready)
  const notReady = pods.filter((p) => !p.ready)
  const agents = {install, pods, ready, notReady}
  if (needReady && ready.length === 0) {
    return notEvaluated(`no ready Tetragon agent to talk to (0 of ${pods.length} agent pods ready${notReady.length ? `: ${notReady.slice(0, 3).map(podProblem).join(', ')}` : ''}); see tetragon.daemonset`, {
      notReady: notReady.slice(0, 10).map(podProblem),
    })
  }
  return agents
}

/** The ready agents a gRPC check talks to: all of them up to MAX_GRPC_AGENTS, else an even sample. */
export function grpcAgents(ready: PodSummary[]): PodSummary[] {
  if (ready.length <= MAX_GRPC_AGENTS) return ready
  const step = ready.length / MAX_GRPC_AGENTS
  return Array.from({length: MAX_GRPC_AGENTS}, (_, i) => ready[Math.floor(i * step)]!)
}

// The worst evaluated outcome decides; an agent whose API did not answer counts only when none did.
const RANK: Record<Status, number> = {fail: 4, warn: 3, pass: 2, skip: 1, 'not-evaluated': 0}

interface PerAgent {
  access: TetragonAccess
  outcome: Outcome
}

const agentName = (r: PerAgent) => r.access.pod?.node ?? r.access.target

/**
 * Evaluate a gRPC check on each ready agent (on the one agent, standalone) and combine: the worst outcome
 * decides, the message says on how many of how many agents, and which were not ready.
 */
export async function perAgent(ctx: CheckContext, signal: AbortSignal, evaluate: (access: TetragonAccess) => Promise<Outcome>): Promise<Outcome> {
  if (standaloneMode(ctx)) return evaluate(await ctx.tetragon(signal))
  const evaluateAll = (chosen: PodSummary[]): Promise<PerAgent[]> =>
    Promise.all(chosen.map(async (p) => {
      const access = await podAccess(ctx, p, signal)
      return {access, outcome: await evaluate(access)}
    }))
  // Start on the first page's agents while the rest of the list arrives; the counts need the whole list.
  const early = await sampleEarly(ctx, signal, (pods) => grpcAgents(pods.filter((p) => p.ready)))
  const running = early ? evaluateAll(early) : undefined
  running?.catch(() => {})
  const a = await agentsOr(ctx, signal, true)
  if (isOutcome(a)) return a
  return combine(await (running ?? evaluateAll(grpcAgents(a.ready))), a)
}

/**
 * The agents to talk to, chosen from the first page of the agent pod list (all of it on clusters under 500
 * nodes) when it has a ready one: on 5,000 nodes the gRPC and metrics work then starts before the last page
 * arrives. Undefined when there is no DaemonSet or no ready pod on that page: the caller waits for the list.
 */
export async function sampleEarly(ctx: CheckContext, signal: AbortSignal | undefined, choose: (pods: PodSummary[]) => PodSummary[]): Promise<PodSummary[] | undefined> {
  const install = await tetragonInstall(ctx, signal).catch(() => undefined)
  if (!install?.daemonSet) return undefined
  const first = await firstAgentPods(ctx, signal).catch(() => undefined)
  return first?.some((p) => p.ready) ? choose(first) : undefined
}

export function combine(results: PerAgent[], a: Agents): Outcome {
  const worst = [...results].sort((x, y) => RANK[y.outcome.status] - RANK[x.outcome.status])[0]!
  // One agent, all ready: nothing to add.
  if (results.length === 1 && a.notReady.length === 0 && a.pods.length <= 1) return worst.outcome
  const byStatus = new Map<Status, string[]>()
  for (const r of results) byStatus.set(r.outcome.status, [...(byStatus.get(r.outcome.status) ?? []), agentName(r)])
  const sampled = results.length < a.ready.length ? ` (a sample of the ${a.ready.length} ready)` : ''
  const split = byStatus.size === 1
    ? `${results.length} of ${a.pods.length} agents checked${sampled}`
    : `${results.length} of ${a.pods.length} agents checked${sampled}: ${[...byStatus].sort((x, y) => RANK[y[0]] - RANK[x[0]]).map(([s, nodes]) => `${s} on ${nodes.join(', ')}`).join('; ')}`
  return {
    ...worst.outcome,
    message: `${worst.outcome.message.replace(/\.$/, '')} (${split}${notReadyNote(a)})`,
    evidence: {
      ...worst.outcome.evidence,
      agents: results.map((r) => `${agentName(r)} (${r.access.target}): ${r.outcome.status}: ${r.outcome.message.split('\n')[0]}`),
      ...(a.notReady.length ? {notReady: a.notReady.slice(0, 10).map(podProblem)} : {}),
    },
  }
}

/** The API handshake with one agent, or the not-evaluated outcome (a 403 on the port-forward throws: not-evaluated naming the permission). */
export async function apiOr(ctx: CheckContext, access: TetragonAccess): Promise<Handshake | Outcome> {
  try {
    return await handshakeWith(ctx, access)
  } catch (error) {
    const refused = access.refusal()
    if (refused) throw refused
    return notEvaluated(`the agent's gRPC API did not answer (${handshakeProblem(error, access)}); see tetragon.grpc-reachable`)
  }
}
