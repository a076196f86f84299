// `kubectl kustomize` (Go's YAML reader, as `kubectl apply` reads) on what `shfn k8s render`
// writes: deploy/k8s as committed, the TLS overlay docs/deploy.md shows, and a render of the
// spec with every option, whose ConfigMaps must come through byte for byte. Without kubectl
// this test is reported as skipped (exit 77), never as passed.
//   SHFN_BIN=build/src/cli/shfn node tests/k8s/kustomize.test.mjs
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";

import { ROOT, byName, mountedFiles, parseManifests, problems, shfn } from "./lib.mjs";

const kubectl = process.env.KUBECTL || "kubectl";
if (spawnSync(kubectl, ["version", "--client"], { encoding: "utf8" }).status !== 0) {
  console.log(`SKIPPED: ${kubectl} not found: the kustomize checks did not run (install kubectl)`);
  process.exit(77);
}

const scratch = mkdtempSync(path.join(os.tmpdir(), "shfn-k8s-kustomize-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

function kustomize(dir) {
  const r = spawnSync(kubectl, ["kustomize", dir], { encoding: "utf8", maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `kubectl kustomize ${dir}: ${r.stderr}`);
  const docs = parseManifests(r.stdout);
  const found = docs.flatMap(problems);
  assert.deepEqual(found, [], found.join("\n"));
  return docs;
}

test("kubectl kustomize deploy/k8s", () => {
  const docs = kustomize(path.join(ROOT, "deploy/k8s"));
  const kinds = docs.map((d) => `${d.kind}/${d.metadata.name}`).sort();
  assert.deepEqual(kinds, [
    "ConfigMap/reverse", "ConfigMap/reverse-arg", "Service/reverse", "Service/reverse-arg",
    "StatefulSet/reverse", "StatefulSet/reverse-arg",
  ]);
});

test("the TLS overlay of docs/deploy.md builds, and the docs show it as tested", () => {
  const overlay = path.join(ROOT, "tests/k8s/overlays/tls");
  for (const sts of kustomize(overlay).filter((d) => d.kind === "StatefulSet")) {
    const pod = sts.spec.template.spec;
    const c = pod.containers[0];
    assert.ok(c.env.some((e) => e.name === "SHFN_TLS_TRUST_CERTS" && e.value === "/etc/shfn/pulsar/ca.crt"));
    assert.ok(c.volumeMounts.some((m) => m.name === "pulsar-ca" && m.mountPath === "/etc/shfn/pulsar"));
    assert.ok(pod.volumes.some((v) => v.secret?.secretName === "shfn-pulsar"));
  }
  const text = readFileSync(path.join(overlay, "kustomization.yaml"), "utf8");
  const patches = text.slice(text.indexOf("patches:"));
  const docs = readFileSync(path.join(ROOT, "docs/deploy.md"), "utf8");
  assert.ok(docs.includes(patches), "docs/deploy.md must show tests/k8s/overlays/tls's patches as they are");
});

test("ConfigMaps come through Go's YAML reader byte for byte", () => {
  const spec = "tests/k8s/specs/everything/everything.yaml";
  const out = path.join(scratch, "everything");
  shfn(["k8s", "render", spec, "-o", out]);
  const docs = kustomize(out);
  const specDir = path.dirname(path.join(ROOT, spec));
  let compared = 0;
  for (const sts of docs.filter((d) => d.kind === "StatefulSet")) {
    const { configMap, statefulSet } = byName(docs, sts.metadata.name);
    for (const [p, bytes] of mountedFiles(configMap, statefulSet)) {
      if (p === path.basename(spec)) continue;
      assert.ok(bytes.equals(readFileSync(path.join(specDir, p))), `${p} changed on the way`);
      compared++;
    }
  }
  assert.ok(compared >= 4, `only ${compared} scripts compared`);
});

test("flows: their multi-document specs come through Go's YAML reader unchanged", () => {
  const spec = "tests/k8s/specs/flows/flows.yaml";
  const out = path.join(scratch, "flows");
  shfn(["k8s", "render", spec, "-o", out]);
  const docs = kustomize(out);
  const direct = parseManifests(shfn(["k8s", "render", spec]).stdout.toString());
  const maps = direct.filter((d) => d.kind === "ConfigMap");
  assert.deepEqual(maps.map((d) => d.metadata.name).sort(), ["odd-even", "shout", "tick", "tidy"]);
  for (const cm of maps) {
    const through = byName(docs, cm.metadata.name).configMap;
    assert.deepEqual(through.data, cm.data, `${cm.metadata.name}: changed on the way`);
  }
});
