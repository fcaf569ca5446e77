/** Messages between the engine and its block workers (see block-worker.ts). */
export type WorkerRequest =
  | { type: "init"; blockIdKey: Uint8Array; zstdLevel: number }
  | { type: "key"; generation: number; key: Uint8Array }
  | { type: "scan"; seq: number; buffer: ArrayBuffer; length: number; blockSize: number }
  | { type: "seal"; seq: number; generation: number; blocks: number[] }
  | {
      type: "open";
      seq: number;
      key: Uint8Array;
      buffer: ArrayBuffer;
      items: { id: string; offset: number; length: number; rawLength: number }[];
    };

export type WorkerReply =
  | { type: "scanned"; seq: number; ids: ArrayBuffer }
  | { type: "sealed"; seq: number; buffer: ArrayBuffer; lengths: number[] }
  | { type: "opened"; seq: number; buffer: ArrayBuffer; lengths: number[] }
  | { type: "error"; seq: number; name: string; message: string; code: string };
