// The sandbox's helm: DIR/bin/helm runs the lab's Helm stand-in (helm.mjs), pinned to this sandbox's API server
// and to a repository file in DIR, so `setup` and `doctor --fix` can be tried there; real installs use the real helm.
import {mkdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'

import YAML from 'yaml'

import {writePrivateFileSync} from '../private-file.js'

/** Writes DIR/bin/helm (mode 0700) after DIR/kubeconfig is written, pinned to the API server that kubeconfig names. */
export function writeSandboxHelm(dir: string): string {
  // The sandbox's kubeconfig names the server clients reach (the fault proxy's, when a scenario has one).
  const kubeconfig = YAML.parse(readFileSync(join(dir, 'kubeconfig'), 'utf8')) as {clusters?: Array<{cluster?: {server?: string}}>}
  const server = kubeconfig.clusters?.[0]?.cluster?.server
  if (!server) throw new Error(`${join(dir, 'kubeconfig')} names no API server`)
  const bin = join(dir, 'bin')
  mkdirSync(bin, {recursive: true, mode: 0o700})
  const file = join(bin, 'helm')
  const entry = pathToFileURL(join(import.meta.dirname, 'helm.mjs')).href
  // A shebang line cannot hold a path with spaces: then node is looked up on PATH.
  const node = /\s/.test(process.execPath) ? '/usr/bin/env node' : process.execPath
  const script = [
    `#!${node}`,
    "// tetractl sandbox's stand-in for Helm 3 (tetractl src/lab/helm/helm.mjs): only for this sandbox.",
    `process.env.TETRACTL_SANDBOX_HELM_SERVER = ${JSON.stringify(server)}`,
    `process.env.HELM_REPOSITORY_CONFIG = ${JSON.stringify(join(dir, 'helm', 'repositories.yaml'))}`,
    `import(${JSON.stringify(entry)}).catch((error) => {`,
    '  process.stderr.write(`Error: ${error?.message ?? error}\\n`)',
    '  process.exit(1)',
    '})',
    '',
  ].join('\n')
  writePrivateFileSync(file, script, 0o700)
  return file
}
