import {defineConfig} from 'vitest/config'

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
  },
})
