import type {ClusterContext} from './context.js'
import {DEFAULT_GRPC_PORT, tetragonConfigMap, tetragonInstall} from './facts.js'

export type BindKind = 'disabled' | 'unix' | 'loopback' | 'all-interfaces' | 'specific'

export interface ServerAddress {
  /** As configured, before normalisation. */
  raw: string
  source: 'container args' | 'environment' | 'ConfigMap' | 'agent default'
  kind: BindKind
  host?: string
  port?: number
  socketPath?: string
}

/** Agent flag default (cilium/tetragon v1.7.0 pkg/option/flags.go). */
const AGENT_DEFAULT = 'localhost:54321'

/** Classify a listen address the way the agent parses it (cilium/tetragon pkg/server/addr.go SplitListenAddr). */
export function parseServerAddress(raw: string, source: ServerAddress['source']): ServerAddress {
  const value = raw.trim()
  if (value === '') return {raw, source, kind: 'disabled'}
  if (value.startsWith('unix://')) return {raw, source, kind: 'unix', socketPath: value.slice('unix://'.length)}
  // A string without ':' gets ':54321' appended (compatibility with the v0.8.1–v0.8.3 charts).
  const withPort = value.includes(':') ? value : `${value}:${DEFAULT_GRPC_PORT}`
  const idx = withPort.lastIndexOf(':')
  const host = withPort.slice(0, idx).replace(/^\[|\]$/g, '')
  const port = Number(withPort.slice(idx + 1))
  const loopback = host === 'localhost' || host === '::1' || /^127\./.test(host)
  const all = host === '' || host === '0.0.0.0' || host === '::'
  return {raw, source, kind: loopback ? 'loopback' : all ? 'all-interfaces' : 'specific', host, port}
}

/** Precedence: flags > TETRAGON_* environment > config dir (the chart's ConfigMap) > default, as the agent's daemon-configuration reference documents (cilium/tetragon v1.7.0 docs/content/en/docs/reference/daemon-configuration.md). */
export function serverAddress(ctx: ClusterContext, signal?: AbortSignal): Promise<ServerAddress> {
  return ctx.memo.get('tetragon.server-address', async () => {
    const [install, cm] = await Promise.all([tetragonInstall(ctx, signal), tetragonConfigMap(ctx, signal)])
    const container = install.daemonSet?.spec?.template?.spec?.containers?.find((c) => c.name === 'tetragon')
    const arg = [...(container?.command ?? []), ...(container?.args ?? [])].find((a) => a.startsWith('--server-address'))
    if (arg) return parseServerAddress(arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : '', 'container args')
    const env = container?.env?.find((e) => e.name === 'TETRAGON_SERVER_ADDRESS')
    if (env?.value !== undefined) return parseServerAddress(env.value, 'environment')
    const fromMap = cm?.data?.['server-address']
    if (fromMap !== undefined) return parseServerAddress(fromMap, 'ConfigMap')
    return parseServerAddress(AGENT_DEFAULT, 'agent default')
  })
}
