#!/usr/bin/env python3
"""Sums the "RequestCode Distribution" lines of the Java broker/name server traffic logs.

    traffic.py LOG...

The reference RocketMQ 5.x server logs, about once a second and per listening port, how many
requests of each code it received (broker_traffic.log / namesrv_traffic.log). This prints one line
per port with the totals over the whole run, e.g. "port 9876: 105x120 106x3", so a Ferrocket
developer can see which request codes the real clients and mqadmin sent during the suite.
"""
import collections
import re
import sys

LINE = re.compile(r"Port: (\d+), RequestCode Distribution: \{([^}]*)\}")


def main():
    totals = collections.defaultdict(collections.Counter)
    for path in sys.argv[1:]:
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                for line in f:
                    m = LINE.search(line)
                    if not m:
                        continue
                    for item in m.group(2).split(","):
                        if ":" in item:
                            code, n = item.split(":")
                            totals[int(m.group(1))][int(code)] += int(n)
        except OSError:
            pass
    for port in sorted(totals):
        codes = " ".join("%dx%d" % (c, n) for c, n in sorted(totals[port].items()))
        print("port %d: %s" % (port, codes))


if __name__ == "__main__":
    main()
