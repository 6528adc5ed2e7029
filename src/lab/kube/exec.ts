import {type Dns, resolvConf} from './dns.js'
import {isIPv4} from './ip.js'
import {type Network, dialTarget} from './network.js'
import type {KObj, Store} from './store.js'

// A small command emulator behind pods/exec. Other labs extend it with `register`.

export interface ExecContext {
  namespace: string
  /** The pod object. */
  pod: KObj
  container: string
  argv: string[]
  /** The node the pod runs on. */
  node: KObj | undefined
}

export interface ExecResult {
  stdout?: string
  stderr?: string
  exitCode: number
}

export type ExecHandler = (ctx: ExecContext) => ExecResult | Promise<ExecResult>

/** The container runtime could not start the process (exec.go: error from the OCI runtime). */
export class ExecStartError extends Error {}

/**
 * runc's error for an executable the container does not have: `exec: "<bin>": executable file not found in $PATH`, or
 * for a path `exec: "<path>": stat <path>: no such file or directory`. containerd and CRI-O report it as an exec start
 * failure, never as exit code 127 (containerd/containerd#3597, nigelpoulton/TheK8sBook#30); streams.ts sends it as an
 * InternalError Status. Handlers of binaries only some images have throw it for the others.
 */
export function executableNotFound(bin: string): ExecStartError {
  return new ExecStartError(bin.includes('/') ? `exec: "${bin}": stat ${bin}: no such file or directory` : `exec: "${bin}": executable file not found in $PATH`)
}

const basename = (p: string) => p.slice(p.lastIndexOf('/') + 1)

/**
 * Images that hold their own binary and nothing else: no shell, no coreutils. CoreDNS builds on
 * gcr.io/distroless/static (coredns/coredns Dockerfile `ARG BASE=gcr.io/distroless/static-debian12:nonroot`),
 * the pause image is `FROM scratch` (kubernetes build/pause/Dockerfile), distroless images ship no shell
 * (GoogleContainerTools/distroless README). Every other image is assumed to carry the emulated binaries.
 */
const SHELL_LESS_IMAGES = [/^(registry\.k8s\.io|k8s\.gcr\.io)\/coredns\//, /^(registry\.k8s\.io|k8s\.gcr\.io)\/pause:/, /^gcr\.io\/distroless\//]

/**
 * BusyBox images: one multi-call binary with its applets; there is no `getent` applet (a glibc NSS tool) and no
 * `bash` (defconfig BASH_IS_NONE), while `nslookup` is one (busybox.net BusyBox.html applet list).
 */
const BUSYBOX_IMAGE = /^(docker\.io\/)?(library\/)?busybox(:|@|$)/
const NOT_IN_BUSYBOX = new Set(['getent', 'bash'])

function imageOf(ctx: ExecContext): string {
  return ((ctx.pod.spec?.containers ?? []).find((c: {name: string}) => c.name === ctx.container)?.image as string | undefined) ?? ''
}

/** Splits a POSIX shell word list (quotes and backslashes); operators come back as tokens. */
export function shellSplit(cmd: string): string[] {
  const out: string[] = []
  let cur = ''
  let has = false
  let i = 0
  while (i < cmd.length) {
    const c = cmd[i]!
    if (c === "'") {
      const j = cmd.indexOf("'", i + 1)
      cur += cmd.slice(i + 1, j < 0 ? undefined : j)
      has = true
      i = j < 0 ? cmd.length : j + 1
    } else if (c === '"') {
      i++
      while (i < cmd.length && cmd[i] !== '"') {
        if (cmd[i] === '\\' && i + 1 < cmd.length && '"\\$`'.includes(cmd[i + 1]!)) i++
        cur += cmd[i]
        i++
      }
      i++
      has = true
    } else if (c === '\\' && i + 1 < cmd.length) {
      cur += cmd[i + 1]
      has = true
      i += 2
    } else if (c === ' ' || c === '\t' || c === '\n') {
      if (has) out.push(cur)
      cur = ''
      has = false
      i++
    } else if (c === ';' || c === '|' || c === '&') {
      if (has) out.push(cur)
      cur = ''
      has = false
      const two = cmd.slice(i, i + 2)
      if (two === '&&' || two === '||') {
        out.push(two)
        i += 2
      } else {
        out.push(c)
        i++
      }
    } else {
      cur += c
      has = true
      i++
    }
  }
  if (has) out.push(cur)
  return out
}

/** Sees every process a top-level exec started (what an eBPF sensor on the node would see). */
export type ExecObserver = (ctx: ExecContext, result: ExecResult, startedAt: Date) => void

export class ExecRegistry {
  private readonly handlers = new Map<string, ExecHandler>()
  private readonly observers = new Set<ExecObserver>()
  private readonly files = new Map<string, string | ((ctx: ExecContext) => string)>()

  constructor(
    private readonly store: Store,
    private readonly dns: Dns,
    private readonly network: Network,
  ) {
    this.installBuiltins()
  }

  /** Adds or replaces a binary (by name, e.g. `tetra`, or full path). */
  register(binary: string, handler: ExecHandler): () => void {
    this.handlers.set(binary, handler)
    return () => {
      if (this.handlers.get(binary) === handler) this.handlers.delete(binary)
    }
  }

  observe(fn: ExecObserver): () => void {
    this.observers.add(fn)
    return () => this.observers.delete(fn)
  }

  /** Runs an exec session's command and tells the observers (a runtime start failure starts no process). */
  async runObserved(ctx: ExecContext): Promise<ExecResult> {
    const startedAt = new Date()
    const result = await this.run(ctx)
    for (const fn of this.observers) fn(ctx, result, startedAt)
    return result
  }

  /** Adds a file visible to `cat` in one pod (`ns/pod`), or in every pod with `*`. */
  setFile(scope: string, path: string, content: string | ((ctx: ExecContext) => string)): void {
    this.files.set(`${scope}:${path}`, content)
  }

  private lookup(bin: string): ExecHandler | undefined {
    return this.handlers.get(bin) ?? this.handlers.get(basename(bin))
  }

  /** The binary as the container's image has it (undefined: not in that image). */
  private lookupIn(ctx: ExecContext, bin: string): ExecHandler | undefined {
    const image = imageOf(ctx)
    if (SHELL_LESS_IMAGES.some((re) => re.test(image))) return undefined
    if (BUSYBOX_IMAGE.test(image) && NOT_IN_BUSYBOX.has(basename(bin))) return undefined
    return this.lookup(bin)
  }

  /** Runs argv in the pod's container; unknown binaries throw ExecStartError like runc does. */
  async run(ctx: ExecContext): Promise<ExecResult> {
    const bin = ctx.argv[0] ?? ''
    const h = this.lookupIn(ctx, bin)
    if (!h) throw executableNotFound(bin)
    return h(ctx)
  }

  /**
   * A file of a ConfigMap volume the container mounts: one file per key (or per `items` entry) under the mount path,
   * a single key with `subPath` (kubernetes pkg/volume/configmap; the Tetragon chart mounts tetragon-config at
   * /etc/tetragon/tetragon.conf.d/, one file per agent flag).
   */
  private configMapFile(ctx: ExecContext, path: string): string | undefined {
    const spec = ctx.pod.spec ?? {}
    const container = (spec.containers ?? []).find((c: {name: string}) => c.name === ctx.container)
    for (const m of (container?.volumeMounts ?? []) as Array<{name: string; mountPath: string; subPath?: string}>) {
      const volume = (spec.volumes ?? []).find((v: {name: string}) => v.name === m.name)
      if (!volume?.configMap) continue
      const cm = this.store.get('configmaps', ctx.namespace, volume.configMap.name)
      const dir = m.mountPath.replace(/\/+$/, '')
      let key: string | undefined
      if (m.subPath) key = path === dir ? m.subPath : undefined
      else if (path.startsWith(`${dir}/`)) {
        const rel = path.slice(dir.length + 1)
        const items = volume.configMap.items as Array<{key: string; path: string}> | undefined
        key = items ? items.find((i) => i.path === rel)?.key : rel
      }
      if (key === undefined || !cm) continue
      if (cm.data?.[key] !== undefined) return String(cm.data[key])
      if (cm.binaryData?.[key] !== undefined) return Buffer.from(String(cm.binaryData[key]), 'base64').toString('utf8')
    }
    return undefined
  }

  private readFile(ctx: ExecContext, path: string): string | undefined {
    const pod = ctx.pod
    const f = this.files.get(`${ctx.namespace}/${pod.metadata.name}:${path}`) ?? this.files.get(`*:${path}`)
    if (f !== undefined) return typeof f === 'function' ? f(ctx) : f
    const mounted = this.configMapFile(ctx, path)
    if (mounted !== undefined) return mounted
    const host = Boolean(pod.spec?.hostNetwork)
    switch (path) {
      // hostNetwork pods share the node's UTS namespace, so their hostname is the node's.
      case '/etc/hostname': return `${host ? pod.spec?.nodeName : pod.metadata.name}\n`
      // Every image with a userland has one (mode 0640 root:shadow; the lab's exec runs as root, see `whoami`).
      // Alpine's (the curl image's base) locks root and the system accounts.
      case '/etc/shadow': return 'root:*::0:::::\nbin:!::0:::::\ndaemon:!::0:::::\nnobody:!::0:::::\n'
      case '/etc/resolv.conf': return resolvConf(pod)
      case '/etc/hosts': return host
        ? `# Kubernetes-managed hosts file (host network).\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n${pod.status?.hostIP}\t${pod.spec?.nodeName}\n`
        : `# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n${pod.status?.podIP}\t${pod.metadata.name}\n`
      default: return undefined
    }
  }

  /** /etc/hosts lookup (nsswitch `files` before `dns`). */
  private hostsFile(ctx: ExecContext, name: string): {ip: string; names: string[]} | undefined {
    const text = this.readFile(ctx, '/etc/hosts') ?? ''
    for (const line of text.split('\n')) {
      if (!line || line.startsWith('#')) continue
      const [ip, ...names] = line.split(/\s+/)
      if (names.includes(name)) return {ip: ip!, names}
    }
    return undefined
  }

  private installBuiltins(): void {
    this.register('true', () => ({exitCode: 0}))
    this.register('false', () => ({exitCode: 1}))
    this.register('whoami', () => ({stdout: 'root\n', exitCode: 0}))
    this.register('hostname', (ctx) => ({stdout: this.readFile(ctx, '/etc/hostname') ?? '', exitCode: 0}))
    this.register('echo', (ctx) => {
      const args = ctx.argv.slice(1)
      const noNl = args[0] === '-n'
      return {stdout: (noNl ? args.slice(1) : args).join(' ') + (noNl ? '' : '\n'), exitCode: 0}
    })
    this.register('cat', (ctx) => {
      let stdout = ''
      let stderr = ''
      let exitCode = 0
      for (const f of ctx.argv.slice(1)) {
        const c = this.readFile(ctx, f)
        if (c === undefined) {
          stderr += `cat: ${f}: No such file or directory\n`
          exitCode = 1
        } else stdout += c
      }
      return {stdout, stderr, exitCode}
    })
    this.register('getent', (ctx) => this.getent(ctx))
    this.register('nslookup', (ctx) => this.nslookup(ctx))
    this.register('nc', (ctx) => this.nc(ctx))
    this.register('sh', (ctx) => this.sh(ctx, 'sh'))
    this.register('bash', (ctx) => this.sh(ctx, 'bash'))
  }

  private getent(ctx: ExecContext): ExecResult {
    const [db, ...keys] = ctx.argv.slice(1)
    if (db !== 'hosts' && db !== 'ahosts' && db !== 'ahostsv4') {
      return {stderr: `Unknown database: ${db ?? ''}\n`, exitCode: 1}
    }
    let stdout = ''
    let exitCode = 0
    for (const key of keys) {
      const fromFile = this.hostsFile(ctx, key)
      if (fromFile) {
        stdout += `${fromFile.ip.padEnd(15)} ${fromFile.names.join(' ')}\n`
        continue
      }
      if (isIPv4(key)) {
        const name = this.dns.reverse(key)
        if (name && this.dnsReachable(ctx)) stdout += `${key.padEnd(15)} ${name}\n`
        else exitCode = 2
        continue
      }
      const a = this.dns.resolve(key, ctx.pod)
      // glibc getent prints "%-15s %s" per answer and exits 2 when a key is not found.
      if (a.kind === 'ok') stdout += a.ips.map((ip) => `${ip.padEnd(15)} ${a.name}\n`).join('')
      else exitCode = 2
    }
    return {stdout, exitCode}
  }

  private dnsReachable(ctx: ExecContext): boolean {
    return this.dns.resolve('kubernetes.default.svc.cluster.local.', ctx.pod).kind === 'ok'
  }

  private nslookup(ctx: ExecContext): ExecResult {
    const name = ctx.argv.slice(1).find((a) => !a.startsWith('-'))
    if (!name) return {stderr: 'nslookup: missing name\n', exitCode: 1}
    const conf = resolvConf(ctx.pod)
    const server = /nameserver (\S+)/.exec(conf)?.[1] ?? ''
    const head = `Server:\t\t${server}\nAddress:\t${server}#53\n\n`
    const a = this.dns.resolve(name, ctx.pod)
    if (BUSYBOX_IMAGE.test(imageOf(ctx))) {
      // BusyBox ≥ 1.31 nslookup: server as ip:port, "** server can't find" on NXDOMAIN (docker-library/busybox#75).
      const bbHead = `Server:\t\t${server}\nAddress:\t${server}:53\n\n`
      if (a.kind === 'timeout') return {stdout: ';; connection timed out; no servers could be reached\n\n', exitCode: 1}
      if (a.kind === 'nxdomain') return {stdout: `${bbHead}** server can't find ${name}: NXDOMAIN\n\n`, exitCode: 1}
      return {stdout: `${bbHead}Name:\t${a.name}\nAddress: ${a.ips[0]}\n\n`, exitCode: 0}
    }
    // bind9 nslookup output shapes.
    if (a.kind === 'timeout') return {stdout: ';; connection timed out; no servers could be reached\n\n', exitCode: 1}
    if (a.kind === 'nxdomain') return {stdout: `${head}** server can't find ${name}: NXDOMAIN\n\n`, exitCode: 1}
    return {stdout: `${head}${a.ips.map((ip) => `Name:\t${a.name}\nAddress: ${ip}\n`).join('')}\n`, exitCode: 0}
  }

  /** OpenBSD netcat `-z` (port scan) mode, the form used to probe TCP reachability. */
  private async nc(ctx: ExecContext): Promise<ExecResult> {
    const args = ctx.argv.slice(1)
    let verbose = false
    let wait = 0
    const pos: string[] = []
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!
      if (a === '-w') wait = Number(args[++i])
      else if (/^-[a-zA-Z]+$/.test(a)) {
        if (a.includes('v')) verbose = true
        if (a.includes('w')) wait = Number(args[++i])
      } else pos.push(a)
    }
    const [host, portStr] = pos
    if (!host || !portStr) return {stderr: 'usage: nc [-46CDdFhklNnrStUuvZz] [-I length] [-i interval] [-M ttl]\n', exitCode: 1}
    const port = Number(portStr)
    let ip = host
    if (!isIPv4(host)) {
      const fromFile = this.hostsFile(ctx, host)
      if (fromFile && isIPv4(fromFile.ip)) ip = fromFile.ip
      else {
        const a = this.dns.resolve(host, ctx.pod)
        if (a.kind !== 'ok') {
          const why = a.kind === 'timeout' ? 'Temporary failure in name resolution' : 'Name or service not known'
          return {stderr: `nc: getaddrinfo for host "${host}" port ${port}: ${why}\n`, exitCode: 1}
        }
        ip = a.ips[0]!
      }
    }
    const r = await this.network.connect(ip, port, ctx.pod)
    let outcome: 'ok' | 'refused' | 'timeout'
    if (typeof r === 'string') outcome = r
    else {
      const s = await dialTarget(r, Math.min((wait || 5) * 1000, 5000))
      if (typeof s === 'string') outcome = s
      else {
        s.destroy()
        outcome = 'ok'
      }
    }
    if (outcome === 'ok') return {stderr: verbose ? `Connection to ${host} (${ip}) ${port} port [tcp/*] succeeded!\n` : '', exitCode: 0}
    const msg = outcome === 'refused'
      ? `nc: connect to ${host} (${ip}) port ${port} (tcp) failed: Connection refused\n`
      : `nc: connect to ${host} (${ip}) port ${port} (tcp) timed out: Operation now in progress\n`
    return {stderr: verbose ? msg : '', exitCode: 1}
  }

  /** `sh -c '<cmd>'`: simple commands joined by `;`, `&&`, `||`, with `exit N`. */
  private async sh(ctx: ExecContext, shell: 'sh' | 'bash'): Promise<ExecResult> {
    const args = ctx.argv.slice(1)
    const ci = args.indexOf('-c')
    if (ci < 0 || args[ci + 1] === undefined) return {stderr: `${shell}: interactive shells are not emulated by the lab\n`, exitCode: 2}
    const toks = shellSplit(args[ci + 1]!)
    let stdout = ''
    let stderr = ''
    let status = 0
    let skip = false
    let cmd: string[] = []
    const runOne = async (words: string[]): Promise<number> => {
      // Redirections: only to /dev/null (or 2>&1) are understood.
      const argv: string[] = []
      let drop = false
      let dropErr = false
      for (let i = 0; i < words.length; i++) {
        const m = /^(\d?)>(.*)$/.exec(words[i]!)
        if (!m) {
          argv.push(words[i]!)
          continue
        }
        const target = m[2] || words[++i] || ''
        if (target === '&1') continue
        if ((m[1] || '1') === '2') dropErr = true
        else drop = true
      }
      if (argv.length === 0) return 0
      if (argv[0] === 'exit') return Number(argv[1] ?? status)
      const h = this.lookupIn(ctx, argv[0]!)
      if (!h) {
        // dash: "sh: 1: foo: not found"; BusyBox ash: "sh: foo: not found"; bash: "bash: line 1: foo: command not
        // found"; all exit 127.
        const busybox = BUSYBOX_IMAGE.test(imageOf(ctx))
        stderr += shell === 'bash' ? `bash: line 1: ${argv[0]}: command not found\n` : busybox ? `sh: ${argv[0]}: not found\n` : `sh: 1: ${argv[0]}: not found\n`
        return 127
      }
      const r = await h({...ctx, argv})
      if (!drop) stdout += r.stdout ?? ''
      if (!dropErr) stderr += r.stderr ?? ''
      return r.exitCode
    }
    const flush = async (op: string | undefined) => {
      if (!skip && cmd.length) {
        if (cmd[0] === 'exit') return {exit: Number(cmd[1] ?? status)}
        status = await runOne(cmd)
      }
      cmd = []
      skip = op === '&&' ? status !== 0 : op === '||' ? status === 0 : false
      return undefined
    }
    for (const t of toks) {
      if (t === '|') return {stdout, stderr: `${stderr}${shell}: pipelines are not emulated by the lab\n`, exitCode: 2}
      if (t === ';' || t === '&&' || t === '||' || t === '&') {
        const e = await flush(t)
        if (e) return {stdout, stderr, exitCode: e.exit}
      } else cmd.push(t)
    }
    const e = await flush(undefined)
    if (e) return {stdout, stderr, exitCode: e.exit}
    return {stdout, stderr, exitCode: status}
  }
}
