import { open } from "node:fs/promises";
import type { ByteSource } from "../../lib/files/byte-source.ts";

/**
 * An image file as a byte source: the damaged-structure tests read images directly, where a
 * vault would only add the copy the point reader already proves returns the same bytes.
 */
export async function fileByteSource(path: string): Promise<ByteSource & { close(): Promise<void> }> {
  const file = await open(path, "r");
  const { size } = await file.stat();
  return {
    name: `image ${path}`,
    size,
    async read(offset, length) {
      const buffer = Buffer.alloc(length);
      await file.read(buffer, 0, length, offset);
      return buffer;
    },
    close: () => file.close(),
  };
}
