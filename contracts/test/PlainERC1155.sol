// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";

/**
 * @title PlainERC1155
 * @notice A plain OpenZeppelin ERC-1155 token that anyone may mint. Test and benchmark use only:
 * its mint is the baseline that the gas of {CarbonCredits-mintWithProof} is compared with.
 */
contract PlainERC1155 is ERC1155 {
    /// @notice A token with an empty metadata URI.
    constructor() ERC1155("") {}

    /**
     * @notice Mints `amount` of token `id` to `to`, for anyone.
     * @param to Recipient of the tokens.
     * @param id Token id.
     * @param amount Amount to mint.
     */
    function mint(address to, uint256 id, uint256 amount) external {
        _mint(to, id, amount, "");
    }
}
