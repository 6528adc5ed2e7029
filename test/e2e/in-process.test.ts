// The suite runs most commands inside the test process (test/helpers.ts runCli). One run must not change what the
// next one sees: oclif's help rewrites the ids of the commands it shows, so with a Config shared between runs,
// `sandbox start` after `sandbox start -h` was "not a tetractl command" (exit 127).
import {expect, it} from 'vitest'

import {runCli, tempDir} from '../helpers.js'

it('a command still runs after its help was shown in the same process', async () => {
  for (const round of [1, 2]) {
    const help = await runCli(['sandbox', 'start', '-h'])
    expect(help.code, help.stderr).toBe(0)
    expect(help.stdout).toContain('$ tetractl sandbox start')
    const res = await runCli(['sandbox', 'start', '--scenario', 'nope', '--out', tempDir()])
    expect(res.code, `round ${round}: ${res.stderr}`).toBe(2)
    expect(res.stderr).toContain('Unknown scenario "nope"')
  }
})

it('leaves no process signal handler and no oclif setting behind', async () => {
  const {settings} = await import('@oclif/core')
  const before = {debug: settings.debug, sigterm: process.listenerCount('SIGTERM'), exit: process.listenerCount('exit')}
  const res = await runCli(['sandbox', 'list'], {env: {TETRACTL_DEBUG: '1'}})
  expect(res.code, res.stderr).toBe(0)
  expect({debug: settings.debug, sigterm: process.listenerCount('SIGTERM'), exit: process.listenerCount('exit')}).toEqual(before)
})
