/**
 * @module
 * The cluster ConfigMap: Patroni's configuration file, `patroni.yaml`, plus
 * `patroni-pgwal.yaml` when an instance set keeps its WAL on a separate volume (patroni/config.ts), and
 * the dynamic configuration as JSON for the configuration Job (objects/job.ts), and for a standby
 * cluster the `on_role_change` callback (restore/standby.ts).
 */
import type { V1ConfigMap } from "@kubernetes/client-node";
import type { ClusterModel } from "../../../shared/cluster/model.ts";
import { clusterLabels } from "../../../shared/labels.ts";
import { names } from "../../../shared/names.ts";
import { binDirectory } from "../../../shared/pod-layout.ts";
import { canonicalJson } from "../objects/canonical.ts";
import { withKind } from "../objects/kinds.ts";
import { childMeta } from "../objects/metadata.ts";
import { hasRoleChangeCallback, ROLE_CHANGE_KEY, roleChangeScript } from "../restore/standby.ts";
import { CONFIG_KEY, CONFIG_KEY_WITH_WAL, dynamicConfiguration, patroniYaml } from "./config.ts";
import { DYNAMIC_CONFIG_KEY } from "./jobs.ts";

export function buildClusterConfigMap(model: ClusterModel): V1ConfigMap {
  const withWal = model.sets.some((s) => s.spec.walVolumeClaimSpec !== undefined);
  const withoutWal = model.sets.some((s) => s.spec.walVolumeClaimSpec === undefined);
  const data: Record<string, string> = {};
  if (withoutWal) data[CONFIG_KEY] = patroniYaml(model, { walVolume: false });
  if (withWal) data[CONFIG_KEY_WITH_WAL] = patroniYaml(model, { walVolume: true });
  // What the configuration Job sends to Patroni's REST API once the cluster runs.
  data[DYNAMIC_CONFIG_KEY] = canonicalJson(dynamicConfiguration(model).config);
  if (hasRoleChangeCallback(model)) data[ROLE_CHANGE_KEY] = roleChangeScript(binDirectory(model.version));
  return withKind("ConfigMap", {
    metadata: childMeta(model, names.clusterConfig(model.name), clusterLabels(model.name, "config")),
    data,
  });
}
