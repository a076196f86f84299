// Shared by the tests of `shfn k8s render`: running the binary, reading its YAML, and validating
// each document against Kubernetes' own schemas (kubernetes-models, Kubernetes 1.27's OpenAPI)
// plus a check those schemas leave out: fields they do not know.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

// The npm packages live in tests/k8s/node_modules, installed from package-lock.json.
async function load(name) {
  try {
    return await import(name);
  } catch (e) {
    console.error(`cannot load ${name} (${e.code}): run scripts/setup.sh (npm ci in tests/k8s)`);
    process.exit(1);
  }
}
const { parseAllDocuments } = await load("yaml");
const { ConfigMap } = await load("kubernetes-models/v1/ConfigMap");
const { Secret } = await load("kubernetes-models/v1/Secret");
const { Service } = await load("kubernetes-models/v1/Service");
const { StatefulSet } = await load("kubernetes-models/apps/v1/StatefulSet");

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export function shfnBinary() {
  const bin = process.env.SHFN_BIN;
  if (!bin || !existsSync(bin)) {
    throw new Error("SHFN_BIN must name the shfn binary: run these tests through ctest");
  }
  return bin;
}

// Runs `shfn ...args`; fails the caller unless it exits 0 (when `ok`).
export function shfn(args, { cwd = ROOT, ok = true } = {}) {
  const r = spawnSync(shfnBinary(), args, { cwd, encoding: "buffer", maxBuffer: 64 << 20 });
  if (ok && r.status !== 0) {
    throw new Error(`shfn ${args.join(" ")} exited ${r.status}: ${r.stderr.toString()}`);
  }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

// Every document of a YAML stream, read with the YAML 1.2 core schema and again as YAML 1.1
// (Kubernetes' reader): a scalar the two read differently ("on", "0555") is an error.
export function parseManifests(text) {
  const read = (version) => {
    const docs = parseAllDocuments(text, { version, uniqueKeys: true });
    for (const d of docs) {
      if (d.errors.length) throw new Error(`YAML ${version}: ${d.errors[0].message}`);
    }
    return docs.map((d) => d.toJS({ maxAliasCount: 0 })).filter((d) => d !== null);
  };
  const modern = read("1.2");
  const legacy = read("1.1");
  if (JSON.stringify(modern) !== JSON.stringify(legacy)) {
    throw new Error("YAML 1.1 and 1.2 read the manifests differently: a scalar needs quoting");
  }
  return modern;
}

const models = {
  "v1/ConfigMap": ConfigMap,
  "v1/Secret": Secret,
  "v1/Service": Service,
  "apps/v1/StatefulSet": StatefulSet,
};

// Wraps every object so that the fields the validator reads are recorded: the compiled schema
// reads each field it knows by name, and walks maps (labels, data) key by key, so a field never
// read is one Kubernetes does not have (the API server would refuse or drop it).
function tracked(value, where, seen) {
  if (Array.isArray(value)) return value.map((v, i) => tracked(v, `${where}/${i}`, seen));
  if (value === null || typeof value !== "object") return value;
  const read = new Set();
  const copy = {};
  for (const [k, v] of Object.entries(value)) copy[k] = tracked(v, `${where}/${k}`, seen);
  seen.push({ where, keys: Object.keys(value), read });
  return new Proxy(copy, {
    get(target, key, receiver) {
      if (typeof key === "string") read.add(key);
      return Reflect.get(target, key, receiver);
    },
  });
}

// The problems of one document: an unknown kind, what the schema refuses, unknown fields.
export function problems(doc) {
  const kind = `${doc?.apiVersion}/${doc?.kind}`;
  const Model = models[kind];
  if (!Model) return [`unknown kind ${kind}: no schema to check it against`];
  const out = [];
  try {
    new Model(doc).validate();
  } catch (e) {
    out.push(`${kind} ${doc.metadata?.name}: ${e.message}`);
  }
  const seen = [];
  try {
    Model.prototype.validate.call(tracked(doc, "", seen));
  } catch {
    // reported above
  }
  for (const { where, keys, read } of seen) {
    for (const k of keys) {
      if (!read.has(k)) out.push(`${kind} ${doc.metadata?.name}: unknown field ${where}/${k}`);
    }
  }
  return out;
}

// The files a ConfigMap's volume shows, by path: the StatefulSet's items map keys to paths.
export function mountedFiles(configMap, statefulSet) {
  const volume = statefulSet.spec.template.spec.volumes.find((v) => v.configMap);
  const files = new Map();
  for (const { key, path: p } of volume.configMap.items) {
    if (configMap.data && key in configMap.data) {
      files.set(p, Buffer.from(configMap.data[key], "utf8"));
    } else if (configMap.binaryData && key in configMap.binaryData) {
      files.set(p, Buffer.from(configMap.binaryData[key], "base64"));
    } else {
      throw new Error(`ConfigMap ${configMap.metadata.name} has no key ${key}`);
    }
  }
  return files;
}

// What the pod template's shfn.dev/config-sha256 must be (src/k8s/manifest.h): SHA-256 over
// the entries sorted by key, each KEY NUL LENGTH NUL BYTES.
export function configChecksum(configMap) {
  const entries = [];
  for (const [k, v] of Object.entries(configMap.data ?? {})) entries.push([k, Buffer.from(v, "utf8")]);
  for (const [k, v] of Object.entries(configMap.binaryData ?? {})) entries.push([k, Buffer.from(v, "base64")]);
  entries.sort(([a], [b]) => (Buffer.compare(Buffer.from(a), Buffer.from(b))));
  const h = createHash("sha256");
  for (const [k, bytes] of entries) {
    h.update(k);
    h.update("\0");
    h.update(String(bytes.length));
    h.update("\0");
    h.update(bytes);
  }
  return h.digest("hex");
}

// The documents of one workload, by kind.
export function byName(docs, name) {
  const of = (kind) => docs.find((d) => d.kind === kind && d.metadata?.name === name);
  return { configMap: of("ConfigMap"), service: of("Service"), statefulSet: of("StatefulSet") };
}
