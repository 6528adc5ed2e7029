// Every paginated list is bounded: a pager that never ends stops at MAX_LIST_PAGES, one that repeats a token
// stops at the repeat, a page without items is not a Kubernetes list. No server needed: listAll's page function
// stands in for the API.
import * as k8s from '@kubernetes/client-node'
import {describe, expect, it} from 'vitest'

import {KubeClient, MAX_LIST_PAGES} from '../../src/clients/kube.js'
import {UnreachableError} from '../../src/engine/errors.js'

function client(): KubeClient {
  const kc = new k8s.KubeConfig()
  kc.loadFromOptions({
    clusters: [{name: 'c', server: 'https://127.0.0.1:1', skipTLSVerify: false}],
    users: [{name: 'u', token: 'not-a-secret'}],
    contexts: [{name: 'x', cluster: 'c', user: 'u'}],
    currentContext: 'x',
  })
  return new KubeClient(kc, {})
}

const what = {verb: 'list', resource: 'pods', namespace: 'kube-system'}

describe('KubeClient.listAll bounds', () => {
  it('stops a pager that never ends after MAX_LIST_PAGES pages', async () => {
    let calls = 0
    const page = async (_c: string | undefined, limit: number) => ({items: [calls], metadata: {_continue: `t${++calls}`}, limit})
    const err = await client().listAll(what, page, (x) => x).catch((e) => e)
    expect(err).toBeInstanceOf(UnreachableError)
    expect(err.message).toMatch(/still paginating pods after 1000 pages of 500/)
    expect(calls).toBe(MAX_LIST_PAGES)
  })

  it('stops at the first repeated continue token', async () => {
    let calls = 0
    const page = async () => (calls++, {items: [1], metadata: {_continue: calls === 1 ? 'a' : calls === 2 ? 'b' : 'a'}})
    const err = await client().listAll(what, page, (x) => x).catch((e) => e)
    expect(err).toBeInstanceOf(UnreachableError)
    expect(err.message).toMatch(/same continue token twice/)
    expect(calls).toBe(3)
  })

  it('asks for bounded pages and follows tokens to the end', async () => {
    const limits: number[] = []
    const page = async (cont: string | undefined, limit: number) => {
      limits.push(limit)
      return cont ? {items: [2]} : {items: [1], metadata: {_continue: 'next'}}
    }
    expect(await client().listAll(what, page, (x) => x)).toEqual([1, 2])
    expect(limits).toEqual([500, 500])
  })

  it('a page without an items array is not a Kubernetes list', async () => {
    const err = await client().listAll(what, async () => ({items: null as any}), (x) => x).catch((e) => e)
    expect(err).toBeInstanceOf(UnreachableError)
    expect(err.message).toMatch(/without an items array.*not a Kubernetes API/)
  })
})
