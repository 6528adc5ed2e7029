// How a plan reads on a terminal, and the spinner shown while waiting (stderr, TTY only).
import type {Planned} from './steps.js'

const MARK: Record<Planned['change'], string> = {create: '+', update: '~', none: '='}

export function renderPlan(plans: Planned[], opts: {verbose: boolean}): string {
  const lines: string[] = []
  for (const p of plans) {
    lines.push(`${MARK[p.change]} ${p.title}: ${p.change === 'none' ? 'unchanged, ' : ''}${p.summary}`)
    if (p.change !== 'none' || opts.verbose) for (const d of p.detail) lines.push(`    ${d}`)
  }
  return lines.join('\n')
}

/** An ora spinner on stderr while fn runs; tick(text) updates it. Plain call without a TTY. */
export async function withSpinner<T>(enabled: boolean, text: string, fn: (tick: (s: string) => void) => Promise<T>): Promise<T> {
  if (!enabled) return fn(() => {})
  const {default: ora} = await import('ora')
  // discardStdin: false keeps the terminal in cooked mode, so a Ctrl-C typed there is still SIGINT (doctor's spinner does the same).
  const spinner = ora({stream: process.stderr, text, isEnabled: true, discardStdin: false}).start()
  try {
    return await fn((s) => (spinner.text = `${text}: ${s}`))
  } finally {
    spinner.stop()
  }
}
