import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {EXIT_CODE_HELP} from '../engine/exit-codes.js'
import {containerNameFlag, durationFlag, elasticFlags, kubeFlags, outputFlags, podRefFlag, tetragonApiFlags} from '../flags.js'

// Kept here (not imported from the service) so `--help` loads no client code.
const DEFAULT_IMAGE = 'docker.io/curlimages/curl:8.11.1'

export default class Validate extends BaseCommand {
  static summary = 'Prove the whole path end to end: exec whoami, curl and cat in a probe pod, see the events on the gRPC stream and in Elasticsearch'
  static description = `Runs the doctor checks validate depends on, creates namespace tetractl-validate-<run id> (labelled app.kubernetes.io/managed-by=tetractl) with a probe pod, subscribes to the gRPC event stream of the agent on the probe's node, runs \`whoami\`, \`curl -sS -m 5 <--url>\` and \`cat /etc/shadow\` through exec, then waits for each event on the stream and for its document in Elasticsearch, and checks the fields per profile. Each step passes, fails or is skipped with the reason and its stage. What validate created is deleted on success, failure, timeout and Ctrl-C (--keep leaves it).

The tcp_connect and /etc/shadow events need TracingPolicies (tetractl setup --policies network,file); without them those steps are skipped (or fail with --require-policies).

IMAGES (mirror them for air-gapped clusters and pass --image)
  ${DEFAULT_IMAGE}   the probe pod (needs sh, whoami, cat, curl; runs as root to read /etc/shadow)

EXIT CODES
${EXIT_CODE_HELP}`

  static examples = [
    '<%= config.bin %> validate',
    '<%= config.bin %> validate --json --junit validate.xml',
    '<%= config.bin %> validate --pod default/xwing --url http://example.com',
    '<%= config.bin %> validate --image registry.internal/curl:8.11.1 --url http://elasticsearch.logging:9200 --require-policies',
  ]

  static enableJsonFlag = true

  static flags = {
    ...kubeFlags,
    ...tetragonApiFlags,
    ...elasticFlags,
    ...outputFlags,
    pod: podRefFlag({description: 'exec into this existing pod (NAMESPACE/NAME) instead of creating a probe pod', helpGroup: 'PROBE'}),
    container: containerNameFlag({description: 'with --pod: the container to exec into (default: the default container)', helpGroup: 'PROBE', dependsOn: ['pod']}),
    image: Flags.string({description: 'image of the probe pod (sh, whoami, cat, curl)', default: DEFAULT_IMAGE, helpGroup: 'PROBE'}),
    url: Flags.string({description: 'URL the probe curls (http:// or https://)', default: 'http://google.com', helpGroup: 'PROBE'}),
    keep: Flags.boolean({description: 'leave the probe namespace and pod for debugging (prints how to delete them)', helpGroup: 'PROBE'}),
    'require-policies': Flags.boolean({description: 'fail (instead of skip) the tcp_connect and file steps when their policy is not loaded', helpGroup: 'PROBE'}),
    timeout: durationFlag({description: 'stop the whole run after this long (then clean up)', default: '3m'}),
    'pod-timeout': durationFlag({description: 'how long the probe pod may take to start (image pull)', default: '2m'}),
    'event-timeout': durationFlag({description: 'how long to wait for the events on the gRPC stream after the commands', default: '15s'}),
    'es-timeout': durationFlag({description: 'how long to wait for the documents to be searchable', default: '60s', helpGroup: 'ELASTIC'}),
  }

  async run(): Promise<unknown> {
    const {flags} = await this.parse(Validate)
    const startedAt = new Date()
    const {runValidate} = await import('../services/validate/index.js')
    return runValidate({flags, json: this.jsonEnabled(), version: this.config.version, log: (s) => this.log(s), startedAt})
  }
}
