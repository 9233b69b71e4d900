// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/**
 * @title NonReceiver
 * @notice A contract without `onERC1155Received`. Test use only: ERC-1155 tokens cannot be minted
 * or transferred to it.
 */
contract NonReceiver {}
