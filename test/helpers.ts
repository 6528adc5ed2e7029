// Shared test helpers: run the built CLI as a child process, as a user would.
import {spawn} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'

export const ROOT = resolve(import.meta.dirname, '..')
export const BIN = join(ROOT, 'bin', 'run.js')
/** Upstream data the tests read, copied into the repository (provenance in each folder's SOURCES.md). */
export const FIXTURES = join(ROOT, 'test', 'fixtures')

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
  durationMs: number
  json<T = any>(): T
}

export function tempDir(prefix = 'tetractl-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

/** Run `tetractl ...args` from the built dist/ with a clean environment (no real kubeconfig). */
export function runCli(args: string[], opts: {env?: Record<string, string | undefined>; timeoutMs?: number; onSpawn?(pid: number): void; input?: string} = {}): Promise<CliResult> {
  const started = performance.now()
  // Shorter sampling windows than the defaults (3 s / 2 s) keep the suite quick; the lab agents emit a
  // background event every second, so 1.5 s still sees one. Tests that need others pass them.
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: tempDir('tetractl-home-'),
    NO_COLOR: '1',
    TETRACTL_SCHEMA_SAMPLE: '1500ms',
    TETRACTL_METRICS_WINDOW: '300ms',
  }
  for (const [k, v] of Object.entries(opts.env ?? {})) if (v !== undefined) env[k] = v
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {env, stdio: ['pipe', 'pipe', 'pipe']})
    opts.onSpawn?.(child.pid!)
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    if (opts.input !== undefined) child.stdin.end(opts.input)
    else child.stdin.end()
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`tetractl ${args.join(' ')} did not finish within ${opts.timeoutMs ?? 60_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`))
    }, opts.timeoutMs ?? 60_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolveRun({
        code,
        stdout,
        stderr,
        durationMs: performance.now() - started,
        json() {
          try {
            return JSON.parse(stdout)
          } catch {
            throw new Error(`stdout is not JSON:\n${stdout}\nstderr:\n${stderr}`)
          }
        },
      })
    })
  })
}

/** Ids of checks with the given status in a --json report. */
export function idsWithStatus(report: {checks: Array<{id: string; status: string}>}, status: string): string[] {
  return report.checks.filter((c) => c.status === status).map((c) => c.id).sort()
}
