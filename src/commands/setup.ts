import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {EXIT_CODE_HELP} from '../engine/exit-codes.js'
import {durationFlag, elasticFlags, helmBinFlag, kubeFlags, releaseFlag, tetragonFlags} from '../flags.js'
import type {SetupResult} from '../services/setup/index.js'

// Kibana access and the credentials it falls back to; the Elasticsearch query flags do not apply here.
const {'kibana-url': kibanaUrl, 'kibana-api-key': kibanaApiKey, 'es-api-key': esApiKey, 'es-username': esUsername, 'es-password': esPassword, 'es-ca-cert': esCaCert, 'es-insecure': esInsecure} = elasticFlags

export default class Setup extends BaseCommand {
  static summary = 'Install or fix the documented Tetragon → Elastic setup (Helm values, gRPC Service, policies, Fleet package)'
  static description = `Does the documented installation steps, idempotently: adds the cilium Helm repository when missing, runs \`helm upgrade --install\` with the release's own values plus tetragon.grpc.enabled=true and tetragon.grpc.address=0.0.0.0:54321, waits for the DaemonSet rollout, server-side applies the Service tetragon-grpc (field manager tetractl, selector from the agent pods' real labels, port 54321) and waits for its endpoints. With --policies it applies TracingPolicies (network: tcp_connect; file: reads of sensitive files); with Kibana settings it installs the cilium_tetragon package through Fleet. Then it runs the Kubernetes and Tetragon checks of \`tetractl doctor\`.

Every change is planned from reads first and shown; --dry-run stops there. Permissions and field-manager conflicts are checked before the first change; if a step still fails, the error says what was applied and what was not. A second run changes nothing and says so.

EXIT CODES
${EXIT_CODE_HELP.replace('findings at or above --fail-on (default: fail)', 'a change failed, or the final checks found failures')}`

  static examples = [
    '<%= config.bin %> setup --dry-run',
    '<%= config.bin %> setup',
    '<%= config.bin %> setup -n kube-system --policies network,file',
    '<%= config.bin %> setup --kibana-url https://kibana:5601 --agent-policy <id>',
    '<%= config.bin %> setup --force-conflicts',
  ]

  static enableJsonFlag = true

  static flags = {
    ...kubeFlags,
    ...tetragonFlags,
    release: releaseFlag({description: 'Helm release name (default: the existing Tetragon release, else tetragon)', helpGroup: 'HELM'}),
    'chart-version': Flags.string({description: 'chart version to install or upgrade to (default: keep the release\'s, else the newest)', helpGroup: 'HELM'}),
    helm: helmBinFlag('the helm executable (default: helm on PATH)'),
    'helm-timeout': durationFlag({description: 'timeout of `helm upgrade --install`', default: '5m', helpGroup: 'HELM'}),
    policies: Flags.string({description: 'also apply TracingPolicies: network (tcp_connect), file (reads of sensitive files)', delimiter: ',', multiple: true, options: ['network', 'file']}),
    'force-conflicts': Flags.boolean({description: 'take over fields of the Service / policies that another field manager owns (server-side apply force)'}),
    'dry-run': Flags.boolean({description: 'print the helm commands, the values diff and the manifests; change nothing'}),
    'wait-timeout': durationFlag({description: 'how long to wait for the rollout and for the Service endpoints', default: '5m'}),
    'kibana-url': kibanaUrl,
    'kibana-api-key': kibanaApiKey,
    'es-api-key': esApiKey,
    'es-username': esUsername,
    'es-password': esPassword,
    'es-ca-cert': esCaCert,
    'es-insecure': esInsecure,
    'agent-policy': Flags.string({description: 'Fleet agent policy id: also add the seed-style cilium_tetragon package policy (the package has no gRPC input)', helpGroup: 'ELASTIC'}),
    verbose: Flags.boolean({char: 'v', description: 'show the detail of unchanged steps and every check'}),
    debug: Flags.boolean({description: 'print stack traces of unexpected errors'}),
  }

  async run(): Promise<SetupResult> {
    const {flags} = await this.parse(Setup)
    const {runSetup} = await import('../services/setup/index.js')
    return runSetup({flags, json: this.jsonEnabled(), version: this.config.version, log: (s) => this.log(s), startedAt: new Date()})
  }
}
