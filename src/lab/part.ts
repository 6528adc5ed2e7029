/** A started sub-lab as `startLab` composes it. */
export interface LabPart {
  name: string
  env?: Record<string, string>
  /** Environment that needs DIR (e.g. a CA file written there). */
  envFor?: (dir: string) => Record<string, string>
  /** Extra files for DIR; paths relative to DIR. */
  files?: (dir: string) => Record<string, string>
  stop(): Promise<void>
}
