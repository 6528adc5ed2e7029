import {defineConfig} from 'vitest/config'

import LongestFirst from './test/sequencer.js'

export default defineConfig({
  test: {
    // In-process output (oclif's ux.stdout) reaches the terminal as written, not through vitest's console capture.
    disableConsoleIntercept: true,
    include: ['test/**/*.test.ts'],
    // Third-party clients against the lab run on their own (`npm run test:conformance`).
    exclude: ['test/conformance/**', 'node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Most e2e time is spent waiting on the lab (sample windows, timeouts the faulty servers provoke), not on the CPU:
    // four files at a time keep two cores busy. The suite's timeouts are bounds for a loaded machine, not measurements.
    maxWorkers: 4,
    // A worker keeps its modules from one file to the next (the CLI, the clients and the lab load once per worker, not
    // once per file: that was a third of the suite's CPU). Test files leave no state behind: each starts its own labs,
    // restores the environment variables it sets, and the in-process CLI runs restore process state (test/helpers.ts).
    isolate: false,
    sequence: {sequencer: LongestFirst},
  },
})
