/**
 * The golden-file format itself (test/support/golden.ts): readable, and still exact, so that a
 * change of one byte in what a hook emits changes the golden.
 */
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { renderGolden, responseDocuments, secretData } from "../support/golden.ts";

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");

const configMap = (data: Record<string, string>) => ({
  apiVersion: "v1",
  data,
  kind: "ConfigMap",
  metadata: { name: "hippo-config" },
});
const secret = (data: Record<string, string>) => ({
  apiVersion: "v1",
  data,
  kind: "Secret",
  metadata: { name: "hippo-pguser-app" },
  type: "Opaque",
});
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
/** `base64` (of a length that leaves padding) with an unused low bit of its last character set. */
function nonCanonical(base64: string): string {
  const i = base64.replace(/=+$/, "").length - 1;
  const changed = `${base64.slice(0, i)}${ALPHABET[ALPHABET.indexOf(base64[i]!) ^ 1]}${base64.slice(i + 1)}`;
  expect(Buffer.from(changed, "base64")).toEqual(Buffer.from(base64, "base64"));
  return changed;
}
const render = (...children: unknown[]) => renderGolden(responseDocuments({ status: {}, children }));

describe("golden YAML format", () => {
  it("one document per child, in order, labelled with its kind and name", () => {
    const text = render(configMap({ a: "1" }), secret({ user: b64("app") }));
    expect(text.split("\n").filter((l) => l.startsWith("---"))).toEqual([
      "--- # the response without its children (each child follows, in the order the hook returns them)",
      "--- # ConfigMap hippo-config",
      "--- # Secret hippo-pguser-app",
    ]);
    expect(parseAllDocuments(text)).toHaveLength(3);
  });

  it("a multi-line string is a | block, one line of the embedded file per line", () => {
    const text = render(configMap({ "patroni.yaml": "bootstrap:\n  dcs:\n    ttl: 30\n" }));
    expect(text).toContain("  patroni.yaml: |\n    bootstrap:\n      dcs:\n        ttl: 30\n");
  });

  it("one-line compact JSON under a *.json key is pretty-printed and marked; anything else is left as is", () => {
    const text = render(configMap({ "dynamic.json": '{"ttl":30}', "spaced.json": '{ "ttl": 30 }', "x.txt": "{}" }));
    expect(text).toContain(
      '  # pretty-printed by the golden test: the hook emits it as one line of compact JSON\n  dynamic.json: |-\n    {\n      "ttl": 30\n    }\n',
    );
    expect(text).toContain(`  spaced.json: '{ "ttl": 30 }'\n`);
  });

  it("a Secret's text (certificates too) is decoded and marked; credentials stay base64; private keys are redacted", () => {
    const password = "kk88MvSiU.xmyL05Czvs5(ZG";
    const data = {
      "ca.crt": b64("-----BEGIN CERTIFICATE-----\n"),
      "tls.key": b64("-----BEGIN PRIVATE KEY-----\n"),
      password: b64(password),
      uri: b64(`postgresql://app:${password}@hippo-primary.db.svc:5432/app`),
      "users.sql": b64("CREATE ROLE app;\nGRANT app TO app;\n"),
      binary: Buffer.from([0xff, 0xfe]).toString("base64"),
    };
    expect(secretData(data)).toEqual({
      stringData: { "ca.crt": "-----BEGIN CERTIFICATE-----\n", "users.sql": "CREATE ROLE app;\nGRANT app TO app;\n" },
      data: { "tls.key": "<redacted: private key>", password: data.password, uri: data.uri, binary: data.binary },
    });
    const text = render(secret(data));
    expect(text).toContain("# decoded by the golden test: the hook emits these base64-encoded under data\nstringData:");
    expect(text).toContain("  users.sql: |\n    CREATE ROLE app;\n    GRANT app TO app;\n");
    expect(text).not.toContain(password);
  });

  it("a document that is part of a ConfigMap's or a Secret's data is shown as that object's data", () => {
    const text = renderGolden([
      ["config", { "dynamic.json": '{"ttl":30}' }, { dataOf: "ConfigMap" }],
      ["secret", { user: b64("app"), password: b64("kk88MvSiU.xmyL05Czvs5(ZG") }, { dataOf: "Secret" }],
    ]);
    expect(text).toContain("# pretty-printed by the golden test");
    expect(text).toContain(
      "--- # secret\n# decoded by the golden test: the hook emits these base64-encoded under data\n",
    );
    expect(text).toContain(`stringData:\n  user: app\n`);
    expect(text).toContain(`data:\n  password: ${b64("kk88MvSiU.xmyL05Czvs5(ZG")}\n`);
  });

  it("refuses to show a password in clear under a key it does not know as a credential", () => {
    const password = "kk88MvSiU.xmyL05Czvs5(ZG";
    expect(() => secretData({ password: b64(password), dsn: b64(`user=app password=${password}`) })).toThrow(
      /dsn holds a password in clear/,
    );
    expect(() => render(secret({ password: b64(password) }), secret({ "users.txt": "", note: b64(password) }))).toThrow(
      /note holds a password in clear/,
    );
  });

  it("a change of one byte anywhere changes the golden", () => {
    const children = [
      configMap({ "patroni.yaml": "a: 1\nb: 2\n", "dynamic.json": '{"b":2}' }),
      secret({ password: b64("sGVlUblYMQisif6JyC9klgp6kSypKHDo"), "users.sql": b64("SELECT 1;\nSELECT 2;\n") }),
    ];
    const before = render(...children);
    const mutations: Array<(c: any[]) => void> = [
      (c) => (c[0].data["patroni.yaml"] = "a: 1\nb: 3\n"),
      (c) => (c[0].data["patroni.yaml"] = "a: 1\nb: 2"),
      (c) => (c[0].data["patroni.yaml"] = "a: 1\nb: 2 \n"),
      (c) => (c[0].data["dynamic.json"] = '{"b":3}'),
      (c) => (c[0].data["dynamic.json"] = '{"b": 2}'),
      (c) => (c[1].data.password = b64("sGVlUblYMQisif6JyC9klgp6kSypKHDp")),
      (c) => (c[1].data["users.sql"] = b64("SELECT 1;\nSELECT 3;\n")),
      // The same bytes in a non-canonical base64 (an unused low bit set): still a change.
      (c) => (c[1].data["users.sql"] = nonCanonical(b64("SELECT 1;\nSELECT 2;\n"))),
      (c) => (c[1].type = "kubernetes.io/basic-auth"),
      (c) => c.reverse(),
    ];
    for (const mutate of mutations) {
      const copy = JSON.parse(JSON.stringify(children));
      mutate(copy);
      expect(render(...copy)).not.toBe(before);
    }
  });
});
