/**
 * Returns an ArrayBuffer holding exactly `data`, without copying when `data` already owns its
 * whole buffer. Needed before transferring to a worker: a Buffer may be a view into a shared
 * pool, and transferring that pool would detach unrelated Buffers.
 */
export function ownedArrayBuffer(data: Buffer): ArrayBuffer {
  if (data.byteOffset === 0 && data.buffer.byteLength === data.length && data.buffer instanceof ArrayBuffer) {
    return data.buffer;
  }
  const out = new ArrayBuffer(data.length);
  data.copy(Buffer.from(out));
  return out;
}
