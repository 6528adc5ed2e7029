// Shared by the Elastic conformance files: starts the Elastic lab, runs test/conformance/elastic/es_client_ops.py
// with Debian's Python (the official elasticsearch client 7.17, plain HTTP for Fleet) and hands back one result per
// operation. A missing client fails the suite when CI is set; elsewhere the file is skipped with the reason.
import {execFile} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {startElasticLab, type ElasticLab} from '../../../src/lab/elastic/index.js'

export const PYTHON = '/usr/bin/python3'
const SCRIPT = fileURLToPath(new URL('./es_client_ops.py', import.meta.url))

export interface OpResult {
  op: string
  ok: boolean
  status: number | null
  error_type: string | null
  reason: string | null
  result: any
}

function exec(file: string, args: string[], env: Record<string, string>): Promise<{code: number; stdout: string; stderr: string}> {
  return new Promise((resolve) => {
    execFile(file, args, {env: {...process.env, ...env}, timeout: 110_000, maxBuffer: 32 * 1024 * 1024}, (err, stdout, stderr) => {
      resolve({code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout: String(stdout), stderr: String(stderr)})
    })
  })
}

/** Why the Python client cannot run here, or undefined when it can. */
export async function pythonClientMissing(): Promise<string | undefined> {
  const r = await exec(PYTHON, ['-c', 'import elasticsearch; print(elasticsearch.__versionstr__)'], {})
  return r.code === 0 ? undefined : `Debian's python3-elasticsearch is not importable by ${PYTHON} (scripts/conformance-deps.sh installs it): ${r.stderr.trim().split('\n').pop()}`
}

export async function runOps(group: 'es' | 'kibana'): Promise<{lab: ElasticLab; results: Map<string, OpResult>; stderr: string}> {
  const lab = await startElasticLab({scenario: 'healthy'})
  const dir = mkdtempSync(join(tmpdir(), 'tetractl-conf-es-'))
  const r = await exec(PYTHON, [SCRIPT, group], {
    LAB_ES_URL: lab.esUrl,
    LAB_KIBANA_URL: lab.kibanaUrl,
    LAB_CA_FILE: lab.caFile(dir),
    LAB_API_KEY: lab.credentials.apiKey,
    LAB_ADMIN_USER: lab.admin.username,
    LAB_ADMIN_PASSWORD: lab.admin.password,
  })
  const results = new Map<string, OpResult>()
  for (const line of r.stdout.split('\n').filter(Boolean)) {
    const o = JSON.parse(line) as OpResult
    results.set(o.op, o)
  }
  return {lab, results, stderr: r.stderr}
}
