import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../lib/errors.ts";
import {
  buildVhdFooter,
  hasVhdCookie,
  parseVhdFooter,
  VHD_FOOTER_SIZE,
  vhdChecksum,
  vhdGeometry,
} from "../../../lib/formats/vhd.ts";

/** The checksum computed independently of the implementation: bytes 64..67 taken as zero. */
function referenceChecksum(footer: Buffer): number {
  const copy = Buffer.from(footer);
  copy.fill(0, 64, 68);
  let sum = 0;
  for (const b of copy) sum += b;
  return ~sum >>> 0;
}

describe("buildVhdFooter", () => {
  const id = Buffer.from("00112233445566778899aabbccddeeff", "hex");
  const size = 64 * 1024 * 1024;
  const footer = buildVhdFooter(size, id, new Date(Date.UTC(2000, 0, 1, 0, 1, 40)));

  it("lays out every field where the specification puts it", () => {
    expect(footer.length).toBe(VHD_FOOTER_SIZE);
    expect(footer.subarray(0, 8).toString("latin1")).toBe("conectix");
    expect(footer.readUInt32BE(8)).toBe(2);
    expect(footer.readUInt32BE(12)).toBe(0x00010000);
    expect(footer.readBigUInt64BE(16)).toBe(0xffffffffffffffffn);
    expect(footer.readUInt32BE(24)).toBe(100); // seconds since 2000-01-01
    expect(footer.readBigUInt64BE(40)).toBe(BigInt(size));
    expect(footer.readBigUInt64BE(48)).toBe(BigInt(size));
    expect(footer.readUInt32BE(60)).toBe(2);
    expect(footer.subarray(68, 84)).toEqual(id);
    expect(footer[84]).toBe(0);
    expect(footer.subarray(85).every((b) => b === 0)).toBe(true);
  });

  it("stores a checksum that verifies", () => {
    expect(footer.readUInt32BE(64)).toBe(referenceChecksum(footer));
    expect(vhdChecksum(footer)).toBe(footer.readUInt32BE(64));
    const parsed = parseVhdFooter(footer);
    expect(parsed.checksum).toBe(parsed.computedChecksum);
    expect(parsed.diskType).toBe(2);
    expect(parsed.currentSize).toBe(BigInt(size));
    expect(parsed.uniqueId).toEqual(id);
    expect(hasVhdCookie(footer)).toBe(true);
  });

  it("notices any changed byte", () => {
    for (const at of [0, 30, 50, 70, 300, 511]) {
      const bad = Buffer.from(footer);
      bad[at] = bad[at]! ^ 1;
      expect(vhdChecksum(bad)).not.toBe(bad.readUInt32BE(64));
    }
  });

  it("writes the CHS geometry the specification derives", () => {
    expect(vhdGeometry(1024 ** 3)).toEqual({ cylinders: 2080, heads: 16, sectorsPerTrack: 63 });
    expect(vhdGeometry(2040 * 1024 * 1024 * 1024)).toEqual({
      cylinders: 65535,
      heads: 16,
      sectorsPerTrack: 255,
    });
    const g = vhdGeometry(size);
    expect(footer.readUInt16BE(56)).toBe(g.cylinders);
    expect(footer[58]).toBe(g.heads);
    expect(footer[59]).toBe(g.sectorsPerTrack);
  });

  it("uses a random unique id when none is given", () => {
    expect(buildVhdFooter(512).subarray(68, 84)).not.toEqual(buildVhdFooter(512).subarray(68, 84));
  });

  it("refuses sizes that are not whole sectors and malformed ids", () => {
    expect(() => buildVhdFooter(1000)).toThrow(ValidationError);
    expect(() => buildVhdFooter(-512)).toThrow(ValidationError);
    expect(() => buildVhdFooter(512, Buffer.alloc(8))).toThrow(ValidationError);
  });

  it("does not take a non-VHD tail for a footer", () => {
    expect(hasVhdCookie(Buffer.alloc(512))).toBe(false);
    expect(hasVhdCookie(footer.subarray(0, 100))).toBe(false);
  });
});
