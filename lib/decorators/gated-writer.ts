import type { Catalog } from "../ports/catalog.ts";
import type { ReferenceStore } from "../ports/references.ts";
import type { GatedPort, WriterGate } from "../ports/writer-gate.ts";
import { encodeCall, resultOf } from "../rules/writer-gate/wire.ts";
import { decorate, type WrapperTable } from "./decorate.ts";

/** A method read from the port itself: the writer's own (read-only) access. */
const read = <F>(call: F): F => call;

/** A method sent to the gate, which decides whether the writer may make it. */
function gated(gate: WriterGate, port: GatedPort, method: string) {
  return <F>(_call: F): F =>
    (async (...args: unknown[]) => resultOf(await gate.submit(encodeCall({ port, method, args })))) as F;
}

/**
 * The catalog of a writer that may only read it: reads go to `inner` (whose role allows only
 * those), every write goes through `gate` (see ports/writer-gate.ts). Each method's route is one
 * entry of a table the compiler checks for completeness, so a method added to the port cannot
 * silently bypass the gate.
 */
export function gatedCatalog(inner: Catalog, gate: WriterGate): Catalog {
  const write = (method: string) => gated(gate, "catalog", method);
  const table: WrapperTable<Catalog> = {
    createVault: write("createVault"),
    getVault: read,
    putDisk: write("putDisk"),
    getDisk: read,
    listDisks: read,
    commitRecoveryPoint: write("commitRecoveryPoint"),
    getRecoveryPoint: read,
    listRecoveryPoints: read,
    latestRecoveryPoint: read,
    updateRecoveryPoint: write("updateRecoveryPoint"),
    createJob: write("createJob"),
    getJob: read,
    updateJob: write("updateJob"),
    listJobs: read,
    putPolicy: write("putPolicy"),
    deletePolicy: write("deletePolicy"),
    getPolicy: read,
    listPolicies: read,
    getSettings: read,
    putSettings: write("putSettings"),
    createApproval: write("createApproval"),
    getApproval: read,
    listApprovals: read,
    updateApproval: write("updateApproval"),
    appendAudit: write("appendAudit"),
    listAudit: read,
    // A writer backs up disks; VMs and VM points are written by the VM backup, never through it.
    putVm: write("putVm"),
    getVm: read,
    listVms: read,
    commitVmPoint: write("commitVmPoint"),
    getVmPoint: read,
    listVmPoints: read,
    vmPointOf: read,
    updateVmPoint: write("updateVmPoint"),
    close: read,
  };
  return decorate(inner, table);
}

/** The reference store of a writer that may only read it; writes go through `gate`, as above. */
export function gatedReferences(inner: ReferenceStore, gate: WriterGate): ReferenceStore {
  const write = (method: string) => gated(gate, "references", method);
  const table: WrapperTable<ReferenceStore> = {
    track: write("track"),
    isTracking: read,
    registerPacks: write("registerPacks"),
    setPackIndex: write("setPackIndex"),
    holdPack: write("holdPack"),
    releasePack: write("releasePack"),
    condemnPack: write("condemnPack"),
    markPackDeleted: write("markPackDeleted"),
    dropPack: write("dropPack"),
    getPack: read,
    listPacks: read,
    packsOfIndex: read,
    listUnheldPacks: read,
    holdSegment: write("holdSegment"),
    releaseSegment: write("releaseSegment"),
    holdSegments: write("holdSegments"),
    holdPacks: write("holdPacks"),
    killSegment: write("killSegment"),
    dropSegment: write("dropSegment"),
    getSegment: read,
    listDeadSegments: read,
    setPointRelease: write("setPointRelease"),
    pointReleases: read,
    acquireLease: write("acquireLease"),
    releaseLease: write("releaseLease"),
  };
  return decorate(inner, table);
}
