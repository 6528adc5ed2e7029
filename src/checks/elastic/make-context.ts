// Builds the ElasticCheckContext from flags and environment; clients are created on first use.
import {createEsHandle, esOptionsFromEnv, type EsConnectionOptions, type EsHandle} from '../../clients/elasticsearch.js'
import {createKibanaHandle, kibanaOptionsFromEnv, type KibanaConnectionOptions, type KibanaHandle} from '../../clients/kibana.js'
import {Memo} from '../../engine/memo.js'
import type {ElasticCheckContext, ElasticCheckOptions} from './context.js'

export interface ElasticContextInput {
  opts: ElasticCheckOptions
  env?: NodeJS.ProcessEnv
  es?: Partial<EsConnectionOptions>
  kibana?: Partial<KibanaConnectionOptions>
  memo?: Memo
  kube?: () => Promise<unknown>
}

export function createElasticCheckContext(input: ElasticContextInput): ElasticCheckContext & {close(): Promise<void>} {
  const env = input.env ?? process.env
  let esP: Promise<EsHandle | undefined> | undefined
  let kbP: Promise<KibanaHandle | undefined> | undefined
  return {
    opts: input.opts,
    memo: input.memo ?? new Memo(),
    es() {
      esP ??= (async () => {
        const o = esOptionsFromEnv(env, input.es)
        return o ? createEsHandle(o) : undefined
      })()
      return esP
    },
    kibana() {
      kbP ??= (async () => {
        const o = kibanaOptionsFromEnv(env, input.kibana)
        return o ? createKibanaHandle(o) : undefined
      })()
      return kbP
    },
    ...(input.kube ? {kube: input.kube} : {}),
    async close() {
      const es = await esP?.catch(() => undefined)
      await es?.close()
    },
  }
}
