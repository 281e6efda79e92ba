"""``python -m localplane up|down|status``: what ``make cluster`` and ``make cluster-down`` run."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from localplane.plane import ControlPlane, PlaneError

DEFAULT_STATE = Path(__file__).resolve().parent.parent / ".cluster"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localplane", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE, help="default: .cluster/")
    args = parser.parse_args(argv)

    plane = ControlPlane(args.state_dir.resolve())
    if args.command == "down":
        plane.stop()
        print(f"Control plane stopped; removed its state from {plane.state_dir}")
        return 0
    if args.command == "status":
        up = plane.is_up()
        print("running" if up else "not running")
        return 0 if up else 1

    plane.state_dir.mkdir(parents=True, exist_ok=True)
    try:
        plane.start()
    except PlaneError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(
        f"\nUse it with:\n  export KUBECONFIG={plane.kubeconfig}\n"
        "  kubectl get nodes    # if you have kubectl; any Kubernetes client works\n"
        "Stop it with: make cluster-down"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
