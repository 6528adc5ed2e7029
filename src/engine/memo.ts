/**
 * Memoised async facts shared by the checks of one run: the first caller starts the fetch,
 * concurrent and later callers share its promise. Keeps the request count and the longest
 * chain of sequential requests low (several checks read the same pods, the same Service).
 */
export class Memo {
  private readonly cache = new Map<string, Promise<unknown>>()

  get<T>(key: string, fetch: () => Promise<T>): Promise<T> {
    let p = this.cache.get(key) as Promise<T> | undefined
    if (!p) {
      p = fetch()
      this.cache.set(key, p)
    }
    return p
  }
}
