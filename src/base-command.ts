import {Command, Errors, ux} from '@oclif/core'

import {ExitCode} from './engine/exit-codes.js'
import {InterruptedError, UserError} from './engine/errors.js'
import {installInterruptHandlers, interruption} from './engine/interrupt.js'
import {escapeJsonControls, redact, redactDeep, terminalSafe} from './engine/redact.js'
import {closest} from './engine/suggest.js'

/**
 * Every command's error path: one line on stderr saying what is wrong and what to do, the exit
 * code from the documented table, and a stack trace only with --debug. Every command's way out:
 * SIGINT, SIGTERM and SIGHUP end it with exit 130 (see engine/interrupt.ts). Every text it prints
 * through here is redacted (engine/redact.ts).
 */
export abstract class BaseCommand extends Command {
  /** Commands whose normal end is a signal (the sandbox) exit 0 on it instead of 130. */
  static signalEndsNormally = false

  protected get debugEnabled(): boolean {
    return this.argv.includes('--debug') || process.env.TETRACTL_DEBUG === '1'
  }

  async init(): Promise<void> {
    installInterruptHandlers()
    await super.init()
  }

  /** Human output: credentials removed (escape sequences of server text are removed by the reporters, before colouring). */
  log(message = '', ...args: unknown[]): void {
    super.log(typeof message === 'string' ? redact(message) : message, ...args)
  }

  logToStderr(message = '', ...args: unknown[]): void {
    super.logToStderr(typeof message === 'string' ? redact(message) : message, ...args)
  }

  /** --json: the document with every string redacted; control characters escaped (JSON keeps them, never raw). */
  logJson(json: unknown): void {
    ux.stdout(escapeJsonControls(JSON.stringify(redactDeep(json), null, 2)))
  }

  protected async catch(err: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<void> {
    // this.exit() and --help/--version use ExitError: let oclif handle them.
    if (err instanceof Errors.ExitError) throw err
    // Whatever failed after a signal failed because of it: one line, exit 130.
    const sig = interruption.reason()
    if (sig && !(err instanceof InterruptedError) && !(this.constructor as typeof BaseCommand).signalEndsNormally) {
      this.fatal(`interrupted (${sig}): ${err instanceof UserError ? err.oneLine() : String(err?.message ?? err).split('\n')[0]}`, ExitCode.INTERRUPTED, err)
      return
    }
    const reason = flagReason(String(err?.message ?? ''))
    if (err instanceof UserError) {
      // Thrown by one of our flag types: oclif wrapped its message, which already names the setting.
      this.fatal(reason ? `${reason}${err.tryMessage ? ` ${err.tryMessage}` : ''}` : err.oneLine(), err.exitCode, err)
      return
    }
    // Flag parsing errors from oclif: usage errors, exit 2.
    const name = err?.constructor?.name ?? ''
    if (/Flag|Arg|Parse|Options|Required|Unexpected|Exclusive|Dependent|Validation/i.test(name) || err.oclif?.exit === 2) {
      const first = reason ?? String(err.message).replace(/\s+$/, "").split('\n').find((l) => l.trim()) ?? 'invalid arguments'
      this.fatal(`${first.trim().replace(/([^.])$/, "$1.")}${this.flagSuggestion(first)} See \`tetractl ${this.id?.replace(/:/g, ' ') ?? ''} --help\`.`, ExitCode.USAGE, err)
      return
    }
    this.fatal(`unexpected error: ${String(err?.message ?? err).split('\n')[0]}${this.debugEnabled ? '' : ' (run with --debug for details)'}`, ExitCode.FINDINGS, err)
  }

  /** " Did you mean --only?" for a mistyped flag name, from this command's own flags. */
  private flagSuggestion(message: string): string {
    const typo = /Nonexistent flags?: --?([\w-]+)/.exec(message)?.[1]
    if (!typo) return ''
    const flags = (this.constructor as typeof BaseCommand).flags ?? {}
    const match = closest(typo, Object.entries(flags).filter(([, f]) => !f.hidden).map(([name]) => name))
    return match ? ` Did you mean --${match}?` : ''
  }

  protected async finally(err: Error | undefined): Promise<void> {
    // A signal that came while the command finished its work still ends it the documented way.
    if (interruption.reason() && !(this.constructor as typeof BaseCommand).signalEndsNormally) process.exitCode = ExitCode.INTERRUPTED
    // No child (helm) outlives the command: wait until every one has exited (stopped ones are killed after a grace).
    await interruption.settle()
    await super.finally(err)
  }

  private fatal(line: string, code: number, err: Error): void {
    process.stderr.write(`Error: ${terminalSafe(redact(line)).replace(/\n/g, ' ')}\n`)
    if (this.debugEnabled && err.stack) process.stderr.write(`${redact(err.stack)}\n`)
    process.exitCode = code
  }
}

/**
 * oclif wraps what a flag's parser threw as "Parsing --NAME \n\tREASON\nSee more help with --help"; the first line
 * alone says nothing. Keep the reason, prefixed with the flag unless it already names it.
 */
function flagReason(message: string): string | undefined {
  const m = /^Parsing (--[\w-]+)\s*\n\t([\s\S]*?)\n?See more help with --help\s*$/.exec(message)
  if (!m) return undefined
  const reason = m[2].replace(/\s+/g, ' ').trim()
  return reason.includes(m[1]) ? reason : `${m[1]}: ${reason}`
}
