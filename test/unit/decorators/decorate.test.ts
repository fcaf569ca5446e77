import { describe, expect, it } from "vitest";
import { openDynamoCatalog } from "../../../lib/adapters/aws/dynamo/catalog.ts";
import { openSqliteCatalog } from "../../../lib/adapters/local/sqlite-catalog.ts";
import { decorate, type WrapperTable } from "../../../lib/decorators/decorate.ts";
import { retryingCatalog } from "../../../lib/decorators/retrying-catalog.ts";
import type { Catalog } from "../../../lib/ports/catalog.ts";

interface Greeter {
  hello(name: string): Promise<string>;
  bye(name: string): Promise<string>;
}

const greeter: Greeter = {
  hello: async (name) => `hello ${name}`,
  bye: async (name) => `bye ${name}`,
};

/** The function-valued members of an object. */
function methods(target: object): string[] {
  return Object.keys(target)
    .filter((k) => typeof (target as Record<string, unknown>)[k] === "function")
    .sort();
}

describe("decorate", () => {
  it("wraps every method through its table entry, bound to the wrapped object", async () => {
    const calls: string[] = [];
    const loud: WrapperTable<Greeter> = {
      hello: (call) => async (name) => {
        calls.push("hello");
        return (await call(name)).toUpperCase();
      },
      bye: (call) => call,
    };
    const decorated = decorate(greeter, loud);
    expect(await decorated.hello("ann")).toBe("HELLO ANN");
    expect(await decorated.bye("ann")).toBe("bye ann");
    expect(calls).toEqual(["hello"]);
  });

  it("refuses, at compile time, a table that leaves a method out", () => {
    // @ts-expect-error `bye` has no wrapper: a table must cover every method of the port.
    const partial: WrapperTable<Greeter> = { hello: (call) => call };
    expect(() => decorate(greeter, { ...partial, extra: (call: unknown) => call } as never)).toThrow(/extra/);
  });

  it("leaves no method of either catalog adapter undecorated", async () => {
    const sqlite = openSqliteCatalog(":memory:");
    const dynamo = openDynamoCatalog({ tableName: "unused", config: { region: "us-east-1" } });
    try {
      // The SQLite adapter's one extra, the reference store on its database, is not a catalog method.
      const adapterMethods = methods(sqlite).filter((m) => m !== "references");
      expect(methods(dynamo)).toEqual(adapterMethods);
      expect(methods(retryingCatalog(sqlite))).toEqual(adapterMethods);
      expect(methods(retryingCatalog(dynamo as Catalog))).toEqual(adapterMethods);
    } finally {
      await sqlite.close();
      await dynamo.close();
    }
  });
});
