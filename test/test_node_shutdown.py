"""Ctrl-C stops a node cleanly: the callback in flight finishes, the spin ends, the process exits 0.

A KeyboardInterrupt raised inside rclpy's bindings surfaces as a RuntimeError and a non-zero exit (seen
once in CI, in a subscription's take_message during SIGINT), so the first Ctrl-C raises nothing in node
code; a second one does, to get out of a callback that hangs."""

from __future__ import annotations

import subprocess
import sys
import textwrap

NODE = textwrap.dedent(
    """
    import os, signal, sys, time
    import rclpy
    from rclpy.node import Node
    from anon_compression_nodes import common

    class Busy(Node):
        def __init__(self):
            super().__init__("shutdown_probe")
            self.timer = self.create_timer(0.05, self.tick)

        def tick(self):
            self.timer.cancel()
            for _ in range(int(sys.argv[1])):
                os.kill(os.getpid(), signal.SIGINT)
                end = time.monotonic() + 0.5
                while time.monotonic() < end:  # Python code running when the signal lands
                    pass
            print("callback finished; context ok:", rclpy.ok(), flush=True)

    common.run(Busy)
    print("run returned", flush=True)
    """
)


def _run(sigints: int) -> list[str]:
    done = subprocess.run([sys.executable, "-c", NODE, str(sigints)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_sigint_during_a_callback_lets_it_finish_and_exits_cleanly():
    assert _run(1) == ["callback finished; context ok: False", "run returned"]


def test_a_second_sigint_interrupts_a_callback_that_does_not_return():
    assert _run(2) == ["run returned"]
