// The only code that runs Helm: execFile with an argument array (never a shell), a timeout on every
// call, stderr reduced to one redacted line. Helm 3 only (Helm 2 needs Tiller and is end-of-life).
import {execFile} from 'node:child_process'

import {ExitCode} from '../engine/exit-codes.js'
import {InterruptedError, UnreachableError, UserError, redact} from '../engine/errors.js'
import {trackChild} from '../engine/interrupt.js'

export interface HelmOptions {
  /** The helm executable (default `helm`, looked up on PATH). */
  bin?: string
  /** Passed as --kubeconfig / --kube-context so Helm talks to the cluster tetractl talks to. */
  kubeconfig?: string
  kubeContext?: string
  /** Timeout of read commands (version, list, get values, repo list). */
  timeoutMs?: number
}

export interface HelmRelease {
  name: string
  namespace: string
  revision: string
  status: string
  /** `tetragon-1.7.0` */
  chart: string
  app_version?: string
}

export interface HelmRepo {
  name: string
  url: string
}

/** A helm command that ran and failed: its stderr's `Error:` line, exit 1 (a change or a read failed). */
export class HelmError extends UserError {
  constructor(
    readonly command: string,
    readonly stderrLine: string,
  ) {
    super(`\`${command}\` failed: ${stderrLine}`, undefined, ExitCode.FINDINGS)
    this.name = 'HelmError'
  }
}

/** Quote an argument for display only (commands are never run through a shell). */
export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`
}

/** The last `Error: …` line of helm's stderr (or its first line), without the prefix, redacted. */
export function helmErrorLine(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean)
  const err = [...lines].reverse().find((l) => l.startsWith('Error:')) ?? lines[0] ?? 'no error output'
  return redact(err.replace(/^Error:\s*/, '')).slice(0, 400)
}

export class Helm {
  readonly bin: string

  constructor(private readonly opts: HelmOptions = {}) {
    this.bin = opts.bin ?? 'helm'
  }

  /** Cluster-targeting flags, so Helm and tetractl agree on the cluster. */
  private kubeArgs(): string[] {
    return [...(this.opts.kubeconfig ? ['--kubeconfig', this.opts.kubeconfig] : []), ...(this.opts.kubeContext ? ['--kube-context', this.opts.kubeContext] : [])]
  }

  /** How a command is shown to the user (cluster flags left out: they are tetractl's own). */
  display(args: string[]): string {
    return ['helm', ...args].map(shellQuote).join(' ')
  }

  async run(args: string[], opts: {timeoutMs?: number; kube?: boolean; allowFailure?: boolean} = {}): Promise<{stdout: string; stderr: string; code: number}> {
    const full = [...args, ...(opts.kube ? this.kubeArgs() : [])]
    const timeoutMs = opts.timeoutMs ?? this.opts.timeoutMs ?? 30_000
    return new Promise((resolve, reject) => {
      // Stopped and awaited on SIGINT/SIGTERM/SIGHUP: an orphan helm would finish the upgrade after tetractl has gone.
      // Helm's install/upgrade cancel their operation on SIGINT/SIGTERM (cmd/helm/upgrade.go: signal.Notify, cancel()),
      // which can leave the release pending: the error says how to look at it.
      let tracked: ReturnType<typeof trackChild> | undefined = undefined
      const child = execFile(this.bin, full, {timeout: timeoutMs, killSignal: 'SIGTERM', maxBuffer: 16 * 1024 * 1024, env: process.env}, (error, stdout, stderr) => {
        tracked?.release()
        const sig = tracked?.interrupted()
        if (sig) {
          const ns = args.includes('-n') ? ` -n ${args[args.indexOf('-n') + 1]}` : ''
          return reject(new InterruptedError(sig, `${this.display(args)} was stopped`, args[0] === 'upgrade' ? `Check the release with: helm status ${args[2]}${ns}` : undefined))
        }
        if (!error) return resolve({stdout, stderr, code: 0})
        const e = error as NodeJS.ErrnoException & {killed?: boolean; signal?: string; code?: number | string}
        if (e.code === 'ENOENT') {
          return reject(new UserError(`\`${this.bin}\` ${this.bin.includes('/') ? 'does not exist' : 'was not found on PATH'}; tetractl runs Helm 3 to install or upgrade Tetragon.`, 'Install Helm 3 (https://helm.sh/docs/intro/install/) or pass --helm PATH.'))
        }
        if (e.code === 'EACCES') return reject(new UserError(`\`${this.bin}\` is not executable.`, 'Check its permissions or pass --helm PATH.'))
        if (e.killed || e.signal) {
          return reject(new HelmError(this.display(args), `did not finish within ${Math.round(timeoutMs / 1000)} s (stopped)`))
        }
        if (opts.allowFailure) return resolve({stdout, stderr, code: typeof e.code === 'number' ? e.code : 1})
        reject(new HelmError(this.display(args), helmErrorLine(stderr || stdout)))
      })
      tracked = trackChild(child)
    })
  }

  /** `helm version --short`; Helm 2 prints `Client: v2…` (and fails without Tiller). */
  async version(): Promise<{version: string; major: number}> {
    const r = await this.run(['version', '--short'], {allowFailure: true})
    const text = `${r.stdout}\n${r.stderr}`
    const m = /v(\d+)\.(\d+)\.(\d+)[^\s]*/.exec(text)
    if (!m) throw new UserError(`Could not read the Helm version from \`${this.bin} version --short\`: ${helmErrorLine(text)}.`, 'Install Helm 3 or pass --helm PATH.')
    const version = m[0].replace(/\+.*$/, '')
    const major = Number(m[1])
    if (major !== 3 && major !== 4) {
      throw new UserError(`\`${this.bin}\` is Helm ${version}; tetractl needs Helm 3 (Helm 2 and its Tiller are end-of-life and cannot install current charts).`, 'Install Helm 3 (https://helm.sh/docs/intro/install/) or pass --helm PATH.')
    }
    if (r.code !== 0) throw new HelmError(this.display(['version', '--short']), helmErrorLine(r.stderr))
    return {version, major}
  }

  /** `helm repo list -o json`; Helm answers "no repositories to show" with exit 1 when there are none. */
  async repoList(): Promise<HelmRepo[]> {
    const r = await this.run(['repo', 'list', '-o', 'json'], {allowFailure: true})
    if (r.code !== 0) {
      if (/no repositories/i.test(r.stderr)) return []
      throw new HelmError(this.display(['repo', 'list', '-o', 'json']), helmErrorLine(r.stderr))
    }
    return parseJson<HelmRepo[]>(r.stdout, 'helm repo list') ?? []
  }

  repoAddArgs(name: string, url: string): string[] {
    return ['repo', 'add', name, url]
  }

  repoUpdateArgs(name: string): string[] {
    return ['repo', 'update', name]
  }

  async listReleases(): Promise<HelmRelease[]> {
    const r = await this.runRead(['list', '-A', '-o', 'json'])
    return parseJson<HelmRelease[]>(r, 'helm list') ?? []
  }

  /** User-supplied values of a release (`null` when none). */
  async getValues(release: string, namespace: string): Promise<Record<string, unknown>> {
    const r = await this.runRead(['get', 'values', release, '-n', namespace, '-o', 'json'])
    return parseJson<Record<string, unknown> | null>(r, 'helm get values') ?? {}
  }

  upgradeArgs(p: {release: string; chart: string; namespace: string; valuesFile: string; version?: string; timeout?: string}): string[] {
    return ['upgrade', '--install', p.release, p.chart, '-n', p.namespace, '--values', p.valuesFile, ...(p.version ? ['--version', p.version] : []), ...(p.timeout ? ['--timeout', p.timeout] : [])]
  }

  /** Runs a mutating command (repo add/update, upgrade) with its own timeout. */
  async mutate(args: string[], timeoutMs: number): Promise<string> {
    const kube = args[0] === 'upgrade'
    return (await this.run(args, {timeoutMs, kube})).stdout
  }

  private async runRead(args: string[]): Promise<string> {
    try {
      return (await this.run(args, {kube: true})).stdout
    } catch (error) {
      // Helm reports an unreachable API as "Kubernetes cluster unreachable" (exit 3, like doctor).
      if (error instanceof HelmError && /cluster unreachable|connection refused|no such host|i\/o timeout/i.test(error.stderrLine)) {
        throw new UnreachableError(`Helm cannot reach the cluster: ${error.stderrLine}.`, 'Check the kubeconfig / --context.')
      }
      throw error
    }
  }
}

function parseJson<T>(text: string, what: string): T | undefined {
  const t = text.trim()
  if (!t) return undefined
  try {
    return JSON.parse(t) as T
  } catch {
    throw new UserError(`\`${what}\` did not print JSON: ${redact(t.split('\n')[0] ?? '').slice(0, 200)}.`, 'Check the Helm version (Helm 3 is needed).')
  }
}
