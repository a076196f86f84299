// A pod of a rendered StatefulSet, played without a cluster: /app laid out as the image has it
// with the ConfigMap's files mounted over it, the container's command and environment taken from
// the manifest (the Secret's `url` pointing at an embedded broker started here, the pod name
// reverse-2), then a message through it. Proves that what the manifest runs works: the
// function's own document, the ordinal as instance id, one message at a time per pod, a clean
// stop on SIGTERM within the grace period.
//   SHFN_BIN=build/src/cli/shfn node tests/k8s/pod.test.mjs
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { promisify } from "node:util";

import { ROOT, byName, mountedFiles, parseManifests, shfn, shfnBinary } from "./lib.mjs";

const scratch = mkdtempSync(path.join(os.tmpdir(), "shfn-k8s-pod-"));
const children = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  rmSync(scratch, { recursive: true, force: true });
});

// Starts a process and resolves with the first stdout line matching `ready`, within `seconds`.
function start(command, args, { env, ready, seconds = 30 }) {
  const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let out = "";
  let err = "";
  child.stderr.on("data", (d) => (err += d));
  const line = new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${path.basename(command)} not ready in ${seconds}s:\n${out}${err}`)),
      seconds * 1000,
    );
    child.stdout.on("data", (d) => {
      out += d;
      const m = out.match(ready);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${path.basename(command)} exited ${code}:\n${out}${err}`));
    });
  });
  return { child, line, output: () => out + err };
}

async function until(what, seconds, check) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${seconds}s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("a pod of the reverse StatefulSet reverses messages as instance 2", async () => {
  const spec = "examples/reverse/reverse.yaml";
  const docs = parseManifests(shfn(["k8s", "render", spec]).stdout.toString());
  const { configMap, statefulSet } = byName(docs, "reverse");
  const pod = statefulSet.spec.template.spec;
  const container = pod.containers[0];

  // /app: the image's copy of the spec's directory, then the ConfigMap's files over it.
  const app = path.join(scratch, "app");
  cpSync(path.dirname(path.join(ROOT, spec)), app, { recursive: true });
  const mode = pod.volumes.find((v) => v.configMap).configMap.defaultMode;
  for (const [p, bytes] of mountedFiles(configMap, statefulSet)) {
    mkdirSync(path.dirname(path.join(app, p)), { recursive: true });
    writeFileSync(path.join(app, p), bytes);
    chmodSync(path.join(app, p), mode);
  }
  const tmp = path.join(scratch, "tmp");
  mkdirSync(tmp);

  const broker = start(
    shfnBinary(),
    ["broker", "--listen", "127.0.0.1:0", "--data-dir", path.join(scratch, "data"), "--admin", "off"],
    { env: process.env, ready: /shfn broker ready on (\S+)/ },
  );
  const [, url] = await broker.line;

  // The container's environment, as the kubelet would make it.
  const secret = { url };  // no `token`: the optional reference is left out
  const env = { PATH: process.env.PATH };
  for (const e of container.env) {
    if (e.valueFrom?.secretKeyRef) {
      const { key, optional } = e.valueFrom.secretKeyRef;
      if (key in secret) env[e.name] = secret[key];
      else assert.ok(optional, `${e.name}: the Secret has no ${key}`);
    } else if (e.valueFrom?.fieldRef) {
      assert.equal(e.valueFrom.fieldRef.fieldPath, "metadata.name");
      env[e.name] = "reverse-2";
    } else {
      env[e.name] = e.value === "/tmp" ? tmp : e.value;  // the emptyDir
    }
  }
  // The command, with /app and the admin port moved to this machine, tini left out.
  const command = [...container.command];
  assert.deepEqual(command.slice(0, 4), ["tini", "--", "shfn", "run"]);
  const args = command.slice(3).map((a) =>
    a.startsWith("/app/") ? path.join(app, a.slice(5)) : a === "0.0.0.0:8081" ? "127.0.0.1:0" : a,
  );
  const run = start(shfnBinary(), args, { env, ready: /shfn admin ready on (\S+)/ });
  const [, admin] = await run.line;
  assert.doesNotMatch(run.output(), /shfn broker ready/, "no embedded broker in a pod");

  const probe = (p) => fetch(admin + p).then((r) => r.status, () => 0);
  await until("/readyz", 30, async () => (await probe("/readyz")) === 200);
  assert.equal(await probe("/healthz"), 200);
  const status = await fetch(admin + "/status").then((r) => r.json());
  assert.equal(status.instances.length, 1, "the pod runs its own function only");
  assert.equal(status.instances[0].function, "reverse");
  assert.equal(status.instances[0].instance, 2);
  assert.equal(status.instances[0].parallelism, 1);

  // Asynchronously, so that the pipes of the processes above keep being read meanwhile.
  const client = (args) => promisify(execFile)(shfnBinary(), [...args, "--url", url], { timeout: 60000 });
  await client(["produce", "reverse-in", "-m", "hello pod"]);
  const consumed = await client(["consume", "reverse-out", "-s", "check", "-n", "1", "-p", "earliest"]);
  assert.equal(consumed.stdout.trim(), "dop olleh");

  // SIGTERM (what the kubelet sends): a clean exit well within the grace period.
  const exited = new Promise((resolve) => run.child.on("exit", (code, signal) => resolve({ code, signal })));
  run.child.kill("SIGTERM");
  const grace = pod.terminationGracePeriodSeconds;
  let timer;
  const result = await Promise.race([
    exited,
    new Promise((r) => (timer = setTimeout(() => r("still running"), grace * 1000))),
  ]);
  clearTimeout(timer);
  assert.deepEqual(result, { code: 0, signal: null }, run.output());
});
