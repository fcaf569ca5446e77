import { once } from "node:events";
import type { AddressInfo, Socket } from "node:net";
import type { PointReader } from "../../engine/read/point-reader.ts";
import { ValidationError } from "../../errors.ts";
import { pointSource } from "../../files/point-files.ts";
import { createNbdServer, type NbdExport } from "../../nbd/nbd-server.ts";
import { type CommandContext, onePositional, withVault } from "../context.ts";
import { formatBytes } from "../format.ts";
import { parsePort } from "../port.ts";
import { listenAddress } from "../serve-address.ts";

/** The reader's cache while exporting: a booting guest rereads its hot blocks. */
const EXPORT_CACHE_BYTES = 256 * 1024 * 1024;

/**
 * `blockvault export POINT --nbd HOST:PORT [--name NAME]`: serves the point read-only over NBD
 * until interrupted, for `nbd-client`, `qemu-img`, `qemu-system` or `nbdcopy`. NBD carries no
 * identity without TLS, so the server listens on loopback only: whoever reaches the port reads
 * the disk, and on loopback that is who could already run blockvault here.
 */
export async function exportCommand(ctx: CommandContext): Promise<void> {
  const pointId = onePositional(ctx, "RECOVERY_POINT_ID");
  const { host, port } = parseNbdAddress(ctx.values.nbd);
  const address = await listenAddress(host, {
    why: "NBD has no authentication here: export on a loopback address and reach it through an SSH tunnel",
  });
  const name = typeof ctx.values.name === "string" ? ctx.values.name : pointId;
  await withVault(ctx.global, async (vault) => {
    const opened = Promise.withResolvers<NbdExport>();
    opened.promise.catch(() => undefined);
    const server = createNbdServer(opened.promise, (err) =>
      console.error(`blockvault: export ${pointId}: ${(err as Error).message}`),
    );
    const sockets = new Set<Socket>();
    server.on("connection", (socket: Socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
    });
    let reader: PointReader | undefined;
    try {
      // Listening first, so the audit entry names the port a client reaches (port 0 picks one).
      server.listen(port, address);
      await once(server, "listening");
      const bound = (server.address() as AddressInfo).port;
      reader = await vault.openPointExport(pointId, `${address}:${bound}`, {
        cacheBytes: EXPORT_CACHE_BYTES,
        workers: true,
      });
      opened.resolve({
        name,
        description: `blockvault recovery point ${pointId}`,
        source: pointSource(reader),
        preferredBlockSize: reader.blockSize,
      });
      const stopped = new Promise<void>((resolve) => {
        process.once("SIGINT", resolve);
        process.once("SIGTERM", resolve);
      });
      const url = `nbd://${address.includes(":") ? `[${address}]` : address}:${bound}/${encodeURIComponent(name)}`;
      ctx.print(
        { recoveryPointId: pointId, url, size: reader.size, readOnly: true },
        `Exporting ${pointId} (${formatBytes(reader.size)}) read-only at ${url}; Ctrl-C stops`,
      );
      await stopped;
    } catch (err) {
      opened.reject(err);
      throw err;
    } finally {
      server.close();
      for (const socket of sockets) socket.destroy();
      reader?.close();
    }
  });
}

/** `HOST:PORT` or `[V6]:PORT`, the port defaulting to NBD's 10809. */
function parseNbdAddress(value: unknown): { host: string; port: number } {
  if (typeof value !== "string" || value === "") throw new ValidationError("missing --nbd HOST:PORT");
  const m = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(value);
  if (!m) throw new ValidationError(`--nbd ${value} is not HOST:PORT`);
  return { host: m[1] ?? m[2]!, port: parsePort(m[3], 10809) };
}
