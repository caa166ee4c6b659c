#!/usr/bin/env python3
"""A node that leaves a child process behind, for the teardown tests (standard library only).

Usage: forking.py PIDFILE MODE

On init it starts a child that ignores SIGHUP and SIGTERM and sleeps, writes
the child's pid to PIDFILE and answers init_ok. Then:

- exit: exits with status 3 at its first request (a crash run);
- deaf: stops reading stdin altogether and sleeps (requests time out; EOF on
  stdin would never be noticed either).
"""

import json
import os
import signal
import subprocess
import sys
import time

CHILD = ("import signal, time\n"
         "signal.signal(signal.SIGHUP, signal.SIG_IGN)\n"
         "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
         "time.sleep(600)\n")


def main():
    pidfile, mode = sys.argv[1], sys.argv[2]
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    for line in sys.stdin:
        msg = json.loads(line)
        body = msg["body"]
        if body["type"] == "init":
            child = subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.DEVNULL)
            tmp = pidfile + ".tmp"
            with open(tmp, "w") as f:
                f.write(str(child.pid))
            os.replace(tmp, pidfile)
            out = {"src": body["node_id"], "dest": msg["src"],
                   "body": {"type": "init_ok", "in_reply_to": body["msg_id"]}}
            sys.stdout.write(json.dumps(out) + "\n")
            sys.stdout.flush()
            if mode == "deaf":
                while True:
                    time.sleep(600)
            continue
        if mode == "exit":
            print("exiting on purpose, leaving a child behind", file=sys.stderr, flush=True)
            sys.exit(3)


if __name__ == "__main__":
    main()
