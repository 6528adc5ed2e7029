#!/usr/bin/env node
// Development entry: same as run.js but tells oclif it runs from source (no manifest cache).
import {execute} from '@oclif/core'

await execute({development: true, dir: import.meta.url})
