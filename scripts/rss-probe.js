// Preloaded by the benchmarks (node --import): records the process's peak RSS at exit.
import {writeFileSync} from 'node:fs'

process.on('exit', () => {
  if (process.env.TETRACTL_RSS_FILE) writeFileSync(process.env.TETRACTL_RSS_FILE, String(process.resourceUsage().maxRSS * 1024))
})
