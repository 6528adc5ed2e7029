// Every hint of the lab's scenarios is a command to paste or a labelled manual step: shard 2 of them (hints.ts).
import {hintsAreCommands} from './hints.js'

hintsAreCommands(1)
