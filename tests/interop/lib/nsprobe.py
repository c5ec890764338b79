#!/usr/bin/env python3
"""Readiness probe: wait until a RocketMQ name server lists a broker.

    nsprobe.py NAMESRV_HOST:PORT BROKER_ADDR TIMEOUT_SECONDS

Sends GET_BROKER_CLUSTER_INFO (request code 106) with a JSON header, the way every RocketMQ client
does, until the ClusterInfo body mentions BROKER_ADDR (e.g. 127.0.0.1:10911) and DefaultCluster.
Exit 0 when seen, 1 on timeout. Listening ports alone are not enough: a broker accepts connections
a moment before its first REGISTER_BROKER reaches the name server, and admin tools or producers that
ask the name server in that window fail.
"""
import json
import socket
import struct
import sys
import time


def request(addr, code, opaque):
    host, port = addr.rsplit(":", 1)
    header = json.dumps({"code": code, "flag": 0, "language": "JAVA", "opaque": opaque,
                         "serializeTypeCurrentRPC": "JSON", "version": 479},
                        separators=(",", ":")).encode()
    frame = struct.pack(">ii", 4 + len(header), len(header)) + header  # serialize type 0 = JSON
    with socket.create_connection((host, int(port)), timeout=3) as s:
        s.sendall(frame)
        data = b""
        while len(data) < 4:
            chunk = s.recv(65536)
            if not chunk:
                raise IOError("connection closed")
            data += chunk
        total = struct.unpack(">i", data[:4])[0]
        while len(data) < 4 + total:
            chunk = s.recv(65536)
            if not chunk:
                raise IOError("connection closed")
            data += chunk
    header_len = struct.unpack(">i", data[4:8])[0] & 0xFFFFFF
    resp_header = json.loads(data[8:8 + header_len])
    body = data[8 + header_len:4 + total]
    return resp_header, body


def main():
    namesrv, broker_addr, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
    deadline = time.time() + timeout
    last = "no answer"
    opaque = 0
    while time.time() < deadline:
        opaque += 1
        try:
            header, body = request(namesrv, 106, opaque)
            text = body.decode("utf-8", "replace")
            if header.get("code") == 0 and ('"%s"' % broker_addr) in text and "DefaultCluster" in text:
                return 0
            last = "code %s, body %s" % (header.get("code"), text[:200])
        except (OSError, ValueError) as e:
            last = str(e)
        time.sleep(0.2)
    print("name server %s does not list broker %s: %s" % (namesrv, broker_addr, last))
    return 1


if __name__ == "__main__":
    sys.exit(main())
