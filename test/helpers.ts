// Shared test helpers: run the built CLI as a user would (in this process, or as a child process).
import {spawn} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'

import {Config, flush, handle, run, settings} from '@oclif/core'
import {Exit} from '@oclif/core/handle'

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

export interface CliOptions {
  env?: Record<string, string | undefined>
  timeoutMs?: number
  onSpawn?(pid: number): void
  input?: string
  /** Run it as its own process (bin/run.js): for start-up, signals, stdin and process exit behaviour. */
  spawn?: boolean
}

/**
 * Run `tetractl ...args` from the built dist/ with a clean environment (no real kubeconfig), the way a user runs it.
 * By default the command runs inside this test process, through oclif's own entry points (run, flush, handle), with
 * the given environment in place of process.env and stdout/stderr captured: a child process costs about 1.5 s of CPU
 * to start (node, oclif and the clients), which was most of the suite's time. It runs as a child process when the
 * test needs one (`spawn`, stdin, a pid to signal) or when another in-process run is still going.
 */
export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: tempDir('tetractl-home-'),
    NO_COLOR: '1',
    // Shorter sampling windows than the defaults (3 s / 2 s) keep the suite quick; the lab agents emit a
    // background event every second, so 1.5 s still sees one. Tests that need others pass them.
    TETRACTL_SCHEMA_SAMPLE: '1500ms',
    TETRACTL_METRICS_WINDOW: '300ms',
  }
  for (const [k, v] of Object.entries(opts.env ?? {})) if (v !== undefined) env[k] = v
  const ownProcess = opts.spawn || opts.onSpawn !== undefined || opts.input !== undefined || process.env.TETRACTL_TEST_SPAWN === '1' || inProcessBusy || inProcessRetired
  return ownProcess ? spawnCli(args, env, opts) : inProcessCli(args, env, opts.timeoutMs ?? 60_000)
}

function result(code: number | null, stdout: string, stderr: string, started: number): CliResult {
  return {
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
  }
}

function spawnCli(args: string[], env: Record<string, string>, opts: CliOptions): Promise<CliResult> {
  const started = performance.now()
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
      resolveRun(result(code, stdout, stderr, started))
    })
  })
}

let inProcessBusy = false
/** A run that timed out may still be going (and writing): later runs of this worker start their own process. */
let inProcessRetired = false
/** Process events a command subscribes to (src/engine/interrupt.ts); a process ends after one command, a test worker does not. */
const PROCESS_EVENTS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'exit'] as const

/**
 * What bin/run.js does, in this process: oclif's run() and flush(), errors through oclif's handle() with its
 * documented test seam (Exit.exit) recording the code instead of exiting; the exit code is then that one, else
 * process.exitCode as the command set it. The built commands are loaded by oclif's own import(), not through vitest.
 */
async function inProcessCli(args: string[], env: Record<string, string>, timeoutMs: number): Promise<CliResult> {
  inProcessBusy = true
  const started = performance.now()
  const saved = {env: process.env, out: process.stdout.write, err: process.stderr.write, exitCode: process.exitCode}
  let stdout = ''
  let stderr = ''
  const capture = (append: (s: string) => void) =>
    function write(chunk: string | Uint8Array, encoding?: BufferEncoding | ((err?: Error | null) => void), cb?: (err?: Error | null) => void): boolean {
      append(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'))
      const done = typeof encoding === 'function' ? encoding : cb
      if (done) process.nextTick(done)
      return true
    }
  let exited: number | undefined
  let timer: NodeJS.Timeout | undefined
  // A process ends after one command, so listeners a run leaves on stdout/stderr (oclif's flush() waits for a
  // 'drain' that an unblocked write never emits) are gone with it; here they are removed after the run.
  const listenersBefore = new Map([process.stdout, process.stderr].map((s) => [s, new Set(s.eventNames().flatMap((e) => s.listeners(e)))]))
  // Likewise the interrupt handlers a command installs (the worker must still stop on vitest's SIGTERM) and oclif's
  // global settings (TETRACTL_DEBUG sets settings.debug).
  const processListenersBefore = new Map(PROCESS_EVENTS.map((e) => [e, new Set(process.listeners(e))]))
  const settingsBefore = {...settings}
  try {
    // A fresh Config for every run (a few ms): oclif's help rewrites the command ids it shows in place ('sandbox:start'
    // becomes 'sandbox start'), which is harmless in a process that ends after one command but would leave a shared
    // Config unable to find that command again.
    const config = await Config.load({root: ROOT})
    const savedExit = Exit.exit
    process.env = env
    process.exitCode = undefined
    process.stdout.write = capture((s) => (stdout += s)) as typeof process.stdout.write
    process.stderr.write = capture((s) => (stderr += s)) as typeof process.stderr.write
    Exit.exit = (code = 0) => {
      exited ??= code
    }
    const command = (async () => {
      try {
        await run(args, config)
        await flush()
      } catch (error) {
        await handle(error as Error)
      }
    })()
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => (inProcessRetired = true, reject(new Error(`tetractl ${args.join(' ')} did not finish within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`))), timeoutMs)
    })
    try {
      await Promise.race([command, timeout])
    } finally {
      Exit.exit = savedExit
    }
    const code = exited ?? (typeof process.exitCode === 'number' ? process.exitCode : 0)
    return result(code, stdout, stderr, started)
  } finally {
    clearTimeout(timer)
    for (const [stream, before] of listenersBefore) {
      for (const event of stream.eventNames()) for (const l of stream.listeners(event)) if (!before.has(l)) stream.removeListener(event, l as (...a: unknown[]) => void)
    }
    for (const [event, before] of processListenersBefore) {
      for (const l of process.listeners(event)) if (!before.has(l)) process.removeListener(event, l)
    }
    for (const k of Object.keys(settings) as Array<keyof typeof settings>) if (!(k in settingsBefore)) delete settings[k]
    Object.assign(settings, settingsBefore)
    process.env = saved.env
    process.stdout.write = saved.out
    process.stderr.write = saved.err
    process.exitCode = saved.exitCode
    inProcessBusy = false
  }
}

/** Ids of checks with the given status in a --json report. */
export function idsWithStatus(report: {checks: Array<{id: string; status: string}>}, status: string): string[] {
  return report.checks.filter((c) => c.status === status).map((c) => c.id).sort()
}
