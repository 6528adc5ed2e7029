// A hostile Elasticsearch (issue #12): its error reasons carry escape sequences that would clear the screen, set the
// window title and print a forged "✔ es.dataset all good". Human output, -v, JUnit and GitHub annotations show the
// text without them; --json keeps the text, escaped.
import {createServer, type Server} from 'node:http'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {runCli, tempDir} from '../helpers.js'

// Clear the screen, home the cursor, set the title, return to column 0 and erase the line, then a forged result.
const HOSTILE = '\u001b[2J\u001b[H\u001b]0;pwned\u0007\r\u001b[2K  \u2714 es.dataset              all good\u001b[8m\u009b2J'

let server: Server
let url: string

beforeAll(async () => {
  // Not the lab (which answers as Elasticsearch does): a server that answers the root like Elasticsearch 8 and
  // every other request with a 400 whose reason is hostile.
  server = createServer((req, res) => {
    req.resume()
    res.setHeader('x-elastic-product', 'Elasticsearch')
    res.setHeader('content-type', 'application/json')
    if (req.url === '/' || req.url?.startsWith('/?')) {
      res.end(JSON.stringify({name: 'n', cluster_name: 'c', version: {number: '8.15.0', build_flavor: 'default'}, tagline: 'You Know, for Search'}))
      return
    }
    res.statusCode = 400
    res.end(JSON.stringify({error: {root_cause: [{type: 'illegal_argument_exception', reason: HOSTILE}], type: 'illegal_argument_exception', reason: HOSTILE}, status: 400}))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const addr = server.address() as {port: number}
  url = `http://127.0.0.1:${addr.port}`
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/

describe('server text on a terminal', () => {
  it('human, -v, JUnit and GitHub annotations: no escape sequence, no forged result line', async () => {
    const junit = join(tempDir(), 'r.xml')
    const res = await runCli(['doctor', '-v', '--only', 'elastic', '--junit', junit], {env: {ELASTICSEARCH_URL: url, GITHUB_ACTIONS: 'true'}})
    // The reason did reach tetractl (some check quotes it), so the test can fail.
    expect(res.stdout).toContain('all good')
    for (const out of [res.stdout, res.stderr, existsSync(junit) ? readFileSync(junit, 'utf8') : '']) {
      expect(out).not.toMatch(UNSAFE)
      expect(out).not.toContain('pwned\u0007')
    }
    // A result line starts with two spaces and a symbol; the quoted text stays indented under its own result.
    expect(res.stdout.split('\n').filter((l) => /^ {2}\u2714 es\.dataset\s+all good/.test(l))).toEqual([])
  })

  it('--json keeps the text, escaped', async () => {
    const res = await runCli(['doctor', '--json', '--only', 'elastic'], {env: {ELASTICSEARCH_URL: url}})
    expect(res.stdout).not.toMatch(UNSAFE)
    expect(res.stdout).toContain('\\u001b[2J')
    expect(JSON.stringify(res.json())).toContain('all good')
  })
})
