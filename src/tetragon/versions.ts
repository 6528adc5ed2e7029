// Tetragon version facts: lenient version parsing, which RPCs / fields / metric names exist in which release.
// Pure data and functions (no grpc, no protobufjs): safe to import from checks.
// Sources: cilium/tetragon api/v1/tetragon/*.proto compared across tags v0.8.0 to v1.7.0 (RPCs, fields), the chart's
// install/kubernetes/tetragon/values.yaml per tag (export filters), contrib/upgrade-notes/v1.2.0.md, v1.3.0.md (metrics).

export interface TetragonVersion {
  major: number
  minor: number
  patch: number
  /** `pre.0-123-gabcdef`, `dirty` …: anything after the triple. */
  suffix?: string
  raw: string
}

/** `v1.7.0`, `1.7.0`, `v1.7.0-pre.0-123-gabcdef` (git describe at build time) → parts; undefined when unparsable. */
export function parseVersion(text: string): TetragonVersion | undefined {
  const m = /^\s*v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+](.*))?\s*$/.exec(text)
  if (!m) return undefined
  return {major: +m[1]!, minor: +m[2]!, patch: m[3] ? +m[3] : 0, ...(m[4] ? {suffix: m[4]} : {}), raw: text.trim()}
}

/**
 * Compare two versions. A `-pre`/`-rc` suffix sorts before its release; a git-describe suffix
 * (`v1.7.0-12-gabc`, commits after the tag) sorts after it.
 */
export function compareVersions(a: string | TetragonVersion, b: string | TetragonVersion): number {
  const va = typeof a === 'string' ? parseVersion(a) : a
  const vb = typeof b === 'string' ? parseVersion(b) : b
  if (!va || !vb) throw new Error(`cannot compare versions ${String(typeof a === 'string' ? a : a.raw)} and ${String(typeof b === 'string' ? b : b.raw)}`)
  const d = va.major - vb.major || va.minor - vb.minor || va.patch - vb.patch
  if (d !== 0) return d
  return rank(va) - rank(vb)
}

function rank(v: TetragonVersion): number {
  if (!v.suffix) return 0
  if (/^(pre|rc|alpha|beta)/i.test(v.suffix)) return -1
  return 1
}

/** version ≥ since (and < until when given). Unparsable versions count as the newest release. */
export function inRange(version: string, since: string, until?: string): boolean {
  if (!parseVersion(version)) return until === undefined
  return compareVersions(version, since) >= 0 && (until === undefined || compareVersions(version, until) < 0)
}

// ---- RPCs (sensors.proto) ----------------------------------------------------------------------------------

export const RPCS: Record<string, {since: string; removedIn?: string; note?: string}> = {
  GetEvents: {since: 'v0.8.0'},
  GetHealth: {since: 'v0.8.0'},
  AddTracingPolicy: {since: 'v0.8.0'},
  DeleteTracingPolicy: {since: 'v0.11.0'},
  ListTracingPolicies: {since: 'v0.9.0'},
  ConfigureTracingPolicy: {since: 'v1.4.0'},
  EnableTracingPolicy: {since: 'v1.0.0', note: 'v1.7.0 returns an error unless --enable-deprecated-tracingpolicy-grpc'},
  DisableTracingPolicy: {since: 'v1.0.0', note: 'v1.7.0 returns an error unless --enable-deprecated-tracingpolicy-grpc'},
  ListSensors: {since: 'v0.8.0', note: 'deprecated v1.2.0; always an error in v1.7.0'},
  EnableSensor: {since: 'v0.8.0', note: 'deprecated v1.2.0; always an error in v1.7.0'},
  DisableSensor: {since: 'v0.8.0', note: 'deprecated v1.2.0; always an error in v1.7.0'},
  RemoveSensor: {since: 'v0.8.0', note: 'deprecated v1.2.0; always an error in v1.7.0'},
  GetVersion: {since: 'v0.8.0'},
  GetInfo: {since: 'v1.7.0'},
  RuntimeHook: {since: 'v0.9.0'},
  GetDebug: {since: 'v1.2.0'},
  SetDebug: {since: 'v1.2.0'},
  GetStackTraceTree: {since: 'v0.8.0', removedIn: 'v1.7.0'},
  SetSensorConfig: {since: 'v0.8.0', removedIn: 'v0.11.0'},
  GetSensorConfig: {since: 'v0.8.0', removedIn: 'v0.11.0'},
}

export function hasRpc(version: string, rpc: string): boolean {
  const r = RPCS[rpc]
  return r !== undefined && inRange(version, r.since, r.removedIn)
}

/** GetEventsResponse / EventType numbering changed in v0.8.1; v0.8.0 is incompatible (other enum numbers, process_dns). */
export function hasLegacyEventNumbering(version: string): boolean {
  const v = parseVersion(version)
  return v !== undefined && compareVersions(v, 'v0.8.1') < 0
}

/**
 * Which proto decodes an agent's events (the ApiVariant names of src/tetragon/proto.ts, kept as plain strings so
 * this module stays free of protobufjs): v0.8.0 speaks its own API (single tetragon.proto, other numbering); before v1.1.0 Pod field 3 is
 * `labels` (repeated string), which the current proto would read as `uid` (number 3 reused in v1.6.0). An unknown version
 * is taken as the newest release.
 */
export function apiVariantFor(version: string | undefined): 'current' | 'v1.0' | 'v0.8.0' {
  if (version === undefined || !parseVersion(version)) return 'current'
  if (hasLegacyEventNumbering(version)) return 'v0.8.0'
  return inRange(version, 'v1.1.0') ? 'current' : 'v1.0'
}

// ---- Fields per release (the proto files per tag) -----------------------------------------------

/** message → field → first release. Fields not listed are as old as their message. */
export const FIELD_SINCE: Record<string, Record<string, string>> = {
  GetEventsResponse: {
    process_loader: 'v0.9.0', process_uprobe: 'v0.9.0', rate_limit_info: 'v0.10.0', process_throttle: 'v1.2.0',
    process_lsm: 'v1.2.0', process_usdt: 'v1.6.0', cluster_name: 'v1.3.0', node_labels: 'v1.5.0',
  },
  Process: {
    tid: 'v0.10.0', process_credentials: 'v1.0.0', binary_properties: 'v1.0.0', user: 'v1.1.1', in_init_tree: 'v1.3.0',
    environment_variables: 'v1.7.0',
  },
  Pod: {pod_labels: 'v0.8.1', workload: 'v0.11.0', workload_kind: 'v1.0.0', pod_annotations: 'v1.5.0', uid: 'v1.6.0'},
  Container: {security_context: 'v1.5.0'},
  ProcessExit: {time: 'v0.8.4', ancestors: 'v1.4.0'},
  ProcessKprobe: {
    policy_name: 'v1.0.0', kernel_stack_trace: 'v1.1.0', return_action: 'v1.1.0', message: 'v1.1.0', tags: 'v1.1.0',
    user_stack_trace: 'v1.1.0', ancestors: 'v1.4.0', data: 'v1.6.0',
  },
  ProcessTracepoint: {policy_name: 'v1.0.0', action: 'v1.0.0', message: 'v1.1.0', tags: 'v1.1.0', ancestors: 'v1.4.0'},
  ProcessUprobe: {
    policy_name: 'v1.0.0', message: 'v1.1.0', args: 'v1.1.0', tags: 'v1.1.0', ancestors: 'v1.4.0', offset: 'v1.5.0',
    ref_ctr_offset: 'v1.5.0', action: 'v1.6.0', data: 'v1.7.0',
  },
  ProcessLsm: {ancestors: 'v1.4.0', ima_hash: 'v1.3.0'},
  ProcessLoader: {parent: 'v1.7.0', ancestors: 'v1.7.0'},
  KprobeArgument: {
    long_arg: 'v0.8.1', bpf_attr_arg: 'v0.8.1', perf_event_arg: 'v0.8.1', bpf_map_arg: 'v0.8.3', uint_arg: 'v0.8.3',
    user_namespace_arg: 'v0.8.3', capability_arg: 'v0.8.3', label: 'v0.10.0', process_credentials_arg: 'v0.11.0',
    user_ns_arg: 'v0.11.0', module_arg: 'v1.0.0', kernel_cap_t_arg: 'v1.1.0', cap_inheritable_arg: 'v1.1.0',
    cap_permitted_arg: 'v1.1.0', cap_effective_arg: 'v1.1.0', linux_binprm_arg: 'v1.1.0', net_dev_arg: 'v1.1.0',
    bpf_cmd_arg: 'v1.3.0', syscall_id: 'v1.3.0', sockaddr_arg: 'v1.4.0', bpf_prog_arg: 'v1.6.0', error_arg: 'v1.7.0',
    sockaddrun_arg: 'v1.7.0',
  },
  KprobeSock: {cookie: 'v0.10.0', state: 'v0.11.0'},
  KprobeSkb: {protocol: 'v0.10.0', family: 'v0.11.0'},
  KprobePath: {permission: 'v1.1.0'},
  KprobeFile: {permission: 'v1.1.0'},
  StackTraceEntry: {module: 'v1.1.0'},
  BinaryProperties: {privileges_changed: 'v1.1.0', file: 'v1.1.0'},
  Filter: {
    pod_regex: 'v0.8.1', arguments_regex: 'v0.8.1', labels: 'v0.8.1', policy_names: 'v1.1.0', capabilities: 'v1.1.0',
    parent_binary_regex: 'v1.2.0', cel_expression: 'v1.3.0', parent_arguments_regex: 'v1.2.1', container_id: 'v1.3.0',
    in_init_tree: 'v1.3.0', ancestor_binary_regex: 'v1.4.0', container_name_regex: 'v1.6.0', namespace_regex: 'v1.7.0',
  },
  GetEventsRequest: {field_filters: 'v0.8.1'},
  FieldFilter: {invert_event_set: 'v0.8.4'},
  TracingPolicyStatus: {
    enabled: 'v1.0.0', filter_id: 'v1.0.0', error: 'v1.0.0', state: 'v1.1.0', kernel_memory_bytes: 'v1.3.0', mode: 'v1.4.0',
    stats: 'v1.6.0',
  },
  TracingPolicyActionCounters: {set: 'v1.7.0', monitor_set: 'v1.7.0'},
  DeleteTracingPolicyRequest: {namespace: 'v1.2.0'},
}

/** Message types introduced after v0.8.0 (events.proto, tetragon.proto per tag). */
export const MESSAGE_SINCE: Record<string, string> = {
  ProcessLoader: 'v0.9.0', ProcessUprobe: 'v0.9.0', RateLimitInfo: 'v0.10.0', ProcessThrottle: 'v1.2.0', ProcessLsm: 'v1.2.0',
  ProcessUsdt: 'v1.6.0', UserNamespace: 'v0.11.0', ProcessCredentials: 'v0.11.0', BinaryProperties: 'v1.0.0',
  UserRecord: 'v1.1.1', EnvVar: 'v1.7.0', TracingPolicyStatus: 'v0.9.0', GetInfoResponse: 'v1.7.0',
}

export function fieldExistsIn(version: string, message: string, field: string): boolean {
  const since = FIELD_SINCE[message]?.[field]
  return since === undefined || inRange(version, since)
}

/** Filter fields a `version` agent does not know and silently ignores (matching MORE events; Filter in events.proto). */
export function filterFieldsIgnoredBy(version: string, filter: Record<string, unknown>): string[] {
  return Object.keys(filter).filter((k) => !fieldExistsIn(version, 'Filter', k))
}

// ---- JSON export filters (chart values.yaml) -------------------------------------------------------------------

/** Helm default `tetragon.exportAllowList` for a chart/agent version (UPROBE from v0.10, TRACEPOINT v1.0, LSM v1.2). */
export function defaultExportAllowList(version: string): Array<{event_set: string[]}> {
  const set = ['PROCESS_EXEC', 'PROCESS_EXIT', 'PROCESS_KPROBE']
  if (inRange(version, 'v0.10.0')) set.push('PROCESS_UPROBE')
  if (inRange(version, 'v1.0.0')) set.push('PROCESS_TRACEPOINT')
  if (inRange(version, 'v1.2.0')) set.push('PROCESS_LSM')
  return [{event_set: set}]
}

/** Helm default `tetragon.exportDenyList`, unchanged since v0.8.0 (cilium/tetragon install/kubernetes/tetragon/values.yaml). */
export function defaultExportDenyList(): Array<{health_check: boolean} | {namespace: string[]}> {
  return [{health_check: true}, {namespace: ['', 'cilium', 'kube-system']}]
}

// ---- Metric names (pkg/metrics per tag, contrib/upgrade-notes) --------------------------------------------------------------------------

export interface LostEventMetricNames {
  perfLost: string
  perfReceived: string
  perfErrors: string
  queueLost?: string
  queueReceived?: string
  /** Kernel-side missed events (label msg_op, and error since v1.2.0). */
  bpfMissed?: string
  /** Per-listener (gRPC client / JSON exporter) overflow. Gauge before v0.11.0. */
  notifyOverflow?: string
  rateLimitDropped?: string
  eventsExported?: string
  eventsExportedBytes?: string
  lastExportedTimestamp?: string
}

export function lostEventMetricNames(version: string): LostEventMetricNames {
  if (!inRange(version, 'v0.8.1')) {
    // ≤ v0.8.0: prefix isovalent_ (cilium/tetragon v0.8.0 pkg/metrics/metrics.go)
    return {
      perfLost: 'isovalent_ringbuf_perf_event_lost',
      perfReceived: 'isovalent_ringbuf_perf_event_received',
      perfErrors: 'isovalent_ringbuf_perf_event_errors',
    }
  }
  if (!inRange(version, 'v0.11.0')) {
    return {
      perfLost: 'tetragon_ringbuf_perf_event_lost',
      perfReceived: 'tetragon_ringbuf_perf_event_received',
      perfErrors: 'tetragon_ringbuf_perf_event_errors',
      ...(inRange(version, 'v0.8.4') ? {notifyOverflow: 'tetragon_notify_overflowed_events'} : {}),
    }
  }
  const exported = inRange(version, 'v1.1.0')
    ? {
        eventsExported: 'tetragon_events_exported_total',
        eventsExportedBytes: 'tetragon_events_exported_bytes_total',
        lastExportedTimestamp: 'tetragon_events_last_exported_timestamp',
      }
    : {}
  if (!inRange(version, 'v1.2.0')) {
    return {
      perfLost: 'tetragon_ringbuf_perf_event_lost_total',
      perfReceived: 'tetragon_ringbuf_perf_event_received_total',
      perfErrors: 'tetragon_ringbuf_perf_event_errors_total',
      ...(inRange(version, 'v1.0.0')
        ? {queueLost: 'tetragon_ringbuf_queue_lost_total', queueReceived: 'tetragon_ringbuf_queue_received_total', rateLimitDropped: 'tetragon_ratelimit_dropped_total'}
        : {}),
      ...(inRange(version, 'v1.1.0', 'v1.2.0') ? {bpfMissed: 'tetragon_missed_events_total'} : {}),
      notifyOverflow: 'tetragon_notify_overflowed_events_total',
      ...exported,
    }
  }
  return {
    perfLost: 'tetragon_observer_ringbuf_events_lost_total',
    perfReceived: 'tetragon_observer_ringbuf_events_received_total',
    perfErrors: 'tetragon_observer_ringbuf_errors_total',
    queueLost: 'tetragon_observer_ringbuf_queue_events_lost_total',
    queueReceived: 'tetragon_observer_ringbuf_queue_events_received_total',
    bpfMissed: 'tetragon_bpf_missed_events_total',
    notifyOverflow: 'tetragon_notify_overflowed_events_total',
    // v1.2.x keeps the v1.0 name; renamed in v1.3.0 (cilium/tetragon contrib/upgrade-notes/v1.3.0.md).
    rateLimitDropped: inRange(version, 'v1.3.0') ? 'tetragon_export_ratelimit_events_dropped_total' : 'tetragon_ratelimit_dropped_total',
    ...exported,
  }
}
