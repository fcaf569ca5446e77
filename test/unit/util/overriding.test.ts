import { describe, expect, it } from "vitest";
import { overriding, releasingOnClose } from "../../../lib/util/overriding.ts";

const TAG = Symbol("tag");

/** A port with private state behind a getter and a method, and a member under a symbol. */
class Port {
  #reads = 0;
  readonly [TAG] = "tagged";
  get reads(): number {
    return this.#reads;
  }
  async read(): Promise<number> {
    this.#reads += 1;
    return this.#reads;
  }
  optional?(): string;
  async close(): Promise<void> {}
}

describe("overriding", () => {
  it("forwards every member it does not replace: methods on private state, getters, symbols", async () => {
    const port = new Port();
    const wrapped = overriding(port, { close: async () => {} });
    expect(await wrapped.read()).toBe(1);
    expect(wrapped.reads).toBe(1);
    expect(wrapped[TAG]).toBe("tagged");
    expect(wrapped.optional).toBeUndefined();
    const withOptional = Object.assign(new Port(), { optional: () => "here" });
    expect(overriding(withOptional, {}).optional?.()).toBe("here");
  });

  it("uses the replacement for the members it replaces", async () => {
    const wrapped = overriding(new Port(), { read: async () => 42 });
    expect(await wrapped.read()).toBe(42);
    expect(wrapped.reads).toBe(0);
  });
});

describe("releasingOnClose", () => {
  it("releases after the port's own close, once however often it is closed", async () => {
    const order: string[] = [];
    const port = Object.assign(new Port(), { close: async () => void order.push("close") });
    const wrapped = releasingOnClose(port, () => void order.push("release"));
    await Promise.all([wrapped.close(), wrapped.close()]);
    await wrapped.close();
    expect(order).toEqual(["close", "release"]);
  });

  it("releases even when the port's close fails, and reports the failure", async () => {
    let released = false;
    const port = Object.assign(new Port(), { close: () => Promise.reject(new Error("close failed")) });
    const wrapped = releasingOnClose(port, () => {
      released = true;
    });
    await expect(wrapped.close()).rejects.toThrow("close failed");
    expect(released).toBe(true);
  });
});
