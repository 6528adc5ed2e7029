// The live view of validate on a terminal (issue #14 item 4): a spinner line per running stage on stderr with its
// elapsed time and what it waits for, and each finished stage's section printed on stdout at once. The printed text
// is exactly what the plain output prints at the end (render.ts), so pipes and CI see the same report.
import {safeText} from '../../engine/redact.js'
import {renderStage, renderValidateHuman, type RenderOptions} from './render.js'
import {STAGES, STAGE_SHORT, type Stage, type StepResult, type ValidateReport} from './types.js'

/** What the stages tell the view. */
export interface StageProgress {
  /**
   * What the stage waits for now; the first call starts the stage's clock. `boundMs` is that wait's own limit
   * ("12 s of 60 s"): consecutive calls with the same bound are the same wait, so its clock keeps running.
   */
  waiting(stage: Stage, what: string, boundMs?: number): void
  /** The stage recorded all its steps: its section can be printed. */
  finish(stage: Stage): void
  /** A message for stderr (the spinner is cleared first). */
  note(text: string): void
  /** Stops the spinner (every path ends here, errors too). */
  stop(): void
  /** The human text still to print for the final report. */
  rest(report: ValidateReport): string
}

export interface RunningStage {
  stage: Stage
  startedAt: number
  what?: string
  /** When the current wait began. */
  since: number
  boundMs?: number
}

export const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']

const secs = (ms: number) => `${Math.max(0, Math.floor(ms / 1000))} s`

/** One spinner line, cut to the terminal width (a wrapped line could not be redrawn in place). */
export function spinnerLine(r: RunningStage, now: number, frame: number, columns?: number): string {
  const wait = r.what ? `: ${r.what}${r.boundMs === undefined ? '' : `, ${secs(now - r.since)} of ${secs(r.boundMs)}`}` : ''
  const line = safeText(`${FRAMES[frame % FRAMES.length]} ${STAGE_SHORT[r.stage]} (${secs(now - r.startedAt)})${wait}`).replace(/\n/g, ' ')
  return fit(line, columns)
}

export function fit(line: string, columns?: number): string {
  if (!columns || columns < 2) return line
  const chars = [...line]
  return chars.length <= columns - 1 ? line : `${chars.slice(0, columns - 2).join('')}…`
}

/** Escape sequence that erases the `lines` spinner lines drawn last (cursor at the end of the last one). */
export function eraseLines(lines: number): string {
  return lines > 0 ? `\r\u001B[2K${'\u001B[1A\u001B[2K'.repeat(lines - 1)}` : ''
}

/** The stages to print now: finished ones, in stage order, stopping at the first that is not finished. */
export function printable(finished: ReadonlySet<Stage>, printed: ReadonlySet<Stage>): Stage[] {
  const out: Stage[] = []
  for (const stage of STAGES) {
    if (printed.has(stage)) continue
    if (!finished.has(stage)) break
    out.push(stage)
  }
  return out
}

/** Without a terminal (or with --json): nothing live; the whole report is printed at the end. */
export function plainProgress(render: RenderOptions): StageProgress {
  return {
    waiting() {},
    finish() {},
    note: (text) => process.stderr.write(`${text}\n`),
    stop() {},
    rest: (report) => renderValidateHuman(report, render),
  }
}

export interface Terminal {
  write(s: string): unknown
  columns?: number
}

/** The live view: `log` prints on stdout, `err` is the terminal the spinner is drawn on. */
export function liveProgress(o: {steps: StepResult[]; log(text: string): void; err: Terminal; render: RenderOptions; now?: () => number; intervalMs?: number}): StageProgress {
  const now = o.now ?? Date.now
  const running = new Map<Stage, RunningStage>()
  const finished = new Set<Stage>()
  const printed = new Set<Stage>()
  let frame = 0
  let drawn = 0
  let closed = false
  const write = (s: string) => {
    if (!s) return
    try {
      o.err.write(s)
    } catch {
      // The terminal went away (SIGHUP): the run goes on to its cleanup.
    }
  }
  const draw = () => {
    if (closed) return
    const t = now()
    const lines = [...running.values()].map((r) => spinnerLine(r, t, frame, o.err.columns))
    write(`${eraseLines(drawn)}${lines.join('\n')}`)
    drawn = lines.length
  }
  const clear = () => {
    write(eraseLines(drawn))
    drawn = 0
  }
  const timer = setInterval(() => {
    frame++
    draw()
  }, o.intervalMs ?? 100)
  timer.unref()
  return {
    waiting(stage, what, boundMs) {
      if (finished.has(stage)) return
      const t = now()
      // Stages run one after the other: one that starts ends the spinner of any earlier stage a stop cut short
      // (its section is printed with the rest at the end).
      for (const other of running.keys()) if (STAGES.indexOf(other) < STAGES.indexOf(stage)) running.delete(other)
      const prev = running.get(stage)
      const sameWait = prev !== undefined && prev.boundMs !== undefined && prev.boundMs === boundMs
      running.set(stage, {stage, startedAt: prev?.startedAt ?? t, what, boundMs, since: sameWait ? prev.since : t})
      draw()
    },
    finish(stage) {
      running.delete(stage)
      finished.add(stage)
      const ready = printable(finished, printed)
      if (ready.length > 0) {
        clear()
        for (const s of ready) {
          const section = renderStage(s, o.steps, o.render)
          printed.add(s)
          if (section.length > 0) o.log(`${section.join('\n')}\n`)
        }
      }
      draw()
    },
    note(text) {
      clear()
      write(`${text}\n`)
      draw()
    },
    stop() {
      if (closed) return
      clearInterval(timer)
      clear()
      closed = true
    },
    rest(report) {
      this.stop()
      return renderValidateHuman(report, o.render, printed)
    },
  }
}
