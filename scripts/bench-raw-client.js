#!/usr/bin/env node
// Benchmark P4's baselines: a minimal grpc-js client of the agent's GetEvents stream that reads N messages and
// cancels. `identity` keeps each message's bytes undecoded; `proto-loader` decodes them into objects the way most
// Node gRPC clients do. Run as its own process (like `tetractl events`), or imported by scripts/bench-more.js.
// Usage: bench-raw-client.js identity|proto-loader HOST:PORT N
import {dirname, join} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

export async function consume(mode, address, n) {
  const grpc = await import(join(root, 'node_modules/@grpc/grpc-js/build/src/index.js'))
  let client
  let call
  if (mode === 'identity') {
    client = new grpc.Client(address, grpc.credentials.createInsecure(), {'grpc.enable_http_proxy': 0})
    call = client.makeServerStreamRequest('/tetragon.FineGuidanceSensors/GetEvents', () => Buffer.alloc(0), (b) => b, {}, new grpc.Metadata(), {})
  } else if (mode === 'proto-loader') {
    const loader = await import(join(root, 'node_modules/@grpc/proto-loader/build/src/index.js'))
    const def = loader.loadSync(['tetragon/sensors.proto'], {includeDirs: [join(root, 'proto')], keepCase: true, longs: String, enums: String, defaults: false, oneofs: true})
    const Sensors = grpc.loadPackageDefinition(def).tetragon.FineGuidanceSensors
    client = new Sensors(address, grpc.credentials.createInsecure(), {'grpc.enable_http_proxy': 0})
    call = client.GetEvents({})
  } else {
    throw new Error(`unknown mode ${mode}`)
  }
  let seen = 0
  await new Promise((resolve, reject) => {
    call.on('data', () => {
      if (++seen === n) {
        call.cancel()
        resolve()
      }
    })
    call.on('error', (e) => (e.code === grpc.status.CANCELLED ? resolve() : reject(e)))
  })
  client.close()
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [mode, address, count] = process.argv.slice(2)
  await consume(mode, address, Number(count))
}
