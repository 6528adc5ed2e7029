import {join, resolve} from 'node:path'

import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {ensureDir} from '../../clients/files.js'
import {UserError} from '../../engine/errors.js'

export default class SandboxStart extends BaseCommand {
  /** A signal is how the sandbox is meant to stop: exit 0, not 130. */
  static signalEndsNormally = true
  static summary = 'Run a simulated cluster (Kubernetes API, Tetragon, Elasticsearch) in the foreground'
  static description = `Writes DIR/kubeconfig, DIR/env (shell export lines) and DIR/bin/helm (a helm stand-in for this sandbox only, named by TETRACTL_HELM in DIR/env), then serves until SIGINT, SIGTERM or SIGHUP.
Use it to try tetractl with no cluster:  source DIR/env && tetractl doctor`
  static examples = ['<%= config.bin %> sandbox start --scenario selector-mismatch --out .sandbox', 'source .sandbox/env && <%= config.bin %> doctor']

  static flags = {
    scenario: Flags.string({char: 's', description: 'scenario name (see `tetractl sandbox list`)', default: 'healthy'}),
    out: Flags.string({char: 'o', description: 'directory for kubeconfig and env', default: '.sandbox'}),
    debug: Flags.boolean({description: 'print stack traces of unexpected errors'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(SandboxStart)
    const [{getScenario, scenarios}, {startLab}] = await Promise.all([import('../../lab/scenarios.js'), import('../../lab/index.js')])
    const spec = getScenario(flags.scenario)
    if (!spec) throw new UserError(`Unknown scenario "${flags.scenario}".`, `Use one of: ${[...scenarios.keys()].join(', ')} (tetractl sandbox list).`)
    const dir = resolve(flags.out)
    await ensureDir(dir)
    const lab = await startLab(spec)
    // DIR/bin/helm: the lab's Helm stand-in, so setup and doctor --fix can be tried here (DIR/env points TETRACTL_HELM at it).
    const helmFile = join(dir, 'bin', 'helm')
    lab.env.TETRACTL_HELM = helmFile
    // A file it refuses to write (a symbolic link in DIR) ends the command: stop the servers, or they keep it alive.
    await (async () => {
      await lab.writeFiles(dir)
      const {writeSandboxHelm} = await import('../../lab/helm/index.js')
      writeSandboxHelm(dir)
    })().catch(async (error) => {
      await lab.stop()
      throw error
    })
    this.log(`sandbox "${spec.name}" running: ${spec.description}`)
    this.log(`  source ${dir}/env   # exports KUBECONFIG=${dir}/kubeconfig and the lab's other variables`)
    this.log(`  ${helmFile} is a helm stand-in for this sandbox only (TETRACTL_HELM in ${dir}/env): try setup and doctor --fix`)
    this.log('  stop with Ctrl-C')
    const {interruption} = await import('../../engine/interrupt.js')
    const signal = await new Promise<string>((done) => {
      if (interruption.signal.aborted) return done(interruption.reason()!)
      interruption.signal.addEventListener('abort', () => done(interruption.reason()!), {once: true})
    })
    await lab.stop()
    this.log(`sandbox stopped (${signal})`)
  }
}
