import { Qcow2Writer } from "../../../formats/qcow2-writer.ts";
import { buildVhdFooter, VHD_FOOTER_SIZE } from "../../../formats/vhd.ts";
import { RestoreFormat } from "../../../model.ts";
import type { RestoreTarget } from "../../../ports/restore-target.ts";
import { overriding } from "../../../util/overriding.ts";

/** A VHD's disk is whole sectors: a disk of another size is padded with zeros to the next one. */
function vhdDiskSize(size: number): number {
  return Math.ceil(size / 512) * 512;
}

/** How large the file under a restore in `format` starts (the engine writes its disk into it). */
export function initialFileSize(size: number, format: RestoreFormat): number {
  if (format === RestoreFormat.Vhd) return vhdDiskSize(size) + VHD_FOOTER_SIZE;
  if (format === RestoreFormat.Qcow2) return Qcow2Writer.firstBytes;
  return size;
}

/**
 * `file` (a restore target of {@link initialFileSize} bytes) turned into one that writes a disk of
 * `size` bytes in `format`: a fixed VHD is the disk followed by its footer, written on commit
 * (the engine's workers still write the disk straight into the file); a qcow2 image allocates a
 * cluster for each range written with data, so holes stay unallocated, and gets its tables on
 * commit (the engine writes through it, not into the file).
 */
export function inFormat(file: RestoreTarget, size: number, format: RestoreFormat): RestoreTarget {
  if (format === RestoreFormat.Vhd) {
    return overriding(file, {
      async commit() {
        await file.write(vhdDiskSize(size), buildVhdFooter(vhdDiskSize(size)));
        return file.commit();
      },
    });
  }
  if (format === RestoreFormat.Qcow2) {
    const writer = new Qcow2Writer(size, (offset, data) => file.write(offset, data));
    // Not `overriding`: the file's descriptor must not reach the workers, whose writes would
    // land at guest offsets in a file laid out by host clusters.
    return {
      description: file.description,
      write: (offset, data) => writer.write(offset, data),
      ...(file.flush ? { flush: () => file.flush!() } : {}),
      async commit() {
        await writer.finish();
        return file.commit();
      },
      abort: () => file.abort(),
    };
  }
  return file;
}
