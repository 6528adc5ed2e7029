import {EventEmitter} from 'node:events'

// Container log contents behind pods/log, filled by other labs.

export interface LogLine {
  time: Date
  text: string
}

const key = (ns: string, pod: string, container: string) => `${ns}/${pod}/${container}`

export class LogRegistry {
  private readonly lines = new Map<string, LogLine[]>()
  private readonly events = new EventEmitter()

  constructor() {
    this.events.setMaxListeners(0)
  }

  set(ns: string, pod: string, container: string, lines: string[]): void {
    const now = new Date()
    this.lines.set(key(ns, pod, container), lines.map((text) => ({time: now, text})))
  }

  append(ns: string, pod: string, container: string, lines: string[]): void {
    const k = key(ns, pod, container)
    const now = new Date()
    const added = lines.map((text) => ({time: now, text}))
    this.lines.set(k, [...(this.lines.get(k) ?? []), ...added])
    this.events.emit(k, added)
  }

  get(ns: string, pod: string, container: string): LogLine[] {
    return this.lines.get(key(ns, pod, container)) ?? []
  }

  /** Follows new lines; returns the unsubscribe function. */
  follow(ns: string, pod: string, container: string, fn: (lines: LogLine[]) => void): () => void {
    const k = key(ns, pod, container)
    this.events.on(k, fn)
    return () => this.events.off(k, fn)
  }
}

/** A pods/proxy backend registered by another lab. */
export interface ProxyRequest {
  method: string
  /** Path after `/proxy`, starting with `/`. */
  path: string
  /** Raw query string without `?`. */
  query: string
  headers: Record<string, string | string[] | undefined>
  body: Buffer
}

export interface ProxyResponse {
  status?: number
  headers?: Record<string, string>
  body?: string | Buffer
}

export type ProxyHandler = (req: ProxyRequest) => ProxyResponse | Promise<ProxyResponse>

export class ProxyRegistry {
  private readonly handlers = new Map<string, ProxyHandler>()

  register(ip: string, port: number, handler: ProxyHandler): () => void {
    const k = `${ip}:${port}`
    this.handlers.set(k, handler)
    return () => {
      if (this.handlers.get(k) === handler) this.handlers.delete(k)
    }
  }

  get(ip: string, port: number): ProxyHandler | undefined {
    return this.handlers.get(`${ip}:${port}`)
  }
}
