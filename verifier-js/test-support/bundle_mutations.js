/**
 * Every small change to a proof bundle that a verifier must refuse, field by field: a port
 * of tests/bundle_mutations.py, so that Node runs the same cases as Python.
 *
 * For every leaf of the bundle's JSON (a number, text, true/false or null at some path) the
 * changes that apply to its kind: +1, -1, +0.5, the number as a string, null, the field
 * removed, a hex digit flipped, the letter case swapped; for every object an extra field;
 * for every list of hashes a hash dropped, duplicated or two swapped; and each part (event,
 * inclusion, checkpoint, anchor) spliced from another bundle. Changes that leave the bundle
 * as it was are skipped. Each case names the field it changed.
 */

const PARTS = ["event", "inclusion", "checkpoint", "anchor"];
const HEX = "0123456789abcdef";

/** @typedef {(string | number)[]} Path */

/**
 * `a.b[0].c` for the path ["a", "b", 0, "c"].
 * @param {Path} path
 */
export function fieldName(path) {
  let out = "";
  for (const part of path) out += typeof part === "number" ? `[${part}]` : out ? `.${part}` : part;
  return out;
}

const isObject = (/** @type {unknown} */ v) =>
  v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * @param {any} value
 * @param {Path} [path]
 * @returns {Generator<[Path, any]>}
 */
function* leaves(value, path = []) {
  if (isObject(value))
    for (const [key, item] of Object.entries(value)) yield* leaves(item, [...path, key]);
  else if (Array.isArray(value))
    for (const [i, item] of value.entries()) yield* leaves(item, [...path, i]);
  else yield [path, value];
}

/**
 * @param {any} value
 * @param {Path} [path]
 * @returns {Generator<[Path, any]>}
 */
function* containers(value, path = []) {
  if (!isObject(value) && !Array.isArray(value)) return;
  yield [path, value];
  const items = Array.isArray(value) ? [...value.entries()] : Object.entries(value);
  for (const [key, item] of items) yield* containers(item, [...path, key]);
}

/**
 * A copy of `bundle` with the value at `path` replaced (or removed).
 * @param {Record<string, any>} bundle
 * @param {Path} path
 * @param {unknown} value
 * @param {{remove?: boolean}} [options]
 */
function set(bundle, path, value, { remove = false } = {}) {
  const changed = structuredClone(bundle);
  let target = changed;
  for (const part of path.slice(0, -1)) target = target[part];
  const last = /** @type {string | number} */ (path.at(-1));
  if (remove) delete target[last];
  else target[last] = value;
  return changed;
}

/**
 * The text with its last hex digit (not the x of 0x) moved on by one, case kept.
 * @param {string} text
 * @returns {string | null}
 */
function flipHex(text) {
  for (let i = text.length - 1; i >= 0; i--) {
    const digit = text[i].toLowerCase();
    if (HEX.includes(digit) && digit.length === 1) {
      const flipped = HEX[(HEX.indexOf(digit) + 1) % 16];
      const upper = text[i] !== digit;
      return text.slice(0, i) + (upper ? flipped.toUpperCase() : flipped) + text.slice(i + 1);
    }
  }
  return null;
}

/** Python's str.swapcase, code point by code point. */
function swapCase(/** @type {string} */ text) {
  return Array.from(text, (ch) => {
    const lower = ch.toLowerCase();
    return ch === lower ? ch.toUpperCase() : lower;
  }).join("");
}

/**
 * @param {unknown} value
 * @returns {Generator<[string, unknown]>}
 */
function* changes(value) {
  if (typeof value === "boolean") {
    yield ["negated", !value];
    yield ["as a string", JSON.stringify(value)];
  } else if (typeof value === "number") {
    yield ["+1", value + 1];
    yield ["-1", value - 1];
    yield ["+0.5", value + 0.5];
    yield ["as a string", String(value)];
  } else if (typeof value === "string") {
    const flipped = flipHex(value);
    if (flipped !== null) yield ["a hex digit flipped", flipped];
    yield ["case swapped", swapCase(value)];
    yield ["a character added", `${value}0`];
  }
  if (value !== null) yield ["null", null];
}

/**
 * `[description, field, mutated bundle]` of every change to one bundle.
 * @param {Record<string, any>} bundle
 * @returns {Generator<[string, string, Record<string, any>]>}
 */
export function* mutations(bundle) {
  for (const [path, value] of leaves(bundle)) {
    for (const [what, changed] of changes(value))
      yield [what, fieldName(path), set(bundle, path, changed)];
    if (typeof path.at(-1) !== "number") {
      yield ["removed", fieldName(path), set(bundle, path, null, { remove: true })];
    }
  }
  for (const [path, container] of containers(bundle)) {
    if (!Array.isArray(container)) {
      const extra = [...path, "extra"];
      yield ["an extra field", fieldName(extra), set(bundle, extra, 1)];
    } else if (
      container.length &&
      container.every((h) => typeof h === "string" && h.length === 64)
    ) {
      const name = fieldName(path);
      yield ["a hash dropped", name, set(bundle, path, container.slice(0, -1))];
      yield ["a hash duplicated", name, set(bundle, path, [...container, container.at(-1)])];
      if (container.length > 1) {
        const swapped = [container[1], container[0], ...container.slice(2)];
        yield ["two hashes swapped", name, set(bundle, path, swapped)];
      }
    }
  }
}

/**
 * Each part of `bundle` replaced by the same part of another bundle.
 * @param {Record<string, any>} bundle
 * @param {Record<string, any>[]} others
 * @returns {Generator<[string, string, Record<string, any>]>}
 */
export function* splices(bundle, others) {
  for (const other of others) {
    for (const part of PARTS) {
      if (sortedJson(other[part]) !== sortedJson(bundle[part])) {
        const spliced = set(bundle, [part], structuredClone(other[part]));
        yield [`${part} spliced from event ${other.leaf_index}`, part, spliced];
      }
    }
  }
}

/**
 * Every mutation and splice, each once (cases that change nothing are left out).
 * @param {Record<string, any>} bundle
 * @param {Record<string, any>[]} others
 * @returns {Generator<[string, string, Record<string, any>]>}
 */
export function* tamperCases(bundle, others) {
  const seen = new Set([sortedJson(bundle)]);
  for (const [what, field, changed] of [...mutations(bundle), ...splices(bundle, others)]) {
    const key = sortedJson(changed);
    if (!seen.has(key)) {
      seen.add(key);
      yield [`${field}: ${what}`, field, changed];
    }
  }
}

/**
 * True when a failing check that covers `fields` names `field` (or a part around it).
 * @param {string} field
 * @param {string[]} fields
 */
export function covered(field, fields) {
  return fields.some(
    (name) =>
      name === "" ||
      name === field ||
      field.startsWith(`${name}.`) ||
      field.startsWith(`${name}[`) ||
      name.startsWith(`${field}.`) ||
      name.startsWith(`${field}[`),
  );
}

/**
 * JSON with sorted keys: one text per value, as Python's json.dumps(sort_keys=True).
 * @param {unknown} value
 * @returns {string}
 */
export function sortedJson(value) {
  return JSON.stringify(value, (_, v) =>
    isObject(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v,
  );
}
