// Reaching the agent that observes the probe: the ready Tetragon pod on the probe's node, port-forwarded to its
// gRPC server (or the agent --tetragon-address names), and the GetEvents subscription on it. Kept as one function:
// it is the piece a shared "reach an agent" domain module replaces.
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
  const {flags, run, kube, signal: abort} = sc
  const ctx = sc.checks
  const {connectTetragon} = await import('../../clients/tetragon.js')
  try {
    let address: string
    let agent: string
    if (flags['tetragon-address']) {
      address = flags['tetragon-address']
      agent = address
    } else {
      const [install, pods, addr] = await Promise.all([tetragonInstall(ctx, abort), tetragonPods(ctx, abort), serverAddress(ctx, abort)])
      const onNode = pods.find((p) => p.node === run.node && p.ready)
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
      const forward = await kube.portForward(install.namespace, onNode.name, addr.port ?? 54321)
      sc.onClose(() => forward.close())
      address = `${forward.host}:${forward.port}`
      agent = `${install.namespace}/${onNode.name}`
    }
    const client = connectTetragon({address}, {timeoutMs: sc.input.grpcTimeoutMs})
    sc.onClose(() => client.close())
    run.agent = agent
    const sub = subscribe(client, at.namespace, at.pod, abort)
    sc.onClose(() => sub.close())
    return {client, agent, sub}
  } catch (error) {
    if (abort.aborted) throw error
    return {problem: {status: 'fail', message: `cannot open the event stream: ${redact((error as Error).message.split('\n')[0]!)}`, hint: error instanceof UserError ? error.tryMessage : undefined}}
  }
}
