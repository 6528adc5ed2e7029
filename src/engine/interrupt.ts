// One way to be interrupted, for every command: SIGINT (Ctrl-C), SIGTERM (kill, CI cancel) and SIGHUP (closed terminal
// or SSH session) abort one process-wide signal that every stage listens to; the command then stops its children,
// cleans up and exits 130. A second signal stops at once. Temporary folders holding credentials are private (mkdtemp,
// 0700; files 0600) and are removed on every exit path: their owner's `finally`, else the process 'exit' hook.
import type {ChildProcess} from 'node:child_process'

import {makePrivateDir, removeTree, removeTreeSync, writePrivateFile} from '../clients/files.js'

import {InterruptedError} from './errors.js'
import {ExitCode} from './exit-codes.js'

export const INTERRUPT_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const
export type InterruptSignal = (typeof INTERRUPT_SIGNALS)[number]

const controller = new AbortController()
const tempDirs = new Set<string>()
const children = new Map<ChildProcess, Promise<void>>()
let leftoverNote: (() => string | undefined) | undefined
let installed = false

function onSignal(sig: NodeJS.Signals): void {
  if (sig === 'SIGHUP') {
    // The terminal is gone: writing to it fails with EIO/EPIPE, which must not crash the cleanup.
    for (const s of [process.stdout, process.stderr]) s.on('error', () => {})
  }
  if (!controller.signal.aborted) {
    controller.abort(sig)
    return
  }
  // A second signal: stop now (the 'exit' hook still kills children and removes temp folders).
  const note = leftoverNote?.()
  try {
    process.stderr.write(`Error: interrupted again (${sig}); stopped without finishing the cleanup${note ? `. ${note}` : ''}.\n`)
  } catch {}
  process.exit(ExitCode.INTERRUPTED)
}

function cleanupSync(): void {
  for (const c of children.keys()) {
    if (c.exitCode === null && c.signalCode === null) {
      try {
        c.kill('SIGKILL')
      } catch {}
    }
  }
  for (const d of tempDirs) {
    try {
      removeTreeSync(d)
    } catch {}
  }
  tempDirs.clear()
}

/** Installs the handlers once per process (BaseCommand.init). Without them SIGHUP/SIGTERM would kill tetractl mid-change. */
export function installInterruptHandlers(): void {
  if (installed) return
  installed = true
  for (const sig of INTERRUPT_SIGNALS) process.on(sig, onSignal)
  process.on('exit', cleanupSync)
  // bin/run.js kept the signals that came while the CLI was loading: the first one interrupts this run now.
  const early = (globalThis as {tetractlEarlySignals?: {signals: NodeJS.Signals[]; release(): void}}).tetractlEarlySignals
  early?.release()
  const first = early?.signals[0]
  if (first) onSignal(first)
}

export const interruption = {
  /** Aborted on the first SIGINT/SIGTERM/SIGHUP; its reason is the signal's name. */
  get signal(): AbortSignal {
    return controller.signal
  },
  reason(): InterruptSignal | undefined {
    return controller.signal.aborted ? (controller.signal.reason as InterruptSignal) : undefined
  },
  /** Throws InterruptedError (exit 130) once a signal came: called before each change a command makes. */
  throwIfInterrupted(detail?: string): void {
    const sig = interruption.reason()
    if (sig) throw new InterruptedError(sig, detail)
  },
  /** What a second signal should tell the user is left behind (e.g. the probe namespace). */
  setLeftoverNote(fn: (() => string | undefined) | undefined): void {
    leftoverNote = fn
  },
  /**
   * Resolves when every tracked child has exited. A command can fail on one child's InterruptedError while another
   * child is still stopping (Promise.all); BaseCommand awaits this before the process exits, so none is orphaned.
   */
  async settle(): Promise<void> {
    await Promise.all(children.values())
  },
}

/** A private temporary folder (mkdtemp: 0700) removed by `remove()`, or at exit whatever happened. */
export async function privateTempDir(prefix: string): Promise<{dir: string; write(name: string, content: string): Promise<string>; remove(): Promise<void>}> {
  const dir = await makePrivateDir(prefix)
  tempDirs.add(dir)
  return {
    dir,
    // 0600, never through a file someone else put there: credentials are the owner's only.
    write: (name, content) => writePrivateFile(dir, name, content),
    async remove() {
      await removeTree(dir)
      tempDirs.delete(dir)
    },
  }
}

/**
 * Tracks a child process for the run: on interrupt it gets SIGTERM (helm cancels its operation on SIGTERM/SIGINT),
 * then SIGKILL if it is still there after `graceMs`; at exit, SIGKILL. The caller awaits its exit as usual.
 */
export function trackChild(child: ChildProcess, graceMs = 30_000): {interrupted(): InterruptSignal | undefined; release(): void} {
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once('exit', () => resolve())
    child.once('error', () => resolve())
  })
  children.set(child, exited)
  let sent: InterruptSignal | undefined
  let killTimer: NodeJS.Timeout | undefined
  const onAbort = () => {
    sent = interruption.reason()
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    killTimer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  }
  if (controller.signal.aborted) onAbort()
  else controller.signal.addEventListener('abort', onAbort, {once: true})
  return {
    interrupted: () => sent,
    release() {
      controller.signal.removeEventListener('abort', onAbort)
      // Forgotten only once it has exited (the SIGKILL timer stays armed until then).
      void exited.then(() => {
        clearTimeout(killTimer)
        children.delete(child)
      })
    },
  }
}
