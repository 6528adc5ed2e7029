// No secret leaves tetractl (issue #12): every command and its error paths run with canary secrets — the lab's own
// bearer token and Elasticsearch credentials, plus canaries in URL user-info (with and without a scheme), in
// credential query parameters and in the kubeconfig's server URL — and stdout, stderr, the JUnit file, the GitHub
// annotations and whatever is left in the temp folder after exit are searched for them: 0 occurrences.
import {existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'
import YAML from 'yaml'

import {withLab} from '../fixtures/helm/harness.js'
import {runCli, tempDir, type CliResult} from '../helpers.js'
import {withScenario} from './validate-helpers.js'

const CANARY = {
  kubeUserinfo: 'kubepw-CANARY-7f3a9c',
  esUserinfo: 'espw-CANARY-2b8c1d',
  query: 'qs-CANARY-91d0ef',
  probeUrl: 'urltok-CANARY-55aa01',
  kibana: 'kbpw-CANARY-3c3c3c',
}

/** Every file under `dir`, with its content. */
function filesUnder(dir: string): Array<{path: string; text: string}> {
  if (!existsSync(dir)) return []
  const out: Array<{path: string; text: string}> = []
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out.push(...filesUnder(p))
    else out.push({path: p, text: readFileSync(p, 'utf8')})
  }
  return out
}

/** Runs tetractl with a private TMPDIR, --junit where the command has it, GitHub annotations on; returns every output. */
async function runAll(args: string[], env: Record<string, string>, opts: {junit?: boolean} = {}): Promise<{res: CliResult; outputs: Array<{where: string; text: string}>}> {
  const tmp = tempDir('tetractl-secrets-tmp-')
  const junit = join(tempDir('tetractl-secrets-junit-'), 'report.xml')
  const res = await runCli([...args, ...(opts.junit ? ['--junit', junit] : [])], {env: {...env, TMPDIR: tmp, GITHUB_ACTIONS: 'true'}, timeoutMs: 120_000})
  const outputs = [
    {where: 'stdout', text: res.stdout},
    {where: 'stderr', text: res.stderr},
    ...(existsSync(junit) ? [{where: 'junit', text: readFileSync(junit, 'utf8')}] : []),
    ...filesUnder(tmp).map((f) => ({where: `temp file ${f.path}`, text: f.text})),
  ]
  return {res, outputs}
}

function leaks(outputs: Array<{where: string; text: string}>, secrets: string[]): string[] {
  const found: string[] = []
  for (const o of outputs) for (const s of secrets) if (s && o.text.includes(s)) found.push(`${o.where} contains ${s.slice(0, 12)}…: ${o.text.slice(Math.max(0, o.text.indexOf(s) - 80), o.text.indexOf(s) + 40)}`)
  return found
}

/** A copy of the lab's kubeconfig whose server URL carries user-info (a password) and a token query. */
function kubeconfigWithUserinfo(dir: string, source: string): string {
  const kc = YAML.parse(readFileSync(source, 'utf8'))
  for (const c of kc.clusters) c.cluster.server = c.cluster.server.replace('https://', `https://admin:${CANARY.kubeUserinfo}@`)
  const file = join(dir, 'kubeconfig-userinfo')
  writeFileSync(file, YAML.stringify(kc), {mode: 0o600})
  return file
}

describe('canary secrets: 0 occurrences in any output or file', () => {
  it('doctor, validate and events, their error paths, in human, -v, --json, JUnit and GitHub annotations', async () => {
    await withScenario('healthy', async (lab, env, dir) => {
      const secrets = [lab.kube.token, env.ELASTICSEARCH_API_KEY ?? '', env.ELASTICSEARCH_PASSWORD ?? '', ...Object.values(CANARY)]
      const apiKey = env.ELASTICSEARCH_API_KEY ? Buffer.from(env.ELASTICSEARCH_API_KEY, 'base64').toString('utf8').split(':')[1] : undefined
      if (apiKey) secrets.push(apiKey)
      // The probe's /etc/shadow (what the lab's `cat /etc/shadow` prints): evidence keeps its size and digest only.
      secrets.push('root:*::0', 'bin:!::0')
      const userinfo = kubeconfigWithUserinfo(dir, env.KUBECONFIG!)
      const probeUrl = `http://google.com/?access_token=${CANARY.probeUrl}`
      const runs: Array<{args: string[]; env?: Record<string, string>; junit?: boolean}> = [
        {args: ['doctor', '-v'], junit: true},
        {args: ['doctor', '--json'], junit: true},
        {args: ['validate', '-v', '--url', probeUrl], junit: true},
        {args: ['validate', '--json', '--url', probeUrl], junit: true},
        {args: ['events', '--count', '1']},
        // Error paths: a scheme-less URL with user-info, a credential query, a kubeconfig server with user-info.
        {args: ['doctor', '--es-url', `elastic:${CANARY.esUserinfo}@127.0.0.1:9200`]},
        {args: ['validate', '--json', '--es-url', `elastic:${CANARY.esUserinfo}@127.0.0.1:9200`]},
        {args: ['doctor', '--json', '--only', 'elastic', '--es-url', `https://127.0.0.1:1/?apikey=${CANARY.query}`], junit: true},
        {args: ['doctor', '-v', '--only', 'kibana', '--kibana-url', `https://kibana:${CANARY.kibana}@127.0.0.1:1/`], junit: true},
        {args: ['doctor', '--json', '--only', 'kubernetes', '--kubeconfig', userinfo], junit: true},
        {args: ['doctor', '-v', '--only', 'kubernetes', '--kubeconfig', userinfo]},
        {args: ['validate', '--json', '--kubeconfig', userinfo], junit: true},
        {args: ['events', '--count', '1', '--kubeconfig', userinfo]},
      ]
      const found: string[] = []
      for (const r of runs) {
        const {res, outputs} = await runAll(r.args, {...env, ...r.env}, {junit: r.junit})
        // Each run did something worth searching (a report or a one-line error).
        expect(res.stdout.length + res.stderr.length, r.args.join(' ')).toBeGreaterThan(0)
        found.push(...leaks(outputs, secrets).map((l) => `${r.args.join(' ')}: ${l}`))
      }
      expect(found).toEqual([])
    })
  }, 600_000)

  it('setup and doctor --fix (helm, the temporary kubeconfig and values file), and their error paths', async () => {
    await withLab('grpc-localhost', async (h) => {
      const secrets = [h.lab.kube.token, ...Object.values(CANARY)]
      const dir = tempDir('tetractl-secrets-kc-')
      mkdirSync(dir, {recursive: true})
      const userinfo = kubeconfigWithUserinfo(dir, h.env.KUBECONFIG!)
      const runs: string[][] = [
        ['setup', '--dry-run', '-v'],
        ['doctor', '--fix', '--yes', '-v', '--only', 'kubernetes,tetragon'],
        ['setup', '--json'],
        ['setup', '--json', '--kubeconfig', userinfo],
        ['doctor', '--fix', '--yes', '--json', '--only', 'kubernetes,tetragon', '--kubeconfig', userinfo],
        ['setup', '--kibana-url', `https://kibana:${CANARY.kibana}@127.0.0.1:1/?apikey=${CANARY.query}`],
        ['setup', '--kibana-url', `kibana:${CANARY.kibana}@127.0.0.1:5601`],
      ]
      const found: string[] = []
      for (const args of runs) {
        const {res, outputs} = await runAll(args, h.env)
        expect(res.stdout.length + res.stderr.length, args.join(' ')).toBeGreaterThan(0)
        found.push(...leaks(outputs, secrets).map((l) => `${args.join(' ')}: ${l}`))
      }
      expect(found).toEqual([])
    })
  }, 900_000)
})
