/**
 * The two builds every test runs against: the source modules (what Node users import) and
 * the self-contained browser file dist/carbon-verifier.js (what browsers import).
 */

export const IMPLEMENTATIONS = Object.entries({
  src: await import("../src/index.js"),
  dist: await import("../dist/carbon-verifier.js"),
});
