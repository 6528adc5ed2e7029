import type {RunOptions} from '../engine/runner.js'
import type {CheckResult} from '../engine/types.js'
import type {HumanSummary} from './human.js'
import {StreamRenderer, type StreamOptions} from './stream.js'

export interface Progress {
  /** Hooks for runChecks. */
  hooks: Pick<RunOptions, 'onPlan' | 'onStart' | 'onResult'>
  /** Stops the spinner (idempotent). */
  stop(): void
  /** With a stream: what is still held back, and the verdict line. */
  finish(report: HumanSummary): string[]
}

/**
 * While checks run: a one-line spinner on stderr ("3 checks running", never a list of ids that wraps) when stderr is
 * a TTY; with `stream`, each result's lines printed through `print` as soon as its category's turn comes (the
 * spinner is cleared around them so they never interleave).
 */
export async function startProgress(opts: {spinner: boolean; stream?: StreamOptions; print(text: string): void}): Promise<Progress> {
  const spinner = opts.spinner && process.stderr.isTTY ? (await import('ora')).default({stream: process.stderr, text: 'starting checks', isEnabled: true, discardStdin: false}).start() : undefined
  const running = new Set<string>()
  let finished = 0
  let renderer: StreamRenderer | undefined
  const update = () => {
    if (spinner) spinner.text = running.size > 0 ? `${running.size} ${running.size === 1 ? 'check' : 'checks'} running, ${finished} done` : finished > 0 ? 'finishing' : 'checking'
  }
  const print = (lines: string[]) => {
    if (lines.length === 0) return
    spinner?.clear()
    opts.print(lines.join('\n'))
    spinner?.render()
  }
  return {
    hooks: {
      onPlan: (plan) => {
        if (opts.stream) renderer = new StreamRenderer(plan, opts.stream)
      },
      onStart: (check) => {
        running.add(check.id)
        update()
      },
      onResult: (r: CheckResult) => {
        running.delete(r.id)
        finished++
        update()
        if (renderer) print(renderer.add(r))
      },
    },
    stop: () => spinner?.stop(),
    finish: (report) => {
      spinner?.stop()
      return renderer ? renderer.finish(report) : []
    },
  }
}
