// Flag sets composed by the commands ({...kubeFlags, ...outputFlags}), never repeated.
import {Flags} from '@oclif/core'

import {DOCUMENTED_COLLECTOR_ADDRESS} from './defaults.js'

export const kubeFlags = {
  kubeconfig: Flags.string({description: 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)', helpGroup: 'KUBERNETES'}),
  context: Flags.string({description: 'kubeconfig context (default: current-context)', helpGroup: 'KUBERNETES'}),
  namespace: Flags.string({char: 'n', description: "Tetragon's namespace (default: found by label, else kube-system)", helpGroup: 'KUBERNETES'}),
  'request-timeout': Flags.string({description: 'timeout of each API request', default: '10s', helpGroup: 'KUBERNETES'}),
}

export const tetragonFlags = {
  'service-name': Flags.string({description: 'the gRPC Service collectors dial', default: 'tetragon-grpc', helpGroup: 'TETRAGON'}),
  'service-namespace': Flags.string({description: "the Service's namespace (default: Tetragon's)", helpGroup: 'TETRAGON'}),
  'collector-address': Flags.string({
    description: 'address the collector is configured to dial',
    env: 'TETRACTL_COLLECTOR_ADDRESS',
    default: DOCUMENTED_COLLECTOR_ADDRESS,
    helpGroup: 'TETRAGON',
  }),
}

export const runFlags = {
  only: Flags.string({description: 'run only these check ids or layers (comma-separated; their requirements run too)', delimiter: ',', multiple: true}),
  skip: Flags.string({description: 'skip these check ids or layers (comma-separated)', delimiter: ',', multiple: true}),
  timeout: Flags.string({description: 'stop the whole run after this long; unfinished checks are reported not-evaluated', default: '60s'}),
  'check-timeout': Flags.string({description: 'timeout of each check', default: '20s'}),
  concurrency: Flags.integer({description: 'checks run at once', default: 8, min: 1, max: 64}),
}

export const outputFlags = {
  'fail-on': Flags.string({description: 'lowest status that makes the exit code 1', options: ['fail', 'warn'], default: 'fail'}),
  junit: Flags.string({description: 'also write a JUnit XML report to this file (atomically)'}),
  verbose: Flags.boolean({char: 'v', description: 'show the evidence of every check'}),
  debug: Flags.boolean({description: 'print stack traces of unexpected errors', hidden: false}),
}

export const fixFlags = {
  fix: Flags.boolean({description: 'after the checks, offer to fix tetragon.grpc-bind, service.exists and service.selector (shows each change, asks first)'}),
  yes: Flags.boolean({char: 'y', description: 'with --fix: apply without asking (required without a TTY)', dependsOn: ['fix']}),
}
