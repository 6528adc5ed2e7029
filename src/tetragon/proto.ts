// Loads tetractl's hand-written .proto files (proto/, after cilium/tetragon v1.7.0 api/v1/tetragon/*.proto) with protobufjs.
// Google well-known types (timestamp, wrappers, duration, field_mask, any) resolve to protobufjs's bundled
// definitions, so proto/ ships only our own files.
//
// Imported only by the Tetragon client, the schema detector and the lab: never at CLI start-up.

import {fileURLToPath} from 'node:url'
import path from 'node:path'
import protobuf from 'protobufjs'
import type {Enum, Field, MapField, Root, Type} from 'protobufjs'

import {pathExists} from '../clients/files.js'

/** The package root's proto/ directory: src/tetragon and dist/tetragon are both two levels below the root. */
export function protoDir(): string {
  const dir = fileURLToPath(new URL('../../proto/', import.meta.url))
  if (!pathExists(dir)) throw new Error(`tetractl installation is incomplete: ${dir} is missing`)
  return dir
}

/**
 * API variants tetractl knows. `current` is v1.7.0, the latest release at the time of writing.
 * `v1.0` is the current proto as agents before v1.1.0 sent it: Pod field 3 was `repeated string labels`, a number
 * v1.6.0 reused for `uid` (api/v1/tetragon/tetragon.proto Pod). `v0.8.0` is the first release's own proto
 * (other EventType numbers, process_dns).
 * Pick one with apiVariantFor (versions.ts).
 */
export type ApiVariant = 'current' | 'v1.0' | 'v0.8.0'

const FILES: Record<Exclude<ApiVariant, 'v1.0'>, {dir: string; files: string[]}> = {
  current: {
    dir: '',
    files: [
      'tetragon/sensors.proto',
      'tetragon/eventlogservice.proto',
      'grpc/health/v1/health.proto',
      // protobufjs's bundled copy: needed to render GetInfoResponse.conf values (Any of ListValue, cilium/tetragon v1.7.0 pkg/tetragoninfo/info.go).
      'google/protobuf/struct.proto',
    ],
  },
  // v0.8.0 had a single tetragon.proto with another EventType numbering (cilium/tetragon v0.8.0 api/v1/tetragon/tetragon.proto).
  'v0.8.0': {dir: 'tetragon-v0.8.0', files: ['tetragon/tetragon.proto']},
}

const roots = new Map<ApiVariant, Root>()

export function loadRoot(variant: ApiVariant = 'current'): Root {
  let root = roots.get(variant)
  if (root) return root
  if (variant === 'v1.0') {
    root = preV11Root()
    roots.set(variant, root)
    return root
  }
  const {dir, files} = FILES[variant]
  const base = path.join(protoDir(), dir)
  root = new protobuf.Root()
  // Imports are relative to the include directory, like protoc -I.
  root.resolvePath = (_origin: string, target: string) => (path.isAbsolute(target) ? target : path.join(base, target))
  root.loadSync(files, {keepCase: true})
  root.resolveAll()
  roots.set(variant, root)
  return root
}

const isTypeJson = (o: protobuf.AnyNestedObject | undefined): o is protobuf.IType => o !== undefined && 'fields' in o

/** The current proto with Pod field 3 back to `repeated string labels` (v0.8.0 – v1.0.3). */
function preV11Root(): Root {
  const json = loadRoot('current').toJSON()
  const tetragon = json.nested?.tetragon
  const pod = tetragon && 'nested' in tetragon ? tetragon.nested?.Pod : undefined
  if (!isTypeJson(pod)) throw new Error('tetragon.Pod is missing from the proto')
  delete pod.fields.uid
  pod.fields.labels = {rule: 'repeated', type: 'string', id: 3}
  const root = protobuf.Root.fromJSON(json)
  root.resolveAll()
  return root
}

export function lookupType(name: string, variant: ApiVariant = 'current'): Type {
  // `Process` → `tetragon.Process`; dotted names are fully qualified (`grpc.health.v1.HealthCheckRequest`).
  return loadRoot(variant).lookupType(name.includes('.') ? name : `tetragon.${name}`)
}

export function lookupEnum(name: string, variant: ApiVariant = 'current'): Enum {
  return loadRoot(variant).lookupEnum(name.includes('.') ? name : `tetragon.${name}`)
}

/** protobufjs MapField extends FieldBase, not Field: tell them apart at runtime. */
export function isMapField(field: Field): field is Field & MapField {
  return field instanceof protobuf.MapField
}

export {protobuf}
export type {Root, Type, Enum}
