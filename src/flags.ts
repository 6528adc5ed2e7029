// Flag sets composed by the commands ({...kubeFlags, ...outputFlags}), never repeated.
import {dirname, resolve} from 'node:path'

import {Flags, Parser, type Interfaces} from '@oclif/core'

import {canWriteIn, pathKind} from './clients/files.js'
import {DEFAULT_PROBE_IMAGE, DOCUMENTED_COLLECTOR_ADDRESS} from './defaults.js'
import {durationMs} from './duration.js'
import {UserError} from './engine/errors.js'
import {datasetName, dns1123Label, dns1123Subdomain, helmReleaseName, podRef} from './names.js'

/** Where a value came from, for its error: the flag, or the environment variable oclif read instead. */
const settingOf = (ctx: {token?: unknown}, flag: {name: string; env?: string}) => (ctx.token || !flag.env ? `--${flag.name}` : `${flag.env} (--${flag.name})`)

/** A string flag whose value is checked while the flags are parsed (exit 2 before any work). */
const checked = (check: (value: string, setting: string) => string) => Flags.custom<string>({parse: async (input, ctx, flag) => check(input, settingOf(ctx, flag))})

const duration = Flags.custom<number>({parse: async (input, ctx, flag) => durationMs(input, settingOf(ctx, flag)), helpValue: '<value>'})

/** A duration flag, parsed once into milliseconds within what a timer can wait; its env variable is held to the same rule. */
export function durationFlag(o: {description: string; default: string; env?: string; helpGroup?: string}) {
  return duration({description: o.description, env: o.env, helpGroup: o.helpGroup, default: durationMs(o.default, 'default'), defaultHelp: async () => o.default})
}

/** Kubernetes object names, checked before they are pasted into API paths and fix hints. */
export const namespaceFlag = (o: {char?: 'n'; description: string; helpGroup?: string}) => checked((v, s) => dns1123Label(v, s, 'a Kubernetes namespace name', 'kube-system'))(o)
export const serviceNameFlag = checked((v, s) => dns1123Label(v, s, 'a Kubernetes Service name', 'tetragon-grpc'))
export const containerNameFlag = checked((v, s) => dns1123Label(v, s, 'a container name', 'main'))
export const nodeNameFlag = checked((v, s) => dns1123Subdomain(v, s, 'a Kubernetes node name', 'worker-2'))
export const podRefFlag = checked(podRef)
export const releaseFlag = checked(helmReleaseName)
/** A namespace filter: '' stands for host processes (no pod). */
export const eventNamespaceFlag = checked((v, s) => (v.trim() === '' ? v : dns1123Label(v.trim(), s, 'a Kubernetes namespace name', 'default')))
export const datasetFlag = checked(datasetName)

/**
 * --junit FILE: an existing folder we may write in, and not a directory or special file. Checked up front so a
 * run never ends unable to write its report (nor creates folders, nor leaves a temporary file beside a folder).
 */
export function junitPath(value: string, setting: string): string {
  const target = resolve(value)
  const kind = pathKind(target)
  if (kind === 'directory') throw new UserError(`${setting} ${value} is a directory.`, `Name a file, e.g. ${setting} ${value.replace(/\/+$/, '')}/report.xml`)
  if (kind === 'other') throw new UserError(`${setting} ${value} is not a regular file.`, 'Name a regular file to write the report to.')
  const folder = dirname(target)
  if (pathKind(folder) !== 'directory') throw new UserError(`${setting}: the folder ${folder} does not exist.`, 'Create it first, or name a file in an existing folder.')
  if (!canWriteIn(folder)) {
    throw new UserError(`${setting}: the folder ${folder} is not writable.`, 'Name a file in a folder you may write to.')
  }
  return value
}

export const kubeFlags = {
  kubeconfig: Flags.string({description: 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)', helpGroup: 'KUBERNETES'}),
  context: Flags.string({description: 'kubeconfig context (default: current-context)', helpGroup: 'KUBERNETES'}),
  namespace: namespaceFlag({char: 'n', description: "Tetragon's namespace (default: found by label, else kube-system)", helpGroup: 'KUBERNETES'}),
  'request-timeout': durationFlag({description: 'timeout of each API request', default: '10s', helpGroup: 'KUBERNETES'}),
}

export const tetragonFlags = {
  'service-name': serviceNameFlag({description: 'the gRPC Service collectors dial', default: 'tetragon-grpc', helpGroup: 'TETRAGON'}),
  'service-namespace': namespaceFlag({description: "the Service's namespace (default: Tetragon's)", helpGroup: 'TETRAGON'}),
  'collector-address': Flags.string({
    description: 'address the collector is configured to dial',
    env: 'TETRACTL_COLLECTOR_ADDRESS',
    default: DOCUMENTED_COLLECTOR_ADDRESS,
    helpGroup: 'TETRAGON',
  }),
}

export const tetragonApiFlags = {
  'tetragon-address': Flags.string({
    description: 'reach one agent directly (host:port or unix:///var/run/tetragon/tetragon.sock) instead of through the cluster',
    env: 'TETRACTL_TETRAGON_ADDRESS',
    helpGroup: 'TETRAGON',
  }),
  'tetragon-health-address': Flags.string({description: "the agent's gRPC health server (default: the --tetragon-address host, port 6789)", helpGroup: 'TETRAGON'}),
  'grpc-timeout': durationFlag({description: 'deadline of each gRPC call', default: '5s', helpGroup: 'TETRAGON'}),
  'schema-sample': durationFlag({description: 'tetragon.schema reads events for at most this long (or 50 events)', env: 'TETRACTL_SCHEMA_SAMPLE', default: '3s', helpGroup: 'TETRAGON'}),
  'metrics-window': durationFlag({description: 'tetragon.dropped-events scrapes the metrics twice, this far apart', env: 'TETRACTL_METRICS_WINDOW', default: '2s', helpGroup: 'TETRAGON'}),
}

// Secrets are better passed through the environment (flags show up in `ps`); both are read.
export const elasticFlags = {
  'es-url': Flags.string({description: 'Elasticsearch URL', env: 'ELASTICSEARCH_URL', helpGroup: 'ELASTIC'}),
  'es-cloud-id': Flags.string({description: 'Elastic Cloud ID (instead of --es-url)', env: 'ELASTICSEARCH_CLOUD_ID', helpGroup: 'ELASTIC'}),
  'es-api-key': Flags.string({description: 'API key (encoded, or id:key); prefer the environment variable', env: 'ELASTICSEARCH_API_KEY', helpGroup: 'ELASTIC'}),
  'es-username': Flags.string({description: 'user name for basic auth', env: 'ELASTICSEARCH_USERNAME', helpGroup: 'ELASTIC'}),
  'es-password': Flags.string({description: 'password for basic auth; prefer the environment variable', env: 'ELASTICSEARCH_PASSWORD', helpGroup: 'ELASTIC'}),
  'es-ca-cert': Flags.string({description: 'CA certificate file (PEM) for Elasticsearch', env: 'ELASTICSEARCH_CA_CERT', helpGroup: 'ELASTIC'}),
  'es-insecure': Flags.boolean({description: 'skip TLS verification (not for production)', helpGroup: 'ELASTIC'}),
  'kibana-url': Flags.string({description: 'Kibana URL (Fleet checks)', env: 'KIBANA_URL', helpGroup: 'ELASTIC'}),
  'kibana-api-key': Flags.string({description: 'Kibana API key (default: the Elasticsearch credentials)', env: 'KIBANA_API_KEY', helpGroup: 'ELASTIC'}),
  dataset: datasetFlag({description: 'dataset to look for (default: found; the package writes cilium_tetragon.log, the common docs say tetragon.log)', helpGroup: 'ELASTIC'}),
  profile: Flags.string({description: 'expected fields: seed (commonly documented), package (what cilium_tetragon sets), auto', options: ['auto', 'seed', 'package'], default: 'auto', helpGroup: 'ELASTIC'}),
  'max-age': durationFlag({description: 'newest event older than this fails es.freshness', default: '15m', helpGroup: 'ELASTIC'}),
  window: durationFlag({description: 'recent window for field and error statistics', default: '1h', helpGroup: 'ELASTIC'}),
}

export const runFlags = {
  only: Flags.string({description: 'run only these check ids or layers (comma-separated; their requirements run too)', delimiter: ',', multiple: true}),
  skip: Flags.string({description: 'skip these check ids or layers (comma-separated)', delimiter: ',', multiple: true}),
  timeout: durationFlag({description: 'stop the whole run after this long; unfinished checks are reported not-evaluated', default: '60s'}),
  'check-timeout': durationFlag({description: 'timeout of each check', default: '20s'}),
  concurrency: Flags.integer({description: 'checks run at once', default: 8, min: 1, max: 64}),
}

export const outputFlags = {
  'fail-on': Flags.string({description: 'lowest status that makes the exit code 1', options: ['fail', 'warn'], default: 'fail'}),
  junit: checked(junitPath)({description: 'also write a JUnit XML report to this file (atomically; its folder must exist)'}),
  verbose: Flags.boolean({char: 'v', description: 'show the evidence of every check'}),
  debug: Flags.boolean({description: 'print stack traces of unexpected errors', hidden: false}),
}

/** The helm executable, for the commands that run Helm (setup, doctor --fix); TETRACTL_HELM is read too. */
export const helmBinFlag = (description: string) => Flags.string({description, env: 'TETRACTL_HELM', helpValue: 'PATH', helpGroup: 'HELM'})

export const fixFlags = {
  fix: Flags.boolean({description: 'after the checks, offer to fix tetragon.grpc-bind, service.exists and service.selector (shows each change, asks first)'}),
  yes: Flags.boolean({char: 'y', description: 'with --fix: apply without asking (required without a TTY)', dependsOn: ['fix']}),
  helm: helmBinFlag('with --fix: the helm executable (default: helm on PATH)'),
}

/** What the user cares about seeing in Elasticsearch (tetragon.export-filters); same name as `events`' filter. */
export const exportInterestFlags = {
  'event-namespace': Flags.string({description: "namespaces whose events must reach the export (comma-separated; '' = host processes; default: every namespace)", delimiter: ',', multiple: true, helpGroup: 'TETRAGON'}),
}

/** Every flag of `tetractl doctor`; validate and setup run doctor's checks with the same names. */
export const doctorFlagSet = {...kubeFlags, ...tetragonFlags, ...tetragonApiFlags, ...exportInterestFlags, ...elasticFlags, ...runFlags, ...outputFlags, ...fixFlags}

/** Parsed values of a flag set, as `this.parse()` returns them. */
export type FlagValues<T extends Interfaces.FlagInput> = Interfaces.InferredFlags<T>
export type DoctorFlags = FlagValues<typeof doctorFlagSet>

/** Every flag of `tetractl validate` (here, not in the command, so the validate service can type them without a cycle). */
export const validateFlagSet = {
  ...kubeFlags,
  ...tetragonApiFlags,
  ...elasticFlags,
  ...outputFlags,
  pod: podRefFlag({description: 'exec into this existing pod (NAMESPACE/NAME) instead of creating a probe pod', helpGroup: 'PROBE'}),
  container: containerNameFlag({description: 'with --pod: the container to exec into (default: the default container)', helpGroup: 'PROBE', dependsOn: ['pod']}),
  image: Flags.string({description: 'image of the probe pod (sh, whoami, cat, curl)', default: DEFAULT_PROBE_IMAGE, helpGroup: 'PROBE'}),
  url: Flags.string({description: 'URL the probe curls (http:// or https://)', default: 'http://google.com', helpGroup: 'PROBE'}),
  keep: Flags.boolean({description: 'leave the probe namespace and pod for debugging (prints how to delete them)', helpGroup: 'PROBE'}),
  'require-policies': Flags.boolean({description: 'fail (instead of skip) the tcp_connect and file steps when their policy is not loaded', helpGroup: 'PROBE'}),
  timeout: durationFlag({description: 'stop the whole run after this long (then clean up)', default: '3m'}),
  'pod-timeout': durationFlag({description: 'how long the probe pod may take to start (image pull)', default: '2m'}),
  'event-timeout': durationFlag({description: 'how long to wait for the events on the gRPC stream after the commands', default: '15s'}),
  'es-timeout': durationFlag({description: 'how long to wait for the documents to be searchable', default: '60s', helpGroup: 'ELASTIC'}),
}
export type ValidateFlags = FlagValues<typeof validateFlagSet>

/**
 * The values a flag set takes with nothing on the command line — each flag's environment variable, else its default —
 * resolved by oclif's own parser from the flags' `env:` and `default:` options, with the same checks and errors as
 * when a command parses them. For running a command's logic from another command (setup runs doctor's checks).
 */
export async function flagsFromEnvironment<T extends Interfaces.FlagInput>(set: T): Promise<FlagValues<T>> {
  const {flags} = await Parser.parse([], {flags: set, strict: true})
  return flags as FlagValues<T>
}
