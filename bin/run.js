#!/usr/bin/env node
// A signal that arrives before a command has installed its handlers (loading oclif and the clients takes about a
// second) is kept, not fatal: the command then starts interrupted, reports that nothing finished, writes its
// JUnit and exits 130, as an interrupt later in the run does (src/engine/interrupt.ts takes these over).
const early = []
const keep = (sig) => void early.push(sig)
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, keep)
globalThis.tetractlEarlySignals = {
  signals: early,
  release() {
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.off(sig, keep)
  },
}
// For tests that must interrupt at this exact point without racing the start-up.
if (process.env.TETRACTL_DEBUG_SIGNALS === '1') process.stderr.write('tetractl: signal handlers installed\n')

const {execute} = await import('@oclif/core')
await execute({dir: import.meta.url})
// A command is done when execute() resolves; sockets a timed-out request left behind must not
// keep the process alive (no command may hang). stdout to a pipe or file is synchronous on Linux.
// A signal kept above but never taken over (help, version) ends here like the command did.
process.exit()
