// The local file system, for the few files tetractl itself reads and writes: assets shipped in the package, the
// JUnit report, and private temporary folders (credentials for helm and kubectl). Like every other client here,
// the only module outside src/lab that touches it.
import {accessSync, constants, existsSync, readFileSync, rmSync, statSync} from 'node:fs'
import {mkdir, mkdtemp, rename, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'

/** A JSON file shipped with tetractl (a URL relative to the calling module). */
export function readPackagedJson<T>(url: URL): T {
  return JSON.parse(readFileSync(url, 'utf8')) as T
}

/** Writes a report where a reader never sees half of it: a temporary file beside it, then a rename. */
export async function writeFileAtomic(file: string, content: string): Promise<void> {
  const target = resolve(file)
  await mkdir(dirname(target), {recursive: true})
  const tmp = `${target}.${process.pid}.tmp`
  try {
    await writeFile(tmp, content)
    await rename(tmp, target)
  } catch (error) {
    await rm(tmp, {force: true}).catch(() => {})
    throw error
  }
}

export async function ensureDir(dir: string): Promise<void> {
  await mkdir(dir, {recursive: true})
}

/** A new folder only the owner can open (mkdtemp creates it 0700). */
export function makePrivateDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix))
}

/** A new file only the owner can read: `wx` never follows or reuses a file someone else put there. */
export async function writePrivateFile(dir: string, name: string, content: string): Promise<string> {
  const file = join(dir, name)
  await writeFile(file, content, {mode: 0o600, flag: 'wx'})
  return file
}

export function removeTree(dir: string): Promise<void> {
  return rm(dir, {recursive: true, force: true})
}

/** For exit handlers, which cannot wait. */
export function removeTreeSync(dir: string): void {
  rmSync(dir, {recursive: true, force: true})
}

export type PathKind = 'file' | 'directory' | 'other' | 'missing'

/** What is at a path (following links), for checking a flag before any work. */
export function pathKind(path: string): PathKind {
  try {
    const st = statSync(path)
    return st.isFile() ? 'file' : st.isDirectory() ? 'directory' : 'other'
  } catch {
    return 'missing'
  }
}

export function pathExists(path: string): boolean {
  return existsSync(path)
}

/** Whether this process may create files in a folder. */
export function canWriteIn(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK)
    return true
  } catch {
    return false
  }
}
