// Python gRPC (Debian python3-grpcio, stubs generated at test time by grpc_tools.protoc from the repo's Tetragon
// protos) against a lab Tetragon agent: the RPCs tetractl calls, through a client stack the project did not write.
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {type TetragonAgent, startTetragonAgent} from '../../../src/lab/tetragon/agent.js'
import {PYTHON, clientAvailable, pythonHas, run} from '../kubernetes/support.js'

const available = clientAvailable('grpcio', () => pythonHas('grpc') && pythonHas('grpc_tools.protoc'))

describe.skipIf(!available)('grpcio', () => {
  let agent: TetragonAgent
  let dir: string
  let target: string

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tetractl-grpcio-'))
    const inc = (await run(PYTHON, ['-c', 'import grpc_tools, os; print(os.path.join(os.path.dirname(grpc_tools.__file__), "_proto"))'], {})).stdout.trim()
    const protos = ['tetragon/tetragon.proto', 'tetragon/events.proto', 'tetragon/sensors.proto', 'tetragon/capabilities.proto', 'tetragon/bpf.proto']
    // Debian 12's grpc_tools bundles protoc 3.5.1, which predates proto3 `optional` (protoc 3.15): drop the label
    // in a copy. The wire encoding of those fields is the same; only the generated has-presence accessor differs.
    const protoDir = join(dir, 'proto')
    mkdirSync(join(protoDir, 'tetragon'), {recursive: true})
    for (const p of protos) writeFileSync(join(protoDir, p), readFileSync(resolve('proto', p), 'utf8').replace(/^(\s*)optional\s+/gm, '$1'))
    const gen = await run(PYTHON, ['-m', 'grpc_tools.protoc', `-I${protoDir}`, `-I${inc}`, `--python_out=${dir}`, `--grpc_python_out=${dir}`, ...protos], {})
    if (gen.code !== 0) throw new Error(`protoc failed: ${gen.stderr}`)
    // health.proto at the top level: a grpc/ package of our own would shadow grpcio's.
    const health = await run(PYTHON, ['-m', 'grpc_tools.protoc', `-I${resolve('proto/grpc/health/v1')}`, `--python_out=${dir}`, `--grpc_python_out=${dir}`, 'health.proto'], {})
    if (health.code !== 0) throw new Error(`protoc failed: ${health.stderr}`)
    agent = await startTetragonAgent({version: 'v1.7.0', nodeName: 'node-1', serverAddress: 'localhost:54321', policies: ['network'], backgroundIntervalMs: 200})
    const g = agent.grpc as {host: string; port: number}
    target = `${g.host}:${g.port}`
  })
  afterAll(async () => {
    await agent?.stop()
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  const py = async (body: string) => {
    const file = join(dir, `t${Math.random().toString(36).slice(2)}.py`)
    writeFileSync(file, `import json, sys, grpc\nsys.path.insert(0, ${JSON.stringify(dir)})\nfrom tetragon import sensors_pb2, sensors_pb2_grpc, events_pb2, tetragon_pb2\nfrom google.protobuf import json_format\nch = grpc.insecure_channel(${JSON.stringify(target)})\nstub = sensors_pb2_grpc.FineGuidanceSensorsStub(ch)\n${body}`)
    const r = await run(PYTHON, [file], {PYTHONDONTWRITEBYTECODE: '1'})
    if (r.code !== 0) throw new Error(`python exited ${r.code}: ${r.stderr.slice(-2000)}`)
    return JSON.parse(r.stdout.trim().split('\n').pop()!)
  }

  it('GetVersion', async () => {
    expect(await py(`print(json.dumps({'v': stub.GetVersion(sensors_pb2.GetVersionRequest(), timeout=10).version}))`)).toEqual({v: 'v1.7.0'})
  })

  it('GetHealth', async () => {
    const r = await py(`r = stub.GetHealth(tetragon_pb2.GetHealthStatusRequest(), timeout=10)\nprint(json.dumps(json_format.MessageToDict(r)))`)
    expect(r.healthStatus[0].status).toBe('HEALTH_STATUS_RUNNING')
  })

  it('ListTracingPolicies', async () => {
    const r = await py(`r = stub.ListTracingPolicies(sensors_pb2.ListTracingPoliciesRequest(), timeout=10)\nprint(json.dumps([p.name for p in r.policies]))`)
    expect(r).toContain('connect')
  })

  it('GetEvents with an allow-list filter streams only matching events', async () => {
    const r = await py(`
req = events_pb2.GetEventsRequest(allow_list=[events_pb2.Filter(event_set=[events_pb2.PROCESS_EXEC])])
call = stub.GetEvents(req, timeout=30)
seen = []
for ev in call:
    seen.append(ev.WhichOneof('event'))
    if len(seen) >= 2: break
call.cancel()
print(json.dumps(seen))`)
    expect(r).toEqual(['process_exec', 'process_exec'])
  }, 60_000)

  it('the gRPC health service (grpc.health.v1) on the health port', async () => {
    const file = join(dir, 'health.py')
    writeFileSync(file, `import json, sys, grpc\nsys.path.insert(0, ${JSON.stringify(dir)})\nimport health_pb2, health_pb2_grpc\nch = grpc.insecure_channel('127.0.0.1:${agent.healthPort}')\ns = health_pb2_grpc.HealthStub(ch)\nprint(json.dumps(health_pb2.HealthCheckResponse.ServingStatus.Name(s.Check(health_pb2.HealthCheckRequest(service='liveness'), timeout=10).status)))`)
    const r = await run(PYTHON, [file], {PYTHONDONTWRITEBYTECODE: '1'})
    expect(r.stderr).toBe('')
    expect(JSON.parse(r.stdout)).toBe('SERVING')
  })
})
