#!/usr/bin/env node
import {execute} from '@oclif/core'

await execute({dir: import.meta.url})
// A command is done when execute() resolves; sockets a timed-out request left behind must not
// keep the process alive (no command may hang). stdout to a pipe or file is synchronous on Linux.
process.exit()
