#!/usr/bin/env node
// `npm run demo`: start the embedded lab on a broken scenario and run the built doctor against it.
// No cluster needed. Usage: node scripts/demo.js [scenario]   (default: selector-mismatch)
import {spawn} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const {startLab} = await import(join(root, 'dist/lab/index.js'))
const {getScenario, scenarios} = await import(join(root, 'dist/lab/scenarios.js'))

const name = process.argv[2] ?? 'selector-mismatch'
const spec = getScenario(name)
if (!spec) {
  console.error(`unknown scenario ${name}; one of: ${[...scenarios.keys()].join(', ')}`)
  process.exit(2)
}
const dir = mkdtempSync(join(tmpdir(), 'tetractl-demo-'))
const lab = await startLab(spec)
await lab.writeFiles(dir)
console.log(`\n# Simulated cluster "${name}": ${spec.description}`)
console.log(`# $ tetractl doctor --kubeconfig ${join(dir, 'kubeconfig')}\n`)
// The lab runs in this process, so the CLI must run asynchronously beside it.
const child = spawn(process.execPath, [join(root, 'bin/run.js'), 'doctor', '--kubeconfig', join(dir, 'kubeconfig')], {
  stdio: 'inherit',
  env: {...process.env, ...lab.env},
})
const run = await new Promise((resolve) => child.on('close', (status) => resolve({status})))
await lab.stop()
rmSync(dir, {recursive: true, force: true})
const code = run.status ?? 1
console.log(`\n# doctor exited ${code}${code === 1 ? ' (findings: expected on a broken scenario)' : ''}`)
console.log('# try another: npm run demo -- no-service   (list: node bin/run.js sandbox list)')
// 0 and 1 are doctor working as designed; anything else is the demo failing.
process.exit(code <= 1 ? 0 : code)
