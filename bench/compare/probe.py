#!/usr/bin/env python3
"""Time to first acknowledged send, measured from a given start instant.

    probe.py --namesrv HOST:PORT --broker HOST:PORT (--launch CMD | --since EPOCH_SECONDS)
             [--timeout S] [--topic T]

Repeats, every 10 ms, what a producer does on its first send: ask the name server for the route
of TBW102 (request 105, GET_ROUTEINFO_BY_TOPIC) until it lists the broker, then send one 16-byte
message (request 10, SEND_MESSAGE, auto-creating the topic from TBW102) to that broker until it
answers SUCCESS (response code 0). Prints one JSON line:

    {"ok": true, "seconds": 0.123, "route_seconds": 0.1, "attempts": 12}

where `seconds` is the time from the start instant to the SUCCESS reply. With --launch, the start
instant is taken just before `bash -c CMD` is spawned (CMD starts the system in the background and
returns at once), so the probe's own interpreter start-up is not counted; --since gives it instead.
compare.py imports `first_send` and takes the instant just before it spawns the processes.
Uses the RocketMQ remoting protocol with JSON headers, as every RocketMQ client can; needs
nothing but the standard library. Exit 0 on success, 1 on timeout.
"""
import argparse
import json
import socket
import struct
import subprocess
import sys
import time

GET_ROUTEINFO_BY_TOPIC = 105
SEND_MESSAGE = 10
SUCCESS = 0


class Conn:
    """One remoting connection; requests are answered in order (one outstanding at a time)."""

    def __init__(self, addr):
        host, port = addr.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=3)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.opaque = 0

    def close(self):
        self.sock.close()

    def _read(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise IOError("connection closed")
            data += chunk
        return data

    def call(self, code, ext, body=b""):
        self.opaque += 1
        header = json.dumps({"code": code, "flag": 0, "language": "JAVA", "opaque": self.opaque,
                             "serializeTypeCurrentRPC": "JSON", "version": 479,
                             "extFields": ext}, separators=(",", ":")).encode()
        # frame: total length | serialize type (0 = JSON) << 24 | header length | header | body
        frame = struct.pack(">ii", 4 + len(header) + len(body), len(header)) + header + body
        self.sock.sendall(frame)
        while True:
            total = struct.unpack(">i", self._read(4))[0]
            data = self._read(total)
            header_len = struct.unpack(">i", data[:4])[0] & 0xFFFFFF
            resp = json.loads(data[4:4 + header_len])
            if resp.get("opaque") == self.opaque:
                return resp, data[4 + header_len:]


def first_send(namesrv, broker, since, timeout, topic="FerrocketBenchProbe", alive=None):
    """Poll until one message is acknowledged; returns the result dict (see module doc)."""
    deadline = since + timeout
    attempts = 0
    route_at = None
    last = "no attempt"
    ns = conn = None
    try:
        while time.time() < deadline:
            if alive is not None and not alive():
                return {"ok": False, "error": "a process exited during start-up (%s)" % last,
                        "attempts": attempts}
            attempts += 1
            try:
                if route_at is None:
                    ns = ns or Conn(namesrv)
                    resp, body = ns.call(GET_ROUTEINFO_BY_TOPIC, {"topic": "TBW102"})
                    if resp.get("code") == SUCCESS and ('"%s"' % broker).encode() in body:
                        route_at = time.time()
                    else:
                        last = "route: code %s %s" % (resp.get("code"), resp.get("remark"))
                if route_at is not None:
                    conn = conn or Conn(broker)
                    resp, _ = conn.call(SEND_MESSAGE, {
                        "producerGroup": "ferrocket_bench_probe", "topic": topic,
                        "defaultTopic": "TBW102", "defaultTopicQueueNums": "4", "queueId": "0",
                        "sysFlag": "0", "bornTimestamp": str(int(time.time() * 1000)),
                        "flag": "0", "properties": "WAIT\u0001true\u0002",
                        "reconsumeTimes": "0", "unitMode": "false", "batch": "false"},
                        b"probe-0123456789")
                    if resp.get("code") == SUCCESS:
                        done = time.time()
                        return {"ok": True, "seconds": round(done - since, 4),
                                "route_seconds": round(route_at - since, 4),
                                "attempts": attempts}
                    last = "send: code %s %s" % (resp.get("code"), resp.get("remark"))
            except (OSError, ValueError) as e:
                last = "%s: %s" % (type(e).__name__, e)
                for c in (ns, conn):
                    if c is not None:
                        c.close()
                ns = conn = None
            time.sleep(0.01)
        return {"ok": False, "error": last, "attempts": attempts}
    finally:
        for c in (ns, conn):
            if c is not None:
                c.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--namesrv", required=True)
    ap.add_argument("--broker", required=True)
    ap.add_argument("--since", type=float)
    ap.add_argument("--launch")
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--topic", default="FerrocketBenchProbe")
    a = ap.parse_args()
    if a.launch:
        a.since = time.time()
        rc = subprocess.call(["bash", "-c", a.launch])
        if rc != 0:
            print(json.dumps({"ok": False, "error": "launch command exited with %d" % rc}))
            return 1
    elif a.since is None:
        ap.error("--launch or --since is required")
    r = first_send(a.namesrv, a.broker, a.since, a.timeout, a.topic)
    print(json.dumps(r))
    return 0 if r["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
