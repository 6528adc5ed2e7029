// oclif's help, with the connection flags every command shares (cluster, agent, Elasticsearch/Kibana access)
// described once under `tetractl help connection` instead of in each command's help (issue #14 item 6).
// Loaded for every --help: imports nothing but @oclif/core (test/e2e/startup.test.ts).
import {Command, CommandHelp, Help} from '@oclif/core'

/** How tetractl reaches its targets; the same flags (names, env variables) on every command that has them. */
export const CONNECTION_FLAGS = [
  'kubeconfig',
  'context',
  'request-timeout',
  'tetragon-address',
  'tetragon-health-address',
  'grpc-timeout',
  'es-url',
  'es-cloud-id',
  'es-api-key',
  'es-username',
  'es-password',
  'es-ca-cert',
  'es-insecure',
  'kibana-url',
  'kibana-api-key',
]
const CONNECTION = new Set(CONNECTION_FLAGS)
export const CONNECTION_TOPIC = 'connection'

class TetractlCommandHelp extends CommandHelp {
  /** Only the command's own flags, then a pointer to the shared ones it accepts. */
  generate(): string {
    const all = this.command.flags ?? {}
    const shared = Object.keys(all).filter((n) => CONNECTION.has(n) && !all[n]!.hidden)
    if (shared.length === 0) return super.generate()
    const original = this.command
    this.command = {...original, flags: Object.fromEntries(Object.entries(all).filter(([n]) => !CONNECTION.has(n)))}
    let text: string
    try {
      text = super.generate()
    } finally {
      this.command = original
    }
    const pointer = this.wrap((`${shared.map((n) => `--${n}`).join(' ')}\nSee \`${this.config.bin} help ${CONNECTION_TOPIC}\`.`))
    return `${text}\n\n${this.section('CONNECTION FLAGS', pointer)}`
  }

  /** The connection flags as one flag list, for the topic. */
  connectionList(flags: Command.Flag.Any[]): string {
    return this.renderList(this.flags(flags) ?? [], {indentation: 2, stripAnsi: this.opts.stripAnsi})
  }
}

export default class TetractlHelp extends Help {
  protected CommandHelpClass = TetractlCommandHelp

  async showHelp(argv: string[]): Promise<void> {
    if (argv.length === 1 && argv[0] === CONNECTION_TOPIC) return this.showConnectionHelp()
    return super.showHelp(argv)
  }

  /** Each connection flag once, as the commands define it (read from their manifest entries). */
  private async showConnectionHelp(): Promise<void> {
    const byName = new Map<string, Command.Flag.Any>()
    let owner: Command.Loadable | undefined
    for (const c of this.config.commands) {
      for (const [n, f] of Object.entries(c.flags ?? {})) if (CONNECTION.has(n) && !byName.has(n)) (byName.set(n, f), (owner ??= c))
    }
    const flags = CONNECTION_FLAGS.flatMap((n) => (byName.has(n) ? [byName.get(n)!] : []))
    // The flag list is rendered by the command help formatter, as in each command's FLAGS section.
    const doc = owner && this.getCommandHelpClass(owner)
    if (!(doc instanceof TetractlCommandHelp)) return super.showHelp([CONNECTION_TOPIC])
    const intro = this.wrap(
      `How tetractl reaches the cluster, the Tetragon agents and Elasticsearch/Kibana. These flags mean the same on every command that accepts them (\`${this.config.bin} COMMAND --help\` lists which, under CONNECTION FLAGS). Secrets are better passed through their environment variables: flags show up in \`ps\`.`,
    )
    this.log([this.section('CONNECTION FLAGS', intro), this.section('FLAGS', doc.connectionList(flags))].join('\n\n'))
  }
}
