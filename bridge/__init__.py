"""The token bridge, chain side: the CarbonCredits contract, the watcher that records its
burns in the registry, and the proof of reserve. The registry side (locks, releases) is
`registry.bridge`."""
