import type {EsHandle} from '../../clients/elasticsearch.js'
import type {KibanaHandle} from '../../clients/kibana.js'
import type {Memo} from '../../engine/memo.js'

export type ElasticProfile = 'seed' | 'package' | 'auto'

export interface ElasticCheckOptions {
  /** Dataset to validate (--dataset); undefined = decided by profile / by where data is. */
  dataset?: string
  /** Newest document older than this fails es.freshness (--max-age). */
  maxAgeMs: number
  /**
   * `package`: the Elastic package as published (dataset cilium_tetragon.log, its pipeline's fields).
   * `seed`: the commonly documented setup (dataset tetragon.log, process.name, destination.ip …).
   * `auto`: decided from where the documents are.
   */
  profile: ElasticProfile
  /** Recent window for field and error statistics (--window). */
  windowMs: number
}

export interface ElasticCheckContext {
  opts: ElasticCheckOptions
  memo: Memo
  /** undefined = Elasticsearch not configured: the checks skip. */
  es(): Promise<EsHandle | undefined>
  /** undefined = Kibana not configured: the Kibana checks skip. */
  kibana(): Promise<KibanaHandle | undefined>
}
