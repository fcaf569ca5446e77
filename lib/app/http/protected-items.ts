import { validateDiskName } from "../../engine/backup/disk-name.ts";
import { NotFoundError } from "../../errors.ts";
import type { DiskRecord } from "../../model.ts";
import { getPolicy } from "../../rules/policies.ts";
import { protect } from "../../rules/protect.ts";
import { Operation } from "../../rules/roles.ts";
import { approvalOf, type Call, param } from "./call.ts";
import { type HttpResponse, json } from "./types.ts";

/** A disk as the API shows it: `protected` is false once protection was stopped. */
function itemView(disk: DiskRecord): Record<string, unknown> {
  return { ...disk, protected: disk.policy !== undefined };
}

async function findDisk(call: Call, name: string): Promise<DiskRecord | undefined> {
  return (await call.vault.listDisks()).find((d) => d.name === name);
}

/** `GET /protected-items`. */
export async function listProtectedItems(call: Call): Promise<HttpResponse> {
  const disks = await call.vault.listDisks();
  disks.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return json(200, { items: disks.map(itemView) });
}

/** `GET /protected-items/{name}`. */
export async function getProtectedItem(call: Call): Promise<HttpResponse> {
  const name = param(call, "name");
  const disk = await findDisk(call, name);
  if (!disk) throw new NotFoundError(`disk "${name}" is not known to this vault`);
  return json(200, itemView(disk));
}

/**
 * `POST /protected-items`: puts the disk under the policy; 201 for a new disk, 200 for a known
 * one whose protection changed. The source is opened (it must be readable now) only once the
 * caller's role, the disk name and the policy are checked: a reader must not learn which paths
 * exist on the server. Audited as the vault's own `protect` is, which takes an opened source.
 */
export async function protectItem(call: Call): Promise<HttpResponse> {
  const { disk, source, policy } = call.body as { disk: string; source: string; policy: string };
  const { vault } = call;
  return vault.audited("disk.protect", Operation.Protect, disk, async () => {
    validateDiskName(disk);
    await getPolicy(vault.ctx, policy);
    const known = await findDisk(call, disk);
    const opened = await call.app.openSource(source);
    try {
      const record = await protect(vault.ctx, opened, disk, policy, vault.actor(approvalOf(call)));
      return known
        ? json(200, itemView(record))
        : json(201, itemView(record), { location: `/protected-items/${encodeURIComponent(disk)}` });
    } finally {
      await opened.close();
    }
  });
}

/** `DELETE /protected-items/{name}?deletePoints=true`: stops protection (critical with deletion). */
export async function unprotectItem(call: Call): Promise<HttpResponse> {
  const deletePoints = call.query.deletePoints === true;
  const record = await call.vault.unprotect(param(call, "name"), { deletePoints }, approvalOf(call));
  return json(200, itemView(record));
}
