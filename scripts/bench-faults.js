// Benchmarks of issue #12, imported by scripts/bench.js: `export const benchmarks = {id: async (helpers) => …}`.
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

export const benchmarks = {
  // P10: peak RSS of `doctor` when the agent selector matches 100,000 pods (scenario kube-huge-list: the fault
  // layer serves them page by page, honouring limit/continue). Bounded pages keep the CLI's memory flat.
  P10: async ({results, rows, run, root, startLab, getScenario}) => {
    const lab = await startLab(getScenario('kube-huge-list'))
    const dir = mkdtempSync(join(tmpdir(), 'tetractl-bench-'))
    await lab.writeFiles(dir)
    const rssFile = join(dir, 'rss')
    const res = await run(
      process.execPath,
      ['--import', join(root, 'scripts/rss-probe.js'), join(root, 'bin/run.js'), 'doctor', '--json', '--only=tetragon.daemonset', '--timeout', '600s', '--check-timeout', '600s', '--request-timeout', '60s'],
      {...lab.env, TETRACTL_RSS_FILE: rssFile},
    )
    const pageRequests = lab.kube.requests().filter((r) => r.resource === 'pods').length
    await lab.stop()
    const rss = Number(readFileSync(rssFile, 'utf8'))
    rmSync(dir, {recursive: true, force: true})
    let check
    try {
      check = JSON.parse(res.stdout).checks.find((c) => c.id === 'tetragon.daemonset')
    } catch {
      check = {status: 'no report', message: res.stderr.split('\n')[0]}
    }
    results.P10 = {peakRssMB: rss / 1048576, wallMs: res.ms, exitCode: res.code, daemonset: `${check?.status}: ${check?.message}`, labPodRequests: pageRequests, target: '<= 300 MB'}
    rows.push(['P10', 'doctor (tetragon.daemonset) with 100,000 agent pods: peak RSS', `${(rss / 1048576).toFixed(0)} MB`, `${(res.ms / 1000).toFixed(1)} s, exit ${res.code}`, '<= 300 MB'])
  },
}
