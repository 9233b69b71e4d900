// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/**
 * @title RFC9162
 * @notice Verification of RFC 9162 (Certificate Transparency 2.0) Merkle tree proofs over SHA-256,
 * with the RFC's domain separation: a leaf hash is `SHA-256(0x00 || data)` and a node hash is
 * `SHA-256(0x01 || left || right)`.
 * @dev The SHA-256 precompile (address 0x02) is called from assembly on 65-byte buffers reused for
 * every node, so verification allocates nothing: one at memory 0x1f..0x5f (scratch space plus the
 * free memory pointer slot, saved and restored) and, for consistency proofs, one in free memory.
 * Calling a precompile with `staticcall` makes the functions `view` rather than `pure`, as for
 * OpenZeppelin's `Math.modExp`. The call's success flag is not checked: the precompile fails only
 * when out of gas, and then at most 1/64 of the 96 gas it needed is left to the caller, who runs
 * out of gas at the next instruction.
 *
 * Proofs are checked as in transparency-dev/merkle, which is equivalent to the RFC's algorithms:
 * the expected proof length is computed first. A proof splits into an "inner" part, the levels
 * where the paths to the node and to the tree's last leaf differ, where the bits of the node's
 * index tell whether each sibling is on the left (1) or the right (0), and a "border" part, one
 * hash per 1 bit of the index above the inner levels, where every sibling is on the left. Both
 * parts are walked in one loop over "sibling bits": the index's inner bits, then 1s.
 */
library RFC9162 {
    /**
     * @notice Computes the root that an inclusion proof (RFC 9162 section 2.1.3.2) leads to.
     * @dev Requires `index < treeSize < 2**64` (RFC 9162 tree sizes are 64-bit) and a proof of
     * exactly the length the RFC prescribes for `(index, treeSize)`; otherwise `valid` is false and
     * `root` is zero.
     * @param treeSize Size of the tree the proof is for.
     * @param index Zero-based index of the leaf.
     * @param leafHash Leaf hash, `SHA-256(0x00 || data)`.
     * @param proof Inclusion path, from the leaf towards the root.
     * @return valid Whether the proof has the right length for `(index, treeSize)`.
     * @return root The root the proof leads to, when `valid`.
     */
    function tryRootFromInclusionProof(
        uint256 treeSize,
        uint256 index,
        bytes32 leafHash,
        bytes32[] calldata proof
    ) internal view returns (bool valid, bytes32 root) {
        if (index >= treeSize || treeSize > type(uint64).max) {
            return (false, bytes32(0));
        }
        (uint256 proofLength, uint256 siblingBits) = _proofShape(index, treeSize - 1);
        if (proof.length != proofLength) {
            return (false, bytes32(0));
        }
        assembly ("memory-safe") {
            // Hash input at 0x1f: 0x01 || left (0x20) || right (0x40); the hash is written over
            // `right`. This borrows the free memory pointer slot, restored below.
            let freeMemoryPointer := mload(0x40)
            mstore8(0x1f, 0x01)
            mstore(0x40, leafHash)
            for {
                let ptr := proof.offset
            } gt(siblingBits, 1) {
                ptr := add(ptr, 0x20)
                siblingBits := shr(1, siblingBits)
            } {
                // The node goes right of a sibling on the left (bit 1), else left of it.
                let nodeOffset := shl(5, and(siblingBits, 1))
                mstore(add(0x20, nodeOffset), mload(0x40))
                mstore(sub(0x40, nodeOffset), calldataload(ptr))
                pop(staticcall(gas(), 0x02, 0x1f, 0x41, 0x40, 0x20))
            }
            root := mload(0x40)
            mstore(0x40, freeMemoryPointer)
        }
        valid = true;
    }

    /**
     * @notice Verifies an inclusion proof (RFC 9162 section 2.1.3.2) against a known root.
     * @dev Returns false, never reverts, for a proof of the wrong length, an `index` outside the
     * tree or a `treeSize` of 2**64 or more.
     * @param treeSize Size of the tree `root` is the root of.
     * @param index Zero-based index of the leaf.
     * @param leafHash Leaf hash, `SHA-256(0x00 || data)`.
     * @param root Root of the tree of size `treeSize`.
     * @param proof Inclusion path, from the leaf towards the root.
     * @return Whether the leaf is at `index` in the tree of size `treeSize` with root `root`.
     */
    function verifyInclusion(
        uint256 treeSize,
        uint256 index,
        bytes32 leafHash,
        bytes32 root,
        bytes32[] calldata proof
    ) internal view returns (bool) {
        (bool valid, bytes32 computed) = tryRootFromInclusionProof(treeSize, index, leafHash, proof);
        return valid && computed == root;
    }

    /**
     * @notice Checks a consistency proof (RFC 9162 section 2.1.4.2) against the old root and
     * computes the new root it leads to.
     * @dev Requires `0 < size1 <= size2 < 2**64` (RFC 9162 tree sizes are 64-bit). For
     * `size1 == size2` the proof must be empty and the new root is `root1`. `valid` is false, and
     * `root2` zero, when the sizes are out of range, the proof has the wrong length or it does not
     * lead back to `root1`.
     * @param size1 Size of the old tree.
     * @param size2 Size of the new tree.
     * @param root1 Root of the old tree.
     * @param proof Consistency proof from `size1` to `size2`.
     * @return valid Whether the sizes are in range, the proof has the right length and it
     * reproduces `root1`.
     * @return root2 The root of the new tree the proof leads to, when `valid`.
     */
    function tryRootFromConsistencyProof(
        uint256 size1,
        uint256 size2,
        bytes32 root1,
        bytes32[] calldata proof
    ) internal view returns (bool valid, bytes32 root2) {
        if (size1 == size2) {
            return size1 != 0 && size1 <= type(uint64).max && proof.length == 0 ? (true, root1) : (false, bytes32(0));
        }
        // The proof is, after an optional seed, the end of the inclusion proof of the old tree's
        // last leaf in the new tree, from the lowest level where that leaf is not a right child.
        // Below that level, the old tree's last complete subtree (of `skippedSize` leaves) is also
        // one of the new tree's; its hash, the seed, comes first in the proof, unless that subtree
        // is the whole old tree (size1 a power of two) and its hash is root1.
        uint256 skippedSize;
        uint256 path;
        uint256 newPath;
        bool sizesInRange;
        assembly ("memory-safe") {
            // Division by zero gives zero: size1 == 0 is rejected with sizesInRange.
            skippedSize := and(size1, sub(0, size1))
            path := div(sub(size1, 1), skippedSize)
            newPath := div(sub(size2, 1), skippedSize)
            sizesInRange := and(and(iszero(iszero(size1)), lt(size1, size2)), lt(size2, shl(64, 1)))
        }
        (uint256 pathLength, uint256 siblingBits) = _proofShape(path, newPath);
        bool seedInProof = size1 != skippedSize;
        assembly ("memory-safe") {
            if and(sizesInRange, eq(proof.length, add(seedInProof, pathLength))) {
                // Two hash inputs, 0x01 || left || right, each hash written over its `right`:
                // the new root's at 0x1f (borrowing the free memory pointer slot, restored below)
                // and the old root's in free memory.
                let freeMemoryPointer := mload(0x40)
                let oldInput := add(freeMemoryPointer, 0x1f)
                let oldLeft := add(freeMemoryPointer, 0x20)
                let oldRoot := add(freeMemoryPointer, 0x40)
                mstore8(0x1f, 0x01)
                mstore8(oldInput, 0x01)
                let ptr := proof.offset
                let seed := root1
                if seedInProof {
                    seed := calldataload(ptr)
                    ptr := add(ptr, 0x20)
                }
                mstore(0x40, seed)
                mstore(oldRoot, seed)
                // At least one level: the paths differ below the new root (size1 < size2). The
                // test that ends the walk comes last, so a level costs a single jump back.
                for {} 1 {} {
                    let sibling := calldataload(ptr)
                    switch and(siblingBits, 1)
                    case 0 {
                        // A sibling on the right is only in the new tree.
                        mstore(0x20, mload(0x40))
                        mstore(0x40, sibling)
                    }
                    default {
                        // One on the left is in both.
                        mstore(0x20, sibling)
                        mstore(oldLeft, sibling)
                        pop(staticcall(gas(), 0x02, oldInput, 0x41, oldRoot, 0x20))
                    }
                    pop(staticcall(gas(), 0x02, 0x1f, 0x41, 0x40, 0x20))
                    siblingBits := shr(1, siblingBits)
                    if eq(siblingBits, 1) {
                        break
                    }
                    ptr := add(ptr, 0x20)
                }
                valid := eq(mload(oldRoot), root1)
                root2 := mul(mload(0x40), valid)
                mstore(0x40, freeMemoryPointer)
            }
        }
    }

    /**
     * @notice Verifies a consistency proof (RFC 9162 section 2.1.4.2) between two known roots.
     * @dev Never reverts. False unless `0 < size1 <= size2 < 2**64` and the proof is valid; for
     * `size1 == size2` the proof must be empty and the roots equal.
     * @param size1 Size of the old tree.
     * @param size2 Size of the new tree.
     * @param root1 Root of the old tree.
     * @param root2 Root of the new tree.
     * @param proof Consistency proof from `size1` to `size2`.
     * @return Whether the tree of size `size2` with root `root2` extends the one of size `size1` with root `root1`.
     */
    function verifyConsistency(
        uint256 size1,
        uint256 size2,
        bytes32 root1,
        bytes32 root2,
        bytes32[] calldata proof
    ) internal view returns (bool) {
        (bool valid, bytes32 computed) = tryRootFromConsistencyProof(size1, size2, root1, proof);
        return valid && computed == root2;
    }

    /**
     * @dev Shape of the proof from the node at `index` up to the root of a tree whose last leaf is
     * at `lastIndex` (both counted at the node's level): its number of hashes, and its sibling
     * bits, lowest first, closed by an extra 1 that ends the walk. The inner levels are those up to
     * the highest bit where `index` and `lastIndex` differ; their bits are the index's. Above, the
     * node is on the right border: one hash, bit 1, per 1 bit of the index.
     * Requires `index <= lastIndex < 2**64`; the results are meaningless otherwise.
     */
    function _proofShape(uint256 index, uint256 lastIndex) private pure returns (uint256 length, uint256 siblingBits) {
        assembly ("memory-safe") {
            // All 1s up to the highest bit where the paths differ.
            let innerMask := xor(index, lastIndex)
            innerMask := or(innerMask, shr(1, innerMask))
            innerMask := or(innerMask, shr(2, innerMask))
            innerMask := or(innerMask, shr(4, innerMask))
            innerMask := or(innerMask, shr(8, innerMask))
            innerMask := or(innerMask, shr(16, innerMask))
            innerMask := or(innerMask, shr(32, innerMask))
            // Length: inner levels plus the index's 1 bits above them, a 64-bit popcount (SWAR).
            let x := or(index, innerMask)
            x := sub(x, and(shr(1, x), 0x5555555555555555))
            x := add(and(x, 0x3333333333333333), and(shr(2, x), 0x3333333333333333))
            x := and(add(x, shr(4, x)), 0x0f0f0f0f0f0f0f0f)
            length := shr(56, and(mul(x, 0x0101010101010101), 0xffffffffffffffff))
            // Inner bits of the index, then 1s from the inner levels up to bit `length` included.
            siblingBits := or(and(index, innerMask), and(sub(shl(add(length, 1), 1), 1), not(innerMask)))
        }
    }
}
