/**
 * Returns an ArrayBuffer holding exactly `data`, without copying when `data` already owns its
 * whole buffer. Needed before transferring to a worker: a Buffer may be a view into a shared
 * pool, and transferring that pool would detach unrelated Buffers. Before posting one too:
 * posting a view clones its whole buffer, so a 32-byte key from `Buffer.concat` carried the
 * pool's 64 KiB into every restore read's message (~45 µs to post against ~9, and 64 KiB of
 * external memory more in the worker each time).
 */
export function ownedArrayBuffer(data: Buffer): ArrayBuffer {
  if (data.byteOffset === 0 && data.buffer.byteLength === data.length && data.buffer instanceof ArrayBuffer) {
    return data.buffer;
  }
  const out = new ArrayBuffer(data.length);
  data.copy(Buffer.from(out));
  return out;
}
