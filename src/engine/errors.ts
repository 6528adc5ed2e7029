import {ExitCode} from './exit-codes.js'

/**
 * An error meant for the user: one line saying what is wrong, one saying what to do.
 * Commands print it without a stack trace (unless --debug) and exit with its code.
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly tryMessage?: string,
    readonly exitCode: number = ExitCode.USAGE,
  ) {
    super(message)
    this.name = 'UserError'
  }

  oneLine(): string {
    return this.tryMessage ? `${this.message} ${this.tryMessage}` : this.message
  }
}

/** The target exists in configuration but cannot be reached or refuses us (exit 3). */
export class UnreachableError extends UserError {
  constructor(message: string, tryMessage?: string) {
    super(message, tryMessage, ExitCode.UNREACHABLE)
    this.name = 'UnreachableError'
  }
}

/** A check hit a permission it lacks; the check becomes not-evaluated naming it. */
export class ForbiddenError extends Error {
  constructor(
    readonly verb: string,
    readonly resource: string,
    readonly namespace?: string,
  ) {
    super(`forbidden: cannot ${verb} ${resource}${namespace ? ` in namespace ${namespace}` : ''}`)
    this.name = 'ForbiddenError'
  }
}

/** A check does not apply to this target (e.g. no cluster for a standalone agent): status skip. */
export class SkipError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'SkipError'
  }
}

/** Remove anything that looks like a credential from text we are about to print (one implementation: ./redact.ts). */
export {redact} from './redact.js'

/** The run was stopped by SIGINT, SIGTERM or SIGHUP: exit 130 whatever was going on. */
export class InterruptedError extends UserError {
  constructor(
    readonly signal: string,
    detail?: string,
    tryMessage?: string,
  ) {
    super(`interrupted (${signal})${detail ? `: ${detail}` : ''}`, tryMessage, ExitCode.INTERRUPTED)
    this.name = 'InterruptedError'
  }
}
