import type { KeyObject } from "node:crypto";
import { SEAL_OVERHEAD, sealBlock, sealPieces } from "../pack/blob.ts";
import type { BlockCompressor } from "../pack/block-compressor.ts";
import { PackBuilder } from "../pack/pack.ts";
import { PackFile } from "../pack/pack-file.ts";
import { uncachedWritesWork } from "../restore/aligned-appender.ts";
import type { WorkerPack } from "./worker-protocol.ts";

/** A data key as a worker holds it: usable, and the wrapped form its packs record. */
export interface WorkerDataKey {
  readonly key: KeyObject;
  readonly wrapped: string;
  readonly masterKeyId: string;
}

/** Enough for the packs uploading, the one filling and one more: a buffer is rarely dropped. */
const MAX_SPARE_PACKS = 4;

/** The pack a worker is filling: in a buffer, or in a staged file. */
type OpenPack =
  | { readonly generation: number; readonly builder: PackBuilder; readonly file?: undefined }
  | { readonly generation: number; readonly file: PackFile; readonly builder?: undefined };

/**
 * A block worker's packs: sealed blocks go into the open pack, which is finished once it reaches
 * the target size or the data key changes. Packs are filled in shared buffers the engine uploads
 * and hands back, or, once a staging directory is set, written straight into files there that the
 * engine stores by name (see `PackFile`).
 */
export class PackFiller {
  private readonly packTarget: number;
  private readonly blockSize: number;
  private readonly compressor: BlockCompressor;
  /** Pack buffers handed back by the engine after upload. */
  private readonly spare: (ArrayBuffer | SharedArrayBuffer)[] = [];
  private open: OpenPack | undefined;
  private staging: string | undefined;
  private uncached = false;
  /** Completion of finished packs' writes not yet handed to {@link takeWrites}. */
  private finishing: Promise<void>[] = [];
  /** Every pack write not yet settled, to wait for before the thread ends. */
  private readonly unsettled = new Set<Promise<void>>();
  private readonly keyOf: (generation: number) => WorkerDataKey | undefined;

  /** `keyOf` finds the data key of a generation, to record in the packs sealed under it. */
  constructor(
    packTarget: number,
    blockSize: number,
    compressor: BlockCompressor,
    keyOf: (generation: number) => WorkerDataKey | undefined,
  ) {
    this.packTarget = packTarget;
    this.blockSize = blockSize;
    this.compressor = compressor;
    this.keyOf = keyOf;
  }

  /** Writes packs into files in `directory` from the next pack on. */
  stageInto(directory: string): void {
    this.staging = directory;
    this.uncached = process.env.BLOCKVAULT_DIRECT_IO !== "0" && uncachedWritesWork(directory);
  }

  /**
   * The completions of the packs finished since the last call: a pack is complete in its file,
   * and may be reported, once its completion has resolved.
   */
  takeWrites(): Promise<void>[] {
    const taken = this.finishing;
    this.finishing = [];
    return taken;
  }

  /** Drops the open pack and waits for every write in flight: before the thread ends. */
  async settle(): Promise<void> {
    const open = this.open;
    this.open = undefined;
    if (open?.file) this.track(open.file.discard());
    await Promise.allSettled([...this.unsettled]);
  }

  /** Takes back a pack buffer the engine has uploaded. */
  recycle(buffer: ArrayBuffer | SharedArrayBuffer): void {
    if (this.spare.length < MAX_SPARE_PACKS) this.spare.push(buffer);
  }

  /**
   * Seals `block` (ID `id`) under data key `generation` into the open pack; packs that filled go
   * to `out`.
   */
  add(generation: number, id: Buffer, block: Buffer, out: WorkerPack[]): void {
    const key = this.keyFor(generation);
    const open = this.open;
    if (open && (open.generation !== generation || this.sizeOf(open) >= this.packTarget)) this.finish(out);
    this.open ??= this.staging
      ? { generation, file: new PackFile(this.staging, this.uncached) }
      : { generation, builder: new PackBuilder(this.packBuffer()) };
    const hex = id.toString("hex");
    const { builder, file } = this.open;
    if (file) file.append(hex, sealPieces(key.key, id, block, this.compressor), block.length);
    else
      sealBlock(key.key, id, block, this.compressor, (length) => builder.reserve(hex, length, block.length));
  }

  /** Finishes the open pack if it reached the target size. */
  finishIfFull(out: WorkerPack[]): void {
    if (this.open && this.sizeOf(this.open) >= this.packTarget) this.finish(out);
  }

  /** Finishes the open pack (if it has blobs) into `out`, under the key it was sealed with. */
  finish(out: WorkerPack[]): void {
    const open = this.open;
    if (!open) return;
    this.open = undefined;
    const count = open.file ? open.file.count : open.builder.count;
    if (count === 0) {
      if (open.file) this.track(open.file.discard());
      return;
    }
    const key = this.keyFor(open.generation);
    const ref = { wrapped: key.wrapped, masterKeyId: key.masterKeyId };
    if (open.file) {
      const { written, ...pack } = open.file.finish(ref);
      this.finishing.push(this.track(written));
      out.push({ ...pack, generation: open.generation });
      return;
    }
    const pack = open.builder.finish(ref);
    out.push({
      id: pack.id,
      buffer: pack.bytes.buffer,
      length: pack.bytes.length,
      generation: open.generation,
      blobs: pack.blobs,
    });
  }

  private track(write: Promise<void>): Promise<void> {
    this.unsettled.add(write);
    const forget = () => this.unsettled.delete(write);
    write.then(forget, forget);
    return write;
  }

  private keyFor(generation: number): WorkerDataKey {
    const key = this.keyOf(generation);
    if (!key) throw new Error(`data key generation ${generation} was never sent`);
    return key;
  }

  private sizeOf(open: OpenPack): number {
    return open.file ? open.file.size : open.builder.size;
  }

  private packBuffer(): Buffer {
    // Room for the target plus one more blob and a trailer, so a pack rarely has to grow.
    // Shared, not transferred: a transferred buffer counts as new external memory in the isolate
    // it reaches, and 8 MiB packs arriving every few milliseconds pushed the main thread into a
    // full collection several times a second. Shared memory is not counted per isolate, so the buffers are
    // kept and reused rather than left for the collector.
    return Buffer.from(
      this.spare.pop() ??
        new SharedArrayBuffer(this.packTarget + this.blockSize + SEAL_OVERHEAD + 256 * 1024),
    );
  }
}
