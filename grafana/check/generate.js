// Writes generated/<dashboard>.ts declaring `const dashboard: DashboardJson = <json>` for every
// dashboard, so tsc checks each one against Grafana's published schema, including excess
// (misspelled) fields, which TypeScript reports for object literals.
'use strict';
const fs = require('fs');
const path = require('path');

const dashboards = path.join(__dirname, '..', 'dashboards');
const out = path.join(__dirname, 'generated');
fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out);
const files = fs.readdirSync(dashboards).filter((f) => f.endsWith('.json'));
if (files.length === 0) {
  throw new Error(`no dashboards in ${dashboards}`);
}
// The schema declares fields such as thresholds.mode as TypeScript string enums, which a JSON
// literal ("absolute") can never satisfy; Jsonify swaps each string enum for the union of its
// values (`${Enum}`), exactly what Grafana reads from a JSON file, and leaves all else as is.
const header = `import type { Dashboard } from '@grafana/schema';

type Jsonify<T> = T extends string
  ? string extends T
    ? string
    : \`\${T}\`
  : T extends number | boolean | null | undefined
    ? T
    : T extends ReadonlyArray<infer U>
      ? Array<Jsonify<U>>
      : T extends object
        ? { [K in keyof T]: Jsonify<T[K]> }
        : T;
type DashboardJson = Jsonify<Dashboard>;
`;
for (const file of files) {
  // Parse first: a JSON syntax error should name the file, not surface as a TypeScript error.
  const json = JSON.parse(fs.readFileSync(path.join(dashboards, file), 'utf8'));
  const ts =
    header +
    `\n// Generated from grafana/dashboards/${file}; do not edit.\n` +
    `export const dashboard: DashboardJson = ${JSON.stringify(json, null, 2)};\n`;
  fs.writeFileSync(path.join(out, file.replace(/\.json$/, '.ts')), ts);
  console.log(`generated/${file.replace(/\.json$/, '.ts')}`);
}
