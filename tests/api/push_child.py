"""A producer process for the concurrency tests: waits for ``<dir>/go``, then pushes
``rounds`` times the same days, each push with its own Idempotency-Key and this
producer's consumers (``<tag>-0`` .. ``<tag>-<n-1>``). After each push it reads the days'
``active_consumers`` back (one consistent statement over committed rows): a slice mixing two
pushes shows a number no single push has. Prints ``push <id>`` and ``seen <n>`` lines."""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path

import httpx

from tests.api.data import body, day, q


def main() -> None:
    url, token, port, tag, consumers, rounds, directory = sys.argv[1:8]
    (Path(directory) / f"ready-{tag}").touch()
    while not (Path(directory) / "go").exists():
        time.sleep(0.01)
    with httpx.Client(base_url=url, timeout=60) as client:
        for round_ in range(int(rounds)):
            rows = [
                q(day(days_ago), f"{tag}-{n}", round_ + n + 1)
                for days_ago in (1, 2, 3)
                for n in range(int(consumers))
            ]
            response = client.post(
                f"/api/v1/output-ports/{port}/usage-stats",
                json=body(rows),
                headers={"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())},
            )
            response.raise_for_status()
            sys.stdout.write(f"push {response.json()['push_id']}\n")
            chart = client.get(
                f"/api/v1/output-ports/{port}/usage/queries-over-time",
                params={"start": day(3).isoformat(), "end": day(1).isoformat()},
                headers={"Authorization": f"Bearer {token}"},
            )
            chart.raise_for_status()
            for point in chart.json()["points"]:
                sys.stdout.write(f"seen {point['active_consumers']}\n")


if __name__ == "__main__":
    main()
