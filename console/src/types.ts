/** The API's answers, as the console reads them (api/openapi.json is the contract). */

export type Role = "reader" | "operator" | "contributor" | "security-admin";

export interface Caller {
  readonly name: string;
  readonly roles: readonly Role[];
}

export interface RecoveryPoint {
  readonly id: string;
  readonly disk: string;
  readonly created: number;
  readonly parent: string | null;
  readonly consistency: string;
  readonly logicalSize: number;
  readonly bytesStored: number;
  /** The server's predicted restore time (docs/design.md "Predicted restore time"). */
  readonly predictedRestoreMs: number;
  readonly tier: string;
  readonly state: "available" | "soft-deleted" | "purged";
  readonly deleteAfter?: number;
  readonly retainUntil?: number;
}

export interface ProtectedItem {
  readonly name: string;
  readonly created: number;
  readonly size: number;
  readonly source: string;
  readonly policy?: string;
  readonly protected: boolean;
}

export interface Schedule {
  readonly kind: string;
  readonly times?: readonly string[];
  readonly days?: readonly string[];
  readonly everyHours?: number;
  readonly windowHours?: number;
  readonly expression?: string;
}

export interface Policy {
  readonly name: string;
  readonly version: number;
  readonly definition: {
    readonly name: string;
    readonly schedule: Schedule;
    readonly timeZone: string;
    readonly retention: Record<string, unknown>;
  };
}

export interface Job {
  readonly id: string;
  readonly type: string;
  readonly status: "queued" | "running" | "completed" | "failed" | "abandoned";
  readonly disk?: string;
  readonly recoveryPoint?: string;
  readonly started: number;
  readonly ended?: number;
  readonly bytesScanned?: number;
  readonly bytesChanged?: number;
  readonly bytesStored?: number;
  readonly attempts?: number;
  readonly error?: string;
  readonly detail?: Record<string, string | number | boolean>;
}

export interface RestoreJob {
  readonly jobId: string;
  readonly status: Job["status"];
  readonly recoveryPointId?: string;
  readonly disk?: string;
  readonly started: number;
  readonly ended?: number;
  readonly bytesRestored?: number;
  readonly error?: string;
  readonly restoredTo?: string;
}

export interface Approval {
  readonly id: string;
  readonly operation: string;
  readonly target?: string;
  readonly requester: string;
  readonly created: number;
  readonly expires: number;
  readonly state: "pending" | "approved" | "used" | "rejected";
  readonly approver?: string;
  readonly rejecter?: string;
}

export interface VaultSettings {
  readonly softDeleteDays: number;
  readonly softDeleteEnabled: boolean;
  readonly softDeleteAlwaysOn: boolean;
  readonly lock: "unlocked" | "enabled" | "locked";
  readonly restoreDirectories: readonly string[];
}

export interface LockPreview {
  readonly state: VaultSettings["lock"];
  readonly points: readonly { id: string; disk: string; until: number; bytesStored: number }[];
  readonly until?: number;
  readonly bytesCommitted: number;
}

export interface Principal {
  readonly name: string;
  readonly roles: readonly Role[];
  readonly created: number;
  readonly createdBy: string;
}

/** A list answer: `{items: [...]}`. */
export interface Items<T> {
  readonly items: readonly T[];
}
