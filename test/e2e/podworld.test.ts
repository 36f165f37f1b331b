/**
 * The pod-world mapping itself (test/e2e/lib/podworld.ts, kube.ts): checked on its own so a
 * failing scenario cannot be blamed on a mapping that rewrites too much or too little.
 */
import { describe, expect, it } from "vitest";
import { expandVars, resolveEnv } from "../pods/spec.ts";
import {
  isPgBackRestConf,
  isPgBouncerIni,
  mapEnv,
  mapListenAddress,
  mapPatroniConfig,
  mapPgBackRestConf,
  mapPgBouncerIni,
  type PodPlace,
  parseServiceHost,
} from "./lib/podworld.ts";

const place: PodPlace = {
  pod: "hippo-instance1-0",
  root: "/var/tmp/tusk-e2e/run/hippo/hippo-instance1-0",
  ports: new Map([
    [5432, 21001],
    [8008, 21002],
  ]),
};

describe("pod-world mapping", () => {
  it("maps listen and connect addresses to the pod's own host ports", () => {
    expect(mapListenAddress("*:5432", place)).toBe("127.0.0.1:21001");
    expect(mapListenAddress("0.0.0.0:8008", place)).toBe("127.0.0.1:21002");
    expect(mapListenAddress("127.0.0.1:5432", place)).toBe("127.0.0.1:21001");
    expect(mapListenAddress("10.1.2.3:5432", place)).toBe("10.1.2.3:5432");
    expect(() => mapListenAddress("*:9999", place)).toThrow(/no container port 9999/);
  });

  it("swaps the kubernetes DCS for etcd3, maps addresses, and leaves everything else (paths too) as generated", () => {
    const raw = {
      scope: "hippo-ha",
      kubernetes: { use_endpoints: true, labels: { a: "b" } },
      restapi: { listen: "0.0.0.0:8008" },
      postgresql: {
        listen: "*:5432",
        data_dir: "/pgdata/pg15",
        pgpass: "/tmp/pgpass",
        parameters: { ssl_ca_file: "/etc/postgres/tls/ca.crt", max_connections: "100" },
        pg_hba: ["hostssl all all all scram-sha-256"],
      },
    };
    const mapped = mapPatroniConfig(raw, { etcd: "127.0.0.1:2379", place });
    expect(mapped.kubernetes).toBeUndefined();
    expect(mapped.etcd3).toEqual({ hosts: ["127.0.0.1:2379"] });
    expect(mapped.restapi.listen).toBe("127.0.0.1:21002");
    expect(mapped.postgresql.listen).toBe("127.0.0.1:21001");
    expect(mapped.postgresql.data_dir).toBe("/pgdata/pg15");
    expect(mapped.postgresql.parameters).toEqual(raw.postgresql.parameters);
    expect(raw.kubernetes, "the input is not modified").toBeDefined();
    expect(mapped.postgresql.pg_hba).toEqual(raw.postgresql.pg_hba);
    expect(mapped.scope).toBe("hippo-ha");
  });

  it("resolves env like the Kubelet, then maps addresses and drops the Kubernetes DCS variables", () => {
    const env = resolveEnv(
      {
        name: "database",
        env: [
          { name: "PATRONI_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
          { name: "PATRONI_KUBERNETES_POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
          { name: "PATRONI_POSTGRESQL_CONNECT_ADDRESS", value: "$(PATRONI_KUBERNETES_POD_IP):5432" },
          { name: "PATRONI_SUPERUSER_PASSWORD", valueFrom: { secretKeyRef: { name: "hippo-internal", key: "pw" } } },
          { name: "LITERAL", value: "$$(NOT_EXPANDED) $(UNKNOWN)" },
        ],
      },
      { name: place.pod, namespace: "e2e", podIP: "127.0.0.1", labels: {}, annotations: {} },
      {
        secret: (n) =>
          n === "hippo-internal" ? { data: { pw: Buffer.from("s3cret").toString("base64") } } : undefined,
        configMap: () => undefined,
      },
    );
    expect(env.PATRONI_NAME).toBe("hippo-instance1-0");
    expect(env.PATRONI_POSTGRESQL_CONNECT_ADDRESS).toBe("127.0.0.1:5432");
    expect(env.LITERAL).toBe("$(NOT_EXPANDED) $(UNKNOWN)");
    const mapped = mapEnv(env, place);
    expect(mapped.PATRONI_POSTGRESQL_CONNECT_ADDRESS).toBe("127.0.0.1:21001");
    expect(mapped.PATRONI_SUPERUSER_PASSWORD).toBe("s3cret");
    expect(mapped.PATRONI_KUBERNETES_POD_IP).toBeUndefined();
    expect(expandVars("$(A)-$(B)", { A: "x" })).toBe("x-$(B)");
  });

  it("reads Service and pod DNS names in every form", () => {
    expect(parseServiceHost("hippo-primary", "e2e")).toEqual({ service: "hippo-primary" });
    expect(parseServiceHost("hippo-primary.e2e.svc", "e2e")).toEqual({ service: "hippo-primary" });
    expect(parseServiceHost("hippo-primary.e2e.svc.cluster.local", "e2e")).toEqual({ service: "hippo-primary" });
    expect(parseServiceHost("hippo-instance1-0.hippo-pods.e2e.svc", "e2e")).toEqual({
      pod: "hippo-instance1-0",
      service: "hippo-pods",
    });
    expect(parseServiceHost("example.com.other.svc", "e2e").service).toBeUndefined();
  });

  it("maps pgBackRest port options to the pod they name (pgN-port to pgN-host's pod); paths stay", () => {
    const repoHost: PodPlace = {
      pod: "hippo-repo-host-0",
      root: "/var/tmp/tusk-e2e/run/hippo/hippo-repo-host-0",
      ports: new Map([[8432, 23001]]),
    };
    const instance: PodPlace = { ...place, ports: new Map([...place.ports, [8432, 21003]]) };
    const conf = [
      "# Generated",
      "[global]",
      "repo1-host=hippo-repo-host-0.hippo-pods.e2e.svc",
      "repo1-host-port=8432",
      "repo1-path=/pgbackrest/repo1",
      "repo1-type=posix",
      "repo2-path=/pgbackrest/e2e/hippo/repo2",
      "repo2-type=s3",
      "lock-path=/tmp/pgbackrest/lock",
      "tls-server-address=*",
      "tls-server-port=8432",
      "",
      "[db]",
      "pg1-path=/pgdata/pg15",
      "pg1-port=5432",
      "pg1-socket-path=/tmp/postgres",
    ].join("\n");
    expect(isPgBackRestConf(conf)).toBe(true);
    expect(isPgBackRestConf("listen: 1\n")).toBe(false);
    const out = mapPgBackRestConf(conf, instance, (h) => (h.startsWith("hippo-repo-host-0.") ? repoHost : undefined));
    expect(out.split("\n")).toEqual([
      "# Generated",
      "[global]",
      "repo1-host=hippo-repo-host-0.hippo-pods.e2e.svc",
      "repo1-host-port=23001",
      "repo1-path=/pgbackrest/repo1",
      "repo1-type=posix",
      "repo2-path=/pgbackrest/e2e/hippo/repo2",
      "repo2-type=s3",
      "lock-path=/tmp/pgbackrest/lock",
      "tls-server-address=127.0.0.1",
      "tls-server-port=21003",
      "",
      "[db]",
      "pg1-path=/pgdata/pg15",
      "pg1-port=21001",
      "pg1-socket-path=/tmp/postgres",
    ]);
    // a repo host's view of an instance: the instance pod's ports
    const remote = mapPgBackRestConf(
      "[db]\npg1-host=hippo-instance1-0.hippo-pods.e2e.svc\npg1-host-port=8432\npg1-path=/pgdata/pg15\npg1-port=5432",
      repoHost,
      (h) => (h.startsWith("hippo-instance1-0.") ? instance : undefined),
    );
    expect(remote).toBe(
      "[db]\npg1-host=hippo-instance1-0.hippo-pods.e2e.svc\npg1-host-port=21003\npg1-path=/pgdata/pg15\npg1-port=21001",
    );
    expect(() => mapPgBackRestConf("[db]\npg1-host=nowhere.svc\npg1-port=5432", repoHost, () => undefined)).toThrow(
      /no pod/,
    );
  });

  it("maps pgbouncer.ini's listen address and port, and a database's Service port to the Service stand-in; nothing else", () => {
    const ini = [
      "; Generated",
      "[databases]",
      "* = host=hippo-primary.e2e.svc port=5432",
      "local = host=127.0.0.1 port=5432 dbname=x",
      "",
      "[pgbouncer]",
      "auth_file = /etc/pgbouncer/users.txt",
      "listen_addr = *",
      "listen_port = 5432",
      "server_tls_sslmode = verify-ca",
    ].join("\n");
    expect(isPgBouncerIni(ini)).toBe(true);
    expect(isPgBouncerIni("[global]\nrepo1-path=/x\n")).toBe(false);
    const out = mapPgBouncerIni(ini, place, (h, port) =>
      h === "hippo-primary.e2e.svc" && port === 5432 ? 24001 : undefined,
    );
    expect(out.split("\n")).toEqual([
      "; Generated",
      "[databases]",
      "* = host=hippo-primary.e2e.svc port=24001",
      "local = host=127.0.0.1 port=5432 dbname=x",
      "",
      "[pgbouncer]",
      "auth_file = /etc/pgbouncer/users.txt",
      "listen_addr = 127.0.0.1",
      "listen_port = 21001",
      "server_tls_sslmode = verify-ca",
    ]);
    expect(() => mapPgBouncerIni("[databases]\n* = host=nowhere.svc\n[pgbouncer]\n", place, () => undefined)).toThrow(
      /no Service/,
    );
  });
});
