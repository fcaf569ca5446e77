import { describe, expect, it } from "vitest";
import { SourceError } from "../../../lib/errors.ts";
import { sourceErrorFromFs } from "../../../lib/util/source-fs-errors.ts";

/** An error shaped like the ones `fs` throws. */
function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: something, open '/x'`), { code });
}

// Tests run as root, for whom chmod 000 does not deny reads, so the permission path is checked
// on the translation itself with the error fs would throw.
describe("sourceErrorFromFs", () => {
  it.each([
    ["ENOENT", "image not found: /img/a.raw"],
    ["EACCES", "permission denied reading image: /img/a.raw"],
    ["EPERM", "permission denied reading image: /img/a.raw"],
    ["EISDIR", "image path is a directory, not a disk image: /img/a.raw"],
  ])("%s -> %s", (code, message) => {
    const cause = errno(code);
    const err = sourceErrorFromFs(cause, "/img/a.raw");
    expect(err).toBeInstanceOf(SourceError);
    expect(err.message).toBe(message);
    expect(err.cause).toBe(cause);
    expect(err.retryable).toBe(false);
  });

  it("names the path and the action for other errors", () => {
    const err = sourceErrorFromFs(errno("EMFILE"), "/img/b.raw", "read image");
    expect(err.message).toMatch(/^cannot read image \/img\/b\.raw: EMFILE/);
  });

  it("copes with non-Error throwables", () => {
    expect(sourceErrorFromFs("boom", "/img/c.raw").message).toBe("cannot open image /img/c.raw: boom");
  });
});
