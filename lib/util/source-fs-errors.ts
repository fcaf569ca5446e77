import { SourceError } from "../errors.ts";

/**
 * Translates an error from opening or reading a local image into a `SourceError` that names the
 * path, keeping the OS error as `cause`. The message says what the user can act on (missing,
 * permissions, not a file) rather than echoing an errno.
 *
 * @param err - whatever the `fs` call threw.
 * @param path - the image path as the user gave it.
 * @param action - what was being done, for errors without a dedicated message.
 */
export function sourceErrorFromFs(err: unknown, path: string, action = "open image"): SourceError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const detail = err instanceof Error ? err.message : String(err);
  switch (code) {
    case "ENOENT":
      return new SourceError(`image not found: ${path}`, { cause: err });
    case "ENOTDIR":
      return new SourceError(`image not found: ${path} (a parent of it is not a directory)`, { cause: err });
    case "EACCES":
    case "EPERM":
      return new SourceError(`permission denied reading image: ${path}`, { cause: err });
    case "EISDIR":
      return new SourceError(`image path is a directory, not a disk image: ${path}`, { cause: err });
    case "ELOOP":
      return new SourceError(`too many symbolic links resolving image: ${path}`, { cause: err });
    case "EIO":
      // Media errors may be transient on network block devices, but re-reading a failing disk
      // rarely helps; leave the decision to the operator.
      return new SourceError(`I/O error reading image ${path}: ${detail}`, { cause: err });
    default:
      return new SourceError(`cannot ${action} ${path}: ${detail}`, { cause: err });
  }
}
