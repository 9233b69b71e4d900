/**
 * Keccak-256, EIP-55 addresses, EIP-712 hashing in the registry's domain and secp256k1
 * signer recovery, on @noble/hashes and @noble/curves.
 *
 * Signatures are 65 bytes r || s || v with v 27 or 28 (0 or 1 accepted when reading) and
 * low s (EIP-2): the high-s twin of a valid signature is refused, so every signature has
 * one accepted form.
 */

import { secp256k1 } from "@noble/curves/secp256k1.js";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { bytesToHex, concatBytes, hexToBytes, toBigInt, word } from "./bytes.js";
import { utf8Bytes } from "./canonical.js";
import { CodedError } from "./errors.js";

export class SignatureError extends CodedError {
  static code = "bad_signature";
  static status = 401;
  static title = "The signature is malformed or does not recover";
}

export const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const HALF_N = SECP256K1_N / 2n;

/**
 * Keccak-256 (Ethereum's, not NIST SHA3-256).
 * @param {Uint8Array} data
 * @returns {Uint8Array}
 */
export function keccak256(data) {
  return keccak_256(data);
}

/**
 * EIP-55 form of a 40-digit lowercase hex address (without 0x).
 * @param {string} lowerHex
 * @returns {string}
 */
export function checksumAddress(lowerHex) {
  const digest = bytesToHex(keccak256(new TextEncoder().encode(lowerHex)));
  let out = "0x";
  for (let i = 0; i < lowerHex.length; i++) {
    const ch = lowerHex[i];
    out += ch >= "a" && parseInt(digest[i], 16) >= 8 ? ch.toUpperCase() : ch;
  }
  return out;
}

/**
 * The EIP-712 hash of a struct whose fields are already encoded as 32-byte words.
 * @param {string} type the encoded type, `Name(type field,...)`
 * @returns {(words: Uint8Array[]) => Uint8Array}
 */
export function structHasher(type) {
  const typeHash = keccak256(new TextEncoder().encode(type));
  return (words) => keccak256(concatBytes(typeHash, ...words));
}

const hashDomain = structHasher(
  "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)",
);
export const DOMAIN_NAME = "CarbonRegistry";
export const DOMAIN_VERSION = "1";

/**
 * EIP-712 `string` member: the keccak of its UTF-8 bytes.
 * @param {string} text
 */
export function encodeString(text) {
  return keccak256(utf8Bytes(text));
}

/** The EIP-712 domain that names one registry on one chain. */
export class Domain {
  /**
   * @param {number} chainId
   * @param {string} verifyingContract 0x address
   */
  constructor(chainId, verifyingContract) {
    this.chainId = chainId;
    this.verifyingContract = verifyingContract;
    this.separator = hashDomain([
      encodeString(DOMAIN_NAME),
      encodeString(DOMAIN_VERSION),
      word(chainId),
      concatBytes(new Uint8Array(12), hexToBytes(verifyingContract.slice(2))),
    ]);
  }

  /**
   * keccak256(0x1901 || domain separator || hashStruct(message))
   * @param {Uint8Array} structHash
   * @returns {Uint8Array}
   */
  digest(structHash) {
    return keccak256(concatBytes(Uint8Array.of(0x19, 0x01), this.separator, structHash));
  }
}

/**
 * 65-byte r||s||v (v 27, 28, 0 or 1), low s only, as noble's recovered form recid||r||s.
 * @param {string} signature 0x and 130 hex digits
 * @returns {Uint8Array}
 * @throws {SignatureError}
 */
export function parseSignature(signature) {
  const text = signature.startsWith("0x") ? signature.slice(2) : signature;
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(text)) throw new SignatureError("signature is not hex");
  const raw = hexToBytes(text);
  if (raw.length !== 65) throw new SignatureError(`signature must be 65 bytes, got ${raw.length}`);
  const r = toBigInt(raw.subarray(0, 32));
  const s = toBigInt(raw.subarray(32, 64));
  if (!(r > 0n && r < SECP256K1_N && s > 0n && s <= HALF_N)) {
    throw new SignatureError("signature r or s out of range (high-s signatures are refused)");
  }
  const v = raw[64] >= 27 ? raw[64] - 27 : raw[64];
  if (v !== 0 && v !== 1) throw new SignatureError(`signature v must be 27 or 28, got ${raw[64]}`);
  return concatBytes(Uint8Array.of(v), raw.subarray(0, 64));
}

/**
 * Address (EIP-55) whose key made `signature` over the 32-byte `digest`.
 * @param {Uint8Array} digest
 * @param {string} signature
 * @returns {string}
 * @throws {SignatureError}
 */
export function recoverSigner(digest, signature) {
  const recovered = parseSignature(signature);
  let publicKey;
  try {
    const compressed = secp256k1.recoverPublicKey(recovered, digest, { prehash: false });
    publicKey = secp256k1.Point.fromBytes(compressed).toBytes(false);
  } catch {
    throw new SignatureError("signature does not recover to a public key");
  }
  return checksumAddress(bytesToHex(keccak256(publicKey.subarray(1)).subarray(12)));
}
