/** Why a file could not be read, in words (the error code only: never the content). */
export function whyUnreadable(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT'
    ? 'does not exist'
    : code === 'EACCES'
      ? 'cannot be read (permission denied)'
      : code === 'EISDIR'
        ? 'is a directory'
        : `cannot be read (${code ?? 'unknown error'})`;
}
