// Reaching the agent that observes the probe: the ready Tetragon pod on the probe's node (or the agent
// --tetragon-address names), through the cluster domain's one way to an agent, and the GetEvents subscription on it.
import {pickReadyAgent, podAccess, tetragonAccess, type TetragonAccess} from '../../cluster/agents.js'
import {tetragonInstall, tetragonPods} from '../../cluster/facts.js'
import {serverAddress} from '../../cluster/server-address.js'
import type {TetragonClient} from '../../clients/tetragon.js'
import {redact, UserError} from '../../engine/errors.js'
import type {Outcome} from '../../engine/types.js'
import type {ProbeTarget, StageContext} from './context.js'
import {subscribe, type Subscription} from './stream.js'

export interface AgentStream {
  client?: TetragonClient
  /** Why there is no stream (reported on every gRPC step). */
  problem?: Outcome
  /** The agent whose stream is read (`namespace/pod`, or the address given). */
  agent?: string
  sub?: Subscription
}

export async function openAgentStream(sc: StageContext, at: Pick<ProbeTarget, 'namespace' | 'pod'>): Promise<AgentStream> {
  const {flags, run, signal: abort} = sc
  const ctx = sc.checks
  try {
    let access: TetragonAccess
    if (flags['tetragon-address']) {
      access = await tetragonAccess(ctx, abort)
    } else {
      const [install, pods, addr] = await Promise.all([tetragonInstall(ctx, abort), tetragonPods(ctx, abort), serverAddress(ctx, abort)])
      // The agent on the probe's node is the one that observes it.
      const onNode = pickReadyAgent(pods.filter((p) => p.node === run.node))
      if (!onNode) {
        return {problem: {status: 'fail', message: `no ready Tetragon agent pod on node ${run.node}, so nothing observes the probe pod`, hint: `kubectl -n ${install.namespace} get pods -l app.kubernetes.io/name=tetragon -o wide`}}
      }
      if (addr.kind === 'disabled' || addr.kind === 'unix') {
        return {
          problem: {
            status: 'fail',
            message: `the agent's gRPC server is ${addr.kind === 'disabled' ? 'disabled' : `a unix socket (${addr.socketPath})`} (${addr.source}), which a port-forward cannot reach`,
            hint: `helm upgrade tetragon cilium/tetragon -n ${install.namespace} --reuse-values --set tetragon.grpc.enabled=true --set tetragon.grpc.address=localhost:54321`,
          },
        }
      }
      access = await podAccess(ctx, onNode, abort)
    }
    run.agent = access.target
    const sub = subscribe(access.client, at.namespace, at.pod, abort)
    sc.onClose(() => sub.close())
    return {client: access.client, agent: access.target, sub}
  } catch (error) {
    if (abort.aborted) throw error
    return {problem: {status: 'fail', message: `cannot open the event stream: ${redact((error as Error).message.split('\n')[0]!)}`, hint: error instanceof UserError ? error.tryMessage : undefined}}
  }
}
