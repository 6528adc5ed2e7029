#!/usr/bin/env node
// Cuts the Kubernetes OpenAPI v3 documents down to the resources the lab serves: the paths of those resources and
// the schemas they reach. Usage: node scripts/openapi-subset.mjs <upstream dir> (files named as in
// kubernetes api/openapi-spec/v3, e.g. api__v1_openapi.json); writes fixtures/kubernetes-openapi/.
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

const src = process.argv[2]
const served = {
  'api__v1_openapi.json': {prefix: '/api/v1/', resources: ['namespaces', 'nodes', 'pods', 'services', 'endpoints', 'events', 'secrets', 'configmaps']},
  'apis__apps__v1_openapi.json': {prefix: '/apis/apps/v1/', resources: ['daemonsets', 'deployments', 'replicasets']},
  'apis__discovery.k8s.io__v1_openapi.json': {prefix: '/apis/discovery.k8s.io/v1/', resources: ['endpointslices']},
}
for (const [file, {prefix, resources}] of Object.entries(served)) {
  const doc = JSON.parse(readFileSync(join(src, file), 'utf8'))
  const keep = (p) => {
    if (p === prefix) return true
    if (!p.startsWith(prefix)) return false
    const segs = p.slice(prefix.length).split('/').filter((s) => s !== 'watch')
    const rest = segs[0] === 'namespaces' && segs[1] === '{namespace}' ? segs.slice(2) : segs
    return resources.includes(rest[0] ?? '') || (rest[0] === 'namespaces' && resources.includes('namespaces'))
  }
  const paths = Object.fromEntries(Object.entries(doc.paths).filter(([p]) => keep(p)))
  const schemas = doc.components.schemas
  const want = new Set()
  const walk = (v) => {
    if (Array.isArray(v)) return v.forEach(walk)
    if (!v || typeof v !== 'object') return
    for (const [k, x] of Object.entries(v)) {
      if (k === '$ref' && typeof x === 'string' && x.startsWith('#/components/schemas/')) {
        const name = x.slice('#/components/schemas/'.length)
        if (!want.has(name)) {
          want.add(name)
          walk(schemas[name])
        }
      } else walk(x)
    }
  }
  walk(paths)
  const out = {...doc, paths, components: {...doc.components, schemas: Object.fromEntries(Object.keys(schemas).filter((n) => want.has(n)).map((n) => [n, schemas[n]]))}}
  writeFileSync(join('fixtures/kubernetes-openapi', file), JSON.stringify(out))
  console.log(file, Object.keys(paths).length, 'paths', want.size, 'schemas')
}
