import {fail, pass, warn, type Check} from '../../engine/types.js'
import type {CheckContext} from '../context.js'
import {agentsOr, isOutcome, notReadyNote} from './agents.js'
import {DOCS} from '../../docs.js'

export const exportSidecarRunning: Check<CheckContext> = {
  id: 'tetragon.export',
  layer: 'tetragon',
  title: 'export-stdout sidecar running without restarts',
  // Every agent pod's sidecar, ready or not (a partial rollout is tetragon.daemonset's finding).
  requires: ['k8s.connect'],
  async run(ctx, signal) {
    const agents = await agentsOr(ctx, signal, false)
    if (isOutcome(agents)) return agents
    const {install, pods} = agents
    const ns = install.namespace
    const sidecars = pods.flatMap((p) => p.containers.filter((c) => c.name === 'export-stdout').map((c) => ({pod: p.name, ...c})))
    if (sidecars.length === 0) {
      // export.mode "" removes the sidecar (cilium/tetragon v1.7.0 install/kubernetes/tetragon/values.yaml);
      // the export file may still be read by another shipper.
      return warn('no export-stdout container in the agent pods (export.mode is empty): nothing tails the JSON export file inside the pod', {
        hint: `helm upgrade ${install.daemonSet?.metadata?.name ?? 'tetragon'} cilium/tetragon -n ${ns} --reuse-values --set export.mode=stdout`,
        docs: DOCS.events,
      })
    }
    const image = sidecars[0].image
    const notRunning = sidecars.filter((c) => c.state !== 'running')
    const restarted = sidecars.filter((c) => c.restarts > 0).sort((a, b) => b.restarts - a.restarts)
    const evidence = {image, containers: sidecars.length, notRunning: notRunning.map((c) => `${c.pod}: ${c.state}`).slice(0, 10), restarts: restarted.map((c) => `${c.pod}: ${c.restarts}`).slice(0, 10)}
    if (notRunning.length > 0) {
      return fail(`export-stdout not running in ${notRunning.length} of ${sidecars.length} pods (${evidence.notRunning.slice(0, 3).join('; ')})`, {
        hint: `kubectl -n ${ns} logs ${notRunning[0].pod} -c export-stdout --previous`,
        docs: DOCS.events,
        evidence,
      })
    }
    if (restarted.length > 0) {
      return warn(`export-stdout restarted in ${restarted.length} of ${sidecars.length} pods (most: ${restarted[0].pod}, ${restarted[0].restarts} times): events can be lost while it restarts`, {
        hint: `kubectl -n ${ns} logs ${restarted[0].pod} -c export-stdout --previous`,
        docs: DOCS.events,
        evidence,
      })
    }
    return pass(`export-stdout running in ${sidecars.length} of ${pods.length} agent pods, no restarts (${image})${notReadyNote(agents)}`, evidence)
  },
}
