// Shared plumbing of the Kubernetes conformance files: the lab started as `tetractl sandbox start` starts it
// (startLab + writeFiles), and third-party clients run as child processes (argument arrays, never a shell).
import {execFile, spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'

import {type Lab, startLab} from '../../../src/lab/index.js'
import {getScenario} from '../../../src/lab/scenarios.js'

export const KUBECTL = resolve('.cache/kubectl/usr/bin/kubectl')
// Debian's python3-kubernetes / python3-grpcio live in the system interpreter, not a pyenv one on PATH.
export const PYTHON = '/usr/bin/python3'

export interface Run {
  code: number
  stdout: string
  stderr: string
}

export function run(cmd: string, args: string[], env: Record<string, string>, timeoutMs = 60_000, input?: string): Promise<Run> {
  return new Promise((done) => {
    const child = execFile(cmd, args, {env: {PATH: process.env.PATH ?? '/usr/bin:/bin', ...env}, timeout: timeoutMs, maxBuffer: 32 << 20}, (err, stdout, stderr) => {
      const code = err ? (typeof (err as {code?: unknown}).code === 'number' ? (err as {code: number}).code : 1) : 0
      done({code, stdout: String(stdout), stderr: String(stderr)})
    })
    if (input !== undefined) child.stdin?.end(input)
  })
}

/**
 * Whether a client is installed. Missing under CI fails the file (the suite never silently skips there);
 * elsewhere the file is skipped.
 */
export function clientAvailable(name: string, probe: () => boolean): boolean {
  const ok = probe()
  if (!ok && process.env.CI) throw new Error(`conformance client ${name} is missing (run scripts/conformance-deps.sh as root)`)
  return ok
}

export function pythonHas(module: string): boolean {
  if (!existsSync(PYTHON)) return false
  const r = spawnSync(PYTHON, ['-c', `import ${module}`], {timeout: 30_000})
  return r.status === 0
}

export interface Sandbox {
  lab: Lab
  dir: string
  env: Record<string, string>
  stop(): Promise<void>
}

/** The healthy scenario, files written as `tetractl sandbox start --out DIR` writes them. */
export async function startSandbox(scenario = 'healthy'): Promise<Sandbox> {
  const dir = mkdtempSync(join(tmpdir(), 'tetractl-conf-'))
  const lab = await startLab(getScenario(scenario)!)
  await lab.writeFiles(dir)
  // HOME: kubectl caches discovery and OpenAPI under ~/.kube; keep it per run.
  const env = {KUBECONFIG: join(dir, 'kubeconfig'), HOME: dir}
  return {
    lab,
    dir,
    env,
    async stop() {
      await lab.stop()
      rmSync(dir, {recursive: true, force: true})
    },
  }
}

/** Runs a Python script with the sandbox kubeconfig; the script prints one JSON document. */
export async function python(sb: Sandbox, script: string, timeoutMs = 60_000): Promise<any> {
  const file = join(sb.dir, `s${Math.random().toString(36).slice(2)}.py`)
  writeFileSync(file, script)
  const r = await run(PYTHON, [file], {...sb.env, PYTHONDONTWRITEBYTECODE: '1'}, timeoutMs)
  if (r.code !== 0) throw new Error(`python exited ${r.code}: ${r.stderr.slice(-2000)}`)
  const last = r.stdout.trim().split('\n').pop() ?? ''
  return JSON.parse(last)
}

export const kubectl = (sb: Sandbox, args: string[], input?: string, timeoutMs = 60_000) => run(KUBECTL, args, sb.env, timeoutMs, input)
