// The result model of `tetractl validate`: the doctor's CheckResult plus the stage each step belongs to, so one
// finish sequence (src/report/finish.ts) serves both commands.
import type {CheckResult, Layer, Outcome, Report} from '../../engine/types.js'

export type {ValidateFlags} from '../../flags.js'

export type Stage = 'preflight' | 'trigger' | 'tetragon' | 'elasticsearch' | 'cleanup'

export const STAGES: readonly Stage[] = ['preflight', 'trigger', 'tetragon', 'elasticsearch', 'cleanup']

export const STAGE_TITLE: Record<Stage, string> = {
  preflight: 'Preflight (doctor checks)',
  trigger: 'Trigger (exec in the probe pod)',
  tetragon: 'Tetragon (gRPC event stream of the probe node\'s agent)',
  elasticsearch: 'Elasticsearch (documents of the events)',
  cleanup: 'Cleanup',
}

/** Short stage names for the live view's spinner line. */
export const STAGE_SHORT: Record<Stage, string> = {
  preflight: 'Preflight',
  trigger: 'Trigger',
  tetragon: 'gRPC',
  elasticsearch: 'Elasticsearch',
  cleanup: 'Cleanup',
}

export interface StepResult extends CheckResult {
  stage: Stage
}

/** The probe commands, in the order they run: whoami needs no policy, curl and cat need a kprobe policy. */
export type CommandName = 'whoami' | 'curl' | 'cat'

export interface StepDef {
  id: string
  stage: Stage
  layer: Layer
  title: string
}

/** Every step after preflight, in report order. Ids are a public contract (CI greps them). */
export const STEPS: StepDef[] = [
  {id: 'probe.pod', stage: 'trigger', layer: 'kubernetes', title: 'Probe pod running (created, or the one given with --pod)'},
  {id: 'exec.whoami', stage: 'trigger', layer: 'kubernetes', title: 'whoami ran in the probe pod'},
  {id: 'exec.curl', stage: 'trigger', layer: 'kubernetes', title: 'curl -sS -m 5 <url> ran in the probe pod'},
  {id: 'exec.cat', stage: 'trigger', layer: 'kubernetes', title: 'cat /etc/shadow ran in the probe pod'},
  {id: 'grpc.whoami', stage: 'tetragon', layer: 'tetragon', title: 'process_exec of whoami on the gRPC stream'},
  {id: 'grpc.curl', stage: 'tetragon', layer: 'tetragon', title: 'process_exec of curl on the gRPC stream'},
  {id: 'grpc.connect', stage: 'tetragon', layer: 'tetragon', title: 'tcp_connect kprobe of curl to the URL on the gRPC stream'},
  {id: 'grpc.cat', stage: 'tetragon', layer: 'tetragon', title: 'process_exec of cat on the gRPC stream'},
  {id: 'grpc.file', stage: 'tetragon', layer: 'tetragon', title: 'file kprobe of cat on /etc/shadow on the gRPC stream'},
  {id: 'doc.whoami', stage: 'elasticsearch', layer: 'elastic', title: 'whoami exec document searchable, fields per profile'},
  {id: 'doc.curl', stage: 'elasticsearch', layer: 'elastic', title: 'curl exec document searchable, fields per profile'},
  {id: 'doc.connect', stage: 'elasticsearch', layer: 'elastic', title: 'tcp_connect document searchable with the destination IP'},
  {id: 'doc.cat', stage: 'elasticsearch', layer: 'elastic', title: 'cat exec document searchable, fields per profile'},
  {id: 'doc.file', stage: 'elasticsearch', layer: 'elastic', title: '/etc/shadow read document searchable'},
  {id: 'probe.cleanup', stage: 'cleanup', layer: 'kubernetes', title: 'Objects validate created are deleted'},
]

export const stepDef = (id: string): StepDef => {
  const d = STEPS.find((s) => s.id === id)
  if (!d) throw new Error(`unknown validate step ${id}`)
  return d
}

export function stepResult(id: string, outcome: Outcome, durationMs = 0): StepResult {
  const d = stepDef(id)
  return {id, layer: d.layer, title: d.title, stage: d.stage, durationMs: Math.round(durationMs), ...outcome}
}

export interface ValidateRun {
  id: string
  /** Where the probe ran. */
  namespace?: string
  pod?: string
  container?: string
  node?: string
  image?: string
  /** validate created the namespace and pod (false with --pod). */
  created: boolean
  kept: boolean
  url: string
  profile?: 'seed' | 'package'
  dataset?: string
  /** The agent whose stream was read (`namespace/pod`). */
  agent?: string
}

/** Doctor's report with validate's steps (check results with a stage) and where the probe ran. */
export interface ValidateReport extends Report {
  run: ValidateRun
  checks: StepResult[]
}
