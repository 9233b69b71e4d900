// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {RFC9162} from "./RFC9162.sol";

/**
 * @title RegistryAnchor
 * @notice Anchors the checkpoints of the Carbon Registry's RFC 9162 Merkle log. Every anchor
 * stores the root of the log at a tree size, and is accepted only when a consistency proof shows
 * that the new tree extends the previously anchored one: once anchored, history cannot be
 * rewritten. Anyone can then verify inclusion proofs against an anchored root.
 * @dev Hashing is RFC 9162 section 2.1 over SHA-256 (see {RFC9162}). Storage is one slot per
 * anchored root plus one slot for the latest anchored size and the account that anchored it. That
 * account is known to hold ANCHORER_ROLE until it loses the role ({_revokeRole} forgets it), so its
 * next anchor needs no role lookup: the one cold read of that slot serves both.
 */
contract RegistryAnchor is AccessControl {
    /// @notice Role allowed to anchor checkpoints.
    bytes32 public constant ANCHORER_ROLE = keccak256("ANCHORER_ROLE");

    /// @dev Anchored root per tree size; zero for a size never anchored.
    mapping(uint256 treeSize => bytes32 root) private _roots;

    /**
     * @dev The latest anchor in one slot: the largest anchored tree size (zero before the first
     * anchor; anchored sizes fit in 64 bits) in the low 64 bits, and above them the account that
     * anchored it while holding ANCHORER_ROLE, or zero once that account lost the role. Packed by
     * hand: a struct costs an extra read and write of the slot for every field written.
     */
    uint256 private _latest;

    /**
     * @notice Emitted when the root of the log at `treeSize` is anchored.
     * @param treeSize Size of the anchored tree.
     * @param root Root of the anchored tree.
     * @param checkpointHash Hash of the signed checkpoint this anchor records.
     */
    event Anchored(uint256 indexed treeSize, bytes32 root, bytes32 checkpointHash);

    /// @notice The constructor was given the zero address for a role holder.
    error RegistryAnchorZeroAddress();

    /**
     * @notice The anchored tree size must grow strictly.
     * @param previous Latest anchored tree size.
     * @param given Tree size of the rejected anchor.
     */
    error RegistryAnchorSizeNotIncreasing(uint256 previous, uint256 given);

    /// @notice A zero root cannot be anchored (zero means "never anchored" in {rootAt}).
    error RegistryAnchorZeroRoot();

    /**
     * @notice The first anchor's tree size does not fit in 64 bits, as RFC 9162 tree sizes do; no
     * consistency proof could follow it. Later anchors of such sizes fail as invalid proofs.
     * @param treeSize Tree size of the rejected anchor.
     */
    error RegistryAnchorTreeSizeTooLarge(uint256 treeSize);

    /**
     * @notice The consistency proof has the wrong length or does not lead back to the previously
     * anchored root (the first anchor takes an empty proof).
     * @param previousSize Latest anchored tree size (zero before the first anchor).
     * @param treeSize Tree size of the rejected anchor.
     * @param proofLength Number of hashes in the rejected proof.
     */
    error RegistryAnchorInvalidProof(uint256 previousSize, uint256 treeSize, uint256 proofLength);

    /**
     * @notice The consistency proof leads to another root than the one given.
     * @param expected Root given to {anchor}.
     * @param calculated Root the consistency proof leads to.
     */
    error RegistryAnchorInconsistentRoot(bytes32 expected, bytes32 calculated);

    /**
     * @notice The inclusion proof has the wrong length for its leaf index and tree size, or the
     * index is outside the tree, or the tree size does not fit in 64 bits.
     * @param treeSize Tree size the proof is for.
     * @param index Leaf index the proof is for.
     * @param proofLength Number of hashes in the proof.
     */
    error RegistryAnchorInvalidInclusionProof(uint256 treeSize, uint256 index, uint256 proofLength);

    /**
     * @notice Sets up the roles.
     * @param admin Holder of DEFAULT_ADMIN_ROLE, who grants and revokes ANCHORER_ROLE.
     * @param anchorer First holder of ANCHORER_ROLE.
     */
    constructor(address admin, address anchorer) {
        if (admin == address(0) || anchorer == address(0)) {
            revert RegistryAnchorZeroAddress();
        }
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(ANCHORER_ROLE, anchorer);
    }

    /**
     * @notice Anchors the root of the log at `treeSize`.
     * @dev Only ANCHORER_ROLE. `treeSize` must exceed the latest anchored size and fit in 64 bits.
     * The first anchor takes an empty proof; later ones an RFC 9162 consistency proof from the
     * latest anchored `(size, root)` to `(treeSize, root)`.
     * @param treeSize Size of the tree to anchor.
     * @param root Root of the tree, non-zero.
     * @param checkpointHash Hash of the signed checkpoint, recorded in the {Anchored} event.
     * @param consistencyProof Consistency proof from the latest anchored tree.
     */
    function anchor(
        uint256 treeSize,
        bytes32 root,
        bytes32 checkpointHash,
        bytes32[] calldata consistencyProof
    ) external {
        uint256 latestAnchor = _latest;
        if (address(uint160(latestAnchor >> 64)) != msg.sender) {
            _checkRole(ANCHORER_ROLE);
        }
        uint256 previousSize = uint64(latestAnchor);
        if (treeSize <= previousSize) {
            revert RegistryAnchorSizeNotIncreasing(previousSize, treeSize);
        }
        if (root == bytes32(0)) {
            revert RegistryAnchorZeroRoot();
        }
        if (previousSize == 0) {
            if (treeSize > type(uint64).max) {
                revert RegistryAnchorTreeSizeTooLarge(treeSize);
            }
            if (consistencyProof.length != 0) {
                revert RegistryAnchorInvalidProof(0, treeSize, consistencyProof.length);
            }
        } else {
            (bool valid, bytes32 calculated) = RFC9162.tryRootFromConsistencyProof(
                previousSize,
                treeSize,
                _roots[previousSize],
                consistencyProof
            );
            if (!valid) {
                revert RegistryAnchorInvalidProof(previousSize, treeSize, consistencyProof.length);
            }
            if (calculated != root) {
                revert RegistryAnchorInconsistentRoot(root, calculated);
            }
        }
        _roots[treeSize] = root;
        // Below 2**64: the first anchor checks it, and RFC9162 refuses larger sizes for later ones.
        _latest = (uint256(uint160(msg.sender)) << 64) | treeSize;
        emit Anchored(treeSize, root, checkpointHash);
    }

    /**
     * @notice Returns the root anchored at `treeSize`.
     * @param treeSize A tree size.
     * @return The anchored root, or zero if `treeSize` was never anchored.
     */
    function rootAt(uint256 treeSize) external view returns (bytes32) {
        return _roots[treeSize];
    }

    /**
     * @notice Returns the latest anchor.
     * @return treeSize Latest anchored tree size (zero before the first anchor).
     * @return root Root anchored at `treeSize` (zero before the first anchor).
     */
    function latest() external view returns (uint256 treeSize, bytes32 root) {
        treeSize = uint64(_latest);
        root = _roots[treeSize];
    }

    /**
     * @notice Verifies an RFC 9162 inclusion proof against the root anchored at `treeSize`.
     * @dev Returns false, never reverts, for a bad proof or a tree size never anchored.
     * @param treeSize Anchored tree size the proof is for.
     * @param index Zero-based index of the leaf.
     * @param leafHash Leaf hash, `SHA-256(0x00 || data)`.
     * @param proof Inclusion path, from the leaf towards the root.
     * @return Whether the leaf is at `index` in the tree anchored at `treeSize`.
     */
    function verifyInclusion(
        uint256 treeSize,
        uint256 index,
        bytes32 leafHash,
        bytes32[] calldata proof
    ) external view returns (bool) {
        bytes32 root = _roots[treeSize];
        return root != bytes32(0) && RFC9162.verifyInclusion(treeSize, index, leafHash, root, proof);
    }

    /**
     * @notice Computes the root an RFC 9162 inclusion proof leads to, anchored or not.
     * @dev Reverts with {RegistryAnchorInvalidInclusionProof} unless `index < treeSize < 2**64`
     * and the proof has the length RFC 9162 prescribes.
     * @param treeSize Tree size the proof is for.
     * @param index Zero-based index of the leaf.
     * @param leafHash Leaf hash, `SHA-256(0x00 || data)`.
     * @param proof Inclusion path, from the leaf towards the root.
     * @return The root of the tree of size `treeSize` the proof leads to.
     */
    function rootFromInclusionProof(
        uint256 treeSize,
        uint256 index,
        bytes32 leafHash,
        bytes32[] calldata proof
    ) external view returns (bytes32) {
        (bool valid, bytes32 root) = RFC9162.tryRootFromInclusionProof(treeSize, index, leafHash, proof);
        if (!valid) {
            revert RegistryAnchorInvalidInclusionProof(treeSize, index, proof.length);
        }
        return root;
    }

    /**
     * @notice Verifies an RFC 9162 consistency proof between two roots, anchored or not.
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
    ) external view returns (bool) {
        return RFC9162.verifyConsistency(size1, size2, root1, root2, proof);
    }

    /**
     * @dev Forgets the latest anchor's account when it loses ANCHORER_ROLE (revoked or renounced), so
     * that its next anchor goes through the role check again and fails.
     */
    function _revokeRole(bytes32 role, address account) internal override returns (bool revoked) {
        revoked = super._revokeRole(role, account);
        if (revoked && role == ANCHORER_ROLE && account == address(uint160(_latest >> 64))) {
            _latest = uint64(_latest);
        }
    }
}
