// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/**
 * @title LockEvent
 * @notice The registry's `CreditsLocked` log event, rebuilt from typed fields: its RFC 8785 (JCS)
 * canonical bytes and its RFC 9162 leaf hash.
 * @dev The bytes are those the registry logs for a lock, with no whitespace and keys sorted:
 *
 * `{"payload":{"effects":{"lock_no":K,"ranges":[{"batch_no":B,"first":F,"last":L},...]},"request":{"amount":A,
 * "assetClass":"C","batchNo":BN,"expiry":E,"nonce":N,"owner":"0xO","recipient":"0xR"}},"seq":S,
 * "signatures":[{"signature":"0xSIG","signer":"0xO"}],"time":"T","type":"CreditsLocked"}`
 *
 * Integers are in decimal, addresses in EIP-55 mixed case, the signature in lowercase hex. The
 * only text copied as given is `time` and `assetClass`, and {isValidTime} and {isValidAssetClass}
 * admit only characters that JSON copies verbatim inside a string (no quote, no backslash, no
 * control character): whatever the fields, the bytes are one JSON object of exactly this shape,
 * so equal bytes in the log can only be a `CreditsLocked` event with exactly these fields.
 *
 * Text is assembled in a buffer from 32-byte stores, each written at the current end of the text
 * and possibly spilling past it (the next store overwrites the spill); hex digits are made 16
 * bytes at a time by spreading nibbles into byte lanes.
 */
library LockEvent {
    /**
     * @notice The typed fields of a `CreditsLocked` event.
     * @param seq Sequence number of the event in the log, which is also its leaf index.
     * @param time Time of the event, exactly `YYYY-MM-DDTHH:MM:SS.mmmZ`.
     * @param owner Registry account that signed the lock; also the signer in `signatures`.
     * @param recipient Address the tokens are minted to.
     * @param assetClass Asset class of the locked grams, 1 to 80 of `A-Z 0-9 _ . -`.
     * @param batchNo Batch number of the lock request.
     * @param amount Locked grams of CO2e.
     * @param nonce Nonce of the signed lock request.
     * @param expiry Expiry (Unix seconds) of the signed lock request.
     * @param signature The owner's 65-byte signature (r, s, v) of the lock request.
     * @param ranges Locked serial ranges, each `[batch_no, first, last]`.
     * @param lockNo Number of the lock among the registry's locks (0, 1, 2...): dense, so that
     * the minted-lock bitmap fills its words (a fresh word costs 17,100 gas more).
     */
    struct Lock {
        uint256 seq;
        string time;
        address owner;
        address recipient;
        string assetClass;
        uint256 batchNo;
        uint256 amount;
        uint256 nonce;
        uint256 expiry;
        bytes signature;
        uint256[3][] ranges;
        uint256 lockNo;
    }

    /// @notice Integers of an event are below 2**53, the range RFC 8785 renders exactly.
    uint256 internal constant INTEGER_LIMIT = 2 ** 53;

    /// @notice Length of the `time` field.
    uint256 internal constant TIME_LENGTH = 24;

    /// @notice Largest length of the `assetClass` field.
    uint256 internal constant MAX_ASSET_CLASS_LENGTH = 80;

    /// @notice Length of the owner's signature: r, s and v.
    uint256 internal constant SIGNATURE_LENGTH = 65;

    /**
     * @notice Whether `time` is `YYYY-MM-DDTHH:MM:SS.mmmZ`: 24 characters, digits where the
     * pattern has letters Y M D H S m, and exactly the separators `- - T : : . Z`.
     * @dev Only the shape is checked; a date that does not exist cannot be in the log.
     * @param time Text to check.
     * @return Whether `time` has the shape of an event time.
     */
    function isValidTime(string calldata time) internal pure returns (bool) {
        if (bytes(time).length != TIME_LENGTH) {
            return false;
        }
        bool valid;
        assembly ("memory-safe") {
            let word := calldataload(time.offset)
            // Separators must be equal and digits must be 0x3_: high nibbles of digit lanes,
            // whole separator lanes, nothing of the 8 bytes past the text.
            let shape := and(word, 0xf0f0f0f0fff0f0fff0f0fff0f0fff0f0fff0f0fff0f0f0ff0000000000000000)
            let shapeValid := eq(shape, 0x303030302d30302d30305430303a30303a30302e3030305a0000000000000000)
            // And a digit's low nibble must be at most 9: adding 6 must not reach 0x10.
            let lowNibbles := and(word, 0x0f0f0f0f000f0f000f0f000f0f000f0f000f0f000f0f0f000000000000000000)
            let overNine := and(
                add(lowNibbles, 0x0606060600060600060600060600060600060600060606000000000000000000),
                0x1010101000101000101000101000101000101000101010000000000000000000
            )
            valid := and(shapeValid, iszero(overNine))
        }
        return valid;
    }

    /**
     * @notice Whether `assetClass` is 1 to 80 characters, each of `A-Z 0-9 _ . -`.
     * @param assetClass Text to check.
     * @return Whether `assetClass` has the shape of an asset class identifier.
     */
    function isValidAssetClass(string calldata assetClass) internal pure returns (bool) {
        uint256 length = bytes(assetClass).length;
        if (length == 0 || length > MAX_ASSET_CLASS_LENGTH) {
            return false;
        }
        bool valid = true;
        assembly ("memory-safe") {
            let lanes := 0x0101010101010101010101010101010101010101010101010101010101010101
            let highBits := shl(7, lanes)
            // Bit 7 of each lane whose byte b (with bit 7 cleared) is in [low, high]: b + 0x80 - low
            // reaches bit 7 iff b >= low, and b + 0x7f - high iff b > high; no lane carries over.
            function inRange(ascii, low, high, ones) -> inside {
                inside := and(add(ascii, mul(ones, sub(0x80, low))), not(add(ascii, mul(ones, sub(0x7f, high)))))
            }
            for {
                let offset := 0
            } lt(offset, length) {
                offset := add(offset, 0x20)
            } {
                let word := calldataload(add(assetClass.offset, offset))
                let ascii := and(word, not(highBits))
                let allowed := or(
                    or(inRange(ascii, 0x2d, 0x2e, lanes), inRange(ascii, 0x30, 0x39, lanes)),
                    or(inRange(ascii, 0x41, 0x5a, lanes), inRange(ascii, 0x5f, 0x5f, lanes))
                )
                // Non-ASCII bytes are refused; lanes past the end of the text are not checked.
                allowed := and(and(allowed, not(word)), highBits)
                let pastEnd := shr(shl(3, sub(length, offset)), highBits)
                if iszero(eq(or(allowed, pastEnd), highBits)) {
                    valid := 0
                    break
                }
            }
        }
        return valid;
    }

    /**
     * @notice The canonical bytes of the event.
     * @dev Requires valid fields: {isValidTime}, {isValidAssetClass}, a 65-byte signature, at
     * least one range and every integer below {INTEGER_LIMIT}. Other fields would give bytes that
     * the registry never logs, possibly not even JSON.
     * @param lock Fields of the event.
     * @return The RFC 8785 bytes of the event.
     */
    function canonicalBytes(Lock calldata lock) internal pure returns (bytes memory) {
        return _encode(lock, 0);
    }

    /**
     * @notice The RFC 9162 leaf hash of the event, `SHA-256(0x00 || canonical bytes)`.
     * @dev Requires valid fields, as {canonicalBytes}.
     * @param lock Fields of the event.
     * @return hash The leaf hash of the event.
     */
    function leafHash(Lock calldata lock) internal view returns (bytes32 hash) {
        bytes memory leafInput = _encode(lock, 1);
        assembly ("memory-safe") {
            // The SHA-256 precompile fails only when out of gas (see RFC9162).
            pop(staticcall(gas(), 0x02, add(leafInput, 0x20), mload(leafInput), 0x00, 0x20))
            hash := mload(0x00)
        }
    }

    /**
     * @dev The canonical bytes of the event after `prefixLength` (0 or 1) zero bytes. Requires
     * valid fields, as {canonicalBytes}.
     */
    function _encode(Lock calldata lock, uint256 prefixLength) private pure returns (bytes memory data) {
        uint256[3][] calldata ranges = lock.ranges;
        string calldata assetClass = lock.assetClass;
        string calldata time = lock.time;
        bytes calldata signature = lock.signature;
        assembly ("memory-safe") {
            /// Stores the 32 bytes of `word` at `ptr`, of which the first `length` are text; returns
            /// the end of that text. The rest spills over what comes next.
            function writeText(ptr, word, length) -> end {
                mstore(ptr, word)
                end := add(ptr, length)
            }

            /// Writes `value` in decimal at `ptr`; returns the end of the text. Requires value < 10**16.
            function writeInteger(ptr, value) -> end {
                let length := 1
                let rest := value
                if gt(rest, 99999999) {
                    length := 9
                    rest := div(rest, 100000000)
                }
                if gt(rest, 9999) {
                    length := add(length, 4)
                    rest := div(rest, 10000)
                }
                if gt(rest, 99) {
                    length := add(length, 2)
                    rest := div(rest, 100)
                }
                length := add(length, gt(rest, 9))
                // The 16 digits, zero-padded, one per byte of the low 16 bytes: split 8 + 8 digits
                // into 64-bit lanes, then each lane into halves three times, dividing every lane at
                // once by multiplying by a rounded-up 2**k / 10**d and shifting k bits right (exact
                // for these lane values; no product spills into the next lane). Moving a quotient
                // q up by w bits while taking q * 10**d away adds q * (2**w - 10**d).
                let digits := or(shl(64, div(value, 100000000)), mod(value, 100000000))
                let quotients := and(shr(40, mul(digits, 109951163)), 0x0000000000003fff0000000000003fff)
                digits := add(digits, mul(quotients, sub(shl(32, 1), 10000)))
                quotients := and(shr(20, mul(digits, 10486)), 0x0000007f0000007f0000007f0000007f)
                digits := add(digits, mul(quotients, sub(shl(16, 1), 100)))
                quotients := and(shr(10, mul(digits, 103)), 0x000f000f000f000f000f000f000f000f)
                digits := add(digits, mul(quotients, sub(shl(8, 1), 10)))
                // In ASCII, the last `length` digits moved to the top of the word.
                mstore(ptr, shl(sub(256, shl(3, length)), add(digits, 0x30303030303030303030303030303030)))
                end := add(ptr, length)
            }

            /// The 32 nibbles of `value` < 2**128, one per byte lane, the most significant first.
            function nibbles(value) -> lanes {
                // Each step moves the upper half of every unit up into the free half of its lane.
                lanes := and(or(shl(64, value), value), 0x0000000000000000ffffffffffffffff0000000000000000ffffffffffffffff)
                lanes := and(or(shl(32, lanes), lanes), 0x00000000ffffffff00000000ffffffff00000000ffffffff00000000ffffffff)
                lanes := and(or(shl(16, lanes), lanes), 0x0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff)
                lanes := and(or(shl(8, lanes), lanes), 0x00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff)
                lanes := and(or(shl(4, lanes), lanes), 0x0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f)
            }

            /// The 32 lowercase hex digits of `value` < 2**128, as ASCII bytes.
            function hexDigits(value) -> digits {
                digits := nibbles(value)
                // '0' + n, and 0x27 more for n >= 10 ('a' is 0x61): n + 6 reaches bit 4 exactly then.
                let letters := and(
                    shr(4, add(digits, 0x0606060606060606060606060606060606060606060606060606060606060606)),
                    0x0101010101010101010101010101010101010101010101010101010101010101
                )
                let zeros := 0x3030303030303030303030303030303030303030303030303030303030303030
                digits := add(add(digits, zeros), mul(letters, 0x27))
            }

            /// Writes the 160-bit `account` at `ptr` as 40 EIP-55 checksummed hex digits; returns
            /// the end of the text.
            function writeAddress(ptr, account) -> end {
                // Digits 0-31 from the top 16 bytes; digits 32-39 (the last 4 bytes) end the other
                // word, stored first.
                let head := hexDigits(shr(32, account))
                let tail := hexDigits(and(account, 0xffffffff))
                mstore(add(ptr, 8), tail)
                mstore(ptr, head)
                // EIP-55: a letter is capitalised where the keccak256 of the lowercase digits has
                // a nibble of 8 or more. Letters (0x61-0x66) are the digits with bit 6 set;
                // capitalising clears their bit 5.
                let hash := keccak256(ptr, 40)
                let ones := 0x0101010101010101010101010101010101010101010101010101010101010101
                let tailUpper := and(and(shr(3, nibbles(and(shr(96, hash), 0xffffffff))), shr(6, tail)), ones)
                let headUpper := and(and(shr(3, nibbles(shr(128, hash))), shr(6, head)), ones)
                mstore(add(ptr, 8), xor(tail, shl(5, tailUpper)))
                mstore(ptr, xor(head, shl(5, headUpper)))
                end := add(ptr, 40)
            }

            /// Writes the 65 bytes at calldata `offset` at `ptr` as 130 lowercase hex digits;
            /// returns the end of the text.
            function writeSignature(ptr, offset) -> end {
                let r := calldataload(offset)
                let s := calldataload(add(offset, 0x20))
                let lowHalf := 0xffffffffffffffffffffffffffffffff
                // Last to first: each word overwrites the leading zeros of the one stored before.
                mstore(add(ptr, 98), hexDigits(byte(0, calldataload(add(offset, 0x40)))))
                mstore(add(ptr, 96), hexDigits(and(s, lowHalf)))
                mstore(add(ptr, 64), hexDigits(shr(128, s)))
                mstore(add(ptr, 32), hexDigits(and(r, lowHalf)))
                mstore(ptr, hexDigits(shr(128, r)))
                end := add(ptr, 130)
            }

            let addressMask := 0xffffffffffffffffffffffffffffffffffffffff
            data := mload(0x40)
            let start := add(data, 0x20)
            mstore(start, 0)
            let ptr := writeText(add(start, prefixLength), '{"payload":{"effects":{"lock_no"', 32)
            ptr := writeInteger(writeText(ptr, ':', 1), calldataload(add(lock, 0x160)))
            ptr := writeText(ptr, ',"ranges":', 10)
            for {
                let i := 0
            } lt(i, ranges.length) {
                i := add(i, 1)
            } {
                switch i
                case 0 {
                    ptr := writeText(ptr, '[{"batch_no":', 13)
                }
                default {
                    ptr := writeText(ptr, '},{"batch_no":', 14)
                }
                let range := add(ranges.offset, mul(i, 0x60))
                ptr := writeInteger(ptr, calldataload(range))
                ptr := writeInteger(writeText(ptr, ',"first":', 9), calldataload(add(range, 0x20)))
                ptr := writeInteger(writeText(ptr, ',"last":', 8), calldataload(add(range, 0x40)))
            }
            // Head of the struct: seq, time, owner, recipient, assetClass, batchNo, amount, nonce,
            // expiry, signature, ranges, lockNo; one word each.
            ptr := writeInteger(writeText(ptr, '}]},"request":{"amount":', 24), calldataload(add(lock, 0xc0)))
            ptr := writeText(ptr, ',"assetClass":"', 15)
            calldatacopy(ptr, assetClass.offset, assetClass.length)
            ptr := writeText(add(ptr, assetClass.length), '","batchNo":', 12)
            ptr := writeInteger(ptr, calldataload(add(lock, 0xa0)))
            ptr := writeInteger(writeText(ptr, ',"expiry":', 10), calldataload(add(lock, 0x100)))
            ptr := writeInteger(writeText(ptr, ',"nonce":', 9), calldataload(add(lock, 0xe0)))
            let owner := writeText(ptr, ',"owner":"0x', 12)
            ptr := writeAddress(owner, and(calldataload(add(lock, 0x40)), addressMask))
            ptr := writeText(ptr, '","recipient":"0x', 17)
            ptr := writeAddress(ptr, and(calldataload(add(lock, 0x60)), addressMask))
            ptr := writeInteger(writeText(ptr, '"}},"seq":', 10), calldataload(lock))
            ptr := writeText(ptr, ',"signatures":[{"signature":"0x', 31)
            ptr := writeText(writeSignature(ptr, signature.offset), '","signer":"0x', 14)
            mcopy(ptr, owner, 40)
            ptr := writeText(add(ptr, 40), '"}],"time":"', 12)
            calldatacopy(ptr, time.offset, time.length)
            ptr := writeText(add(ptr, time.length), '","type":"CreditsLocked"}', 25)
            mstore(data, sub(ptr, start))
            // Allocated up to the end of the spill of the last store.
            mstore(0x40, and(add(ptr, 63), not(31)))
        }
    }
}
