// `tetra` inside the agent container (the image ships /usr/bin/tetra, cilium/tetragon cmd/tetra): the commands the docs use
// through `kubectl exec … -c tetragon -- tetra <cmd>`, with tetra v1.7.0's output (cilium/tetragon v1.7.0 cmd/tetra).
// Lab only.
import type {ExecResult} from '../kube/exec.js'
import type {TetragonAgent} from './agent.js'

const USAGE = "Run 'tetra --help' for usage.\n"
/** tetra v1.7.0's other sub-commands: real, but not emulated here. */
const NOT_EMULATED = new Set([
  'getevents', 'tracingpolicy', 'tp', 'info', 'bugtool', 'loglevel', 'debug', 'dump', 'eventlog', 'sensors', 'probe', 'explain',
  'policyfilter', 'rthooks', 'cri', 'cgtracker', 'policytest', 'completion', 'help',
])

/** Global flags (cmd/tetra/main.go) taking a value; bare boolean ones are dropped as well. */
const GLOBAL_WITH_VALUE = new Set(['--server-address', '--timeout', '--retries', '--max-recv-size', '--log-level', '--log-format'])

/**
 * Runs `tetra <args>` against the node's agent. `tetra` dials the agent's own server-address (tetragon-info.json,
 * cmd/tetra/common/flags.go ResolveServerAddress); inside the agent's container that always reaches a listening gRPC
 * server, so only a disabled server (empty server-address) fails. GetHealth and GetVersion answer as the agent does.
 */
export function runTetra(agent: TetragonAgent | undefined, args: string[]): ExecResult {
  const words: string[] = []
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!
    if (GLOBAL_WITH_VALUE.has(a)) i++
    else if (a === '-d' || a === '--debug' || [...GLOBAL_WITH_VALUE].some((f) => a.startsWith(`${f}=`))) continue
    else words.push(a)
  }
  const [cmd, ...rest] = words
  // grpc-go's text for a dial that finds nothing listening (the lab's wording for the disabled-server case).
  const unreachable = 'rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:54321: connect: connection refused"'
  const up = agent !== undefined && agent.grpc !== null
  switch (cmd) {
    case 'status':
      // cmd/tetra/status/status.go: prints the first HealthStatus' details; errors go to stdout, exit 0.
      return up ? {stdout: 'Health Status: running\n', exitCode: 0} : {stdout: `status error: ${unreachable}\n`, exitCode: 0}
    case 'version': {
      // cmd/tetra/version/version.go: the CLI's own version (the image's), then GetVersion with -s/--server.
      const server = rest.some((a) => a === '-s' || a === '--server')
      if (rest.some((a) => a === '-b' || a === '--build')) return {stderr: 'tetra version --build: not emulated by the lab\n', exitCode: 2}
      const unknown = rest.find((a) => a.startsWith('-') && !['-s', '--server'].includes(a))
      if (unknown) return {stderr: `Error: unknown flag: ${unknown}\n`, exitCode: 1}
      if (rest.some((a) => !a.startsWith('-'))) return {stderr: `Error: unknown command "${rest.find((a) => !a.startsWith('-'))}" for "tetra version"\n`, exitCode: 1}
      const version = agent?.version ?? ''
      let stdout = `CLI version: ${version}\n`
      if (server) {
        if (!up) {
          // The error is logged, then res.Version dereferences a nil response: a Go panic, exit status 2.
          const at = new Date().toISOString()
          return {
            stdout,
            stderr: `time=${at} level=ERROR msg="error retrieving server version" error="${unreachable.replace(/"/g, '\\"')}"\npanic: runtime error: invalid memory address or nil pointer dereference\n`,
            exitCode: 2,
          }
        }
        stdout += `Server version: ${version}\n`
      }
      return {stdout, exitCode: 0}
    }
    case undefined:
      return {stdout: 'Tetragon CLI\n\nUsage:\n  tetra [command]\n', exitCode: 0}
    default:
      if (NOT_EMULATED.has(cmd)) return {stderr: `tetra ${cmd}: not emulated by the lab\n`, exitCode: 2}
      // cobra: unknown sub-command.
      return {stderr: `Error: unknown command "${cmd}" for "tetra"\n${USAGE}`, exitCode: 1}
  }
}
