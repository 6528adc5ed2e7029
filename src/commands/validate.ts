import {BaseCommand} from '../base-command.js'
import {DEFAULT_PROBE_IMAGE as DEFAULT_IMAGE} from '../defaults.js'
import {EXIT_CODE_HELP} from '../engine/exit-codes.js'
import {validateFlagSet} from '../flags.js'

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

  static flags = validateFlagSet

  async run(): Promise<unknown> {
    const {flags} = await this.parse(Validate)
    const startedAt = new Date()
    const {runValidate} = await import('../services/validate/index.js')
    return runValidate({flags, json: this.jsonEnabled(), version: this.config.version, log: (s) => this.log(s), startedAt})
  }
}
