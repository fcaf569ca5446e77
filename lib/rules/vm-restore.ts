import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadRoot } from "../engine/points/manifest.ts";
import type { RestoreResult } from "../engine/restore/restore.ts";
import type { VaultContext } from "../engine/store/vault-config.ts";
import { AlreadyExistsError, NotFoundError } from "../errors.ts";
import { PointState, RestoreFormat, type VmPointRecord } from "../model.ts";
import { vmPoint } from "./vm-points.ts";

/** The name of the descriptor a VM restore writes beside the disks. */
export const VM_DESCRIPTOR = "vm.json";

/** One disk of a restored VM, as `vm.json` describes it. */
export interface RestoredVmDisk {
  readonly index: number;
  readonly disk: string;
  /** The file in the restore directory. */
  readonly file: string;
  /** What the file holds: the disk raw, as a fixed VHD or as qcow2 (`restore --format`). */
  readonly format: RestoreFormat;
  readonly size: number;
  readonly boot: boolean;
  readonly recoveryPointId: string;
  /** Where the disk was read from, and as what (`block-device`, `raw`, `vhd-fixed`, …). */
  readonly source: string;
  readonly sourceFormat: string;
}

/** `vm.json`: how to put the restored VM back together. */
export interface VmDescriptor {
  readonly format: "blockvault-vm";
  readonly version: 1;
  readonly vm: string;
  readonly vmRecoveryPointId: string;
  readonly created: string;
  readonly consistency: string;
  readonly consistencyReason?: string;
  readonly bootDisk: number;
  readonly disks: readonly RestoredVmDisk[];
}

/** What a VM restore did. */
export interface VmRestoreResult {
  readonly vmRecoveryPointId: string;
  readonly directory: string;
  readonly descriptor: VmDescriptor;
  readonly disks: readonly RestoreResult[];
}

/**
 * Restores every disk of a VM point into `dir` (created if missing) as `disk<index>.img` (or
 * `.vhd`, `.qcow2` in those formats), each
 * through `restoreDisk` (the vault's verified restore to a new file, with its refusals), then
 * writes `vm.json` (disk order, sizes, formats, boot disk, sources, the consistency reached and
 * why) last, atomically: a directory with a `vm.json` holds every disk it names.
 */
export async function restoreVmPoint(
  ctx: VaultContext,
  id: string,
  dir: string,
  options: { readonly force?: boolean; readonly format?: RestoreFormat },
  restoreDisk: (pointId: string, path: string) => Promise<RestoreResult>,
): Promise<VmRestoreResult> {
  const vp = await vmPoint(ctx, id);
  if (vp.state === PointState.Purged) throw new NotFoundError(`VM point ${id} was purged`);
  await mkdir(dir, { recursive: true });
  const descriptorPath = join(dir, VM_DESCRIPTOR);
  if (!options.force) {
    await writeFile(descriptorPath, "", { flag: "wx" }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "EEXIST")
        throw new AlreadyExistsError(
          `${descriptorPath} exists; restore into another directory or pass --force`,
        );
      throw err;
    });
    await rm(descriptorPath);
  }
  const format = options.format ?? RestoreFormat.Raw;
  const results: RestoreResult[] = [];
  for (const [index, pointId] of vp.points.entries()) {
    results.push(await restoreDisk(pointId, join(dir, diskFile(index, format))));
  }
  const descriptor = await describe(ctx, vp, format);
  const partial = join(dir, `.${VM_DESCRIPTOR}.partial`);
  await writeFile(partial, `${JSON.stringify(descriptor, null, 2)}\n`, { mode: 0o600 });
  await rename(partial, descriptorPath);
  return { vmRecoveryPointId: id, directory: dir, descriptor, disks: results };
}

/** The file of disk `index` in the restore directory: `disk<i>.img`, `.vhd` or `.qcow2`. */
function diskFile(index: number, format: RestoreFormat): string {
  return `disk${index}.${format === RestoreFormat.Raw ? "img" : format}`;
}

async function describe(ctx: VaultContext, vp: VmPointRecord, format: RestoreFormat): Promise<VmDescriptor> {
  const disks = await Promise.all(
    vp.points.map(async (pointId, index): Promise<RestoredVmDisk> => {
      const point = await ctx.deps.catalog.getRecoveryPoint(ctx.config.vaultId, pointId);
      const root = await loadRoot(ctx.deps.store, ctx.secrets, point.manifest);
      const layout = vp.disks[index];
      return {
        index,
        disk: point.disk,
        file: diskFile(index, format),
        format,
        size: point.logicalSize,
        boot: index === vp.bootDisk,
        recoveryPointId: pointId,
        source: layout?.source ?? "",
        sourceFormat: root.sourceFormat,
      };
    }),
  );
  return {
    format: "blockvault-vm",
    version: 1,
    vm: vp.vm,
    vmRecoveryPointId: vp.id,
    created: new Date(vp.created).toISOString(),
    consistency: vp.consistency,
    ...(vp.consistencyReason ? { consistencyReason: vp.consistencyReason } : {}),
    bootDisk: vp.bootDisk,
    disks,
  };
}
