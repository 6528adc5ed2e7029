// Runs a Tetragon lab agent for each agent pod of the Kubernetes lab and wires it in the way the
// real DaemonSet is wired: the gRPC server on the node's network per the ConfigMap's server-address,
// the health server on :6789 and metrics on :2112 of the node IP (hostNetwork), every process a pod
// execs seen by its node's agent, and the JSON export handed to a shipper.
import {executableNotFound} from '../kube/exec.js'
import type {KubeLab} from '../kube/index.js'
import type {KObj, StoreEvent} from '../kube/store.js'
import type {LabSpec} from '../spec.js'
import {startTetragonAgent, type TetragonAgent} from './agent.js'
import {runTetra} from './tetra.js'

/** Above this many nodes, agents start on first contact instead of all at once. */
const EAGER_NODES = 10
const GRPC_HEALTH_PORT = 6789 // tetragon.healthGrpc.port (chart values.yaml)
const METRICS_PORT = 2112 // tetragon.prometheus.port (chart values.yaml)

export interface TetragonInCluster {
  agents: Map<string, TetragonAgent>
  /** Starts (if needed) and returns the agent of a node. */
  agent(nodeName: string): Promise<TetragonAgent | undefined>
  stop(): Promise<void>
}

const isAgentPod = (p: KObj) => p.metadata.labels?.['app.kubernetes.io/name'] === 'tetragon'
const podReady = (p: KObj) => (p.status?.conditions ?? []).some((c: {type: string; status: string}) => c.type === 'Ready' && c.status === 'True')
const filterLines = (text?: string) =>
  text === undefined
    ? undefined
    : text
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
        .map((l) => JSON.parse(l))

/**
 * The agent container's log as `kubectl logs -c tetragon` shows it (slog text format since v1.5.0):
 * the start-up lines, and the periodic "BPF events statistics" line that logStatus writes when the perf buffer's
 * lost counter increased (hourly check, cilium/tetragon v1.7.0 cmd/tetragon/main.go). The lab's dropped counters
 * stand for an agent that has run long enough for that check to have fired.
 */
export function agentLogLines(spec: LabSpec, serverAddress: string): string[] {
  const t = spec.tetragon
  const at = new Date().toISOString()
  const line = (level: string, msg: string, rest = '') => `time=${at} level=${level} msg="${msg}"${rest ? ` ${rest}` : ''}`
  const lines = [
    line('INFO', 'Starting tetragon', `version=${t.version}`),
    line('INFO', 'Loaded config from directory', 'config-dir=/etc/tetragon/tetragon.conf.d/'),
    line('INFO', 'Perf ring buffer size (bytes)', 'percpu=68K total=272K'),
    line('INFO', 'Events queue size (events)', 'size=65535'),
    line('INFO', 'Listening for events...'),
  ]
  if (serverAddress !== '') lines.push(line('INFO', 'Starting gRPC server', `protocol=${serverAddress.startsWith('unix://') ? 'unix' : 'tcp'} address=${serverAddress}`))
  lines.push(line('INFO', 'Starting gRPC health server', 'address=:6789 interval=10'), line('INFO', 'Starting metrics server', 'addr=:2112'))
  const lost = Number((t.dropped as Record<string, number> | undefined)?.perfLost ?? 0)
  if (lost > 0) {
    // "BPF events statistics: <received> received, <pct>% events loss"; `lost` is the perf LostSamples counter only.
    const received = lost * 10
    lines.push(line('INFO', `BPF events statistics: ${received} received, ${((lost / (received + lost)) * 100).toFixed(2)}% events loss`))
    lines.push(line('INFO', 'Observer events statistics', `received=${received} lost=${lost} errors=0 filterPass=${received} filterDrop=0`))
  }
  return lines
}

export async function attachTetragon(kube: KubeLab, spec: LabSpec, opts: {onExport?(line: string): void} = {}): Promise<TetragonInCluster> {
  const {store, network, exec, proxy} = kube
  const ns = spec.tetragon.namespace
  const agents = new Map<string, TetragonAgent>()
  const starting = new Map<string, Promise<TetragonAgent | undefined>>()
  const unregister = new Map<string, Array<() => void>>()
  let stopped = false

  const configMap = () => store.list('configmaps', ns).find((c) => c.metadata.name?.endsWith('-config') && c.data?.['server-address'] !== undefined)
  const podOn = (node: string) => store.list('pods', ns).find((p) => isAgentPod(p) && p.spec?.nodeName === node)

  async function start(node: string): Promise<TetragonAgent | undefined> {
    const pod = podOn(node)
    // A crash-looping agent container serves nothing.
    if (!pod || !podReady(pod) || stopped) return undefined
    const cm = configMap()
    const nodeIp = network.nodeIp(node)!
    const agent = await startTetragonAgent({
      version: spec.tetragon.version,
      nodeName: node,
      // The agent flag default applies when the ConfigMap has no key.
      serverAddress: cm?.data?.['server-address'] ?? 'localhost:54321',
      policies: spec.tetragon.policies,
      schemaDrift: spec.tetragon.schemaDrift,
      dropped: spec.tetragon.dropped,
      livenessFailing: spec.tetragon.livenessFailing,
      exportAllowList: filterLines(cm?.data?.['export-allowlist']) ?? spec.tetragon.exportAllowList,
      exportDenyList: filterLines(cm?.data?.['export-denylist']) ?? spec.tetragon.exportDenyList,
      backgroundIntervalMs: spec.nodes > EAGER_NODES ? 0 : 1000,
    })
    for (const tp of store.list('tracingpolicies')) agent.loadPolicyYaml(JSON.stringify(tp))
    for (const tp of store.list('tracingpoliciesnamespaced')) agent.loadPolicyYaml(JSON.stringify(tp))
    const undo: Array<() => void> = []
    const g = agent.grpc
    if (g && 'port' in g) {
      // hostNetwork: a loopback bind is the node's loopback, reachable by port-forward only.
      undo.push(network.listen(g.loopbackOnly ? `127.0.0.1@${node}` : nodeIp, g.configuredPort, {host: g.host, port: g.port}, {loopbackOnly: g.loopbackOnly}))
    }
    if (agent.healthPort) undo.push(network.listen(nodeIp, GRPC_HEALTH_PORT, {host: '127.0.0.1', port: agent.healthPort}))
    if (agent.metricsPort) undo.push(network.listen(nodeIp, METRICS_PORT, {host: '127.0.0.1', port: agent.metricsPort}))
    if (opts.onExport) undo.push(agent.onExport(opts.onExport))
    kube.logs.set(ns, pod.metadata.name!, 'tetragon', agentLogLines(spec, cm?.data?.['server-address'] ?? 'localhost:54321'))
    agents.set(node, agent)
    unregister.set(node, undo)
    return agent
  }

  function agent(node: string): Promise<TetragonAgent | undefined> {
    const running = agents.get(node)
    if (running) return Promise.resolve(running)
    let p = starting.get(node)
    if (!p) {
      p = start(node).finally(() => starting.delete(node))
      starting.set(node, p)
    }
    return p
  }

  async function stopAgent(node: string) {
    const a = agents.get(node)
    agents.delete(node)
    for (const u of unregister.get(node) ?? []) u()
    unregister.delete(node)
    await a?.stop()
  }

  const nodes = [...new Set(store.list('pods', ns).filter(isAgentPod).map((p) => p.spec?.nodeName as string))]
  await Promise.all(nodes.slice(0, EAGER_NODES).map((n) => agent(n)))

  // Large clusters: start an agent when something first dials its node's ports or scrapes it.
  const nodeByIp = new Map(nodes.map((n) => [network.nodeIp(n)!, n]))
  const undoIntercept = network.intercept(async (ip, port, from) => {
    // The node's IP, or localhost from a pod in the node's network namespace (a port-forward to a hostNetwork agent).
    const node = nodeByIp.get(ip) ?? (/^127\./.test(ip) && from?.spec?.hostNetwork ? (from.spec.nodeName as string | undefined) : undefined)
    if (!node || agents.has(node) || ![GRPC_HEALTH_PORT, METRICS_PORT, 54321].includes(port)) return undefined
    await agent(node)
    return undefined // fall through to the listeners the agent registered
  })
  const undoProxies = nodes.slice(EAGER_NODES).map((node) =>
    proxy.register(network.nodeIp(node)!, METRICS_PORT, async () => {
      const a = await agent(node)
      return a ? {status: 200, headers: {'content-type': 'text/plain; version=0.0.4'}, body: a.metricsText()} : {status: 503, body: 'agent not running'}
    }),
  )

  // /usr/bin/tetra ships in the agent image only: the tetragon container of an agent pod.
  const undoTetra = exec.register('tetra', async (ctx) => {
    const node = ctx.pod.spec?.nodeName
    const image = (ctx.pod.spec?.containers ?? []).find((c: {name: string}) => c.name === ctx.container)?.image as string | undefined
    if (!isAgentPod(ctx.pod) || !/\/cilium\/tetragon:/.test(image ?? '') || !node) throw executableNotFound(ctx.argv[0] ?? 'tetra')
    return runTetra(await agent(node), ctx.argv.slice(1))
  })

  // Every process a pod execs is seen by its node's agent.
  const undoObserve = exec.observe((ctx, result, startedAt) => {
    const node = ctx.pod.spec?.nodeName
    if (!node) return
    const container = (ctx.pod.spec?.containers ?? []).find((c: {name: string}) => c.name === ctx.container)
    void agent(node).then((a) =>
      a?.execInPod({
        namespace: ctx.namespace,
        podName: ctx.pod.metadata.name!,
        containerName: ctx.container,
        nodeName: node,
        argv: ctx.argv,
        startedAt,
        exitCode: result.exitCode,
        image: container?.image,
        podIp: ctx.pod.status?.podIP,
        podUid: ctx.pod.metadata.uid,
        labels: ctx.pod.metadata.labels,
        resolve: (host) => {
          const answer = kube.dns.resolve(host, ctx.pod)
          return answer.kind === 'ok' ? answer.ips[0] : undefined
        },
      }),
    )
  })

  // Configuration changes roll the agent pods (checksum/configmap annotation, chart templates/daemonset.yaml);
  // TracingPolicy resources are picked up by the running agents (enable-tracing-policy-crd).
  const onChange = (ev: StoreEvent) => {
    const res = ev.def.resource
    if (res === 'configmaps' && ev.object.metadata.namespace === ns && ev.object.metadata.name?.endsWith('-config')) {
      for (const node of [...agents.keys()]) void stopAgent(node).then(() => agent(node))
    } else if (res === 'pods' && isAgentPod(ev.object) && ev.object.metadata.namespace === ns) {
      const node = ev.object.spec?.nodeName
      if (node && ev.type !== 'DELETED' && podReady(ev.object) && !agents.has(node) && nodes.indexOf(node) < EAGER_NODES) void agent(node)
      if (node && (ev.type === 'DELETED' || !podReady(ev.object))) void stopAgent(node)
    } else if (res === 'tracingpolicies' || res === 'tracingpoliciesnamespaced') {
      for (const a of agents.values()) {
        if (ev.type === 'DELETED') a.unloadPolicy(ev.object.metadata.name!, ev.object.metadata.namespace)
        else a.loadPolicyYaml(JSON.stringify(ev.object))
      }
    }
  }
  store.on('change', onChange)

  return {
    agents,
    agent,
    async stop() {
      stopped = true
      store.off('change', onChange)
      undoObserve()
      undoTetra()
      undoIntercept()
      for (const u of undoProxies) u()
      await Promise.all([...starting.values()])
      await Promise.all([...agents.keys()].map(stopAgent))
    },
  }
}
