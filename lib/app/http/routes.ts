import { approveRequest, listApprovals, rejectRequest } from "./approvals.ts";
import type { Handler } from "./call.ts";
import { getFileContent, listFiles, listPartitions } from "./files.ts";
import { getHealth, getMetrics, getUsageReport } from "./observe.ts";
import {
  deleteRecoveryPoint,
  getRecoveryPoint,
  listJobs,
  listRecoveryPoints,
  undeleteRecoveryPoint,
} from "./points.ts";
import { createPolicy, deletePolicy, getPolicy, listPolicies, updatePolicy } from "./policies.ts";
import { getProtectedItem, listProtectedItems, protectItem, unprotectItem } from "./protected-items.ts";
import { getRestore, startRestore } from "./restores.ts";
import type { Route } from "./router.ts";
import {
  getCaller,
  getVaultSettings,
  listPrincipals,
  previewLock,
  setSoftDelete,
  setVaultLock,
} from "./vault-settings.ts";
import {
  backupVm,
  deleteVmPoint,
  getVm,
  getVmPoint,
  listVmPoints,
  listVms,
  protectVm,
  undeleteVmPoint,
} from "./vms.ts";

const route = (method: string, template: string, operationId: string, handler: Handler): Route<Handler> => ({
  method,
  template,
  operationId,
  handler,
});

/**
 * Every route of the HTTP API. Each must be an operation of api/openapi.json with the same
 * operationId, and the spec must have no other operation (test/unit/app/openapi.test.ts).
 */
export const API_ROUTES: readonly Route<Handler>[] = [
  route("POST", "/restores", "startRestore", startRestore),
  route("GET", "/restores/{id}", "getRestore", getRestore),
  route("GET", "/recovery-points", "listRecoveryPoints", listRecoveryPoints),
  route("GET", "/recovery-points/{id}", "getRecoveryPoint", getRecoveryPoint),
  route("DELETE", "/recovery-points/{id}", "deleteRecoveryPoint", deleteRecoveryPoint),
  route("POST", "/recovery-points/{id}/undelete", "undeleteRecoveryPoint", undeleteRecoveryPoint),
  route("GET", "/recovery-points/{id}/partitions", "listPartitions", listPartitions),
  route("GET", "/recovery-points/{id}/files", "listFiles", listFiles),
  route("GET", "/recovery-points/{id}/files/content", "getFileContent", getFileContent),
  route("GET", "/jobs", "listJobs", listJobs),
  route("GET", "/policies", "listPolicies", listPolicies),
  route("POST", "/policies", "createPolicy", createPolicy),
  route("GET", "/policies/{name}", "getPolicy", getPolicy),
  route("PUT", "/policies/{name}", "updatePolicy", updatePolicy),
  route("DELETE", "/policies/{name}", "deletePolicy", deletePolicy),
  route("GET", "/protected-items", "listProtectedItems", listProtectedItems),
  route("POST", "/protected-items", "protectItem", protectItem),
  route("GET", "/protected-items/{name}", "getProtectedItem", getProtectedItem),
  route("DELETE", "/protected-items/{name}", "unprotectItem", unprotectItem),
  route("GET", "/vms", "listVms", listVms),
  route("POST", "/vms", "protectVm", protectVm),
  route("GET", "/vms/{name}", "getVm", getVm),
  route("POST", "/vms/{name}/backups", "backupVm", backupVm),
  route("GET", "/vm-points", "listVmPoints", listVmPoints),
  route("GET", "/vm-points/{id}", "getVmPoint", getVmPoint),
  route("DELETE", "/vm-points/{id}", "deleteVmPoint", deleteVmPoint),
  route("POST", "/vm-points/{id}/undelete", "undeleteVmPoint", undeleteVmPoint),
  route("GET", "/metrics", "getMetrics", getMetrics),
  route("GET", "/healthz", "getHealth", getHealth),
  route("GET", "/reports/usage", "getUsageReport", getUsageReport),
  route("GET", "/me", "getCaller", getCaller),
  route("GET", "/approvals", "listApprovals", listApprovals),
  route("POST", "/approvals/{id}/approve", "approveRequest", approveRequest),
  route("POST", "/approvals/{id}/reject", "rejectRequest", rejectRequest),
  route("GET", "/vault/settings", "getVaultSettings", getVaultSettings),
  route("GET", "/vault/lock-preview", "previewLock", previewLock),
  route("PUT", "/vault/lock", "setVaultLock", setVaultLock),
  route("PUT", "/vault/soft-delete", "setSoftDelete", setSoftDelete),
  route("GET", "/principals", "listPrincipals", listPrincipals),
];
