import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {EXIT_CODE_HELP} from '../engine/exit-codes.js'
import {eventNamespaceFlag, kubeFlags, nodeNameFlag, tetragonApiFlags} from '../flags.js'

export default class Events extends BaseCommand {
  static summary = 'Tail Tetragon events from an agent\'s gRPC API (like tetra getevents)'
  static description = `Streams GetEvents from one Tetragon agent: through the Kubernetes API (a port-forward to an agent pod, --node picks the node) or directly with --tetragon-address. The gRPC stream is not subject to the export filters: kube-system and host events are included unless you filter them.

-n/--namespace is Tetragon's own namespace (as in every tetractl command); filter the events' pods with --event-namespace.

-o json prints Tetragon's JSON export form, one event per line (snake_case keys, the event key, node_name, time), as the export file and \`tetra getevents -o json\` do. -o compact prints one short line per event like \`tetra getevents -o compact\`.

Stops after --count events, or on Ctrl-C, SIGTERM or SIGHUP (exit 130).

EXIT CODES
${EXIT_CODE_HELP}`

  static examples = [
    '<%= config.bin %> events -o compact',
    '<%= config.bin %> events --event-namespace default --pod "^xwing" --type PROCESS_EXEC,PROCESS_KPROBE -o compact',
    '<%= config.bin %> events --node worker-2 --count 100 -o json > events.jsonl',
    '<%= config.bin %> events --tetragon-address unix:///var/run/tetragon/tetragon.sock --binary curl',
  ]

  static flags = {
    ...kubeFlags,
    ...tetragonApiFlags,
    output: Flags.string({char: 'o', description: 'output format', options: ['json', 'compact'], default: 'json'}),
    'event-namespace': eventNamespaceFlag({description: "only events of pods in these namespaces (comma-separated; '' = host processes)", delimiter: ',', multiple: true, helpGroup: 'FILTERS'}),
    pod: Flags.string({description: 'only events of pods whose name matches this regular expression', helpGroup: 'FILTERS'}),
    binary: Flags.string({description: 'only events of processes whose binary matches this regular expression', helpGroup: 'FILTERS'}),
    type: Flags.string({description: 'only these event types (comma-separated), e.g. PROCESS_EXEC,PROCESS_EXIT,PROCESS_KPROBE', delimiter: ',', multiple: true, helpGroup: 'FILTERS'}),
    count: Flags.integer({description: 'stop after this many events', min: 1}),
    node: nodeNameFlag({description: "read the agent on this node (default: the first ready agent)", exclusive: ['tetragon-address']}),
    debug: Flags.boolean({description: 'print stack traces of unexpected errors'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Events)
    const {runEvents} = await import('../services/events.js')
    const {interruption} = await import('../engine/interrupt.js')
    // SIGINT, SIGTERM and SIGHUP end the stream the same way (exit 130).
    const r = await runEvents({flags, stdout: process.stdout, stderr: process.stderr, signal: interruption.signal})
    process.exitCode = r.exitCode
  }
}
