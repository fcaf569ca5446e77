import { ianaTimeZone } from "../../policy/time-zone.ts";
import { type OpenApiDocument, SPEC } from "./spec.ts";

/** What the embedded runtime can do beyond the API's common rules. */
export interface ServedCapabilities {
  /** Whether restores may target S3 objects and EBS snapshots (a vault on AWS). */
  readonly awsTargets: boolean;
}

type Json = Record<string, unknown>;

/**
 * The OpenAPI document `blockvault serve` serves at `GET /openapi.json`: api/openapi.json with
 * the rules of this server filled in where the common document can only describe them: the time
 * zones this server's time-zone database knows, the restore targets it can write (files only on a
 * vault that is not on AWS), and the 421 and 403 of its Host and Origin checks. A request valid
 * against it is one this server's validation accepts.
 */
export function servedSpec(capabilities: ServedCapabilities, spec: OpenApiDocument = SPEC): OpenApiDocument {
  const doc = structuredClone(spec) as unknown as Json & {
    components: Json & { schemas: Record<string, Json> };
  };
  const schemas = doc.components.schemas;
  const zones = [...new Set(["UTC", ...Intl.supportedValuesOf("timeZone")])].filter(
    (zone) => ianaTimeZone(zone) !== undefined,
  );
  schemas.TimeZone = { ...schemas.TimeZone, enum: zones };
  if (!capabilities.awsTargets) {
    const target = schemas.RestoreTarget as { oneOf: { properties: { kind: { const?: string } } }[] };
    schemas.RestoreTarget = {
      ...target,
      oneOf: target.oneOf.filter((v) => v.properties.kind.const === "file"),
    };
  }
  const refused = {
    description: "The Host header or the Origin names another server (DNS rebinding, a page of another site)",
  };
  for (const item of Object.values(doc.paths as Record<string, Record<string, { responses?: Json }>>)) {
    for (const operation of Object.values(item)) {
      if (operation.responses) operation.responses["421"] = refused;
    }
  }
  return doc as unknown as OpenApiDocument;
}
