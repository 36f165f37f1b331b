/**
 * @module
 * Every Secret the cluster hook builds. Payloads go in `data` (base64), never `stringData`
 * (docs/metacontroller-contract.md §2.6): the API server turns `stringData` into `data`, so a
 * hook that sent `stringData` would see a difference on every sync.
 */
import type { V1Secret } from "@kubernetes/client-node";
import type { ClusterModel } from "../../../shared/cluster/model.ts";
import { toBase64 } from "../../../shared/crypto/bytes.ts";
import { clusterLabels } from "../../../shared/labels.ts";
import { withKind } from "./kinds.ts";
import { childMeta } from "./metadata.ts";

function encodeData(data: Record<string, string>): Record<string, string> {
  const encoder = new TextEncoder();
  const out: Record<string, string> = {};
  for (const key of Object.keys(data).sort()) out[key] = toBase64(encoder.encode(data[key]!));
  return out;
}

export function secret(
  model: ClusterModel,
  name: string,
  component: string,
  data: Record<string, string>,
  options: { type?: string; labels?: Record<string, string>; annotations?: Record<string, string> } = {},
): V1Secret {
  return withKind("Secret", {
    metadata: childMeta(
      model,
      name,
      { ...clusterLabels(model.name, component), ...options.labels },
      options.annotations ? { annotations: options.annotations } : {},
    ),
    type: options.type ?? "Opaque",
    data: encodeData(data),
  });
}
