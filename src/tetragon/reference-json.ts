// The reference protobuf → JSON decoder: @bufbuild/protobuf's `toJson`, a conformant implementation of the proto3
// JSON mapping (the one Go's protojson implements, which Tetragon's JSON export uses, cilium/tetragon v1.7.0 pkg/encoder/encoder.go), with
// `useProtoFieldName` for the snake_case keys of `protojson.MarshalOptions{UseProtoNames: true}`.
//
// Its descriptors are built at run time from the protobufjs reflection of the vendored protos (proto.ts), so the
// .proto files stay the single source of truth and nothing is generated. The fast transcoder (wire-json.ts) falls
// back to this decoder and is tested against it.
//
// Imported lazily (events, the Tetragon client, the lab): never at CLI start-up.

import {createFileRegistry, fromBinary, fromJson, toJson, type DescMessage, type FileRegistry, type JsonValue as BufJsonValue} from '@bufbuild/protobuf'
import {
  FieldDescriptorProto_Type as FieldType,
  FileDescriptorSetSchema,
  type DescriptorProtoJson,
  type EnumDescriptorProtoJson,
  type FieldDescriptorProtoJson,
  type FileDescriptorProtoJson,
} from '@bufbuild/protobuf/wkt'
import {lookupType, protobuf, type ApiVariant, type Enum, type Type} from './proto.js'
import type {JsonObject, TetragonEventJson} from './json.js'

const SCALAR: Record<string, FieldType> = {
  double: FieldType.DOUBLE, float: FieldType.FLOAT, int64: FieldType.INT64, uint64: FieldType.UINT64, int32: FieldType.INT32,
  fixed64: FieldType.FIXED64, fixed32: FieldType.FIXED32, bool: FieldType.BOOL, string: FieldType.STRING, bytes: FieldType.BYTES,
  uint32: FieldType.UINT32, sfixed32: FieldType.SFIXED32, sfixed64: FieldType.SFIXED64, sint32: FieldType.SINT32, sint64: FieldType.SINT64,
}

const typeJson = (t: FieldType) => `TYPE_${FieldType[t]}` as FieldDescriptorProtoJson['type']

function enumDescriptor(e: Enum): EnumDescriptorProtoJson {
  return {name: e.name, value: Object.entries(e.values).map(([name, number]) => ({name, number}))}
}

/** A field of scalar `type` or of the resolved message / enum type; records the package it refers to in `deps`. */
function fieldDescriptor(name: string, number: number, repeated: boolean, type: string, resolved: Type | Enum | null, deps: Set<string>): FieldDescriptorProtoJson {
  const d: FieldDescriptorProtoJson = {name, number, label: repeated ? 'LABEL_REPEATED' : 'LABEL_OPTIONAL'}
  if (resolved) {
    d.type = resolved instanceof protobuf.Type ? 'TYPE_MESSAGE' : 'TYPE_ENUM'
    d.typeName = resolved.fullName
    deps.add(packageOf(resolved))
  } else {
    const t = SCALAR[type]
    if (t === undefined) throw new Error(`unsupported field type ${type} (${name})`)
    d.type = typeJson(t)
  }
  return d
}

function packageOf(obj: protobuf.ReflectionObject): string {
  let ns = obj.parent
  while (ns && ns instanceof protobuf.Type) ns = ns.parent
  return ns ? ns.fullName.replace(/^\./, '') : ''
}

const upperFirst = (s: string) => s.charAt(0).toUpperCase() + s.slice(1)
// protoc's name for a map field's entry message: `pod_labels` → `PodLabelsEntry`.
const entryName = (field: string) => field.split('_').map(upperFirst).join('') + 'Entry'

function messageDescriptor(type: Type, deps: Set<string>): DescriptorProtoJson {
  const d: DescriptorProtoJson = {name: type.name, field: [], nestedType: [], enumType: [], oneofDecl: []}
  // protoc lists real oneofs first, then the synthetic `_name` ones of proto3 `optional` fields.
  const oneofs = [...type.oneofsArray.filter((o) => !isSynthetic(o)), ...type.oneofsArray.filter(isSynthetic)]
  for (const o of oneofs) d.oneofDecl!.push({name: o.name})
  for (const field of type.fieldsArray) {
    field.resolve()
    if (field instanceof protobuf.MapField) {
      // protoc's form of a map: a repeated nested entry message with key = 1 and value = 2.
      const entry: DescriptorProtoJson = {
        name: entryName(field.name),
        options: {mapEntry: true},
        field: [
          fieldDescriptor('key', 1, false, field.keyType, null, deps),
          fieldDescriptor('value', 2, false, field.type, field.resolvedType, deps),
        ],
      }
      d.nestedType!.push(entry)
      d.field!.push({name: field.name, number: field.id, label: 'LABEL_REPEATED', type: 'TYPE_MESSAGE', typeName: `${type.fullName}.${entry.name}`})
      continue
    }
    const f = fieldDescriptor(field.name, field.id, field.repeated, field.type, field.resolvedType, deps)
    if (field.partOf) {
      f.oneofIndex = oneofs.indexOf(field.partOf)
      if (isSynthetic(field.partOf)) f.proto3Optional = true
    }
    d.field!.push(f)
  }
  for (const nested of type.nestedArray) {
    if (nested instanceof protobuf.Type) d.nestedType!.push(messageDescriptor(nested, deps))
    else if (nested instanceof protobuf.Enum) d.enumType!.push(enumDescriptor(nested))
  }
  return d
}

/** A proto3 `optional` field's oneof: protobufjs names it `_<field>` and gives it that one field. */
const isSynthetic = (o: protobuf.OneOf) => o.name.startsWith('_') && o.oneof.length === 1 && o.name === `_${o.oneof[0]}`

/** One synthetic file per package (`tetragon.proto`, `google.protobuf.proto` …), dependencies first. */
function fileSet(root: protobuf.Root): FileDescriptorProtoJson[] {
  const files = new Map<string, {file: FileDescriptorProtoJson; deps: Set<string>}>()
  const visit = (ns: protobuf.NamespaceBase) => {
    for (const nested of ns.nestedArray) {
      if (nested instanceof protobuf.Type || nested instanceof protobuf.Enum) {
        const pkg = packageOf(nested)
        let entry = files.get(pkg)
        if (!entry) {
          entry = {file: {name: `${pkg || 'root'}.proto`, package: pkg, syntax: 'proto3', messageType: [], enumType: []}, deps: new Set()}
          files.set(pkg, entry)
        }
        if (nested instanceof protobuf.Type) entry.file.messageType!.push(messageDescriptor(nested, entry.deps))
        else entry.file.enumType!.push(enumDescriptor(nested))
      } else if (nested instanceof protobuf.Namespace && !(nested instanceof protobuf.Service)) visit(nested)
    }
  }
  visit(root)
  const ordered: FileDescriptorProtoJson[] = []
  const done = new Set<string>()
  const place = (pkg: string) => {
    if (done.has(pkg)) return
    done.add(pkg)
    const entry = files.get(pkg)!
    entry.deps.delete(pkg)
    for (const dep of entry.deps) place(dep)
    entry.file.dependency = [...entry.deps].map((p) => files.get(p)!.file.name!)
    ordered.push(entry.file)
  }
  for (const pkg of files.keys()) place(pkg)
  return ordered
}

const registries = new WeakMap<protobuf.Root, FileRegistry>()

/** The @bufbuild/protobuf registry of a protobufjs root's types (proto.ts loads one root per API variant), built once. */
export function registryFor(root: protobuf.Root): FileRegistry {
  let reg = registries.get(root)
  if (!reg) {
    reg = createFileRegistry(fromJson(FileDescriptorSetSchema, {file: fileSet(root)}))
    registries.set(root, reg)
  }
  return reg
}

/**
 * Protobuf bytes of a message of `type` (a type of one of proto.ts's roots) → Tetragon's JSON export form.
 * Map keys are sorted, as Go's protojson writes them (the library keeps wire order).
 */
export function decodeToJson(type: Type, bytes: Uint8Array): JsonObject {
  const registry = registryFor(type.root)
  const schema = registry.getMessage(type.fullName.replace(/^\./, ''))
  if (!schema) throw new Error(`${type.fullName} is not in its root's registry`)
  const json = toJson(schema, fromBinary(schema, bytes), {useProtoFieldName: true, registry})
  return sortMapKeys(schema, json) as JsonObject
}

/** GetEventsResponse bytes → JSON export form. */
export function decodeEventBytes(bytes: Uint8Array, variant: ApiVariant = 'current'): TetragonEventJson {
  return decodeToJson(lookupType('tetragon.GetEventsResponse', variant), bytes) as TetragonEventJson
}

/** Re-inserts the keys of every map field in sorted order (JS string order; integer-like keys still come first). */
function sortMapKeys(schema: DescMessage, json: BufJsonValue): BufJsonValue {
  if (!json || typeof json !== 'object' || Array.isArray(json)) return json
  for (const field of schema.fields) {
    const v = json[field.name]
    if (v === undefined || v === null) continue
    if (field.fieldKind === 'map') {
      const o = v as {[k: string]: BufJsonValue}
      const sorted: {[k: string]: BufJsonValue} = {}
      for (const k of Object.keys(o).sort()) sorted[k] = field.mapKind === 'message' ? sortMapKeys(field.message, o[k]!) : o[k]!
      json[field.name] = sorted
    } else if (field.fieldKind === 'message' && !field.message.typeName.startsWith('google.protobuf.')) {
      json[field.name] = sortMapKeys(field.message, v)
    } else if (field.fieldKind === 'list' && field.listKind === 'message' && !field.message.typeName.startsWith('google.protobuf.')) {
      json[field.name] = (v as BufJsonValue[]).map((x) => sortMapKeys(field.message, x))
    }
  }
  return json
}
