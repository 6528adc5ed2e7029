import {BaseCommand} from '../base-command.js'
import {EXIT_CODE_HELP} from '../engine/exit-codes.js'
import type {Report} from '../engine/types.js'
import {doctorFlagSet} from '../flags.js'

export default class Doctor extends BaseCommand {
  static summary = 'Diagnose why Tetragon events do not reach Elasticsearch'
  static description = `Runs read-only checks layer by layer (Kubernetes, Tetragon, Elasticsearch, Kibana) in dependency order. Every finding comes with the command that fixes it. A check whose requirement failed is reported as not evaluated, with the reason. Nothing in the cluster is changed.

EXIT CODES
${EXIT_CODE_HELP}`

  static examples = [
    '<%= config.bin %> doctor',
    '<%= config.bin %> doctor --context prod -n tetragon --json',
    '<%= config.bin %> doctor --only kubernetes --junit report.xml',
    '<%= config.bin %> doctor --skip dns.service --fail-on warn',
    '<%= config.bin %> doctor --fix --yes',
  ]

  static enableJsonFlag = true

  static flags = doctorFlagSet

  async run(): Promise<Report> {
    const {flags} = await this.parse(Doctor)
    const startedAt = new Date()
    const {runDoctor} = await import('../services/doctor.js')
    return runDoctor({flags, json: this.jsonEnabled(), version: this.config.version, log: (s) => this.log(s), startedAt})
  }
}
