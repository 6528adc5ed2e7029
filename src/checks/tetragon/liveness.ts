import {fail, pass, skip, warn, type Check} from '../../engine/types.js'
import type {CheckContext} from '../context.js'
import {perAgent} from './agents.js'
import {clusterRequires, standaloneMode} from './api.js'
import {DOCS} from '../../docs.js'

// GetHealth always answers RUNNING: the real liveness signal is the standard
// grpc.health.v1 service "liveness" on --health-server-address (:6789), which the chart's livenessProbe uses
// (cilium/tetragon v1.7.0 pkg/health/server.go, install/kubernetes/tetragon/templates/_container_tetragon.tpl).
export const tetragonLiveness: Check<CheckContext> = {
  id: 'tetragon.liveness',
  layer: 'tetragon',
  title: 'Tetragon health service reports "liveness" SERVING',
  // Each ready agent's health server; agents that are not ready are tetragon.daemonset's finding.
  requires: clusterRequires(['k8s.connect']),
  run(ctx, signal) {
    // A standalone agent has no kubelet probing it: name the address probed, not the cluster's machinery.
    const standalone = standaloneMode(ctx)
    return perAgent(ctx, signal, async (access) => {
      const address = await access.healthAddress()
      if (!address) return skip(`no health server address for ${access.target} (a unix socket agent: pass --tetragon-health-address host:6789)`)
      const ns = access.pod?.namespace
      const logs = access.pod ? `kubectl -n ${ns} logs ${access.pod.name} -c tetragon --tail=100` : 'journalctl -u tetragon -n 100'
      const evidence = {agent: access.target, healthAddress: access.via === 'port-forward' ? `${access.target}:6789 (port-forward)` : address, service: 'liveness'}
      let status: string
      try {
        status = await access.client.health('liveness', address)
      } catch (error) {
        // The API server refused the port-forward (403): our permission, not the agent's health.
        const refused = access.refusal()
        if (refused) throw refused
        const msg = (error as Error).message.split('\n')[0]
        return fail(
          standalone
            ? `the health server of ${access.target} at ${address} did not answer (${msg})`
            : `the health server of ${access.target} did not answer (${msg}); the kubelet's liveness probe fails the same way and restarts the agent`,
          {
            hint: standalone ? `${logs}\n# the agent's --health-server-address (default :6789); tell tetractl where it is with --tetragon-health-address` : `${logs}\n# the agent's --health-server-address (default :6789; Helm tetragon.healthGrpc.enabled / port)`,
            docs: DOCS.troubleshooting,
            evidence,
          },
        )
      }
      if (status === 'SERVING') return pass(`${access.target}: liveness SERVING`, evidence)
      if (status === 'NOT_SERVING') {
        const consequence = standalone ? `at ${address} — the agent reports itself unhealthy` : '— the agent reports itself unhealthy and the kubelet will restart it'
        return fail(`${access.target}: liveness NOT_SERVING ${consequence}`, {hint: logs, docs: DOCS.troubleshooting, evidence: {...evidence, status}})
      }
      return warn(`${access.target}: health service answers ${status} for "liveness"`, {hint: logs, docs: DOCS.troubleshooting, evidence: {...evidence, status}})
    })
  },
}
