import type {TetragonClient, TetragonStreamEvent} from '../../src/clients/tetragon.js'
import type {TetragonAgent} from '../../src/lab/tetragon/agent.js'
import type {JsonObject} from '../../src/tetragon/json.js'

export function tcpAddress(agent: TetragonAgent): string {
  const g = agent.grpc
  if (!g || !('port' in g)) throw new Error('agent has no TCP listener')
  return `${g.host}:${g.port}`
}

export async function waitFor(cond: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** Open a GetEvents stream, run `act` once the agent registered it, collect until `done` or timeout. */
export async function collect(
  client: TetragonClient,
  agent: TetragonAgent,
  request: JsonObject,
  act: () => void | Promise<void>,
  done: (events: TetragonStreamEvent[]) => boolean,
  timeoutMs = 3000,
): Promise<TetragonStreamEvent[]> {
  const ac = new AbortController()
  const events: TetragonStreamEvent[] = []
  const before = agent.streamsOpened()
  const consumer = (async () => {
    for await (const e of client.getEvents(request, {signal: ac.signal})) {
      events.push(e)
      if (done(events)) ac.abort()
    }
  })()
  const timer = setTimeout(() => ac.abort(), timeoutMs)
  try {
    await waitFor(() => agent.streamsOpened() > before, 2000, 'GetEvents listener')
    await act()
    await consumer
  } finally {
    clearTimeout(timer)
    ac.abort()
  }
  return events
}
