// Trigger stage: the pod the probe commands run in (the one --pod names, or a probe pod in its own labelled
// namespace) and the commands themselves, each recorded as a step with what it printed reduced to a digest.
import {createHash} from 'node:crypto'

import {UserError} from '../../engine/errors.js'
import type {Outcome} from '../../engine/types.js'
import type {ProbeTarget, StageContext} from './context.js'
import {DEFAULT_IMAGE, MANAGED_BY, PROBE_CONTAINER, PROBE_POD, pickContainer, podUsable, probePod, runCommand, runMarker, type CommandRun} from './probe.js'
import type {CommandName} from './types.js'

/** The probe commands, in the order they run. */
export const COMMANDS: CommandName[] = ['whoami', 'curl', 'cat']

/** The pod given with --pod: checked before anything else runs (bad input, exit 2). */
export async function givenPod(sc: StageContext): Promise<ProbeTarget | undefined> {
  if (!sc.input.podRef) return undefined
  const {readPod} = await import('../../clients/kube-objects.js')
  const {namespace, name} = sc.input.podRef
  const pod = await readPod(sc.kube, namespace, name, sc.signal)
  if (!pod) throw new UserError(`Pod ${namespace}/${name} (--pod) does not exist.`, `kubectl get pods -n ${namespace}; or omit --pod to let validate create a probe pod.`)
  const container = pickContainer(pod, sc.flags.container)
  podUsable(pod, container)
  const at = {namespace, pod: name, container}
  await runMarker(sc.kube, at, sc.signal, true)
  Object.assign(sc.run, {namespace, pod: name, container, node: pod.spec?.nodeName, image: pod.spec?.containers?.find((c) => c.name === container)?.image})
  return at
}

/** Step probe.pod: the given pod, or a created probe pod once it runs; undefined when it never ran. */
export async function probePodStep(sc: StageContext, given: ProbeTarget | undefined, namespace: string): Promise<ProbeTarget | undefined> {
  const started = performance.now()
  let at = given
  if (!at) {
    const {createNamespace, createPod, waitForPodRunning, PodNotRunningError} = await import('../../clients/kube-objects.js')
    const labels = {...MANAGED_BY, 'tetractl.io/run-id': sc.runId, 'pod-security.kubernetes.io/enforce': 'baseline'}
    // Recorded before the request: if the answer is lost, cleanup still deletes it (a 404 is fine).
    sc.created = namespace
    sc.run.created = true
    sc.progress.waiting('trigger', `creating namespace ${namespace} and the probe pod`)
    await createNamespace(sc.kube, namespace, labels, sc.signal)
    await createPod(sc.kube, namespace, probePod({image: sc.input.image, runId: sc.runId, lifetimeS: sc.input.globalTimeoutMs / 1000 + 60}), sc.signal)
    sc.progress.waiting('trigger', `waiting for pod ${namespace}/${PROBE_POD} to run`, sc.input.podTimeoutMs)
    try {
      const pod = await waitForPodRunning(sc.kube, namespace, PROBE_POD, {timeoutMs: sc.input.podTimeoutMs, signal: sc.signal})
      at = {namespace, pod: PROBE_POD, container: PROBE_CONTAINER}
      Object.assign(sc.run, {namespace, pod: at.pod, container: at.container, node: pod.spec?.nodeName, image: sc.input.image})
    } catch (error) {
      if (sc.signal.aborted) throw error
      if (!(error instanceof PodNotRunningError)) throw error
      sc.record('probe.pod', {status: 'fail', message: error.message, hint: error.tryMessage}, performance.now() - started)
      return undefined
    }
  }
  const {run} = sc
  sc.record(
    'probe.pod',
    {
      status: 'pass',
      message: `${run.created ? 'created' : 'using'} ${at.namespace}/${at.pod} (container ${at.container}) on ${run.node}${run.created ? `, image ${run.image}` : ''}`,
      evidence: {namespace: at.namespace, pod: at.pod, container: at.container, node: run.node, image: run.image, created: run.created, labels: run.created ? MANAGED_BY : undefined},
    },
    performance.now() - started,
  )
  return at
}

/** Steps exec.whoami, exec.curl, exec.cat: each command through exec, one after the other. */
export async function runProbeCommands(sc: StageContext, at: ProbeTarget): Promise<Map<CommandName, CommandRun> | undefined> {
  const runs = new Map<CommandName, CommandRun>()
  for (const name of COMMANDS) {
    if (sc.signal.aborted) return undefined
    sc.progress.waiting('trigger', `running ${name} in ${at.namespace}/${at.pod}`)
    const r = await runCommand(sc.kube, at, name, sc.input.urlText, sc.signal)
    runs.set(name, r)
    sc.record(`exec.${name}`, execOutcome(r), r.endedAt - r.startedAt)
  }
  return sc.signal.aborted ? undefined : runs
}

function outputDigest(text: string, firstLine: boolean): {bytes: number; sha256: string; firstLine?: string} {
  return {bytes: Buffer.byteLength(text), sha256: createHash('sha256').update(text).digest('hex'), ...(firstLine && text ? {firstLine: text.split('\n')[0]!.slice(0, 200)} : {})}
}

export function execOutcome(r: CommandRun): Outcome {
  // What the command printed proves only that it ran and what it read: its size and digest, never the content (cat
  // prints /etc/shadow, of a real workload with --pod); whoami's one line is the user the step reports.
  const evidence = {argv: r.argv, exitCode: r.exitCode, startedAt: new Date(r.startedAt).toISOString(), endedAt: new Date(r.endedAt).toISOString(), durationMs: r.endedAt - r.startedAt, stdout: outputDigest(r.stdout, r.name === 'whoami'), stderr: outputDigest(r.stderr, true)}
  const cmd = r.argv.join(' ')
  if (r.error) return {status: 'fail', message: `${cmd}: ${r.error}`, hint: `Use a pod/image with sh, whoami, curl and cat (default ${DEFAULT_IMAGE}).`, evidence}
  const err = r.stderr.trim().split('\n')[0] ?? ''
  if (r.name === 'curl') {
    if (r.exitCode === 0) return {status: 'pass', message: `${cmd}: exit 0, ${Buffer.byteLength(r.stdout)} bytes`, evidence}
    // 6: could not resolve host (no connection attempted); 7: refused; 28: timed out (curl(1) EXIT CODES).
    if (r.exitCode === 7 || r.exitCode === 28) {
      return {status: 'warn', message: `${cmd}: exit ${r.exitCode} (${err || 'no answer'}); the connection was attempted, so a tcp_connect event is still expected`, hint: 'Use a --url reachable from the cluster (an in-cluster Service in air-gapped clusters).', evidence}
    }
    return {status: 'fail', message: `${cmd}: exit ${r.exitCode}${err ? ` (${err})` : ''}${r.exitCode === 6 ? '; no connection was attempted, so there is no tcp_connect event' : ''}`, hint: 'Use a --url the probe pod can resolve and reach (an in-cluster Service in air-gapped clusters).', evidence}
  }
  if (r.exitCode === 0) return {status: 'pass', message: `${cmd}: exit 0${r.name === 'whoami' ? `, ${r.stdout.trim().split('\n')[0]!.slice(0, 200) || '(no output)'}` : ''}`, evidence}
  return {
    status: 'fail',
    message: `${cmd}: exit ${r.exitCode}${err ? ` (${err})` : ''}`,
    hint: r.name === 'cat' ? 'The probe must run as root to read /etc/shadow (the read is what the file policy reports).' : undefined,
    evidence,
  }
}
