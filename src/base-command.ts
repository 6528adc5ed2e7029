import {Command, Errors} from '@oclif/core'

import {ExitCode} from './engine/exit-codes.js'
import {UserError, redact} from './engine/errors.js'
import {closest} from './engine/suggest.js'

/**
 * Every command's error path: one line on stderr saying what is wrong and what to do, the exit
 * code from the documented table, and a stack trace only with --debug.
 */
export abstract class BaseCommand extends Command {
  protected get debugEnabled(): boolean {
    return this.argv.includes('--debug') || process.env.TETRACTL_DEBUG === '1'
  }

  protected async catch(err: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<void> {
    // this.exit() and --help/--version use ExitError: let oclif handle them.
    if (err instanceof Errors.ExitError) throw err
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

  private fatal(line: string, code: number, err: Error): void {
    process.stderr.write(`Error: ${redact(line)}\n`)
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
