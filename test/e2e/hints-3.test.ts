// Every hint of the lab's scenarios is a command to paste or a labelled manual step: shard 3 of them (hints.ts).
import {hintsAreCommands} from './hints.js'

hintsAreCommands(2)
