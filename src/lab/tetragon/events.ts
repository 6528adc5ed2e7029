// What a Tetragon agent emits for a process run in a pod (cilium/tetragon api/v1/tetragon/tetragon.proto, pkg/grpc/tracing/tracing.go): process_exec
// and process_exit always, process_kprobe only when a loaded policy hooks the call.
// Events are built in the JSON export form of the current (v1.7.0) proto; the agent strips what its version lacks.

import {createHash, randomBytes} from 'node:crypto'
import type {JsonObject} from '../../tetragon/json.js'
import {dateToTimestampJson} from '../../tetragon/json.js'
import {hookFires, type LabPolicy} from './policies.js'

export interface ExecInPodInfo {
  namespace: string
  podName: string
  containerName: string
  /** Node the pod runs on; only that node's agent sees the process. */
  nodeName: string
  /** e.g. ['whoami'], ['curl', 'http://example.com'], ['cat', '/etc/shadow'], ['sh', '-c', 'cat /etc/shadow'] */
  argv: string[]
  startedAt?: Date
  exitCode?: number
  image?: string
  /** 64 hex digits; derived from namespace/pod/container when omitted. */
  containerId?: string
  podIp?: string
  podUid?: string
  labels?: Record<string, string>
  workload?: string
  workloadKind?: string
  /** Resolve a host name for curl's tcp_connect daddr (default: a stable lab address in 10.96.0.0/12). */
  resolve?: (host: string) => string | undefined
}

// Where binaries live in the images of the upstream docs: /usr/bin/curl, /usr/bin/whoami (test fixtures),
// /bin/cat and /bin/bash.
const BIN: Record<string, string> = {
  curl: '/usr/bin/curl', whoami: '/usr/bin/whoami', cat: '/bin/cat', sh: '/bin/sh', bash: '/bin/bash', ls: '/bin/ls',
  id: '/usr/bin/id', wget: '/usr/bin/wget', nc: '/usr/bin/nc', python3: '/usr/bin/python3',
}

export function binaryPath(cmd: string): string {
  return cmd.startsWith('/') ? cmd : (BIN[cmd] ?? `/usr/bin/${cmd}`)
}

/** Tetragon quotes arguments containing spaces: `-c "curl https://…"` (fixture process_exec.jsonl line 1). */
export function joinArguments(args: string[]): string {
  return args.map((a) => (/\s/.test(a) ? `"${a.replace(/"/g, '\\"')}"` : a)).join(' ')
}

function hash(text: string, bytes = 32): string {
  return createHash('sha256').update(text).digest('hex').slice(0, bytes * 2)
}

function ipFrom(text: string, prefix: [number, number]): string {
  const h = createHash('sha256').update(text).digest()
  return `${prefix[0]}.${prefix[1] + (h[0]! & 0x0f)}.${h[1]! % 254}.${1 + (h[2]! % 253)}`
}

/** Per-node process bookkeeping: pids and boot-relative ktime for exec_id. */
export class ProcessTable {
  private nextPid = 40_000 + Math.floor(Math.random() * 10_000)
  readonly bootMs = Date.now() - 3_600_000 - Math.floor(Math.random() * 86_400_000)
  constructor(readonly nodeName: string) {}

  pid(): number {
    return this.nextPid++
  }

  /** exec_id = base64("<node_name>:<ktime_ns>:<pid>") (cilium/tetragon v1.7.0 pkg/process/process_id_linux.go). */
  execId(at: Date, pid: number): string {
    const ktimeNs = BigInt(Math.max(1, at.getTime() - this.bootMs)) * 1_000_000n + BigInt(pid % 1_000_000)
    return Buffer.from(`${this.nodeName}:${ktimeNs}:${pid}`).toString('base64')
  }
}

interface Built {
  /** Events in emission order. */
  events: JsonObject[]
  /** Policies that posted events (for their stats). */
  posted: LabPolicy[]
}

export function buildExecInPod(info: ExecInPodInfo, table: ProcessTable, policies: LabPolicy[]): Built {
  const events: JsonObject[] = []
  const posted: LabPolicy[] = []
  const t0 = info.startedAt ?? new Date()
  const at = (ms: number) => new Date(t0.getTime() + ms)
  const cid = info.containerId ?? hash(`${info.namespace}/${info.podName}/${info.containerName}`)
  const image = info.image ?? 'docker.io/library/busybox:latest'
  const containerStart = new Date(Math.floor((t0.getTime() - 600_000) / 1000) * 1000)
  const pod: JsonObject = {
    namespace: info.namespace,
    name: info.podName,
    ...(info.podUid ? {uid: info.podUid} : {}),
    container: {
      id: `containerd://${cid}`,
      name: info.containerName,
      image: {id: `${image.replace(/:[^:/]+$/, '')}@sha256:${hash(image)}`, name: image},
      start_time: dateToTimestampJson(containerStart),
      pid: 1,
    },
    ...(info.labels && Object.keys(info.labels).length > 0 ? {pod_labels: info.labels} : {}),
    workload: info.workload ?? info.podName,
    workload_kind: info.workloadKind ?? 'Pod',
  }
  const docker = cid.slice(0, 31) // Process.docker: container ID prefix, 31 characters in samples

  // The container's runtime shim: a host process (no pod), found in /proc when the agent started.
  const shimPid = 1000 + (parseInt(cid.slice(0, 4), 16) % 30_000)
  const shim: JsonObject = {
    exec_id: table.execId(containerStart, shimPid),
    pid: shimPid,
    uid: 0,
    cwd: `/run/containerd/io.containerd.runtime.v2.task/k8s.io/${cid}`,
    binary: '/usr/bin/containerd-shim-runc-v2',
    arguments: `-namespace k8s.io -id ${cid} -address /run/containerd/containerd.sock`,
    flags: 'procFS auid',
    start_time: dateToTimestampJson(containerStart),
    auid: 4294967295,
    parent_exec_id: table.execId(new Date(table.bootMs), 1),
    tid: shimPid,
  }

  const mkProcess = (argv: string[], parent: JsonObject, start: Date): JsonObject => {
    const pid = table.pid()
    return {
      exec_id: table.execId(start, pid),
      pid,
      uid: 0,
      cwd: '/',
      binary: binaryPath(argv[0]!),
      ...(argv.length > 1 ? {arguments: joinArguments(argv.slice(1))} : {}),
      flags: 'execve rootcwd clone',
      start_time: dateToTimestampJson(start),
      auid: 4294967295,
      pod,
      docker,
      parent_exec_id: parent.exec_id!,
      tid: pid,
    }
  }
  const exec = (process: JsonObject, parent: JsonObject, t: Date): JsonObject => ({
    process_exec: {process, parent},
    time: dateToTimestampJson(t),
  })
  const exit = (process: JsonObject, parent: JsonObject, t: Date, status: number): JsonObject => ({
    process_exit: {process, parent, ...(status ? {status} : {}), time: dateToTimestampJson(t)},
    time: dateToTimestampJson(t),
  })
  const kprobe = (process: JsonObject, parent: JsonObject, policy: LabPolicy, fn: string, body: JsonObject, t: Date): JsonObject => {
    posted.push(policy)
    return {
      process_kprobe: {
        process, parent, function_name: fn, ...body, action: 'KPROBE_ACTION_POST', policy_name: policy.name,
        return_action: 'KPROBE_ACTION_POST',
      },
      time: dateToTimestampJson(t),
    }
  }
  const firing = (call: string, args: Array<string | number>) => policies.find((p) => hookFires(p, call, args, info.namespace))

  let outer: {process: JsonObject; parent: JsonObject} | undefined
  let argv = info.argv
  let parent = shim
  let t = 0
  const exitCode = info.exitCode ?? 0
  if ((argv[0] === 'sh' || argv[0] === 'bash' || argv[0] === '/bin/sh' || argv[0] === '/bin/bash') && argv[1] === '-c' && argv[2]) {
    // `kubectl exec … -- bash -c "cat /etc/shadow"`: the shell, then the command.
    const sh = mkProcess(argv, shim, at(0))
    events.push(exec(sh, shim, at(0)))
    outer = {process: sh, parent: shim}
    parent = sh
    argv = argv[2].trim().split(/\s+/)
    t = 2
  }
  const proc = mkProcess(argv, parent, at(t))
  events.push(exec(proc, parent, at(t)))
  const cmd = argv[0]!.split('/').pop()!

  // curl exit 6 / wget exit 4: name resolution or network failure → no connect.
  if ((cmd === 'curl' && exitCode !== 6) || (cmd === 'wget' && exitCode !== 4)) {
    // The URL is the first operand; options that take a value (curl(1): -m/--max-time, -o, -H, -d, -X, -u, -A, -w,
    // --connect-timeout; wget(1): -O, -T) are skipped with it, so `curl -sS -m 5 <url>` connects to <url>, not to "5".
    const takesValue = new Set(['-m', '--max-time', '-o', '--output', '-H', '--header', '-d', '--data', '-X', '--request', '-u', '--user', '-A', '--user-agent', '-w', '--write-out', '--connect-timeout', ...(cmd === 'wget' ? ['-O', '-T'] : [])])
    let url: string | undefined
    for (let i = 1; i < argv.length && url === undefined; i++) {
      if (takesValue.has(argv[i]!)) i++
      else if (!argv[i]!.startsWith('-')) url = argv[i]
    }
    if (url) {
      let u: URL | undefined
      try {
        u = new URL(/^[a-z]+:\/\//i.test(url) ? url : `http://${url}`)
      } catch {
        u = undefined
      }
      if (u) {
        const host = u.hostname.replace(/^\[|\]$/g, '')
        const dport = u.port ? +u.port : u.protocol === 'https:' ? 443 : 80
        const daddr = /^[\d.]+$/.test(host) || host.includes(':') ? host : (info.resolve?.(host) ?? ipFrom(host, [10, 96]))
        const saddr = info.podIp ?? ipFrom(`${info.namespace}/${info.podName}`, [10, 244])
        const sport = 32768 + (parseInt(hash(`${proc.exec_id}`).slice(0, 4), 16) % 28000)
        const cookie = BigInt('0x' + randomBytes(8).toString('hex')).toString()
        const family = daddr.includes(':') ? 'AF_INET6' : 'AF_INET'
        const sock = (state: string): JsonObject => ({
          // KprobeSock mapping: symbolic family/type/protocol/state; mark/priority 0 are omitted.
          sock_arg: {family, type: 'SOCK_STREAM', protocol: 'IPPROTO_TCP', saddr, daddr, sport, dport, cookie, state},
        })
        const connect = firing('tcp_connect', [daddr])
        if (connect) events.push(kprobe(proc, parent, connect, 'tcp_connect', {args: [sock('TCP_SYN_SENT')]}, at(t + 1)))
        if (exitCode !== 7 /* curl: failed to connect */) {
          const request = `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n`
          const send = firing('tcp_sendmsg', [daddr, 0, request.length])
          if (send) events.push(kprobe(proc, parent, send, 'tcp_sendmsg', {args: [sock('TCP_ESTABLISHED'), {int_arg: request.length}]}, at(t + 2)))
        }
        const close = firing('tcp_close', [daddr])
        if (close) events.push(kprobe(proc, parent, close, 'tcp_close', {args: [sock(exitCode === 7 ? 'TCP_SYN_SENT' : 'TCP_ESTABLISHED')]}, at(t + 3)))
      }
    }
  }
  if (cmd === 'cat') {
    for (const file of argv.slice(1).filter((a) => !a.startsWith('-'))) {
      // security_file_permission(file, MAY_READ=4); return 0 when allowed.
      const policy = firing('security_file_permission', [file, 4])
      if (!policy) continue
      const permission = file === '/etc/shadow' ? '-rw-r-----' : '-rw-r--r--'
      events.push(
        kprobe(proc, parent, policy, 'security_file_permission', {args: [{file_arg: {path: file, permission}}, {int_arg: 4}], return: {int_arg: 0}}, at(t + 1)),
      )
    }
  }

  events.push(exit(proc, parent, at(t + 8), exitCode))
  if (outer) events.push(exit(outer.process, outer.parent, at(t + 10), exitCode))
  return {events, posted}
}
