// gRPC stage: the stream of the probe node's agent, subscribed before anything runs in the probe pod (GetEvents is
// a live stream with no replay), proven live by a marker exec, then matched against the probe commands: their
// process_exec / process_exit and the kprobe events the loaded policies make.
import type {Outcome} from '../../engine/types.js'
import {openAgentStream, type AgentStream} from './agent.js'
import {ms, type ProbeTarget, type StageContext} from './context.js'
import {inspectPolicies, SETUP_HINT, type Coverage, type PolicyCoverage} from './policies.js'
import {runMarker, type CommandRun} from './probe.js'
import {basename, bodyOf, filePath, inPod, isShadow, kindOf, processOf, sockArg, type StreamEvent} from './stream.js'
import {COMMANDS} from './trigger.js'
import type {CommandName} from './types.js'

export interface Matched {
  exec?: StreamEvent
  exit?: StreamEvent
  kprobe?: StreamEvent
}

export interface Watch {
  stream: AgentStream
  coverage?: PolicyCoverage
  /** The marker's process_exec: the subscription sees the probe pod. */
  marker?: StreamEvent
}

/** Subscribes on the probe node's agent, reads which policies are loaded, and waits for the marker exec. */
export async function watchProbe(sc: StageContext, at: ProbeTarget): Promise<Watch> {
  sc.progress.waiting('trigger', `opening the event stream of the agent on node ${sc.run.node ?? '?'}`)
  const stream = await openAgentStream(sc, at)
  const coverage = stream.client ? await inspectPolicies({kube: sc.kube, client: stream.client, probeNamespace: at.namespace, signal: sc.signal}).catch(() => undefined) : undefined
  const given = Boolean(sc.input.podRef)
  let marker: StreamEvent | undefined
  const {sub} = stream
  if (sub) {
    sc.progress.waiting('trigger', `waiting for the marker exec on the stream of ${stream.agent}`)
    for (let attempt = 0; attempt < 3 && !marker && !sc.signal.aborted && !sub.error(); attempt++) {
      const t0 = await runMarker(sc.kube, at, sc.signal, given)
      marker = await sub.waitFor((e) => e.at >= t0 && kindOf(e.json) === 'process_exec' && inPod(e.json, at.namespace, at.pod) && basename(String(processOf(e.json)?.binary ?? '')) === 'sh', Math.min(3000, sc.input.eventTimeoutMs), sc.signal)
    }
  } else {
    // Without a stream, still check the pod has sh (bad input for a created pod's --image).
    await runMarker(sc.kube, at, sc.signal, given)
  }
  return {stream, coverage, marker}
}

const GRPC_STEPS = ['grpc.whoami', 'grpc.curl', 'grpc.connect', 'grpc.cat', 'grpc.file']

/** Steps grpc.*: each command's events on the stream, within --event-timeout of the last command's end. */
export async function matchEvents(sc: StageContext, at: ProbeTarget, runs: Map<CommandName, CommandRun>, w: Watch): Promise<Map<CommandName, Matched>> {
  const {input, signal: abort} = sc
  const {stream, coverage, marker} = w
  const out = new Map<CommandName, Matched>()
  const s = stream.sub
  if (!s || stream.problem) {
    for (const id of GRPC_STEPS) sc.record(id, stream.problem ?? {status: 'fail', message: 'no event stream'})
    return out
  }
  const lastEnd = Math.max(...[...runs.values()].map((r) => r.endedAt))
  // The global --timeout aborts the wait through `abort`; this bound is the stage's own.
  const until = lastEnd + input.eventTimeoutMs
  const left = () => Math.max(0, until - Date.now())
  const port = Number(input.url.port || (input.url.protocol === 'https:' ? 443 : 80))
  const hostIp = /^[\d.]+$/.test(input.url.hostname) ? input.url.hostname : undefined
  const ours = (e: StreamEvent) => inPod(e.json, at.namespace, at.pod)
  const bin = (e: StreamEvent) => basename(String(processOf(e.json)?.binary ?? ''))
  const argsMatch = (name: CommandName, args: string) => (name === 'curl' ? args.includes(input.url.hostname) : name === 'cat' ? args.includes('etc/shadow') : true)
  const kprobeExpected = (c: Coverage | undefined) => c?.state !== 'missing'

  const wantsKprobe = (name: CommandName, r: CommandRun) => (name === 'curl' && kprobeExpected(coverage?.network) && r.exitCode !== 6) || (name === 'cat' && kprobeExpected(coverage?.file))
  // What the live view says it waits for: exec and exit of each command that ran, and the kprobes its policies make.
  const expected = [...runs].reduce((n, [name, r]) => n + (r.error ? 0 : 2 + (wantsKprobe(name, r) ? 1 : 0)), 0)
  let seen = 0
  const show = () => sc.progress.waiting('tetragon', `waiting for ${expected - seen} of ${expected} events on the stream of ${stream.agent}`, input.eventTimeoutMs)
  const waitFor = async (pred: (e: StreamEvent) => boolean) => {
    const e = await s.waitFor(pred, left(), abort)
    if (e) {
      seen++
      show()
    }
    return e
  }
  show()

  const waitCommand = async (name: CommandName): Promise<Matched> => {
    const r = runs.get(name)!
    const m: Matched = {}
    if (r.error) return m
    m.exec = await waitFor((e) => e.at >= r.startedAt && kindOf(e.json) === 'process_exec' && ours(e) && bin(e) === name && argsMatch(name, String(processOf(e.json)?.arguments ?? '')))
    const execId = m.exec ? processOf(m.exec.json)?.exec_id : undefined
    await Promise.all([
      execId !== undefined ? waitFor((e) => kindOf(e.json) === 'process_exit' && processOf(e.json)?.exec_id === execId).then((x) => (m.exit = x)) : undefined,
      wantsKprobe(name, r)
        ? waitFor((e) => {
            if (kindOf(e.json) !== 'process_kprobe' || !ours(e) || e.at < r.startedAt) return false
            const p = processOf(e.json)
            if (execId !== undefined ? p?.exec_id !== execId : bin(e) !== name) return false
            if (name === 'curl') {
              const sa = sockArg(e.json)
              return bodyOf(e.json)?.function_name === 'tcp_connect' && sa?.dport === port && (hostIp === undefined || sa?.daddr === hostIp)
            }
            return isShadow(filePath(e.json))
          }).then((x) => (m.kprobe = x))
        : undefined,
    ])
    return m
  }
  const matched = await Promise.all(COMMANDS.map(async (n) => [n, await waitCommand(n)] as const))
  for (const [n, m] of matched) out.set(n, m)
  if (abort.aborted) return out

  const streamNote = s.error() ? ` (the stream failed: ${s.error()!.message.split('\n')[0]})` : !marker ? ' (the sh marker run before the commands never appeared either: the agent does not report this pod)' : ''
  const steps = eventSteps({at, runs, matched: out, coverage, agent: stream.agent, received: s.events.length, streamNote, eventTimeoutMs: input.eventTimeoutMs, requirePolicies: sc.flags['require-policies'], port, hostIp})
  for (const [id, outcome] of steps) sc.record(id, outcome)
  return out
}

/** The gRPC steps' outcomes from what the stream delivered for each command (the wait is over). */
export function eventSteps(a: {
  at: Pick<ProbeTarget, 'namespace' | 'pod'>
  runs: Map<CommandName, CommandRun>
  matched: Map<CommandName, Matched>
  coverage?: PolicyCoverage
  agent?: string
  /** Events of the probe pod the stream delivered. */
  received: number
  /** Why nothing came, when the stream or the marker says so (appended to the failures). */
  streamNote: string
  eventTimeoutMs: number
  requirePolicies: boolean
  port: number
  hostIp?: string
}): Array<[string, Outcome]> {
  const {at, runs, matched, coverage, agent, received, streamNote, eventTimeoutMs, requirePolicies, port, hostIp} = a
  const lat = (r: CommandRun, e: StreamEvent) => ({latencyMs: e.at - r.startedAt, afterExitMs: e.at - r.endedAt})
  const execStep = (name: CommandName): Outcome => {
    const r = runs.get(name)!
    const m = matched.get(name) ?? {}
    if (r.error) return {status: 'not-evaluated', message: `requires exec.${name}, which failed`}
    if (!m.exec) {
      return {
        status: 'fail',
        message: `no process_exec of ${name} from ${at.namespace}/${at.pod} on the stream of ${agent} within ${ms(eventTimeoutMs)}${streamNote}`,
        hint: `kubectl -n ${agent?.split('/')[0]} logs ${agent?.split('/')[1] ?? 'ds/tetragon'} -c tetragon --tail=50`,
        evidence: {agent, received},
      }
    }
    const p = processOf(m.exec.json)!
    const exit = m.exit ? processOf(m.exit.json) : undefined
    return {
      status: 'pass',
      message: `process_exec ${p.binary}${p.arguments ? ` ${p.arguments}` : ''} after ${ms(m.exec.at - r.startedAt)}${m.exit ? `, process_exit after ${ms(m.exit.at - r.startedAt)}` : ''}`,
      evidence: {agent, node: m.exec.json.node_name, execId: p.exec_id, binary: p.binary, exec: lat(r, m.exec), ...(m.exit ? {exit: lat(r, m.exit), status: (exit ? bodyOf(m.exit.json)?.status : undefined) ?? 0} : {})},
    }
  }
  const kprobeStep = (id: 'grpc.connect' | 'grpc.file', name: CommandName, cov: Coverage | undefined, what: string): Outcome => {
    const r = runs.get(name)!
    const m = matched.get(name) ?? {}
    const pol = id === 'grpc.connect' ? 'network' : 'file'
    if (r.error) return {status: 'not-evaluated', message: `requires exec.${name}, which failed`}
    if (cov?.state === 'missing') {
      return {
        status: requirePolicies ? 'fail' : 'skip',
        message: `no ${pol} policy loaded (${cov.reason}): Tetragon emits only exec/exit for ${name} without one`,
        hint: SETUP_HINT[pol],
        evidence: {coverage: cov},
      }
    }
    if (name === 'curl' && r.exitCode === 6) return {status: 'skip', message: 'curl could not resolve the URL host, so it never connected (no tcp_connect to observe)', hint: 'Use a --url the probe pod can resolve.'}
    if (!m.kprobe) {
      return {
        status: 'fail',
        message: `no ${what} from ${at.namespace}/${at.pod} on the stream within ${ms(eventTimeoutMs)}${cov ? ` (policy: ${cov.reason})` : ''}${streamNote}`,
        hint: SETUP_HINT[pol],
        evidence: {coverage: cov, received},
      }
    }
    const b = bodyOf(m.kprobe.json)!
    const sa = sockArg(m.kprobe.json)
    return {
      status: 'pass',
      message: `${b.function_name} ${name === 'curl' ? `${sa?.saddr}:${sa?.sport} -> ${sa?.daddr}:${sa?.dport}` : filePath(m.kprobe.json)} (policy ${b.policy_name ?? '?'}) after ${ms(m.kprobe.at - r.startedAt)}`,
      evidence: {function: b.function_name, policy: b.policy_name, ...(sa ? {daddr: sa.daddr, dport: sa.dport} : {path: filePath(m.kprobe.json)}), ...lat(r, m.kprobe)},
    }
  }
  return [
    ['grpc.whoami', execStep('whoami')],
    ['grpc.curl', execStep('curl')],
    ['grpc.connect', kprobeStep('grpc.connect', 'curl', coverage?.network, `tcp_connect kprobe to port ${port}${hostIp ? ` of ${hostIp}` : ''}`)],
    ['grpc.cat', execStep('cat')],
    ['grpc.file', kprobeStep('grpc.file', 'cat', coverage?.file, 'file kprobe on /etc/shadow')],
  ]
}
