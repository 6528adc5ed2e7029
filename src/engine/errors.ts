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

/** Remove anything that looks like a credential from text we are about to print. */
export function redact(text: string): string {
  return text
    .replace(/(authorization:\s*)(bearer|basic|apikey)\s+[^\s"',]+/gi, '$1$2 [REDACTED]')
    .replace(/\b(Bearer|Basic|ApiKey)\s+[A-Za-z0-9._~+/=-]{6,}/g, '$1 [REDACTED]')
    .replace(/(\/\/)([^/@\s:]+):([^/@\s]+)@/g, '$1[REDACTED]@')
    .replace(/("?(?:token|password|api[_-]?key|client-key-data|client-certificate-data)"?\s*[:=]\s*"?)[^"\s,}]+/gi, '$1[REDACTED]')
}
