"""`carbon-registry ARGS` in a process that kills itself (SIGKILL) in the middle of an anchor.

Run as `python -m tests.anchoring_node MARKER N ARGS...`: the anchoring worker of this
process, on its N-th anchor transaction, signs it, records it as `sent` and broadcasts it
(the chain has it), then writes the checkpoint's tree size and transaction hash to the file
MARKER and is killed before it can record the confirmation: no clean-up of any kind runs.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

from anchoring.worker import AnchorWorker, CheckpointRow
from carbon_registry.cli import main


def die_on_send(marker: Path, nth: int) -> None:
    send = AnchorWorker._send
    sent = 0

    def send_then_die(worker: AnchorWorker, row: CheckpointRow) -> None:
        nonlocal sent
        send(worker, row)
        after = worker.checkpoints.get(row.tree_size)
        if after is None or after.status != "sent" or after.tx_hash is None:
            return
        sent += 1
        if sent == nth:
            record = {"tree_size": row.tree_size, "tx_hash": after.tx_hash.hex()}
            marker.write_text(json.dumps(record))
            os.kill(os.getpid(), signal.SIGKILL)

    AnchorWorker._send = send_then_die  # type: ignore[method-assign]


if __name__ == "__main__":
    die_on_send(Path(sys.argv[1]), int(sys.argv[2]))
    sys.argv = ["carbon-registry", *sys.argv[3:]]
    main()
