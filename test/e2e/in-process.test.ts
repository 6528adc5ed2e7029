// The suite runs most commands inside the test process (test/helpers.ts runCli). One run must not change what the
// next one sees: oclif's help rewrites the ids of the commands it shows, and a Config shared between runs then no
// longer finds `sandbox start` (a CI run failed that way: exit 127, "sandbox start is not a tetractl command").
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
