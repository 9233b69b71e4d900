/** Byte helpers over Uint8Array (no Node Buffer: the library runs in browsers too). */
export { bytesToHex, concatBytes, hexToBytes } from "@noble/hashes/utils.js";

/**
 * @param {Uint8Array} a
 * @param {Uint8Array} b
 * @returns {boolean}
 */
export function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * A non-negative integer as a 32-byte big-endian word (ABI and EIP-712 encoding).
 * @param {number | bigint} value
 * @returns {Uint8Array}
 */
export function word(value) {
  const out = new Uint8Array(32);
  let rest = BigInt(value);
  for (let i = 31; i >= 0 && rest > 0n; i--) {
    out[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return out;
}

/**
 * A big-endian byte string as an unsigned integer.
 * @param {Uint8Array} bytes
 * @returns {bigint}
 */
export function toBigInt(bytes) {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}
