import { describe, expect, it } from "vitest";
import { decodeIndex } from "../../../lib/engine/index/block-index.ts";
import { refuseNewerVersion } from "../../../lib/engine/store/object-version.ts";
import { IntegrityError } from "../../../lib/errors.ts";

const bytes = (s: string) => Buffer.from(s, "latin1");

describe("objects of a newer version", () => {
  it("are refused with a message saying a newer blockvault wrote them, naming the object", () => {
    expect(() =>
      refuseNewerVersion("manifests/a/b", bytes("BVSG\x03zz"), "BVSG", 2, "segment manifest"),
    ).toThrow(
      /manifests\/a\/b: segment manifest version 3 was written by a newer blockvault \(this one reads up to version 2\); upgrade blockvault/,
    );
    expect(() => refuseNewerVersion("k", bytes("BVSG\x03"), "BVSG", 2, "segment manifest")).toThrow(
      IntegrityError,
    );
  });

  it("leave known versions and other bytes to the object's own checks", () => {
    for (const b of ["BVSG\x01", "BVSG\x02...", "BVS", "XXXX\x09", ""]) {
      expect(() => refuseNewerVersion("k", bytes(b), "BVSG", 2, "segment manifest")).not.toThrow();
    }
  });

  it("apply to index objects", () => {
    expect(() => decodeIndex("index/n", bytes("BVIX\x07whatever"))).toThrow(
      /index\/n: index object version 7 was written by a newer blockvault/,
    );
    expect(() => decodeIndex("index/n", bytes("BVIX\x02whatever"))).toThrow(
      /index\/n: unreadable index object/,
    );
  });
});
