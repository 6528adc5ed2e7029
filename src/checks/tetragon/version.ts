import {fail, pass, warn, type Check} from '../../engine/types.js'
import {compareVersions, parseVersion} from '../../tetragon/versions.js'
import type {CheckContext} from '../context.js'
import {apiOr, isOutcome, perAgent} from './agents.js'
import {clusterRequires} from './api.js'
import {DOCS} from '../../docs.js'

/** The range tetractl's proto (v1.7.0) and the cilium_tetragon Elastic package were checked with. */
export const TESTED_FROM = 'v1.0.0'
export const TESTED_THROUGH = 'v1.7' // any v1.7.x

/** A build that is not a release tag: `v1.8.0-pre.0-42-gabc` (git describe at build time), `-dirty`, `-rc.1`. */
export function isUnreleased(version: string): boolean {
  return parseVersion(version)?.suffix !== undefined
}

export const tetragonVersion: Check<CheckContext> = {
  id: 'tetragon.version',
  layer: 'tetragon',
  title: 'Tetragon agent version is wire-compatible and in the tested range',
  // An agent to talk to, not all agents ready (a partial rollout is reported by tetragon.daemonset).
  requires: clusterRequires(['k8s.connect']),
  run(ctx, signal) {
    return perAgent(ctx, signal, async (access) => {
      const h = await apiOr(ctx, access)
      if (isOutcome(h)) return h
      const raw = h.version
      const v = parseVersion(raw)
      const upgrade = 'helm upgrade tetragon cilium/tetragon -n kube-system --reuse-values --version 1.7.0'
      const evidence = {version: raw, agent: h.access.target, tested: `${TESTED_FROM} … ${TESTED_THROUGH}.x`}
      if (!v) {
        return warn(`GetVersion returned "${raw}", which is not a version tetractl can compare; results below assume the newest API`, {hint: upgrade, docs: DOCS.versions, evidence})
      }
      // GetEventsResponse / EventType numbering dates from v0.8.1; v0.8.0 is incompatible (other enum numbers, process_dns).
      if (compareVersions(v, 'v0.8.1') < 0) {
        return fail(`Tetragon ${raw} is wire-incompatible with every current client (event type numbering changed in v0.8.1): collectors decode its events wrongly`, {
          hint: upgrade,
          docs: DOCS.versions,
          evidence,
        })
      }
      const base = `v${v.major}.${v.minor}.${v.patch}`
      const below = compareVersions(base, TESTED_FROM) < 0
      const above = v.major > 1 || (v.major === 1 && v.minor > 7)
      const unreleased = isUnreleased(raw)
      if (below || above || unreleased) {
        const why = [
          below ? `older than ${TESTED_FROM}` : '',
          above ? `newer than ${TESTED_THROUGH}.x (tetractl's proto is v1.7.0: new fields arrive as unknown numbers)` : '',
          unreleased ? `an unreleased build (${v.suffix})` : '',
        ].filter(Boolean)
        return warn(`Tetragon ${raw} is ${why.join(' and ')}; tetractl and the cilium_tetragon Elastic package were checked with ${TESTED_FROM} … ${TESTED_THROUGH}.x`, {
          hint: above || unreleased ? `${upgrade}\n# or keep this build and expect fields the pipeline does not map (see tetragon.schema)` : upgrade,
          docs: DOCS.versions,
          evidence,
        })
      }
      return pass(`Tetragon ${raw} (within ${TESTED_FROM} … ${TESTED_THROUGH}.x)`, evidence)
    })
  },
}
