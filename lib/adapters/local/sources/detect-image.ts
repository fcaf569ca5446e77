import { SourceError, ValidationError } from "../../../errors.ts";
import { type HostFile, type ImageLayout, namingImage } from "../../../formats/image-layout.ts";
import { openQcow2, QCOW2_MAGIC } from "../../../formats/qcow2.ts";
import { hasVhdCookie, parseVhdFooter, VHD_FOOTER_SIZE, VhdDiskType } from "../../../formats/vhd.ts";
import { openDynamicVhd } from "../../../formats/vhd-dynamic.ts";
import { openVhdx, VHDX_SIGNATURE } from "../../../formats/vhdx.ts";
import { openVmdk, VMDK_MAGIC } from "../../../formats/vmdk.ts";

/** What a regular image file is: bytes read as they are (raw, fixed VHD), or a format with a layout. */
export type DetectedImage =
  | { readonly kind: "plain"; readonly size: number; readonly format: "raw" | "vhd-fixed" }
  | { readonly kind: "layout"; readonly layout: ImageLayout };

/** Bytes looked at to tell formats apart: every magic number and the VMDK descriptor's first line. */
const HEAD_BYTES = 512;

/**
 * Tells an image's format by its content, never its name (a `.vhd` holding raw bytes is raw):
 * the magic numbers of qcow2, VHDX and VMDK at the start, the VHD footer at the end. A file
 * that is none of these is raw.
 *
 * @param forceRaw - read the file as raw whatever it holds (a backing file declared raw).
 * @throws ValidationError naming the format and the field for a bad header; SourceError for a
 *   corrupt or inconsistent VHD footer.
 */
export async function detectImage(host: HostFile, path: string, forceRaw = false): Promise<DetectedImage> {
  try {
    return await detect(host, path, forceRaw);
  } catch (err) {
    throw namingImage(err, path);
  }
}

async function detect(host: HostFile, path: string, forceRaw: boolean): Promise<DetectedImage> {
  const raw = { kind: "plain", size: host.size, format: "raw" } as const;
  if (forceRaw || host.size === 0) return raw;
  const head = await host.read(0, Math.min(HEAD_BYTES, host.size));
  if (head.length >= 4 && head.readUInt32BE(0) === QCOW2_MAGIC) {
    return { kind: "layout", layout: await openQcow2(host) };
  }
  if (head.toString("latin1", 0, 8) === VHDX_SIGNATURE) {
    return { kind: "layout", layout: await openVhdx(host) };
  }
  if (head.length >= 4 && head.readUInt32LE(0) === VMDK_MAGIC) {
    return { kind: "layout", layout: await openVmdk(host) };
  }
  refuseUnsupported(head);
  if (host.size < VHD_FOOTER_SIZE) return raw;
  const tail = await host.read(host.size - VHD_FOOTER_SIZE, VHD_FOOTER_SIZE);
  if (!hasVhdCookie(tail)) {
    // A dynamic VHD starts with a copy of its footer: one without the footer itself was cut short.
    if (hasVhdCookie(head) && parseVhdFooter(head).diskType !== VhdDiskType.Fixed) {
      throw new ValidationError(
        "vhd footer: missing at the end of the file, which starts like a dynamic VHD: truncated",
      );
    }
    return raw;
  }
  return detectVhd(tail, host, path);
}

/** Formats recognised only to refuse them plainly, rather than back their bytes up as raw. */
function refuseUnsupported(head: Buffer): void {
  if (head.subarray(0, 4).toString("latin1") === "COWD") {
    throw new ValidationError("vmdk header: version 3 (COWD, ESX 2) sparse extents are not supported");
  }
  if (head.toString("latin1").startsWith("# Disk DescriptorFile")) {
    throw new ValidationError(
      "vmdk descriptor: a descriptor file whose data is in other files is not supported; " +
        "convert it with qemu-img convert -O vmdk -o subformat=monolithicSparse",
    );
  }
}

async function detectVhd(tail: Buffer, host: HostFile, path: string): Promise<DetectedImage> {
  const fileSize = host.size;
  const footer = parseVhdFooter(tail);
  if (footer.checksum !== footer.computedChecksum) {
    throw new SourceError(
      `corrupt VHD footer in ${path}: checksum ${hex(footer.checksum)} does not match ${hex(footer.computedChecksum)}`,
    );
  }
  if (footer.diskType === VhdDiskType.Dynamic) {
    const dataOffset = Number(footer.dataOffset);
    return { kind: "layout", layout: await openDynamicVhd(host, footer, dataOffset) };
  }
  if (footer.diskType !== VhdDiskType.Fixed) {
    const kind = footer.diskType === VhdDiskType.Differencing ? "differencing" : `type ${footer.diskType}`;
    throw new SourceError(
      `${kind} VHD is not supported: ${path}; merge it into its parent or convert it first ` +
        "(qemu-img convert -O vpc -o subformat=fixed, or Azure's Convert-VHD / azcopy tooling)",
    );
  }
  const diskSize = fileSize - VHD_FOOTER_SIZE;
  if (footer.currentSize !== BigInt(diskSize)) {
    throw new SourceError(
      `fixed VHD ${path} is inconsistent: footer says ${footer.currentSize} bytes but the file holds ${diskSize}`,
    );
  }
  return { kind: "plain", size: diskSize, format: "vhd-fixed" };
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, "0")}`;
}
