import { ConflictError } from "../../errors.ts";
import {
  type PackRef,
  PackRefState,
  type PointRelease,
  type ReferenceStore,
  type SegmentRef,
  SegmentRefState,
} from "../../ports/references.ts";
import type { SqliteDb } from "./sqlite-db.ts";
import type { Row } from "./sqlite-rows.ts";

const SQL = {
  pack: "SELECT * FROM ref_packs WHERE vault_id = $v AND id = $id",
  packHolders: "SELECT count(*) AS n FROM ref_pack_holders WHERE vault_id = $v AND pack = $id",
  segment: "SELECT * FROM ref_segments WHERE vault_id = $v AND id = $id",
  segmentHolders:
    "SELECT holder FROM ref_segment_holders WHERE vault_id = $v AND segment = $id ORDER BY holder",
} as const;

/**
 * The embedded vault's {@link ReferenceStore}: tables of schema version 5 in the catalog's SQLite
 * database, sharing its connection. Each method is one `BEGIN IMMEDIATE` transaction.
 */
export class SqliteReferenceStore implements ReferenceStore {
  readonly #db: SqliteDb;

  constructor(db: SqliteDb) {
    this.#db = db;
  }

  async track(vaultId: string): Promise<void> {
    this.#db.run(`track references of vault ${vaultId}`, "INSERT OR IGNORE INTO ref_vaults VALUES ($v)", {
      v: vaultId,
    });
  }

  async isTracking(vaultId: string): Promise<boolean> {
    const sql = "SELECT 1 AS x FROM ref_vaults WHERE vault_id = $v";
    return this.#db.get(`read tracking of vault ${vaultId}`, sql, { v: vaultId }) !== undefined;
  }

  async registerPacks(vaultId: string, packIds: readonly string[], at: number): Promise<void> {
    const what = `register packs in vault ${vaultId}`;
    this.#db.transaction(what, () => {
      for (const id of packIds) {
        const row = this.#db.get(what, SQL.pack, { v: vaultId, id });
        if (row && row.state !== PackRefState.Live) throw staleConflict(`pack ${id} is ${String(row.state)}`);
        if (!row) {
          const sql = "INSERT INTO ref_packs VALUES ($v, $id, 'live', NULL, $at, 1)";
          this.#db.run(what, sql, { v: vaultId, id, at });
        }
      }
    });
  }

  async setPackIndex(vaultId: string, packIds: readonly string[], indexId: string): Promise<void> {
    const what = `record index ${indexId} in vault ${vaultId}`;
    this.#db.transaction(what, () => {
      for (const id of packIds)
        this.#db.run(what, "UPDATE ref_packs SET idx = $idx WHERE vault_id = $v AND id = $id", {
          v: vaultId,
          id,
          idx: indexId,
        });
    });
  }

  async holdPack(vaultId: string, packId: string, segmentIds: readonly string[]): Promise<void> {
    const what = `hold pack ${packId} in vault ${vaultId}`;
    this.#db.transaction(what, () => this.#holdPack(what, vaultId, packId, segmentIds));
  }

  async holdPacks(
    vaultId: string,
    holds: readonly { pack: string; segments: readonly string[] }[],
  ): Promise<void> {
    const what = `hold ${holds.length} packs in vault ${vaultId}`;
    this.#db.transaction(what, () => {
      for (const { pack, segments } of holds) this.#holdPack(what, vaultId, pack, segments);
    });
  }

  #holdPack(what: string, vaultId: string, packId: string, segmentIds: readonly string[]): void {
    const row = this.#db.get(what, SQL.pack, { v: vaultId, id: packId });
    if (!row) throw staleConflict(`pack ${packId} has no reference record`);
    if (row.state !== PackRefState.Live) throw staleConflict(`pack ${packId} is ${String(row.state)}`);
    if (row.unheld === 1 && segmentIds.length > 0)
      this.#db.run(what, "UPDATE ref_packs SET unheld = 0 WHERE vault_id = $v AND id = $id", {
        v: vaultId,
        id: packId,
      });
    for (const segment of segmentIds)
      this.#db.run(what, "INSERT OR IGNORE INTO ref_pack_holders VALUES ($v, $p, $s)", {
        v: vaultId,
        p: packId,
        s: segment,
      });
  }

  async releasePack(vaultId: string, packId: string, segmentIds: readonly string[]): Promise<number> {
    const what = `release pack ${packId} in vault ${vaultId}`;
    return this.#db.transaction(what, () => {
      for (const segment of segmentIds)
        this.#db.run(
          what,
          "DELETE FROM ref_pack_holders WHERE vault_id = $v AND pack = $p AND segment = $s",
          {
            v: vaultId,
            p: packId,
            s: segment,
          },
        );
      return Number(this.#db.get(what, SQL.packHolders, { v: vaultId, id: packId })?.n ?? 0);
    });
  }

  async condemnPack(vaultId: string, packId: string, at: number): Promise<boolean> {
    const what = `condemn pack ${packId} in vault ${vaultId}`;
    return this.#db.transaction(what, () => {
      const row = this.#db.get(what, SQL.pack, { v: vaultId, id: packId });
      const holders = Number(this.#db.get(what, SQL.packHolders, { v: vaultId, id: packId })?.n ?? 0);
      if (!row || row.state !== PackRefState.Live || holders > 0) return false;
      const sql = "UPDATE ref_packs SET state = 'condemned', changed = $at WHERE vault_id = $v AND id = $id";
      this.#db.run(what, sql, { v: vaultId, id: packId, at });
      return true;
    });
  }

  async markPackDeleted(vaultId: string, packId: string, at: number): Promise<void> {
    const sql = `UPDATE ref_packs SET state = 'deleted', changed = $at
      WHERE vault_id = $v AND id = $id AND state = 'condemned'`;
    this.#db.run(`tombstone pack ${packId} in vault ${vaultId}`, sql, { v: vaultId, id: packId, at });
  }

  async dropPack(vaultId: string, packId: string): Promise<void> {
    const what = `forget pack ${packId} in vault ${vaultId}`;
    this.#db.transaction(what, () => {
      this.#db.run(what, "DELETE FROM ref_pack_holders WHERE vault_id = $v AND pack = $id", {
        v: vaultId,
        id: packId,
      });
      this.#db.run(what, "DELETE FROM ref_packs WHERE vault_id = $v AND id = $id", {
        v: vaultId,
        id: packId,
      });
    });
  }

  async getPack(vaultId: string, packId: string): Promise<PackRef | undefined> {
    const what = `read pack ${packId} in vault ${vaultId}`;
    const row = this.#db.get(what, SQL.pack, { v: vaultId, id: packId });
    return row ? this.#packFromRow(what, vaultId, row) : undefined;
  }

  async listPacks(vaultId: string, state: "condemned" | "deleted"): Promise<PackRef[]> {
    const what = `list ${state} packs of vault ${vaultId}`;
    const sql = "SELECT * FROM ref_packs WHERE vault_id = $v AND state = $state ORDER BY changed, id";
    return this.#db.all(what, sql, { v: vaultId, state }).map((row) => this.#packFromRow(what, vaultId, row));
  }

  async packsOfIndex(vaultId: string, indexId: string): Promise<PackRef[]> {
    const what = `list packs of index ${indexId} in vault ${vaultId}`;
    const sql = "SELECT * FROM ref_packs WHERE vault_id = $v AND idx = $idx AND state = 'live' ORDER BY id";
    return this.#db
      .all(what, sql, { v: vaultId, idx: indexId })
      .map((row) => this.#packFromRow(what, vaultId, row));
  }

  async listUnheldPacks(vaultId: string, registeredBefore: number): Promise<PackRef[]> {
    const what = `list unheld packs of vault ${vaultId}`;
    const sql = `SELECT * FROM ref_packs WHERE vault_id = $v AND unheld = 1 AND changed < $before
      AND state = 'live' ORDER BY changed, id`;
    return this.#db
      .all(what, sql, { v: vaultId, before: registeredBefore })
      .map((row) => this.#packFromRow(what, vaultId, row));
  }

  #packFromRow(what: string, vaultId: string, row: Row): PackRef {
    const id = String(row.id);
    const holders = Number(this.#db.get(what, SQL.packHolders, { v: vaultId, id })?.n ?? 0);
    return {
      id,
      state: row.state as PackRefState,
      holders,
      changed: Number(row.changed),
      ...(row.idx !== null ? { index: String(row.idx) } : {}),
    };
  }

  async holdSegment(
    vaultId: string,
    segmentId: string,
    holders: readonly string[],
    packs: readonly string[],
  ): Promise<SegmentRef> {
    const what = `hold segment ${segmentId} in vault ${vaultId}`;
    return this.#db.transaction(what, () => this.#holdSegment(what, vaultId, segmentId, holders, packs));
  }

  async holdSegments(
    vaultId: string,
    segments: readonly { segment: string; holders: readonly string[]; packs: readonly string[] }[],
  ): Promise<SegmentRef[]> {
    const what = `hold ${segments.length} segments in vault ${vaultId}`;
    return this.#db.transaction(what, () =>
      segments.map((s) => this.#holdSegment(what, vaultId, s.segment, s.holders, s.packs)),
    );
  }

  #holdSegment(
    what: string,
    vaultId: string,
    segmentId: string,
    holders: readonly string[],
    packs: readonly string[],
  ): SegmentRef {
    const row = this.#db.get(what, SQL.segment, { v: vaultId, id: segmentId });
    if (row && row.state !== SegmentRefState.Live) throw staleConflict(`segment ${segmentId} was released`);
    if (!row)
      this.#db.run(what, "INSERT INTO ref_segments VALUES ($v, $id, 'live', $packs)", {
        v: vaultId,
        id: segmentId,
        packs: JSON.stringify([...new Set(packs)].sort()),
      });
    for (const holder of holders)
      this.#db.run(what, "INSERT OR IGNORE INTO ref_segment_holders VALUES ($v, $s, $h)", {
        v: vaultId,
        s: segmentId,
        h: holder,
      });
    return this.#segment(what, vaultId, segmentId)!;
  }

  async releaseSegment(
    vaultId: string,
    segmentId: string,
    holders: readonly string[],
  ): Promise<number | undefined> {
    const what = `release segment ${segmentId} in vault ${vaultId}`;
    return this.#db.transaction(what, () => {
      for (const holder of holders)
        this.#db.run(
          what,
          "DELETE FROM ref_segment_holders WHERE vault_id = $v AND segment = $s AND holder = $h",
          {
            v: vaultId,
            s: segmentId,
            h: holder,
          },
        );
      return this.#segment(what, vaultId, segmentId)?.holders.length;
    });
  }

  async killSegment(vaultId: string, segmentId: string): Promise<boolean> {
    const what = `release segment ${segmentId} in vault ${vaultId}`;
    return this.#db.transaction(what, () => {
      const segment = this.#segment(what, vaultId, segmentId);
      if (!segment || segment.state !== SegmentRefState.Live || segment.holders.length > 0) return false;
      this.#db.run(what, "UPDATE ref_segments SET state = 'dead' WHERE vault_id = $v AND id = $id", {
        v: vaultId,
        id: segmentId,
      });
      return true;
    });
  }

  async dropSegment(vaultId: string, segmentId: string): Promise<void> {
    const what = `forget segment ${segmentId} in vault ${vaultId}`;
    this.#db.transaction(what, () => {
      this.#db.run(what, "DELETE FROM ref_segment_holders WHERE vault_id = $v AND segment = $id", {
        v: vaultId,
        id: segmentId,
      });
      this.#db.run(what, "DELETE FROM ref_segments WHERE vault_id = $v AND id = $id", {
        v: vaultId,
        id: segmentId,
      });
    });
  }

  async getSegment(vaultId: string, segmentId: string): Promise<SegmentRef | undefined> {
    return this.#segment(`read segment ${segmentId} in vault ${vaultId}`, vaultId, segmentId);
  }

  async listDeadSegments(vaultId: string): Promise<SegmentRef[]> {
    const what = `list released segments of vault ${vaultId}`;
    const sql = "SELECT id FROM ref_segments WHERE vault_id = $v AND state = 'dead' ORDER BY id";
    return this.#db
      .all(what, sql, { v: vaultId })
      .map((row) => this.#segment(what, vaultId, String(row.id))!);
  }

  #segment(what: string, vaultId: string, id: string): SegmentRef | undefined {
    const row = this.#db.get(what, SQL.segment, { v: vaultId, id });
    if (!row) return undefined;
    const holders = this.#db.all(what, SQL.segmentHolders, { v: vaultId, id }).map((r) => String(r.holder));
    return {
      id,
      state: row.state as SegmentRefState,
      holders,
      packs: JSON.parse(String(row.packs)) as string[],
    };
  }

  async setPointRelease(vaultId: string, pointId: string, state: PointRelease | undefined): Promise<void> {
    const what = `record release of point ${pointId} in vault ${vaultId}`;
    if (state === undefined) {
      this.#db.run(what, "DELETE FROM ref_points WHERE vault_id = $v AND point = $p", {
        v: vaultId,
        p: pointId,
      });
      return;
    }
    const sql = `INSERT INTO ref_points VALUES ($v, $p, $s)
      ON CONFLICT (vault_id, point) DO UPDATE SET state = excluded.state`;
    this.#db.run(what, sql, { v: vaultId, p: pointId, s: state });
  }

  async pointReleases(vaultId: string): Promise<Map<string, PointRelease>> {
    const sql = "SELECT point, state FROM ref_points WHERE vault_id = $v";
    const rows = this.#db.all(`list point releases of vault ${vaultId}`, sql, { v: vaultId });
    return new Map(rows.map((r) => [String(r.point), r.state as PointRelease]));
  }

  async acquireLease(
    vaultId: string,
    name: string,
    owner: string,
    until: number,
    now: number,
  ): Promise<boolean> {
    const what = `take lease ${name} of vault ${vaultId}`;
    return this.#db.transaction(what, () => {
      const sql = "SELECT owner, until FROM leases WHERE vault_id = $v AND name = $n";
      const row = this.#db.get(what, sql, { v: vaultId, n: name });
      if (row && row.owner !== owner && Number(row.until) >= now) return false;
      const upsert = `INSERT INTO leases VALUES ($v, $n, $o, $u)
        ON CONFLICT (vault_id, name) DO UPDATE SET owner = excluded.owner, until = excluded.until`;
      this.#db.run(what, upsert, { v: vaultId, n: name, o: owner, u: until });
      return true;
    });
  }

  async releaseLease(vaultId: string, name: string, owner: string): Promise<void> {
    const sql = "DELETE FROM leases WHERE vault_id = $v AND name = $n AND owner = $o";
    this.#db.run(`free lease ${name} of vault ${vaultId}`, sql, { v: vaultId, n: name, o: owner });
  }
}

/** A reference the caller's (stale) view of the vault relies on is gone: retrying may succeed. */
function staleConflict(detail: string): ConflictError {
  return new ConflictError(`${detail}: it was garbage-collected; run the operation again`, {
    retryable: true,
  });
}
