/**
 * Credentials a cluster holding data has lost (functions/cluster/lost-credentials.ts): the hook
 * changes nothing and says what is missing, instead of minting passwords the database does not
 * have or a CA its clients do not trust; the annotation postgres.tusk.dev/regenerate-credentials
 * lets a person ask for new ones.
 */
import { describe, expect, it } from "vitest";
import { ANNOTATION } from "../../../shared/labels.ts";
import type { ObjectMap, SyncResponse } from "../../../shared/metacontroller.ts";
import { child, cluster, decode, type Json, steadyState, sync } from "./fixtures.ts";

const SECRETS = "Secret.v1";
const cond = (res: SyncResponse, type: string) => (res.status.conditions as Json[]).find((c) => c.type === type)!;
const copy = (children: ObjectMap): ObjectMap => JSON.parse(JSON.stringify(children));
const secretOf = (children: ObjectMap, name: string) => children[SECRETS]![name] as Json;
const annotated = (value: string) => {
  const parent = cluster();
  return { ...parent, metadata: { ...parent.metadata, annotations: { [ANNOTATION.regenerateCredentials]: value } } };
};

describe("credentials lost by a cluster that holds data", () => {
  it("an emptied internal password: nothing changes, and the status names the Secret and the key", async () => {
    const { res, children, related } = await steadyState(cluster());
    const lost = copy(children);
    secretOf(lost, "hippo-internal").data["replication-password"] = "";
    const held = await sync({ ...cluster(), status: res.status }, lost, related);
    expect(decode(child(held, "Secret", "hippo-internal"))["replication-password"]).toBe("");
    expect(held.children).toHaveLength(res.children.length);
    expect(held.status.phase).toBe("Degraded");
    expect(cond(held, "Degraded")).toMatchObject({ status: "True", reason: "CredentialsLost" });
    expect(cond(held, "Degraded").message).toContain("Secret hippo-internal lacks replication-password");
    expect(cond(held, "Degraded").message).toContain(`${ANNOTATION.regenerateCredentials}=internal`);
    // Every other child exactly as observed: the StatefulSets' templates are not touched.
    for (const sts of (res.children as Json[]).filter((c) => c.kind === "StatefulSet"))
      expect(child(held, "StatefulSet", sts.metadata.name).spec).toEqual(sts.spec);
  });

  it("a deleted internal Secret is not minted again, even when every pod is gone", async () => {
    const { res, children } = await steadyState(cluster());
    const lost = copy(children);
    delete lost[SECRETS]!["hippo-internal"];
    const held = await sync({ ...cluster(), status: res.status }, lost, { "Pod.v1": {} });
    expect((held.children as Json[]).some((c) => c.kind === "Secret" && c.metadata.name === "hippo-internal")).toBe(
      false,
    );
    expect(cond(held, "Degraded").reason).toBe("CredentialsLost");
  });

  it("a CA without its key: no new CA and no leaf reissued", async () => {
    const { res, children, related } = await steadyState(cluster());
    const lost = copy(children);
    delete secretOf(lost, "hippo-ca").data["ca.key"];
    const held = await sync({ ...cluster(), status: res.status }, lost, related);
    expect(decode(child(held, "Secret", "hippo-ca"))["ca.crt"]).toBe(
      decode(child(res, "Secret", "hippo-ca"))["ca.crt"],
    );
    expect(child(held, "Secret", "hippo-cluster-cert").data).toEqual(child(res, "Secret", "hippo-cluster-cert").data);
    expect(cond(held, "Degraded").message).toContain("Secret hippo-ca lacks ca.key");
    expect(cond(held, "Degraded").message).toContain(`${ANNOTATION.regenerateCredentials}=ca`);
  });

  it("the annotation lets a person ask for new ones", async () => {
    const { res, children, related } = await steadyState(cluster());
    const lost = copy(children);
    secretOf(lost, "hippo-internal").data["replication-password"] = "";
    delete secretOf(lost, "hippo-ca").data["ca.key"];
    const both = await sync({ ...annotated("internal, ca"), status: res.status }, lost, related);
    expect(decode(child(both, "Secret", "hippo-internal"))["replication-password"]).toHaveLength(32);
    expect(decode(child(both, "Secret", "hippo-ca"))["ca.key"]).toContain("PRIVATE KEY");
    expect(cond(both, "Degraded").reason).not.toBe("CredentialsLost");
    // Only what is named: with `internal` alone, the lost CA key still holds everything.
    const one = await sync({ ...annotated("internal"), status: res.status }, lost, related);
    expect(cond(one, "Degraded").reason).toBe("CredentialsLost");
  });

  it("a CA certificate rewritten with CRLF line ends reissues no leaf", async () => {
    const { res, children, related } = await steadyState(cluster());
    const edited = copy(children);
    const ca = secretOf(edited, "hippo-ca");
    const crlf = Buffer.from(ca.data["ca.crt"], "base64").toString("utf8").replaceAll("\n", "\r\n");
    ca.data["ca.crt"] = Buffer.from(crlf).toString("base64");
    const after = await sync({ ...cluster(), status: res.status }, edited, related);
    for (const name of ["hippo-cluster-cert", "hippo-replication-cert"])
      expect(decode(child(after, "Secret", name))["tls.crt"]).toBe(decode(child(res, "Secret", name))["tls.crt"]);
  });
});
