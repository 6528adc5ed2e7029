#!/usr/bin/env node
// `npm run bench`: performance figures, never part of the tests. Everything compared is measured
// in this one run (these machines are shared and noisy), and ratios are reported, not absolutes.
// Prints a table and writes bench/results.json.
import {spawn} from 'node:child_process'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const only = process.argv.slice(2)
const want = (id) => only.length === 0 || only.includes(id)
const {startLab} = await import(join(root, 'dist/lab/index.js'))
const {getScenario} = await import(join(root, 'dist/lab/scenarios.js'))

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

function run(cmd, args, env = {}) {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(cmd, args, {env: {...process.env, NO_COLOR: '1', ...env}, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({code, ms: performance.now() - started, stdout, stderr}))
  })
}

/** The longest chain of requests where each starts after the previous one finished. */
export function longestSequentialChain(requests) {
  const rs = [...requests].sort((a, b) => a.startedAt - b.startedAt)
  const best = rs.map(() => 1)
  for (let j = 0; j < rs.length; j++) {
    for (let i = 0; i < j; i++) if (rs[i].finishedAt <= rs[j].startedAt && best[i] + 1 > best[j]) best[j] = best[i] + 1
  }
  return Math.max(0, ...best)
}

const results = {measuredAt: new Date().toISOString(), node: process.version}
const rows = []

// P1: cold start of `tetractl --help` against a bare oclif CLI built in this run.
if (want('P1')) {
  const bare = mkdtempSync(join(tmpdir(), 'oclif-hello-'))
  mkdirSync(join(bare, 'bin'))
  mkdirSync(join(bare, 'dist/commands'), {recursive: true})
  writeFileSync(
    join(bare, 'package.json'),
    JSON.stringify({name: 'hello', version: '1.0.0', type: 'module', oclif: {bin: 'hello', commands: './dist/commands', plugins: ['@oclif/plugin-help']}}),
  )
  writeFileSync(join(bare, 'bin/run.js'), "import {execute} from '@oclif/core'\nawait execute({dir: import.meta.url})\n")
  writeFileSync(
    join(bare, 'dist/commands/hello.js'),
    "import {Command} from '@oclif/core'\nexport default class Hello extends Command {\n  static description = 'say hello'\n  async run() { this.log('hello') }\n}\n",
  )
  symlinkSync(join(root, 'node_modules'), join(bare, 'node_modules'))
  const ours = []
  const theirs = []
  for (let i = 0; i < 2; i++) {
    await run(process.execPath, [join(root, 'bin/run.js'), '--help'])
    await run(process.execPath, [join(bare, 'bin/run.js'), '--help'])
  }
  for (let i = 0; i < 15; i++) {
    ours.push((await run(process.execPath, [join(root, 'bin/run.js'), '--help'])).ms)
    theirs.push((await run(process.execPath, [join(bare, 'bin/run.js'), '--help'])).ms)
  }
  rmSync(bare, {recursive: true, force: true})
  results.P1 = {tetractlMedianMs: median(ours), bareOclifMedianMs: median(theirs), ratio: median(ours) / median(theirs), runs: 15, target: '<= 1.15'}
  rows.push(['P1', 'tetractl --help vs bare oclif --help (median of 15)', `${median(ours).toFixed(0)} ms vs ${median(theirs).toFixed(0)} ms`, `${results.P1.ratio.toFixed(2)}x`, '<= 1.15x'])
}

async function doctorOn(scenario, extraArgs = [], labOpts = {}) {
  const lab = await startLab(getScenario(scenario), labOpts)
  const dir = mkdtempSync(join(tmpdir(), 'tetractl-bench-'))
  await lab.writeFiles(dir)
  const rssFile = join(dir, 'rss')
  lab.kube.clearRequests()
  const res = await run(process.execPath, ['--import', join(root, 'scripts/rss-probe.js'), join(root, 'bin/run.js'), 'doctor', '--json', ...extraArgs], {
    ...lab.env,
    TETRACTL_RSS_FILE: rssFile,
  })
  const requests = lab.kube.requests()
  await lab.stop()
  const rss = Number(readFileSync(rssFile, 'utf8'))
  rmSync(dir, {recursive: true, force: true})
  const toMs = (t) => (typeof t === 'number' ? t : Date.parse(t))
  const timed = requests.map((r) => ({startedAt: toMs(r.startedAt), finishedAt: toMs(r.finishedAt)}))
  return {code: res.code, ms: res.ms, rss, requests: requests.length, chain: longestSequentialChain(timed)}
}

// The whole doctor (every layer) against the lab's cluster and Elastic side.
const K8S = []

// P2: doctor on healthy: requests to the Kubernetes API and the longest sequential chain.
if (want('P2')) {
  // Each API answer takes 50 ms, like a remote API server: requests issued together overlap and
  // only true dependencies show up as a chain (with ~1 ms answers, arrival order alone would chain them).
  const r = await doctorOn('healthy', K8S, {latencyMs: 50})
  results.P2 = {requests: r.requests, longestSequentialChain: r.chain, labLatencyMs: 50, wallMs: r.ms, exitCode: r.code, target: '<= 40 requests, <= 6 sequential'}
  rows.push(['P2', 'doctor on healthy (50 ms API latency): API requests / longest sequential chain', `${r.requests} / ${r.chain}`, `${(r.ms / 1000).toFixed(2)} s wall`, '<= 40 / <= 6'])
}

// P3: large-cluster (5,000 nodes) against healthy: wall time ratio, peak RSS, request count.
if (want('P3')) {
  const healthy = []
  const large = []
  let lastLarge
  for (let i = 0; i < 3; i++) {
    healthy.push((await doctorOn('healthy', K8S)).ms)
    lastLarge = await doctorOn('large-cluster', K8S)
    large.push(lastLarge.ms)
  }
  const ratio = median(large) / median(healthy)
  results.P3 = {
    healthyMedianMs: median(healthy),
    largeMedianMs: median(large),
    ratio,
    largePeakRssMB: lastLarge.rss / 1024 / 1024,
    largeRequests: lastLarge.requests,
    target: '<= 3x wall, <= 400 MB',
  }
  rows.push(['P3', 'large-cluster vs healthy: wall ratio (median of 3) / peak RSS / requests', `${median(large).toFixed(0)} ms vs ${median(healthy).toFixed(0)} ms`, `${ratio.toFixed(2)}x, ${(lastLarge.rss / 1048576).toFixed(0)} MB, ${lastLarge.requests} req`, '<= 3x, <= 400 MB'])
}

for (const file of ['bench-more.js', 'bench-faults.js']) {
  try {
    const more = await import(join(root, 'scripts', file))
    for (const [id, fn] of Object.entries(more.benchmarks ?? {})) if (want(id)) await fn({results, rows, run, root, startLab, getScenario, median})
  } catch (error) {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error
  }
}

const widths = [4, 70, 28, 26, 18]
console.log(['id', 'measure', 'measured', 'result', 'target'].map((h, i) => h.padEnd(widths[i])).join(' '))
for (const row of rows) console.log(row.map((c, i) => String(c).padEnd(widths[i])).join(' '))
mkdirSync(join(root, 'bench'), {recursive: true})
writeFileSync(join(root, 'bench/results.json'), `${JSON.stringify(results, null, 2)}\n`)
console.log('\nwritten to bench/results.json')
