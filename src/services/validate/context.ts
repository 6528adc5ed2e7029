// What every validate stage shares: the parsed inputs, the clients, one abort signal (interrupts and the global
// --timeout), where the probe runs, and the steps recorded so far. Stages are small functions over this context
// (as cilium-cli's connectivity test runs actions over a shared test context): each records its steps as it goes.
import type {CheckContext} from '../../checks/context.js'
import type {KubeClient} from '../../clients/kube.js'
import {UserError} from '../../engine/errors.js'
import type {Outcome} from '../../engine/types.js'
import type {StageProgress} from './live.js'
import {DEFAULT_IMAGE, parsePodRef, validateUrl} from './probe.js'
import type {StepResult, ValidateFlags, ValidateRun} from './types.js'

export interface Inputs {
  url: URL
  /** The URL as given (what curl runs with). */
  urlText: string
  podRef?: {namespace: string; name: string}
  image: string
  globalTimeoutMs: number
  esTimeoutMs: number
  eventTimeoutMs: number
  podTimeoutMs: number
  requestTimeoutMs: number
  grpcTimeoutMs: number
}

/** Every flag checked before anything touches the network: bad input is a one-line error, exit 2. */
export function parseInputs(flags: ValidateFlags): Inputs {
  // Durations arrive in milliseconds, already bounded by their flag type (src/flags.ts durationFlag).
  const globalTimeoutMs = flags.timeout
  const esTimeoutMs = flags['es-timeout']
  const eventTimeoutMs = flags['event-timeout']
  const podTimeoutMs = flags['pod-timeout']
  const grpcTimeoutMs = flags['grpc-timeout']
  const requestTimeoutMs = Math.min(flags['request-timeout'], Math.max(500, globalTimeoutMs - 1000))
  const url = validateUrl(flags.url)
  const podRef = flags.pod !== undefined ? parsePodRef(flags.pod) : undefined
  const image = flags.image.trim()
  if (!image || /\s/.test(image)) throw new UserError(`--image must be an image reference, not "${flags.image}".`, `Example: --image ${DEFAULT_IMAGE}`)
  if (flags.pod !== undefined && flags.image !== DEFAULT_IMAGE) throw new UserError('--image and --pod exclude each other: --pod uses the image of the pod you name.', 'Drop one of them.')
  return {url, urlText: flags.url.trim(), podRef, image, globalTimeoutMs, esTimeoutMs, eventTimeoutMs, podTimeoutMs, requestTimeoutMs, grpcTimeoutMs}
}

/** Where the probe commands run. */
export interface ProbeTarget {
  namespace: string
  pod: string
  container: string
}

export interface StageContext {
  flags: ValidateFlags
  input: Inputs
  runId: string
  kube: KubeClient
  /** Doctor's check context: the memoised cluster and Elastic facts validate reads as the checks do. */
  checks: CheckContext
  /** Aborted on SIGINT/SIGTERM/SIGHUP and at the global --timeout. */
  signal: AbortSignal
  /** Aborted on SIGINT/SIGTERM/SIGHUP only (the preflight runner has its own global timeout). */
  interrupts: AbortSignal
  /** Ends the run as the global --timeout does (the preflight runner reached it first). */
  timedOut(): void
  /** Milliseconds left before the global --timeout. */
  remaining(): number
  run: ValidateRun
  /** The namespace validate created (set before the create request, so cleanup deletes it even if the answer is lost). */
  created?: string
  steps: StepResult[]
  /** Records one step (its definition gives the title, layer and stage). */
  record(id: string, outcome: Outcome, durationMs?: number): void
  /** Runs at the end of every path, last registered first. */
  onClose(fn: () => unknown): void
  progress: StageProgress
}

export const ms = (n: number) => (n < 1000 ? `${Math.round(n)} ms` : `${(n / 1000).toFixed(1)} s`)
