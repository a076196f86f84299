// Every manifest `shfn k8s render` makes (the examples, a spec using every option, deploy/k8s)
// validated offline against Kubernetes' schemas, its ConfigMaps compared byte for byte with the
// files on disk, and rendering shown to be deterministic.
//   SHFN_BIN=build/src/cli/shfn node tests/k8s/validate.test.mjs
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";

import {
  ROOT,
  byName,
  configChecksum,
  mountedFiles,
  parseManifests,
  problems,
  shfn,
} from "./lib.mjs";

const specs = [
  "examples/reverse/reverse.yaml",
  "examples/flaky/flaky.yaml",
  "examples/json-transform/transform.yaml",
  "tests/k8s/specs/everything/everything.yaml",
];

const scratch = mkdtempSync(path.join(os.tmpdir(), "shfn-k8s-validate-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

function assertValid(docs, what) {
  const found = docs.flatMap(problems);
  assert.deepEqual(found, [], `${what}:\n${found.join("\n")}`);
}

test("the validator catches what Kubernetes would refuse", () => {
  const good = parseManifests(shfn(["k8s", "render", specs[0]]).stdout.toString());
  assertValid(good, "the reverse example");
  const sts = good.find((d) => d.kind === "StatefulSet");
  const broken = (change) => {
    const copy = structuredClone(sts);
    change(copy);
    return problems(copy);
  };
  assert.match(broken((s) => (s.spec.replicas = "two")).join(), /replicas must be integer/);
  assert.match(broken((s) => (s.spec.replicaz = 2)).join(), /unknown field \/spec\/replicaz/);
  assert.match(
    broken((s) => (s.spec.template.spec.containers[0].securityContext.readOnlyRootFilesystm = true)).join(),
    /unknown field .*readOnlyRootFilesystm/,
  );
  assert.match(
    broken((s) => (s.spec.podManagementPolicy = "parallel")).join(),
    /podManagementPolicy must be equal to one of the allowed values/,
  );
  assert.match(broken((s) => (s.kind = "StatefulSets")).join(), /unknown kind apps\/v1\/StatefulSets/);
  const cm = good.find((d) => d.kind === "ConfigMap");
  assert.match(problems({ ...cm, data: { n: 1 } }).join(), /must be string/);
  // A scalar YAML 1.1 reads differently from YAML 1.2.
  assert.throws(() => parseManifests("a: on\n"), /read the manifests differently/);
  assert.throws(() => parseManifests("a: 0555\n"), /read the manifests differently/);
});

for (const spec of specs) {
  test(`${spec}: every document is valid and carries the spec's files`, () => {
    const out = shfn(["k8s", "render", spec, "--url", "pulsar+ssl://pulsar.example:6651"]);
    const docs = parseManifests(out.stdout.toString());
    assertValid(docs, spec);

    const secret = docs.find((d) => d.kind === "Secret");
    assert.equal(secret?.stringData?.url, "pulsar+ssl://pulsar.example:6651");
    const names = [...new Set(docs.filter((d) => d.kind === "StatefulSet").map((d) => d.metadata.name))];
    assert.ok(names.length >= 1);
    assert.equal(docs.length, 1 + 3 * names.length, "a Secret, then three documents per function");

    const specDir = path.dirname(path.join(ROOT, spec));
    for (const name of names) {
      const { configMap, service, statefulSet } = byName(docs, name);
      assert.ok(configMap && service && statefulSet, `${name}: ConfigMap, Service and StatefulSet`);
      const pod = statefulSet.spec.template;
      assert.equal(pod.metadata.annotations["shfn.dev/config-sha256"], configChecksum(configMap));
      assert.equal(statefulSet.spec.serviceName, service.metadata.name);
      assert.deepEqual(service.spec.selector, statefulSet.spec.selector.matchLabels);
      for (const [k, v] of Object.entries(statefulSet.spec.selector.matchLabels)) {
        assert.equal(pod.metadata.labels[k], v);
      }
      // Every file but the spec is the file on disk, byte for byte; the spec is this function's
      // document alone.
      const files = mountedFiles(configMap, statefulSet);
      const specName = path.basename(spec);
      for (const [p, bytes] of files) {
        if (p === specName) {
          assert.match(bytes.toString(), new RegExp(`name: ${name}\\b`));
          assert.equal(parseManifests(bytes.toString()).length, 1, `${name}: one document`);
        } else {
          assert.ok(bytes.equals(readFileSync(path.join(specDir, p))), `${name}: ${p} differs`);
        }
      }
      const container = pod.spec.containers[0];
      assert.equal(container.command.at(4), `/app/${specName}`);
      for (const p of files.keys()) {
        assert.ok(container.volumeMounts.some((m) => m.mountPath === `/app/${p}` && m.subPath === p));
      }
    }
  });
}

test("the spec with every option renders what it asks for", () => {
  const docs = parseManifests(shfn(["k8s", "render", specs[3]]).stdout.toString());
  const ingest = byName(docs, "ingest").statefulSet;
  assert.equal(ingest.spec.replicas, 3);
  const c = ingest.spec.template.spec.containers[0];
  assert.deepEqual(c.resources, {
    requests: { cpu: "250m", memory: "128Mi" },
    limits: { cpu: "2", memory: "1Gi" },
  });
  assert.equal(ingest.spec.template.spec.terminationGracePeriodSeconds, 30 + 10 + 3);
  const tricky = byName(docs, "tricky");
  assert.ok(mountedFiles(tricky.configMap, tricky.statefulSet).has("bin/tricky text.sh"));
  assert.ok(byName(docs, "latin1").configMap.binaryData?.["latin1.sh"], "not UTF-8: binaryData");
  assert.match(byName(docs, "keyed").configMap.data["everything.yaml"], /retainKeyOrdering: true/);
});

test("deploy/k8s: every manifest is valid and the kustomization lists them all", () => {
  const dir = path.join(ROOT, "deploy/k8s");
  const files = readdirSync(dir).filter((f) => f.endsWith(".yaml")).sort();
  const kustomization = parseManifests(readFileSync(path.join(dir, "kustomization.yaml"), "utf8"))[0];
  assert.deepEqual(
    [...kustomization.resources].sort(),
    files.filter((f) => f !== "kustomization.yaml"),
  );
  const docs = kustomization.resources.flatMap((f) =>
    parseManifests(readFileSync(path.join(dir, f), "utf8")),
  );
  assertValid(docs, "deploy/k8s");
  assert.deepEqual(
    docs.filter((d) => d.kind === "StatefulSet").map((d) => d.metadata.name),
    ["reverse", "reverse-arg"],
  );
});

test("rendering is deterministic, wherever it runs from", () => {
  for (const spec of specs) {
    const args = ["k8s", "render", "--url", "pulsar://pulsar:6650", "--image", "x/y:1"];
    const fromRoot = shfn([...args, spec]).stdout;
    const again = shfn([...args, spec]).stdout;
    const elsewhere = shfn([...args, path.join(ROOT, spec)], { cwd: os.tmpdir() }).stdout;
    const roundabout = shfn([...args, `../${spec}`], { cwd: path.join(ROOT, "examples") }).stdout;
    assert.ok(fromRoot.equals(again), `${spec}: two renders differ`);
    assert.ok(fromRoot.equals(elsewhere), `${spec}: differs when run from ${os.tmpdir()}`);
    assert.ok(fromRoot.equals(roundabout), `${spec}: differs through a roundabout path`);

    // -o writes the same documents, one file per function, plus the kustomization.
    const out = path.join(scratch, path.basename(spec, ".yaml"));
    const listed = shfn([...args, spec, "-o", out]).stdout.toString().trim().split("\n");
    const kustomization = parseManifests(readFileSync(path.join(out, "kustomization.yaml"), "utf8"))[0];
    assert.deepEqual(listed.map((f) => path.basename(f)), [...kustomization.resources, "kustomization.yaml"]);
    const joined = Buffer.concat(kustomization.resources.map((f) => readFileSync(path.join(out, f))));
    assert.ok(joined.equals(fromRoot), `${spec}: -o files differ from stdout`);
  }
});

test("errors name the file, line and field, as shfn validate does", () => {
  const r = shfn(["k8s", "render", "tests/k8s/specs/bad/outside.yaml"], { ok: false });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^tests\/k8s\/specs\/bad\/outside\.yaml:\d+:\d+: outside\.spec\.script: .*outside the spec's directory/m);
  const url = shfn(["k8s", "render", specs[0], "--url", "http://x"], { ok: false });
  assert.equal(url.status, 2);
  assert.match(url.stderr, /invalid --url/);
});
