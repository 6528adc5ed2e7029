// The sandbox's files hold secrets (the API token, the Elasticsearch key): written for the owner only, in one
// step, and never through a symbolic link someone left in the folder.
import {randomBytes} from 'node:crypto'
import {closeSync, constants, fchmodSync, lstatSync, openSync, renameSync, unlinkSync, writeSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'

import {UserError} from '../engine/errors.js'

/**
 * Writes `file` with mode 0600 through a new temporary file in the same folder (O_EXCL|O_NOFOLLOW) renamed
 * over it: an existing file's mode is not kept, and a reader never sees half a file. Refuses a symbolic link
 * or anything but a regular file at `file`.
 */
export function writePrivateFileSync(file: string, content: string, mode = 0o600): void {
  let st
  try {
    st = lstatSync(file)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  if (st?.isSymbolicLink()) throw new UserError(`${file} is a symbolic link; the sandbox does not write its secrets through links.`, 'Remove it, or choose another --out folder.')
  if (st && !st.isFile()) throw new UserError(`${file} exists and is not a regular file.`, 'Remove it, or choose another --out folder.')
  const tmp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`)
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode)
  try {
    // The umask can only remove bits; set the mode exactly.
    fchmodSync(fd, mode)
    writeSync(fd, content)
  } catch (error) {
    closeSync(fd)
    unlinkSync(tmp)
    throw error
  }
  closeSync(fd)
  try {
    renameSync(tmp, file)
  } catch (error) {
    unlinkSync(tmp)
    throw error
  }
}
