// A CheckContext for the facts setup reads (the same memoised readers the checks use), without the
// gRPC / Elasticsearch clients a setup never needs. fresh() forgets what was read before a change.
import type {CheckContext} from '../../checks/context.js'
import type {KubeClient} from '../../clients/kube.js'
import {Memo} from '../../engine/memo.js'
import {doctorFlagSet, flagDefaults, type DoctorFlags} from '../../flags.js'
import {doctorOptionsFromFlags} from '../doctor.js'

export interface FactsOptions {
  namespace?: string
  serviceName: string
  serviceNamespace?: string
  collectorAddress: string
}

export function factsContext(kube: KubeClient, o: FactsOptions): CheckContext {
  const notHere = async (): Promise<never> => {
    throw new Error('not available while setting up')
  }
  return {
    opts: {...doctorOptionsFromFlags({...(flagDefaults(doctorFlagSet) as DoctorFlags), 'collector-address': o.collectorAddress, 'service-name': o.serviceName}), ...o},
    memo: new Memo(),
    kube: async () => kube,
    tetragon: notHere,
    es: async () => undefined,
    kibana: async () => undefined,
    onClose: () => {},
  }
}
