import type {CheckResult, Check} from '../engine/types.js'

interface Progress {
  onStart(check: Check<any>): void
  onResult(result: CheckResult): void
}

/** An ora spinner on stderr while checks run, only when stderr is a TTY. */
export async function withProgress<T>(enabled: boolean, fn: (progress: Partial<Progress>) => Promise<T>): Promise<T> {
  if (!enabled || !process.stderr.isTTY) return fn({})
  const {default: ora} = await import('ora')
  const running = new Set<string>()
  const spinner = ora({stream: process.stderr, text: 'starting checks', isEnabled: true}).start()
  const update = () => (spinner.text = running.size > 0 ? `checking ${[...running].join(', ')}` : 'checking')
  try {
    return await fn({
      onStart: (c) => {
        running.add(c.id)
        update()
      },
      onResult: (r) => {
        running.delete(r.id)
        update()
      },
    })
  } finally {
    spinner.stop()
  }
}
