"""Carbon Registry entry points: the full command line (registry + anchoring commands)."""
