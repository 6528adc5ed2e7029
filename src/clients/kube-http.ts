// The HTTP layer under @kubernetes/client-node's generated APIs, passed per call as `httpApi`
// (client-node 1.x mergeConfiguration takes it from the call's options). The default layer (node-fetch in
// client-node 1.x) reads any body whole and has no size bound; this one caps every response body,
// enforces the caller's total timeout through the signal, and refuses a 2xx answer that is not JSON
// where the API always answers JSON (a proxy or login page in front of the API server).
import {request as httpRequest, type IncomingMessage} from 'node:http'
import {request as httpsRequest} from 'node:https'

import * as k8s from '@kubernetes/client-node'

/** Largest response body read from the Kubernetes API (bytes). A page of 500 pods is ~1–3 MB. */
export const KUBE_MAX_RESPONSE_BYTES = 32 * 1024 * 1024

/** The server answered something that is not the Kubernetes API. */
export class NotKubernetesError extends Error {
  constructor(
    message: string,
    readonly kind: 'content-type' | 'too-large' | 'invalid-json' | 'shape',
  ) {
    super(message)
    this.name = 'NotKubernetesError'
  }
}

export interface KubeHttpOptions {
  /** Refuse a successful answer whose Content-Type is not JSON (false for pods/proxy, services/proxy). */
  expectJson: boolean
  maxBytes?: number
}

function isJsonType(contentType: string | undefined): boolean {
  // The API server answers application/json (or a +json / protobuf form when asked; we never ask).
  return /^application\/([a-z.+-]*\+)?json\b/i.test((contentType ?? '').trim())
}

export function kubeHttpLibrary(opts: KubeHttpOptions): k8s.HttpLibrary {
  const maxBytes = opts.maxBytes ?? KUBE_MAX_RESPONSE_BYTES
  const send = (ctx: k8s.RequestContext): Promise<k8s.ResponseContext> =>
    new Promise((resolveOnce, rejectOnce) => {
      // The first outcome wins: destroying a response emits its own errors, which must not mask ours.
      let settled = false
      const resolve = (v: k8s.ResponseContext) => {
        if (settled) return
        settled = true
        resolveOnce(v)
      }
      const reject = (e: unknown) => {
        if (settled) return
        settled = true
        rejectOnce(e)
      }
      const url = new URL(ctx.getUrl())
      const body = ctx.getBody() as unknown
      const headers: Record<string, string> = {...ctx.getHeaders()}
      const payload = body === undefined || body === null ? undefined : typeof body === 'string' ? body : Buffer.isBuffer(body) ? body : JSON.stringify(body)
      if (payload !== undefined) headers['content-length'] = String(Buffer.byteLength(payload))
      const signal = ctx.getSignal() as AbortSignal | undefined
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest
      const req = send(url, {method: ctx.getHttpMethod(), headers, agent: ctx.getAgent(), signal})
      req.on('error', reject)
      req.on('response', (res: IncomingMessage) => {
        const status = res.statusCode ?? 0
        const contentType = String(res.headers['content-type'] ?? '')
        res.on('error', reject)
        if (status >= 200 && status < 300 && opts.expectJson && !isJsonType(contentType)) {
          reject(new NotKubernetesError(`answered ${contentType.split(';')[0] || 'a body without Content-Type'}`, 'content-type'))
          return void res.destroy()
        }
        const declared = Number(res.headers['content-length'])
        if (Number.isFinite(declared) && declared > maxBytes) {
          reject(new NotKubernetesError(`announced a ${mb(declared)} response, more than the ${mb(maxBytes)} tetractl reads`, 'too-large'))
          return void res.destroy()
        }
        const chunks: Buffer[] = []
        let size = 0
        res.on('data', (c: Buffer) => {
          size += c.length
          if (size > maxBytes) {
            chunks.length = 0
            reject(new NotKubernetesError(`sent more than the ${mb(maxBytes)} tetractl reads in one response`, 'too-large'))
            return void res.destroy()
          }
          chunks.push(c)
        })
        res.on('end', () => {
          if (size > maxBytes) return
          const buf = Buffer.concat(chunks)
          chunks.length = 0
          const flat: Record<string, string> = {}
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) flat[k] = Array.isArray(v) ? v.join(', ') : v
          resolve(new k8s.ResponseContext(status, flat, {text: async () => buf.toString('utf8'), binary: async () => buf}))
        })
        // A reset mid-body: 'aborted' then 'close' without 'end'.
        res.on('aborted', () => reject(Object.assign(new Error('the connection was reset before the response ended'), {code: 'ECONNRESET'})))
        res.on('close', () => {
          if (!res.complete) reject(Object.assign(new Error('the connection closed before the response ended'), {code: 'ECONNRESET'}))
        })
      })
      if (payload !== undefined) req.write(payload)
      req.end()
    })
  return k8s.wrapHttpLibrary({send})
}

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(n < 10 * 1024 * 1024 ? 1 : 0)} MiB`
