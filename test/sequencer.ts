// Which test files start first. vitest orders by the durations it cached on earlier runs and, without them (a fresh
// clone, CI), by file size, largest first: that starts the small hints shards, which wait on their labs for close to a
// minute each, last, and the suite ends waiting for them. The files measured to run longest start first here; the
// rest keep vitest's order. A file missing from the list only starts later.
import {relative} from 'node:path'

import {BaseSequencer, type TestSpecification} from 'vitest/node'

const LONGEST_FIRST = [
  'test/e2e/setup.test.ts',
  'test/e2e/reliability.test.ts',
  'test/e2e/fix.test.ts',
  'test/e2e/interrupt.test.ts',
  'test/e2e/doctor-tetragon.test.ts',
  'test/e2e/hints-1.test.ts',
  'test/e2e/hints-2.test.ts',
  'test/e2e/secrets.test.ts',
  'test/e2e/hints-3.test.ts',
  'test/e2e/validate.test.ts',
  'test/e2e/validate-cleanup.test.ts',
  'test/e2e/setup-bad-input.test.ts',
]

export default class LongestFirst extends BaseSequencer {
  async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const byVitest = await super.sort(files)
    const rank = (f: TestSpecification) => {
      const i = LONGEST_FIRST.indexOf(relative(this.ctx.config.root, f.moduleId).split('\\').join('/'))
      return i < 0 ? LONGEST_FIRST.length : i
    }
    return byVitest.map((f, i) => ({f, i})).sort((a, b) => rank(a.f) - rank(b.f) || a.i - b.i).map(({f}) => f)
  }
}
