// `curl` for the lab's exec emulator: the subset the end-to-end probe uses (`curl -sS -m 5 <url>`), with the exit
// codes and `-sS` error lines curl documents (curl(1) "EXIT CODES", "-s, --silent", "-S, --show-error",
// "-m, --max-time"). Lab only.
//
// Names resolve through the lab DNS as the pod's resolver would (search list, CoreDNS). Names outside
// cluster.local are forwarded to the nodes' upstream resolver, which the lab models with the small fixed table
// below: a few public names mapped to documentation addresses (RFC 5737 TEST-NET ranges), each answering HTTP
// the way the real site does on port 80 / 443. They are not the real sites' addresses; anything else outside
// the cluster is NXDOMAIN, as on an air-gapped network.

import net from 'node:net'
import tls from 'node:tls'

import type {Dns} from './dns.js'
import type {ExecContext, ExecRegistry, ExecResult} from './exec.js'
import {isIPv4} from './ip.js'
import {type Network, dialTarget} from './network.js'

interface ExternalHost {
  ip: string
  /** HTTP answer per scheme; ports other than 80/443 are filtered (connect timeout). */
  http?: {status: string; headers: Record<string, string>; body: string}
}

const moved = (location: string) => ({
  status: '301 Moved Permanently',
  headers: {Location: location, 'Content-Type': 'text/html; charset=UTF-8'},
  // What http://google.com/ answers (a redirect to www, no -L given).
  body: `<HTML><HEAD><meta http-equiv="content-type" content="text/html;charset=utf-8">\n<TITLE>301 Moved</TITLE></HEAD><BODY>\n<H1>301 Moved</H1>\nThe document has moved\n<A HREF="${location}">here</A>.\r\n</BODY></HTML>\r\n`,
})

const ok = (title: string) => ({
  status: '200 OK',
  headers: {'Content-Type': 'text/html; charset=UTF-8'},
  body: `<!doctype html>\n<html>\n<head>\n    <title>${title}</title>\n</head>\n<body>\n<h1>${title}</h1>\n</body>\n</html>\n`,
})

/** The upstream resolver's table (documentation addresses, RFC 5737). */
export const EXTERNAL_HOSTS: Record<string, ExternalHost> = {
  'google.com': {ip: '192.0.2.80', http: moved('http://www.google.com/')},
  'www.google.com': {ip: '192.0.2.81', http: ok('Google')},
  'example.com': {ip: '198.51.100.10', http: ok('Example Domain')},
  'www.example.com': {ip: '198.51.100.11', http: ok('Example Domain')},
  'example.org': {ip: '198.51.100.12', http: ok('Example Domain')},
  'tetragon.io': {ip: '203.0.113.40', http: ok('Tetragon')},
  'elastic.co': {ip: '203.0.113.50', http: moved('https://www.elastic.co/')},
  'www.elastic.co': {ip: '203.0.113.51', http: ok('Elastic')},
}

export function upstreamLookup(fqdn: string): string[] | undefined {
  const h = EXTERNAL_HOSTS[fqdn.toLowerCase()]
  return h ? [h.ip] : undefined
}

const byIp = (ip: string) => Object.values(EXTERNAL_HOSTS).find((h) => h.ip === ip)

interface CurlArgs {
  silent: boolean
  showError: boolean
  maxTimeS?: number
  connectTimeoutS?: number
  insecure: boolean
  head: boolean
  url?: string
  output?: string
}

function parseArgs(argv: string[]): CurlArgs | {usage: string} {
  const a: CurlArgs = {silent: false, showError: false, insecure: false, head: false}
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i]!
    const value = () => argv[++i]
    if (x === '--silent') a.silent = true
    else if (x === '--show-error') a.showError = true
    else if (x === '--insecure') a.insecure = true
    else if (x === '--head') a.head = true
    else if (x === '--max-time') a.maxTimeS = Number(value())
    else if (x === '--connect-timeout') a.connectTimeoutS = Number(value())
    else if (x === '--output') a.output = value()
    else if (/^-[a-zA-Z]+$/.test(x)) {
      // Short options can be combined (-sS); one taking a value ends the group (-sSm 5 is not used here).
      for (const c of x.slice(1)) {
        if (c === 's') a.silent = true
        else if (c === 'S') a.showError = true
        else if (c === 'k') a.insecure = true
        else if (c === 'I') a.head = true
        else if (c === 'm') a.maxTimeS = Number(value())
        else if (c === 'o') a.output = value()
        else if (c === 'L' || c === 'f' || c === 'v') continue
        else return {usage: `curl: option -${c}: is unknown\ncurl: try 'curl --help' or 'curl --manual' for more information\n`}
      }
    } else if (x.startsWith('-')) return {usage: `curl: option ${x}: is unknown\ncurl: try 'curl --help' or 'curl --manual' for more information\n`}
    else a.url = x
  }
  if (a.maxTimeS !== undefined && !(a.maxTimeS > 0)) return {usage: 'curl: option -m: expected a proper numerical parameter\n'}
  return a
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** Reads an HTTP/1.1 response on `sock` until the server closes or `deadline`. */
function exchange(sock: net.Socket | tls.TLSSocket, request: string, deadline: number): Promise<{data: Buffer; timedOut: boolean}> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    const timer = setTimeout(() => {
      sock.destroy()
      resolve({data: Buffer.concat(chunks), timedOut: true})
    }, Math.max(0, deadline - Date.now()))
    sock.on('data', (d: Buffer) => chunks.push(d))
    sock.on('error', () => {})
    sock.on('close', () => {
      clearTimeout(timer)
      resolve({data: Buffer.concat(chunks), timedOut: false})
    })
    sock.write(request)
  })
}

export function registerCurl(exec: ExecRegistry, dns: Dns, network: Network): () => void {
  dns.upstream = upstreamLookup
  const undo = exec.register('curl', (ctx) => curl(ctx, dns, network))
  return () => {
    undo()
    if (dns.upstream === upstreamLookup) dns.upstream = undefined
  }
}

async function curl(ctx: ExecContext, dns: Dns, network: Network): Promise<ExecResult> {
  const parsed = parseArgs(ctx.argv.slice(1))
  if ('usage' in parsed) return {stderr: parsed.usage, exitCode: 2}
  const a = parsed
  const started = Date.now()
  // -s hides errors unless -S; without -s the progress meter would go to stderr (not emulated).
  const fail = (code: number, text: string): ExecResult => ({stderr: !a.silent || a.showError ? `curl: (${code}) ${text}\n` : '', exitCode: code})
  if (!a.url) return {stderr: "curl: no URL specified\ncurl: try 'curl --help' or 'curl --manual' for more information\n", exitCode: 2}
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(a.url) ? a.url : `http://${a.url}`
  let u: URL
  try {
    u = new URL(withScheme)
  } catch {
    return fail(3, 'URL rejected: Malformed input to a URL function')
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return fail(1, `Protocol "${u.protocol.slice(0, -1)}" not supported`)
  const host = u.hostname.replace(/^\[|\]$/g, '')
  const port = u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80
  const maxMs = (a.maxTimeS ?? 300) * 1000
  const deadline = started + maxMs
  const elapsed = () => Date.now() - started
  const timedOut = (): ExecResult => fail(28, `Connection timed out after ${Math.max(elapsed(), maxMs)} milliseconds`)

  let ip = host
  if (!isIPv4(host)) {
    if (host === 'localhost') ip = '127.0.0.1'
    else {
      const answer = dns.resolve(host, ctx.pod)
      if (answer.kind === 'timeout') {
        // The resolver's own timeout (resolv.conf: 5 s × 2 attempts) bounded by -m.
        await sleep(Math.min(maxMs, 10_000))
        return elapsed() >= maxMs ? fail(28, `Resolving timed out after ${maxMs} milliseconds`) : fail(6, `Could not resolve host: ${host}`)
      }
      if (answer.kind !== 'ok') return fail(6, `Could not resolve host: ${host}`)
      ip = answer.ips[0]!
    }
  }

  const request = `${a.head ? 'HEAD' : 'GET'} ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUser-Agent: curl/8.11.1\r\nAccept: */*\r\nConnection: close\r\n\r\n`
  const external = byIp(ip)
  let response: Buffer
  if (external) {
    if (!external.http || (port !== 80 && port !== 443)) {
      // Filtered upstream: the SYN is never answered.
      await sleep(maxMs)
      return timedOut()
    }
    const h = external.http
    const head = `HTTP/1.1 ${h.status}\r\n${Object.entries(h.headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}Content-Length: ${Buffer.byteLength(h.body)}\r\n\r\n`
    response = Buffer.from(a.head ? head : head + h.body)
  } else {
    const target = await network.connect(ip, port, ctx.pod)
    if (target === 'refused') return fail(7, `Failed to connect to ${host} port ${port} after ${elapsed()} ms: Couldn't connect to server`)
    if (target === 'timeout') {
      await sleep(maxMs)
      return timedOut()
    }
    const sock = await dialTarget(target, Math.max(1, deadline - Date.now()))
    if (sock === 'refused') return fail(7, `Failed to connect to ${host} port ${port} after ${elapsed()} ms: Couldn't connect to server`)
    if (sock === 'timeout') return timedOut()
    let stream: net.Socket | tls.TLSSocket = sock
    if (u.protocol === 'https:') {
      const secured = await new Promise<tls.TLSSocket | Error>((resolve) => {
        const s = tls.connect({socket: sock, servername: isIPv4(host) ? undefined : host, rejectUnauthorized: !a.insecure})
        s.once('secureConnect', () => resolve(s))
        s.once('error', (e) => resolve(e))
      })
      if (secured instanceof Error) {
        sock.destroy()
        return fail(60, `SSL certificate problem: ${secured.message}`)
      }
      stream = secured
    }
    const r = await exchange(stream, request, deadline)
    if (r.timedOut) return fail(28, `Operation timed out after ${maxMs} milliseconds with ${r.data.length} bytes received`)
    response = r.data
  }
  const text = response.toString('latin1')
  const split = text.indexOf('\r\n\r\n')
  if (!text.startsWith('HTTP/') || split < 0) return fail(1, 'Received HTTP/0.9 when not allowed')
  // Without -I curl writes the body only; -I writes the headers.
  const out = a.head ? text.slice(0, split + 4) : response.subarray(Buffer.byteLength(text.slice(0, split + 4), 'latin1')).toString('utf8')
  return {stdout: a.output === '/dev/null' ? '' : out, exitCode: 0}
}
