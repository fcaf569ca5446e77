import { ValidationError } from "../../errors.ts";
import type { VmRecord } from "../../model.ts";
import type { VmDefinition } from "../../rules/vms.ts";
import { approvalOf, type Call, param } from "./call.ts";
import { type HttpResponse, json } from "./types.ts";

/**
 * What `POST /vms` takes (the schema VmProtectRequest has checked its shape). It names no agent,
 * script or mount point to freeze: those run commands as the machine running the agent (on a host
 * running qemu-ga or local commands, this one), so they are set only by someone who already can,
 * with `blockvault vm protect` there. A VM protected again over HTTP keeps them.
 */
interface VmProtectBody {
  readonly name: string;
  readonly disks: readonly string[];
  readonly bootDisk?: number;
  readonly snapshot?: string;
  readonly policy?: string;
  readonly minimumConsistency?: string;
}

/** The guest settings a VM keeps when protected again over HTTP. */
function guestOf(vm: VmRecord): Partial<VmDefinition> {
  const c = vm.consistency;
  return {
    ...(c.agent ? { agent: c.agent } : {}),
    freezeMounts: c.freezeMounts,
    preScripts: c.preScripts,
    postScripts: c.postScripts,
    freezeWindowMs: c.freezeWindowMs,
  };
}

/** `GET /vms`: the protected VMs, by name. */
export async function listVms(call: Call): Promise<HttpResponse> {
  return json(200, { items: await call.vault.listVms() });
}

/** `GET /vms/{name}`. */
export async function getVm(call: Call): Promise<HttpResponse> {
  return json(200, await call.vault.getVm(param(call, "name")));
}

/**
 * `POST /vms`: protects a VM (201), or changes an existing one's protection (200). Each disk's
 * source is opened to read its size, only once the caller may protect.
 */
export async function protectVm(call: Call): Promise<HttpResponse> {
  const body = call.body as VmProtectBody;
  call.vault.authorize((await import("../../rules/roles.ts")).Operation.Protect);
  const known = await call.vault.getVm(body.name).catch(() => undefined);
  const disks = [];
  for (const source of body.disks) {
    const opened = await call.app.openSource(source);
    try {
      disks.push({ source, size: opened.size });
    } finally {
      await opened.close();
    }
  }
  const definition: VmDefinition = {
    name: body.name,
    disks,
    ...(body.bootDisk !== undefined ? { bootDisk: body.bootDisk } : {}),
    ...(known ? guestOf(known) : {}),
    ...(body.snapshot ? { snapshot: body.snapshot } : {}),
    ...(body.policy ? { policy: body.policy } : {}),
    ...(body.minimumConsistency ? { minimum: body.minimumConsistency } : {}),
  };
  const vm = await call.vault.protectVm(definition);
  return known ? json(200, vm) : json(201, vm, { location: `/vms/${encodeURIComponent(vm.name)}` });
}

/**
 * `POST /vms/{name}/backups`: one VM backup, run to its end (the freeze lasts seconds; reading
 * the disks as long as they take), answered with the VM point, its disks' points and the
 * consistency reached. Only a runtime that reaches the guest agents runs it.
 */
export async function backupVm(call: Call): Promise<HttpResponse> {
  const open = call.app.openVmDeps;
  if (!open) {
    throw new ValidationError(
      "VM backups are not run by this deployment: run blockvault backup --vm where the guest agent is reachable",
    );
  }
  const result = await call.vault.backupVm(param(call, "name"), open);
  return json(201, result, { location: `/vm-points/${result.vmRecoveryPointId}` });
}

/** `GET /vm-points?vm=`: VM points, newest first, with their consistency and why. */
export async function listVmPoints(call: Call): Promise<HttpResponse> {
  const vm = call.query.vm as string | undefined;
  return json(200, { items: await call.vault.listVmPoints(vm) });
}

/** `GET /vm-points/{id}`. */
export async function getVmPoint(call: Call): Promise<HttpResponse> {
  return json(200, await call.vault.getVmPoint(param(call, "id")));
}

/** `DELETE /vm-points/{id}`: soft-deletes the VM point and every disk's point, as one. */
export async function deleteVmPoint(call: Call): Promise<HttpResponse> {
  return json(200, await call.vault.deleteVmPoint(param(call, "id"), approvalOf(call)));
}

/** `POST /vm-points/{id}/undelete`. */
export async function undeleteVmPoint(call: Call): Promise<HttpResponse> {
  return json(200, await call.vault.undeleteVmPoint(param(call, "id")));
}
