#!/usr/bin/env python3
"""Answer the ICMP and ICMPv6 echo requests that arrive on an adapter, so that `ping` gets replies.

The adapter gets 10.7.0.1/24 and fd00:7::1/64; the OS answers pings to those itself, so ping a
peer address on the same subnet (10.7.0.2, fd00:7::2): the OS sends the request out of the
adapter, this program reads it and writes the reply back.

    sudo python3 examples/ping_responder.py &      # then: ping 10.7.0.2, ping -6 fd00:7::2
    python3 examples/ping_responder.py --netns private --seconds 5
"""
import argparse
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import wintun  # noqa: E402
from wintun.packets import describe, echo_reply  # noqa: E402


def respond(tun: wintun.TunDevice, stop: threading.Event, verbose: bool = False) -> int:
    """Answer echo requests until stop is set or the adapter goes; returns how many."""
    answered = 0
    while not stop.is_set():
        try:
            packets = tun.read_batch()
        except wintun.AdapterClosedError:
            break
        if not packets:
            tun.wait_read_event(timeout=0.2)
            continue
        for packet in packets:
            reply = echo_reply(packet)
            if reply is None:
                continue
            tun.write(reply)
            answered += 1
            if verbose:
                print(f"answered {describe(packet)}", flush=True)
    return answered


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name", default="wtping")
    parser.add_argument("--addr", default="10.7.0.1/24")
    parser.add_argument("--addr6", default="fd00:7::1/64")
    parser.add_argument("--netns", default=None, help="'private', or a namespace name or path")
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--seconds", type=float, default=None, help="stop after this long (default: Ctrl-C)")
    args = parser.parse_args()
    with wintun.TunDevice(args.name, "Ping", backend=args.backend, netns=args.netns) as tun:
        tun.mtu = 1500
        tun.addr = args.addr
        tun.add_address(args.addr6)
        tun.up()
        print(f"ready: {tun.name} {', '.join(map(str, tun.addresses))}", flush=True)
        stop = threading.Event()
        if args.seconds is not None:
            threading.Timer(args.seconds, stop.set).start()
        try:
            answered = respond(tun, stop, verbose=True)
        except KeyboardInterrupt:
            answered = -1
        print(f"done: {tun.stats}", flush=True)
    return 0 if answered >= 0 else 130


if __name__ == "__main__":
    sys.exit(main())
