// Placeholder replaced by the setup/fix work (issue #6): without it, --fix reports that nothing is fixable yet.
import type {CheckContext} from '../checks/context.js'
import type {KubeClient} from '../clients/kube.js'
import {UserError} from '../engine/errors.js'
import type {Report} from '../engine/types.js'

export interface FixArgs {
  report: Report
  kube: KubeClient
  ctx: CheckContext
  yes: boolean
  json: boolean
  log(s: string): void
  /** Re-run these checks (and what they require) on fresh facts; returns the new report for them. */
  rerun(ids: string[]): Promise<Report>
}

export async function applyFixes(_args: FixArgs): Promise<Report> {
  throw new UserError('--fix is not available in this build yet.', 'Run the commands in the hints instead.')
}
