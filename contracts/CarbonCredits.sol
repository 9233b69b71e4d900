// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";
import {ERC1155Supply} from "@openzeppelin/contracts/token/ERC1155/extensions/ERC1155Supply.sol";
import {BitMaps} from "@openzeppelin/contracts/utils/structs/BitMaps.sol";
import {LockEvent} from "./LockEvent.sol";
import {RegistryAnchor} from "./RegistryAnchor.sol";
import {RFC9162} from "./RFC9162.sol";

/**
 * @title CarbonCredits
 * @notice Carbon credits of the Carbon Registry on chain: one ERC-1155 token per asset class,
 * counted in grams of CO2e. Credits enter the chain only against a lock in the registry's log:
 * anyone may mint them with the lock's fields and an RFC 9162 inclusion proof of the lock event
 * in a tree whose root {RegistryAnchor} stores, so minting needs no trust in the operator. A lock
 * can be minted until {MINT_WINDOW} after the expiry of its signed lock request ({mintDeadline});
 * once the deadline has passed, plus the chain's confirmation depth, the registry releases the
 * grams of a lock that was not minted. Holders leave the chain by returning credits to a registry
 * account or by retiring them; both burn and emit an event that the registry's anchoring worker
 * records.
 * @dev The token id of an asset class is `uint256(keccak256(bytes(assetClass)))`; one unit of a
 * token is one gram of CO2e, indivisible (decimals 0). {uri} is ERC-1155's: the base URI, in
 * which clients replace `{id}` with the token id in lowercase hexadecimal, 64 digits;
 * {contractURI} is the contract-level metadata of ERC-7572. A lock is identified by its lock
 * number (0, 1, 2... in the order the registry logged the locks), so that the bitmap of minted
 * locks fills its words densely. The mint deadline adds no trust: the expiry is a field of the
 * lock event, which the inclusion proof covers, and the chain's clock decides; after the deadline
 * no mint can race the registry's release. Proof of reserve: for every asset class, {totalSupply}
 * of its id is the grams of its minted locks ({isLockMinted}) less the grams returned or retired,
 * which the registry holds as locked.
 */
contract CarbonCredits is ERC1155Supply, AccessControl {
    using BitMaps for BitMaps.BitMap;

    /// @notice Name of the token collection, for exchanges and wallets.
    string public constant name = "Carbon Registry credits";

    /// @notice Symbol of the tokens: one unit is one gram of CO2e (decimals 0).
    string public constant symbol = "gCO2e";

    /**
     * @notice Time during which the credits of a lock can be minted after the expiry of its signed
     * lock request: until `lock.expiry + MINT_WINDOW` included ({mintDeadline}).
     */
    uint256 public constant MINT_WINDOW = 7 days;

    /// @notice Longest reason of an on-chain retirement, in bytes (UTF-8).
    uint256 public constant MAX_TEXT_LENGTH = 500;

    /// @notice The anchoring contract whose roots inclusion proofs are checked against.
    RegistryAnchor public immutable registryAnchor;

    /// @dev Sequence numbers of the locks already minted.
    BitMaps.BitMap private _mintedLocks;

    /// @dev URI of the contract-level metadata (ERC-7572).
    string private _contractURI;

    /**
     * @notice Emitted when the credits of a lock are minted.
     * @param seq Sequence number of the `CreditsLocked` event in the registry's log.
     * @param recipient Address the credits were minted to.
     * @param id Token id of the asset class.
     * @param amount Minted grams.
     */
    event CreditsMinted(uint256 indexed seq, address indexed recipient, uint256 indexed id, uint256 amount);

    /**
     * @notice Emitted when a holder burns credits to return them to an account of the registry.
     * @param holder Address whose credits were burnt.
     * @param registryAccount Registry account to credit with the grams.
     * @param id Token id of the asset class.
     * @param amount Returned grams.
     */
    event CreditsReturned(address indexed holder, address indexed registryAccount, uint256 indexed id, uint256 amount);

    /**
     * @notice Emitted when a holder retires credits on chain.
     * @param holder Address whose credits were burnt.
     * @param id Token id of the asset class.
     * @param amount Retired grams.
     * @param beneficiary Commitment to the beneficiary of the retirement (see {retire}), or zero.
     * @param reason Reason of the retirement, for its certificate; public forever.
     */
    event CreditsRetiredOnChain(
        address indexed holder,
        uint256 indexed id,
        uint256 amount,
        bytes32 beneficiary,
        string reason
    );

    /**
     * @notice Emitted when the base URI of the token metadata is changed.
     * @param baseURI The new base URI, in which clients substitute `{id}`.
     */
    event BaseURIChanged(string baseURI);

    /// @notice Emitted when the contract-level metadata URI is changed (ERC-7572).
    event ContractURIUpdated();

    /// @notice The constructor was given the zero address, or credits are returned to it.
    error CarbonCreditsZeroAddress();

    /// @notice Zero credits cannot be returned or retired.
    error CarbonCreditsZeroAmount();

    /**
     * @notice A field has a length, a character or a value that no event of the registry has.
     * @param field Name of the field.
     */
    error CarbonCreditsInvalidField(string field);

    /**
     * @notice The ranges of a lock do not add up to its amount, or there are none.
     * @param amount Amount of the lock.
     * @param rangesTotal Grams in the ranges.
     */
    error CarbonCreditsRangesMismatch(uint256 amount, uint256 rangesTotal);

    /**
     * @notice The credits of this lock were already minted.
     * @param lockNo Lock number of the lock event.
     */
    error CarbonCreditsLockAlreadyMinted(uint256 lockNo);

    /**
     * @notice The mint deadline of this lock has passed: the registry may have released its grams.
     * @param lockNo Lock number of the lock event.
     * @param mintDeadline Last second (Unix time) at which the lock could be minted.
     */
    error CarbonCreditsLockExpired(uint256 lockNo, uint256 mintDeadline);

    /**
     * @notice No root is anchored at this tree size.
     * @param treeSize Tree size the proof was given for.
     */
    error CarbonCreditsLockNotAnchored(uint256 treeSize);

    /**
     * @notice The inclusion proof does not show this lock event at index `seq` of the anchored
     * tree: a field differs from the logged event, or the proof is wrong.
     * @param seq Sequence number (leaf index) of the lock event.
     * @param treeSize Anchored tree size the proof was given for.
     */
    error CarbonCreditsInvalidProof(uint256 seq, uint256 treeSize);

    /**
     * @notice Sets up the roles, the anchoring contract and the metadata URIs.
     * @param admin Holder of DEFAULT_ADMIN_ROLE, who may change the metadata URIs.
     * @param anchor The registry's anchoring contract.
     * @param baseURI Base URI of the asset class metadata in the registry API, with `{id}`.
     * @param contractURI_ URI of the contract-level metadata (ERC-7572).
     */
    constructor(
        address admin,
        RegistryAnchor anchor,
        string memory baseURI,
        string memory contractURI_
    ) ERC1155(baseURI) {
        if (admin == address(0) || address(anchor) == address(0)) {
            revert CarbonCreditsZeroAddress();
        }
        registryAnchor = anchor;
        _contractURI = contractURI_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /**
     * @notice Mints the credits of a lock to its recipient, given an inclusion proof of the lock
     * event in an anchored tree. Anyone may call it, once per lock, until its {mintDeadline}.
     * @dev The contract rebuilds the event's canonical bytes from the fields (see {LockEvent}) and
     * checks that their leaf hash is at index `lock.seq` of the tree anchored at `treeSize`: any
     * field that differs from the logged event, such as the amount, the recipient or the asset
     * class (the token id), fails the proof.
     * @param lock Fields of the `CreditsLocked` event.
     * @param treeSize A tree size anchored in {registryAnchor} that contains the event.
     * @param proof RFC 9162 inclusion proof of the event in that tree, from the leaf up.
     */
    function mintWithProof(LockEvent.Lock calldata lock, uint256 treeSize, bytes32[] calldata proof) external {
        _checkLockFields(lock);
        uint256 seq = lock.seq;
        uint256 lockNo = lock.lockNo;
        if (_mintedLocks.get(lockNo)) {
            revert CarbonCreditsLockAlreadyMinted(lockNo);
        }
        uint256 deadline = _mintDeadline(lock.expiry);
        if (block.timestamp > deadline) {
            revert CarbonCreditsLockExpired(lockNo, deadline);
        }
        bytes32 root = registryAnchor.rootAt(treeSize);
        if (root == bytes32(0)) {
            revert CarbonCreditsLockNotAnchored(treeSize);
        }
        if (!RFC9162.verifyInclusion(treeSize, seq, LockEvent.leafHash(lock), root, proof)) {
            revert CarbonCreditsInvalidProof(seq, treeSize);
        }
        _mintedLocks.set(lockNo);
        uint256 id = tokenIdOf(lock.assetClass);
        _mint(lock.recipient, id, lock.amount, "");
        emit CreditsMinted(seq, lock.recipient, id, lock.amount);
    }

    /**
     * @notice Burns `amount` of the caller's credits of token `id` so that the registry credits
     * them to `registryAccount`.
     * @param id Token id of the asset class.
     * @param amount Grams to return, not zero.
     * @param registryAccount Registry account to credit.
     */
    function returnToRegistry(uint256 id, uint256 amount, address registryAccount) external {
        if (registryAccount == address(0)) {
            revert CarbonCreditsZeroAddress();
        }
        if (amount == 0) {
            revert CarbonCreditsZeroAmount();
        }
        _burn(_msgSender(), id, amount);
        emit CreditsReturned(_msgSender(), registryAccount, id, amount);
    }

    /**
     * @notice Burns `amount` of the caller's credits of token `id` as a retirement, which the
     * registry records with a certificate. No personal data goes on chain, where it would stay
     * public forever: the beneficiary is only a commitment, and the reason must hold none.
     * @dev `beneficiary` is the SHA-256 of a random salt and the beneficiary's name, computed off
     * chain: whoever has the salt and the name can show that the retirement was for that
     * beneficiary, and without the salt the name cannot be guessed from it. The contract does not
     * check it: zero means no beneficiary, any other value is recorded as given. `reason` must be
     * what the registry can record: 1 to {MAX_TEXT_LENGTH} bytes of well-formed UTF-8 without
     * control characters (U+0000-U+001F).
     * @param id Token id of the asset class.
     * @param amount Grams to retire, not zero.
     * @param beneficiary Commitment to the beneficiary of the retirement (never a name), or zero.
     * @param reason Reason of the retirement, public forever: it must hold no personal data.
     */
    function retire(uint256 id, uint256 amount, bytes32 beneficiary, string calldata reason) external {
        if (amount == 0) {
            revert CarbonCreditsZeroAmount();
        }
        if (!_isValidText(reason)) {
            revert CarbonCreditsInvalidField("reason");
        }
        _burn(_msgSender(), id, amount);
        emit CreditsRetiredOnChain(_msgSender(), id, amount, beneficiary, reason);
    }

    /**
     * @notice Changes the base URI of the token metadata.
     * @dev Only DEFAULT_ADMIN_ROLE.
     * @param baseURI The new base URI, in which clients substitute `{id}` (ERC-1155).
     */
    function setBaseURI(string calldata baseURI) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setURI(baseURI);
        emit BaseURIChanged(baseURI);
    }

    /**
     * @notice Changes the URI of the contract-level metadata.
     * @dev Only DEFAULT_ADMIN_ROLE. Emits {ContractURIUpdated} (ERC-7572).
     * @param contractURI_ The new URI of the contract-level metadata.
     */
    function setContractURI(string calldata contractURI_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _contractURI = contractURI_;
        emit ContractURIUpdated();
    }

    /**
     * @notice URI of the contract-level metadata (ERC-7572): a JSON document with the name,
     * description, image and links of the collection, for exchanges and wallets.
     * @return The URI set in the constructor or by {setContractURI}.
     */
    function contractURI() external view returns (string memory) {
        return _contractURI;
    }

    /**
     * @notice Whether the credits of the lock with lock number `lockNo` were minted.
     * @param lockNo The `lock_no` of a `CreditsLocked` event.
     * @return Whether {mintWithProof} succeeded for that lock.
     */
    function isLockMinted(uint256 lockNo) external view returns (bool) {
        return _mintedLocks.get(lockNo);
    }

    /**
     * @notice The canonical bytes of the `CreditsLocked` event with these fields, as
     * {mintWithProof} rebuilds them; reverts as it does for invalid fields.
     * @param lock Fields of the event.
     * @return The RFC 8785 bytes of the event.
     */
    function lockEventBytes(LockEvent.Lock calldata lock) external pure returns (bytes memory) {
        _checkLockFields(lock);
        return LockEvent.canonicalBytes(lock);
    }

    /**
     * @notice The last second (Unix time) at which the credits of a lock can be minted: the expiry
     * of its signed lock request plus {MINT_WINDOW}. Reverts as {mintWithProof} does for invalid
     * fields.
     * @param lock Fields of the `CreditsLocked` event.
     * @return `lock.expiry + MINT_WINDOW`.
     */
    function mintDeadline(LockEvent.Lock calldata lock) external pure returns (uint256) {
        _checkLockFields(lock);
        return _mintDeadline(lock.expiry);
    }

    /**
     * @notice The token id of an asset class.
     * @param assetClass Asset class identifier, e.g. `SZ_TRANSIT-1.0-2026-440300`.
     * @return `uint256(keccak256(bytes(assetClass)))`.
     */
    function tokenIdOf(string calldata assetClass) public pure returns (uint256) {
        return uint256(keccak256(bytes(assetClass)));
    }

    /// @inheritdoc ERC1155
    function supportsInterface(bytes4 interfaceId) public view override(ERC1155, AccessControl) returns (bool) {
        return super.supportsInterface(interfaceId);
    }

    /**
     * @dev Reverts unless the fields can be those of a registry event: time and asset class of the
     * right shape, a 65-byte signature, integers below 2**53, and ranges adding up to the amount.
     */
    function _checkLockFields(LockEvent.Lock calldata lock) private pure {
        if (!LockEvent.isValidTime(lock.time)) {
            revert CarbonCreditsInvalidField("time");
        }
        if (!LockEvent.isValidAssetClass(lock.assetClass)) {
            revert CarbonCreditsInvalidField("assetClass");
        }
        if (lock.signature.length != LockEvent.SIGNATURE_LENGTH) {
            revert CarbonCreditsInvalidField("signature");
        }
        uint256 limit = LockEvent.INTEGER_LIMIT;
        if (lock.seq >= limit) {
            revert CarbonCreditsInvalidField("seq");
        }
        if (lock.lockNo >= limit) {
            revert CarbonCreditsInvalidField("lockNo");
        }
        if (lock.batchNo >= limit) {
            revert CarbonCreditsInvalidField("batchNo");
        }
        if (lock.amount >= limit) {
            revert CarbonCreditsInvalidField("amount");
        }
        if (lock.nonce >= limit) {
            revert CarbonCreditsInvalidField("nonce");
        }
        if (lock.expiry >= limit) {
            revert CarbonCreditsInvalidField("expiry");
        }
        uint256[3][] calldata ranges = lock.ranges;
        uint256 total = 0;
        for (uint256 i = 0; i < ranges.length; ++i) {
            (uint256 batchNo, uint256 first, uint256 last) = (ranges[i][0], ranges[i][1], ranges[i][2]);
            if (batchNo >= limit || last >= limit || first > last) {
                revert CarbonCreditsInvalidField("ranges");
            }
            // Cannot overflow: fewer than 2**64 ranges (calldata) of fewer than 2**53 grams each.
            unchecked {
                total += last - first + 1;
            }
        }
        if (ranges.length == 0 || total != lock.amount) {
            revert CarbonCreditsRangesMismatch(lock.amount, total);
        }
    }

    /// @dev The mint deadline of a lock whose request expires at `expiry` (below 2**53: no overflow).
    function _mintDeadline(uint256 expiry) private pure returns (uint256) {
        return expiry + MINT_WINDOW;
    }

    /**
     * @dev Whether `text` is 1 to {MAX_TEXT_LENGTH} bytes of well-formed UTF-8 (RFC 3629: shortest
     * forms, no surrogates, at most U+10FFFF) without C0 control characters. Runs of printable
     * ASCII are checked 32 bytes at a time.
     */
    function _isValidText(string calldata text) private pure returns (bool valid) {
        uint256 length = bytes(text).length;
        if (length == 0 || length > MAX_TEXT_LENGTH) {
            return false;
        }
        assembly ("memory-safe") {
            let highBits := 0x8080808080808080808080808080808080808080808080808080808080808080
            // Bit 7 of a byte (with bit 7 cleared) plus 0x60 is set iff the byte is not below 0x20.
            let controlOffset := 0x6060606060606060606060606060606060606060606060606060606060606060
            let continuation := 0
            let i := 0
            for {} lt(i, length) {} {
                let word := calldataload(add(text.offset, i))
                let remaining := sub(length, i)
                let inText := not(shr(shl(3, remaining), not(0)))
                let printable := and(not(word), add(and(word, not(highBits)), controlOffset))
                if iszero(and(xor(and(printable, highBits), highBits), inText)) {
                    // The next 32 bytes, or the rest of the text, are printable ASCII.
                    i := add(i, 32)
                    continue
                }
                let lead := byte(0, word)
                let size := 0
                let low := 0x80
                let high := 0xbf
                switch lt(lead, 0x80)
                case 1 {
                    // ASCII, here only a control character can have stopped the fast path.
                    if lt(lead, 0x20) {
                        break
                    }
                    size := 1
                }
                default {
                    // The second byte's range narrows for E0 (no overlong), ED (no surrogate),
                    // F0 (no overlong) and F4 (at most U+10FFFF).
                    if and(gt(lead, 0xc1), lt(lead, 0xe0)) {
                        size := 2
                    }
                    if and(gt(lead, 0xdf), lt(lead, 0xf0)) {
                        size := 3
                        if eq(lead, 0xe0) {
                            low := 0xa0
                        }
                        if eq(lead, 0xed) {
                            high := 0x9f
                        }
                    }
                    if and(gt(lead, 0xef), lt(lead, 0xf5)) {
                        size := 4
                        if eq(lead, 0xf0) {
                            low := 0x90
                        }
                        if eq(lead, 0xf4) {
                            high := 0x8f
                        }
                    }
                    if or(iszero(size), gt(size, remaining)) {
                        break
                    }
                    let second := byte(1, word)
                    if or(lt(second, low), gt(second, high)) {
                        break
                    }
                    // Continuation bytes after the second are 10xxxxxx.
                    for {
                        let j := 2
                    } lt(j, size) {
                        j := add(j, 1)
                    } {
                        if iszero(eq(and(byte(j, word), 0xc0), 0x80)) {
                            continuation := 1
                        }
                    }
                    if continuation {
                        break
                    }
                }
                i := add(i, size)
            }
            valid := iszero(lt(i, length))
        }
    }
}
