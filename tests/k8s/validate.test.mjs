// Every manifest `shfn k8s render` makes (the examples, a spec using every option, one with
// flows, deploy/k8s) validated offline against Kubernetes' schemas, its ConfigMaps compared byte
// for byte with the files on disk, the spec each pod gets validated by `shfn validate` as the
// pod will load it, and rendering shown to be deterministic.
//   SHFN_BIN=build/src/cli/shfn node tests/k8s/validate.test.mjs
import assert from "node:assert/strict";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
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
  "examples/odd-even/odd-even.yaml",
  "tests/k8s/specs/everything/everything.yaml",
  "tests/k8s/specs/flows/flows.yaml",
];

const scratch = mkdtempSync(path.join(os.tmpdir(), "shfn-k8s-validate-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

// The names of the documents of a spec text.
const documentNames = (text) => parseManifests(text).map((d) => d.metadata.name);

// /app as a pod sees it (the image's copy of the spec's directory, the ConfigMap's files over
// it), and `shfn validate` of the spec there: what the pod's `shfn run` loads first.
function validateAsPod(spec, name, files) {
  const app = path.join(scratch, "pods", path.basename(spec, ".yaml"), name);
  cpSync(path.dirname(path.join(ROOT, spec)), app, { recursive: true });
  for (const [p, bytes] of files) {
    writeFileSync(path.join(app, p), bytes);
    chmodSync(path.join(app, p), 0o555);
  }
  const r = shfn(["validate", path.join(app, path.basename(spec))], { ok: false });
  assert.equal(r.status, 0, `${name}: the pod's spec does not load: ${r.stderr}`);
}

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
    assert.equal(docs.length, 1 + 3 * names.length, "a Secret, then three documents per workload");

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
      // Every file but the spec is the file on disk, byte for byte; the spec is a function's
      // document alone, or a flow's with those it refers to, run alone with --only.
      const files = mountedFiles(configMap, statefulSet);
      const specName = path.basename(spec);
      const container = pod.spec.containers[0];
      const component = statefulSet.metadata.labels["app.kubernetes.io/component"];
      for (const [p, bytes] of files) {
        if (p === specName) {
          const held = documentNames(bytes.toString());
          if (component === "function") {
            assert.deepEqual(held, [name], `${name}: its own document alone`);
          } else {
            assert.ok(held.includes(name), `${name}: its own document is in its spec`);
            assert.deepEqual(container.command.slice(-2), ["--only", name]);
          }
        } else {
          assert.ok(bytes.equals(readFileSync(path.join(specDir, p))), `${name}: ${p} differs`);
        }
      }
      assert.ok(["function", "flow", "source"].includes(component), `${name}: ${component}`);
      if (component === "function") assert.ok(!container.command.includes("--only"));
      validateAsPod(spec, name, files);
      assert.equal(container.command.at(4), `/app/${specName}`);
      for (const p of files.keys()) {
        assert.ok(container.volumeMounts.some((m) => m.mountPath === `/app/${p}` && m.subPath === p));
      }
    }
  });
}

test("the spec with every option renders what it asks for", () => {
  const docs = parseManifests(shfn(["k8s", "render", "tests/k8s/specs/everything/everything.yaml"]).stdout.toString());
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

test("flows and cron sources: one workload each, holding what they refer to, run alone", () => {
  const spec = "tests/k8s/specs/flows/flows.yaml";
  const docs = parseManifests(shfn(["k8s", "render", spec]).stdout.toString());
  const sets = docs.filter((d) => d.kind === "StatefulSet");
  // is-even and trim have no inputs: they run only inside the flows' pods.
  assert.deepEqual(
    sets.map((d) => [d.metadata.name, d.metadata.labels["app.kubernetes.io/component"], d.spec.replicas]),
    [["shout", "function", 1], ["odd-even", "flow", 1], ["tidy", "flow", 1], ["tick", "source", 1]],
  );
  const held = (name) => {
    const { configMap, statefulSet } = byName(docs, name);
    const files = mountedFiles(configMap, statefulSet);
    return {
      documents: documentNames(files.get("flows.yaml").toString()).sort(),
      scripts: [...files.keys()].filter((p) => p !== "flows.yaml"),
    };
  };
  // The Parallel's reply names the Sequence, whose document needs its step's Function.
  assert.deepEqual(held("odd-even"), {
    documents: ["is-even", "odd-even", "shout", "tidy", "trim"],
    scripts: ["bin/is-even.sh", "bin/shout.sh", "bin/trim.sh"],
  });
  assert.deepEqual(held("tidy"), { documents: ["tidy", "trim"], scripts: ["bin/trim.sh"] });
  assert.deepEqual(held("tick").documents, ["is-even", "odd-even", "shout", "tick", "tidy", "trim"]);
  assert.deepEqual(held("shout"), { documents: ["shout"], scripts: ["bin/shout.sh"] });
  const grace = (name) => byName(docs, name).statefulSet.spec.template.spec.terminationGracePeriodSeconds;
  assert.equal(grace("odd-even"), 30 + 10 + 4, "is-even's killGraceMs, rounded up");
  assert.equal(grace("tick"), 30 + 10, "a cron source runs no process");
  for (const name of ["odd-even", "tidy", "tick"]) {
    const { service, statefulSet } = byName(docs, name);
    assert.deepEqual(statefulSet.spec.template.spec.containers[0].command.slice(-2), ["--only", name]);
    assert.deepEqual(service.spec.selector, statefulSet.spec.selector.matchLabels);
  }
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
