// Pods of rendered StatefulSets, played without a cluster: /app laid out as the image has it
// with the ConfigMap's files mounted over it, the container's command and environment taken from
// the manifest (the Secret's `url` pointing at an embedded broker started here, the pod's name
// giving its ordinal), then messages through it. Proves that what the manifests run works: a
// function's own document, the ordinal as instance id, one message at a time per pod, a flow's
// documents run alone (--only), a cron source publishing, a clean stop on SIGTERM within the
// grace period.
//   SHFN_BIN=build/src/cli/shfn node tests/k8s/pod.test.mjs
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
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

// The broker the pods' Secret points at.
let url;
before(async () => {
  const broker = start(
    shfnBinary(),
    ["broker", "--listen", "127.0.0.1:0", "--data-dir", path.join(scratch, "data"), "--admin", "off"],
    { env: process.env, ready: /shfn broker ready on (\S+)/ },
  );
  [, url] = await broker.line;
});

// Asynchronously, so that the pipes of the processes above keep being read meanwhile.
const client = (args) =>
  promisify(execFile)(shfnBinary(), [...args, "--url", url], { timeout: 60000 });

// Starts the pod `podName` of the workload `name` rendered from `spec`, and waits for its admin
// endpoint to answer /readyz. `extraEnv` is added to what the manifest gives.
async function startPod(spec, name, podName, extraEnv = {}) {
  const docs = parseManifests(shfn(["k8s", "render", spec]).stdout.toString());
  const { configMap, statefulSet } = byName(docs, name);
  const pod = statefulSet.spec.template.spec;
  const container = pod.containers[0];

  // /app: the image's copy of the spec's directory, then the ConfigMap's files over it.
  const app = path.join(scratch, podName, "app");
  cpSync(path.dirname(path.join(ROOT, spec)), app, { recursive: true });
  const mode = pod.volumes.find((v) => v.configMap).configMap.defaultMode;
  for (const [p, bytes] of mountedFiles(configMap, statefulSet)) {
    mkdirSync(path.dirname(path.join(app, p)), { recursive: true });
    writeFileSync(path.join(app, p), bytes);
    chmodSync(path.join(app, p), mode);
  }
  const tmp = path.join(scratch, podName, "tmp");
  mkdirSync(tmp);

  // The container's environment, as the kubelet would make it.
  const secret = { url }; // no `token`: the optional reference is left out
  const env = { PATH: process.env.PATH };
  for (const e of container.env) {
    if (e.valueFrom?.secretKeyRef) {
      const { key, optional } = e.valueFrom.secretKeyRef;
      if (key in secret) env[e.name] = secret[key];
      else assert.ok(optional, `${e.name}: the Secret has no ${key}`);
    } else if (e.valueFrom?.fieldRef) {
      assert.equal(e.valueFrom.fieldRef.fieldPath, "metadata.name");
      env[e.name] = podName;
    } else {
      env[e.name] = e.value === "/tmp" ? tmp : e.value; // the emptyDir
    }
  }
  Object.assign(env, extraEnv);
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
  await until(`${podName} /readyz`, 30, async () => (await probe("/readyz")) === 200);
  assert.equal(await probe("/healthz"), 200);
  const status = () => fetch(admin + "/status").then((r) => r.json());
  return { run, pod, container, status };
}

// SIGTERM (what the kubelet sends): a clean exit well within the grace period.
async function stopPod({ run, pod }) {
  const exited = new Promise((resolve) => run.child.on("exit", (code, signal) => resolve({ code, signal })));
  run.child.kill("SIGTERM");
  let timer;
  const result = await Promise.race([
    exited,
    new Promise((r) => (timer = setTimeout(() => r("still running"), pod.terminationGracePeriodSeconds * 1000))),
  ]);
  clearTimeout(timer);
  assert.deepEqual(result, { code: 0, signal: null }, run.output());
}

test("a pod of the reverse StatefulSet reverses messages as instance 2", async () => {
  const p = await startPod("examples/reverse/reverse.yaml", "reverse", "reverse-2");
  const status = await p.status();
  assert.equal(status.instances.length, 1, "the pod runs its own function only");
  assert.equal(status.instances[0].function, "reverse");
  assert.equal(status.instances[0].instance, 2);
  assert.equal(status.instances[0].parallelism, 1);

  await client(["produce", "reverse-in", "-m", "hello pod"]);
  const consumed = await client(["consume", "reverse-out", "-s", "check", "-n", "1", "-p", "earliest"]);
  assert.equal(consumed.stdout.trim(), "dop olleh");
  await stopPod(p);
});

const flows = "tests/k8s/specs/flows/flows.yaml";

test("a pod of a Sequence's StatefulSet runs the Sequence, and only it", async () => {
  const p = await startPod(flows, "tidy", "tidy-1");
  const status = await p.status();
  // Its spec also holds trim's document (a step, lent to the stage); nothing runs on its own.
  const names = status.instances.map((i) => i.function);
  assert.ok(names.length >= 2, `the Sequence's stages: ${names}`);
  for (const n of names) assert.match(n, /^tidy-/, `only the Sequence's stages run: ${names}`);
  assert.ok(status.instances.every((i) => i.instance === 1));
  assert.deepEqual(status.sources, []);

  await client(["produce", "tidy", "-m", "  hello flow  "]);
  const consumed = await client(["consume", "tidy-out", "-s", "check", "-n", "1", "-p", "earliest"]);
  assert.equal(consumed.stdout.trim(), "wolf olleh", "trimmed by trim.sh, reversed by rev");
  await stopPod(p);
});

test("a pod of a cron source's StatefulSet publishes its ticks, and runs nothing else", async () => {
  // A virtual clock 600 times faster than the real one: the */5 schedule fires within a second.
  const p = await startPod(flows, "tick", "tick-0", { SHFN_CLOCK: "2026-03-29T00:58:00Z*600" });
  const status = await p.status();
  // Its spec holds the Parallel its sink names (and that Parallel's functions): none of it runs.
  assert.deepEqual(status.instances, [], "no stage of the Parallel, no function");
  assert.deepEqual(status.sources.map((s) => s.source), ["tick"]);

  const consumed = await client(["consume", "odd-even", "-s", "check", "-n", "1", "-p", "earliest"]);
  assert.deepEqual(JSON.parse(consumed.stdout), { n: 2 });
  await stopPod(p);
});
