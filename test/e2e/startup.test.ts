// Start-up rule: help and local-only commands never load the Kubernetes, Elasticsearch or gRPC clients.
import {spawn} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {BIN, ROOT, tempDir} from '../helpers.js'

const HEAVY = ['@kubernetes/client-node', '@elastic/elasticsearch', '@grpc/grpc-js', '@grpc/proto-loader', 'protobufjs']

function tracedRun(args: string[]): Promise<{code: number | null; modules: string[]}> {
  const file = join(tempDir(), 'imports.txt')
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', join(ROOT, 'test/fixtures/trace-imports.mjs'), BIN, ...args], {
      env: {PATH: process.env.PATH, HOME: tempDir(), NO_COLOR: '1', TRACE_IMPORTS_FILE: file},
      stdio: 'ignore',
    })
    child.on('close', (code) => resolve({code, modules: existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []}))
  })
}

describe('start-up', () => {
  it.each([[['--help']], [['doctor', '--help']], [['sandbox', 'list']], [['--version']]])('%j loads none of the heavy clients', async (args) => {
    const {code, modules} = await tracedRun(args)
    expect(code).toBe(0)
    // The trace works: oclif itself was seen.
    expect(modules.some((m) => m.includes('@oclif/core'))).toBe(true)
    for (const heavy of HEAVY) expect(modules.filter((m) => m.includes(`/node_modules/${heavy}/`))).toEqual([])
  })

  it('a command that talks to a cluster does load client-node (the trace can see it)', async () => {
    const {modules} = await tracedRun(['doctor', '--kubeconfig', '/nonexistent'])
    expect(modules.some((m) => m.includes('/node_modules/@kubernetes/client-node/'))).toBe(true)
  })
})
