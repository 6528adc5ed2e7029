// Cleanup stage: what validate created is deleted on every path (success, failure, --timeout, SIGINT/SIGTERM/SIGHUP,
// a usage error raised mid-run), with its own bound so a stuck API cannot hold the exit; --keep leaves it.
import {redact} from '../../engine/errors.js'
import type {StageContext} from './context.js'

const CLEANUP_TIMEOUT_MS = 20_000

/** Step probe.cleanup, when validate created a namespace (otherwise the report says there was nothing to delete). */
export async function cleanup(sc: StageContext): Promise<void> {
  const ns = sc.created
  if (!ns) return
  const started = performance.now()
  if (sc.flags.keep) {
    sc.run.kept = true
    sc.record('probe.cleanup', {status: 'skip', message: `kept namespace ${ns} (--keep); delete it with: kubectl delete namespace ${ns}`, evidence: {namespace: ns}})
    sc.progress.note(`Kept the probe (--keep). Delete it with: kubectl delete namespace ${ns}`)
    return
  }
  sc.progress.waiting('cleanup', `deleting namespace ${ns}`, CLEANUP_TIMEOUT_MS)
  try {
    const {deleteNamespace} = await import('../../clients/kube-objects.js')
    const existed = await deleteNamespace(sc.kube, ns, AbortSignal.timeout(CLEANUP_TIMEOUT_MS))
    sc.record('probe.cleanup', {status: 'pass', message: existed ? `deleted namespace ${ns} and the probe pod in it` : `namespace ${ns} was already gone`, evidence: {namespace: ns}}, performance.now() - started)
  } catch (error) {
    sc.record('probe.cleanup', {status: 'fail', message: `could not delete namespace ${ns}: ${redact((error as Error).message.split('\n')[0]!)}`, hint: `kubectl delete namespace ${ns}`}, performance.now() - started)
  }
}
