import { IntegrityError, ValidationError } from "../../errors.ts";
import { type CommandContext, integerOption, withVault } from "../context.ts";
import { formatBytes } from "../format.ts";

function noPositionals(ctx: CommandContext): void {
  if (ctx.positionals.length > 0) throw new ValidationError(`unexpected argument "${ctx.positionals[0]}"`);
}

/** `blockvault check [--read-data]`: is every recovery point restorable? Exit 5 when not. */
export async function checkCommand(ctx: CommandContext): Promise<void> {
  noPositionals(ctx);
  await withVault(ctx.global, async (vault) => {
    const r = await vault.check({ readData: ctx.values["read-data"] === true });
    const lines = [
      `${r.points} recovery points, ${r.packs} packs, ${r.indexedBlocks} stored blocks${r.blobsVerified ? `, ${r.blobsVerified} blobs read and verified` : ""}`,
      ...r.missingPacks.map((p) => `  missing pack ${p}`),
      ...r.brokenPoints.map((p) => `  recovery point ${p.id} is damaged: ${p.error}`),
      ...(r.unindexedBlocks ? [`  ${r.unindexedBlocks} blocks are needed but not indexed`] : []),
      ...r.badBlobs.map((b) => `  pack ${b.pack}: ${b.error}`),
      `${r.orphanPacks.length} unreferenced packs and ${r.orphanManifests.length} unreferenced manifests (reclaimable)`,
      r.ok ? "No errors found." : "ERRORS FOUND: some recovery points cannot be restored in full.",
    ];
    ctx.print(r, lines.join("\n"));
    if (!r.ok) throw new IntegrityError("the vault check found errors");
  });
}

/** `blockvault reclaim [--grace-hours N] [--dry-run]`: deletes what interrupted backups left. */
export async function reclaimCommand(ctx: CommandContext): Promise<void> {
  noPositionals(ctx);
  const hours = integerOption(ctx, "grace-hours");
  await withVault(ctx.global, async (vault) => {
    const r = await vault.reclaim({
      dryRun: ctx.values["dry-run"] === true,
      ...(hours !== undefined ? { graceMs: hours * 3_600_000 } : {}),
    });
    const verb = r.dryRun ? "Would delete" : "Deleted";
    const kept = r.retained.length > 0 ? `; kept ${r.retained.length} under storage retention` : "";
    ctx.print(
      r,
      `${verb} ${r.packs.length} packs and ${r.manifests.length} manifests (${formatBytes(r.bytes)})${kept}`,
    );
  });
}

/** `blockvault gc`: releases the blocks of purged points and deletes packs nothing references. */
export async function gcCommand(ctx: CommandContext): Promise<void> {
  noPositionals(ctx);
  await withVault(ctx.global, async (vault) => {
    const r = await vault.collectGarbage();
    const lines = [
      `Released ${r.pointsReleased.length} purged recovery points and ${r.segmentsReleased} segments`,
      `Deleted ${r.packsDeleted.length} packs (${formatBytes(r.bytesFreed)}), rewrote ${r.indexObjectsRewritten} index objects`,
      ...r.pointsDeferred.map((id) => `  kept ${id} for now: its disk has a backup running`),
      ...(r.packsRetained.length > 0
        ? [`  kept ${r.packsRetained.length} packs for a later run: under storage retention`]
        : []),
    ];
    ctx.print(r, lines.join("\n"));
  });
}
