// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/**
 * @title LockEvent
 * @notice The registry's `CreditsLocked` log event, rebuilt from typed fields: its RFC 8785 (JCS)
 * canonical bytes and its RFC 9162 leaf hash.
 * @dev The bytes are those the registry logs for a lock, with no whitespace and keys sorted:
 *
 * `{"payload":{"effects":{"ranges":[{"batch_no":B,"first":F,"last":L},...]},"request":{"amount":A,
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
    }

    /// @notice Integers of an event are below 2**53, the range RFC 8785 renders exactly.
    uint256 internal constant INTEGER_LIMIT = 2 ** 53;

    /// @notice Length of the `time` field.
    uint256 internal constant TIME_LENGTH = 24;

    /// @notice Largest length of the `assetClass` field.
    uint256 internal constant MAX_ASSET_CLASS_LENGTH = 80;

    /// @notice Length of the owner's signature: r, s and v.
    uint256 internal constant SIGNATURE_LENGTH = 65;

    /// @dev Length of the text besides integers, asset class and ranges, plus 32 bytes of spill.
    uint256 private constant _FIXED_LENGTH = 223 + 3 * 40 + 2 * SIGNATURE_LENGTH + TIME_LENGTH + 32;

    /// @dev Largest length of one range, `},{"batch_no":B,"first":F,"last":L` with 16-digit numbers.
    uint256 private constant _MAX_RANGE_LENGTH = 14 + 9 + 8 + 3 * 16;

    /// @dev A 1 in every byte lane.
    uint256 private constant _ONES = 0x0101010101010101010101010101010101010101010101010101010101010101;

    /// @dev Largest length of the five integers outside the ranges (16 digits each).
    uint256 private constant _MAX_INTEGERS_LENGTH = 5 * 16;

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
        // Zero-filled: the first byte is the leaf prefix 0x00.
        bytes memory leafInput = _encode(lock, 1);
        assembly ("memory-safe") {
            // The SHA-256 precompile fails only when out of gas (see RFC9162).
            pop(staticcall(gas(), 0x02, add(leafInput, 0x20), mload(leafInput), 0x00, 0x20))
            hash := mload(0x00)
        }
    }

    /**
     * @dev The canonical bytes of the event after `prefixLength` zero bytes, in a buffer allocated
     * for the largest possible text. Requires valid fields, as {canonicalBytes}.
     */
    function _encode(Lock calldata lock, uint256 prefixLength) private pure returns (bytes memory data) {
        data = new bytes(
            prefixLength +
                _FIXED_LENGTH +
                _MAX_INTEGERS_LENGTH +
                bytes(lock.assetClass).length +
                lock.ranges.length *
                _MAX_RANGE_LENGTH
        );
        uint256 start;
        assembly ("memory-safe") {
            start := add(data, 0x20)
        }
        uint256 end = _writeEvent(lock, start + prefixLength);
        assembly ("memory-safe") {
            mstore(data, sub(end, start))
        }
    }

    /// @dev Writes the canonical bytes of the event at `ptr`; returns the end of the text.
    function _writeEvent(Lock calldata lock, uint256 ptr) private pure returns (uint256) {
        ptr = _write(ptr, '{"payload":{"effects":{"ranges":', 32);
        uint256[3][] calldata ranges = lock.ranges;
        for (uint256 i = 0; i < ranges.length; ++i) {
            ptr = i == 0 ? _write(ptr, '[{"batch_no":', 13) : _write(ptr, '},{"batch_no":', 14);
            ptr = _write(_writeInteger(ptr, ranges[i][0]), ',"first":', 9);
            ptr = _write(_writeInteger(ptr, ranges[i][1]), ',"last":', 8);
            ptr = _writeInteger(ptr, ranges[i][2]);
        }
        ptr = _writeInteger(_write(ptr, '}]},"request":{"amount":', 24), lock.amount);
        ptr = _writeString(_write(ptr, ',"assetClass":"', 15), lock.assetClass);
        ptr = _writeInteger(_write(ptr, '","batchNo":', 12), lock.batchNo);
        ptr = _writeInteger(_write(ptr, ',"expiry":', 10), lock.expiry);
        ptr = _writeInteger(_write(ptr, ',"nonce":', 9), lock.nonce);
        uint256 owner = _write(ptr, ',"owner":"0x', 12);
        ptr = _writeAddress(owner, lock.owner);
        ptr = _writeAddress(_write(ptr, '","recipient":"0x', 17), lock.recipient);
        ptr = _writeInteger(_write(ptr, '"}},"seq":', 10), lock.seq);
        ptr = _writeSignature(_write(ptr, ',"signatures":[{"signature":"0x', 31), lock.signature);
        ptr = _write(ptr, '","signer":"0x', 14);
        assembly ("memory-safe") {
            mcopy(ptr, owner, 40)
        }
        ptr = _writeString(_write(ptr + 40, '"}],"time":"', 12), lock.time);
        return _write(ptr, '","type":"CreditsLocked"}', 25);
    }

    /**
     * @dev Stores the 32 bytes of `word` at `ptr`, of which the first `length` are text; returns the
     * end of that text. The rest spills over what comes next.
     */
    function _write(uint256 ptr, bytes32 word, uint256 length) private pure returns (uint256) {
        assembly ("memory-safe") {
            mstore(ptr, word)
        }
        unchecked {
            return ptr + length;
        }
    }

    /// @dev Copies `text` to `ptr`; returns the end of the text.
    function _writeString(uint256 ptr, string calldata text) private pure returns (uint256 end) {
        assembly ("memory-safe") {
            calldatacopy(ptr, text.offset, text.length)
            end := add(ptr, text.length)
        }
    }

    /// @dev Writes `value` in decimal at `ptr`; returns the end of the text. Requires value < 10**32.
    function _writeInteger(uint256 ptr, uint256 value) private pure returns (uint256 end) {
        assembly ("memory-safe") {
            // Digits enter at the top of `digits`, lowest first, so it ends up left-aligned.
            let digits := 0
            end := ptr
            for {} 1 {} {
                digits := or(shr(8, digits), shl(248, add(0x30, mod(value, 10))))
                end := add(end, 1)
                value := div(value, 10)
                if iszero(value) {
                    break
                }
            }
            mstore(ptr, digits)
        }
    }

    /// @dev Writes `account` at `ptr` as 40 EIP-55 checksummed hex digits; returns the end of the text.
    function _writeAddress(uint256 ptr, address account) private pure returns (uint256) {
        uint256 value = uint160(account);
        // Digits 0-31 from the top 16 bytes; digits 32-39, of the last 4 bytes, end the other word.
        uint256 head = _hexDigits(value >> 32);
        uint256 tail = _hexDigits(value & 0xffffffff);
        _write(ptr + 8, bytes32(tail), 32);
        _write(ptr, bytes32(head), 32);
        // EIP-55: a letter is capitalised where the keccak256 of the lowercase digits has a nibble of
        // 8 or more. Letters (0x61-0x66) are the digits with bit 6 set; capitalising clears bit 5.
        uint256 hash;
        assembly ("memory-safe") {
            hash := keccak256(ptr, 40)
        }
        uint256 headUpper = (_nibbles(hash >> 128) >> 3) & (head >> 6) & _ONES;
        uint256 tailUpper = (_nibbles((hash >> 96) & 0xffffffff) >> 3) & (tail >> 6) & _ONES;
        _write(ptr + 8, bytes32(tail ^ (tailUpper << 5)), 32);
        return _write(ptr, bytes32(head ^ (headUpper << 5)), 40);
    }

    /// @dev Writes the 65-byte `signature` at `ptr` as 130 lowercase hex digits; returns the end of the text.
    function _writeSignature(uint256 ptr, bytes calldata signature) private pure returns (uint256) {
        uint256 r;
        uint256 s;
        uint256 v;
        assembly ("memory-safe") {
            r := calldataload(signature.offset)
            s := calldataload(add(signature.offset, 0x20))
            v := byte(0, calldataload(add(signature.offset, 0x40)))
        }
        uint256 lowHalf = type(uint128).max;
        // Last to first: each word overwrites the leading zeros of the one written before it.
        _write(ptr + 98, bytes32(_hexDigits(v)), 32);
        _write(ptr + 96, bytes32(_hexDigits(s & lowHalf)), 32);
        _write(ptr + 64, bytes32(_hexDigits(s >> 128)), 32);
        _write(ptr + 32, bytes32(_hexDigits(r & lowHalf)), 32);
        return _write(ptr, bytes32(_hexDigits(r >> 128)), 130);
    }

    /// @dev The 32 lowercase hex digits of the low 16 bytes of `value`, as ASCII bytes.
    function _hexDigits(uint256 value) private pure returns (uint256 digits) {
        digits = _nibbles(value);
        // '0' + n, and 0x27 more for n >= 10 ('a' is 0x61): n + 6 reaches bit 4 exactly then.
        unchecked {
            uint256 letters = ((digits + 6 * _ONES) >> 4) & _ONES;
            digits += 0x30 * _ONES + 0x27 * letters;
        }
    }

    /// @dev The 32 nibbles of the low 16 bytes of `value`, one per byte, the most significant first.
    function _nibbles(uint256 value) private pure returns (uint256 lanes) {
        // Each step moves the upper half of every unit up into the next free half of its lane.
        lanes = ((value << 64) | value) & 0x0000000000000000ffffffffffffffff0000000000000000ffffffffffffffff;
        lanes = ((lanes << 32) | lanes) & 0x00000000ffffffff00000000ffffffff00000000ffffffff00000000ffffffff;
        lanes = ((lanes << 16) | lanes) & 0x0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff;
        lanes = ((lanes << 8) | lanes) & 0x00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff;
        lanes = ((lanes << 4) | lanes) & 0x0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f;
    }
}
