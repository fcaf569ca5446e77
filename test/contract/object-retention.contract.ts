import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AccessDeniedError, NotFoundError, ValidationError } from "../../lib/errors.ts";
import { type ObjectStore, RetentionMode } from "../../lib/ports/object-store.ts";

/** A fresh store that has `retain`, and a way to dispose of it (which may leave retained objects). */
export interface RetentionFixture {
  readonly store: ObjectStore & Required<Pick<ObjectStore, "retain">>;
  cleanup(): Promise<void>;
}

const DAY = 86_400_000;
const bytes = (text: string) => Buffer.from(text, "utf8");

/**
 * The retention clauses of the {@link ObjectStore} contract: only extends, never shortens or
 * weakens; idempotent; a retained object cannot be deleted before its date, and can after it.
 */
export function describeRetentionContract(name: string, make: () => Promise<RetentionFixture>): void {
  describe(`ObjectStore retention contract: ${name}`, () => {
    let fixture: RetentionFixture;
    let store: RetentionFixture["store"];
    beforeEach(async () => {
      fixture = await make();
      store = fixture.store;
    });
    afterEach(() => fixture.cleanup());

    it("refuses to delete a retained object before its date, and leaves it readable", async () => {
      await store.put("packs/ab/1", bytes("pack"));
      const until = Date.now() + DAY;
      const held = await store.retain("packs/ab/1", until, RetentionMode.Governance);
      expect(held.mode).toBe(RetentionMode.Governance);
      expect(held.until).toBeGreaterThanOrEqual(until);
      await expect(store.delete("packs/ab/1")).rejects.toBeInstanceOf(AccessDeniedError);
      await expect(store.delete("packs/ab/1")).rejects.toThrow(/packs\/ab\/1.*retention/);
      expect((await store.get("packs/ab/1")).toString()).toBe("pack");
      // An object without retention beside it is deleted as before.
      await store.put("packs/ab/2", bytes("other"));
      await store.delete("packs/ab/2");
      await expect(store.head("packs/ab/2")).rejects.toBeInstanceOf(NotFoundError);
    });

    it("extends to a later date and ignores an earlier one (never shortens)", async () => {
      await store.put("index/1", bytes("index"));
      const first = Date.now() + 2 * DAY;
      const a = await store.retain("index/1", first, RetentionMode.Governance);
      const b = await store.retain("index/1", first + DAY, RetentionMode.Governance);
      expect(b.until).toBeGreaterThanOrEqual(first + DAY);
      const c = await store.retain("index/1", first - DAY, RetentionMode.Governance);
      expect(c).toEqual(b);
      expect(await store.retain("index/1", first, RetentionMode.Governance)).toEqual(b);
      expect(a.until).toBeLessThan(b.until);
    });

    it("upgrades governance to compliance, never compliance to governance", async () => {
      await store.put("manifests/a/1", bytes("root"));
      const until = Date.now() + DAY;
      await store.retain("manifests/a/1", until, RetentionMode.Governance);
      const up = await store.retain("manifests/a/1", until, RetentionMode.Compliance);
      expect(up.mode).toBe(RetentionMode.Compliance);
      expect(up.until).toBeGreaterThanOrEqual(until);
      const later = await store.retain("manifests/a/1", until + DAY, RetentionMode.Governance);
      expect(later.mode).toBe(RetentionMode.Compliance);
      expect(later.until).toBeGreaterThanOrEqual(until + DAY);
      expect((await store.get("manifests/a/1")).toString()).toBe("root");
      await expect(store.delete("manifests/a/1")).rejects.toBeInstanceOf(AccessDeniedError);
    });

    it("refuses a missing key with NotFoundError and a bad date or mode with ValidationError", async () => {
      await expect(
        store.retain("packs/ab/none", Date.now() + DAY, RetentionMode.Governance),
      ).rejects.toBeInstanceOf(NotFoundError);
      await store.put("packs/ab/3", bytes("x"));
      for (const until of [Number.NaN, 1.5, -1, Number.POSITIVE_INFINITY]) {
        await expect(
          store.retain("packs/ab/3", until, RetentionMode.Governance),
          String(until),
        ).rejects.toBeInstanceOf(ValidationError);
      }
      await expect(
        store.retain("packs/ab/3", Date.now() + DAY, "legal-hold" as RetentionMode),
      ).rejects.toBeInstanceOf(ValidationError);
      await store.delete("packs/ab/3");
    });

    it("lets the object be deleted once its retention has ended", async () => {
      await store.put("packs/ab/4", bytes("short"));
      await store.retain("packs/ab/4", Date.now() + 1500, RetentionMode.Compliance);
      await expect(store.delete("packs/ab/4")).rejects.toBeInstanceOf(AccessDeniedError);
      const deadline = Date.now() + 10_000;
      for (;;) {
        try {
          await store.delete("packs/ab/4");
          break;
        } catch (err) {
          if (!(err instanceof AccessDeniedError) || Date.now() > deadline) throw err;
          await new Promise((r) => setTimeout(r, 250));
        }
      }
      await expect(store.head("packs/ab/4")).rejects.toBeInstanceOf(NotFoundError);
    }, 20_000);
  });
}
