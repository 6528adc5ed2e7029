import {BaseCommand} from '../../base-command.js'

export default class SandboxList extends BaseCommand {
  static summary = 'List the simulated environments `sandbox start` can run'
  static enableJsonFlag = true
  static examples = ['<%= config.bin %> sandbox list', '<%= config.bin %> sandbox list --json']

  async run(): Promise<Array<{name: string; description: string}>> {
    await this.parse(SandboxList)
    const {scenarios} = await import('../../lab/scenarios.js')
    const rows = [...scenarios.values()].map((s) => ({name: s.name, description: s.description}))
    if (!this.jsonEnabled()) {
      const width = Math.max(...rows.map((r) => r.name.length))
      for (const r of rows) this.log(`${r.name.padEnd(width)}  ${r.description}`)
    }
    return rows
  }
}
