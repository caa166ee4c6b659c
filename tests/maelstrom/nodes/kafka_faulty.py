#!/usr/bin/env python3
"""A deliberately broken kafka node for the harness tests (standard library only).

Usage: kafka_faulty.py MODE

- drop: every 5th send is acknowledged with an offset but its message is never
  stored, so polls skip that offset (lost-write, unseen).
- reuse: every 5th send is given the previous send's offset on that key and
  overwrites it (inconsistent-offsets).
- ok: a correct in-memory kafka node (a control).
"""

import json
import sys

POLL_MAX = 50


def send(src, dest, body):
    sys.stdout.write(json.dumps({"src": src, "dest": dest, "body": body}) + "\n")
    sys.stdout.flush()


def main():
    mode = sys.argv[1]
    me = None
    logs = {}  # key -> {offset: msg}
    next_offset = {}
    committed = {}
    sends = 0
    for line in sys.stdin:
        msg = json.loads(line)
        body = msg["body"]
        t = body["type"]

        def reply(out):
            send(me, msg["src"], dict(out, in_reply_to=body["msg_id"]))

        if t == "init":
            me = body["node_id"]
            reply({"type": "init_ok"})
        elif t == "send":
            sends += 1
            k = body["key"]
            log = logs.setdefault(k, {})
            o = next_offset.get(k, 0)
            if mode == "reuse" and sends % 5 == 0 and o > 0:
                o -= 1
            else:
                next_offset[k] = o + 1
            if not (mode == "drop" and sends % 5 == 0):
                log[o] = body["msg"]
            reply({"type": "send_ok", "offset": o})
        elif t == "poll":
            msgs = {}
            for k, start in body["offsets"].items():
                log = logs.get(k, {})
                pairs = [[o, log[o]] for o in sorted(log) if o >= start][:POLL_MAX]
                if pairs:
                    msgs[k] = pairs
            reply({"type": "poll_ok", "msgs": msgs})
        elif t == "commit_offsets":
            for k, o in body["offsets"].items():
                committed[k] = max(committed.get(k, -1), o)
            reply({"type": "commit_offsets_ok"})
        elif t == "list_committed_offsets":
            reply({"type": "list_committed_offsets_ok",
                   "offsets": {k: committed[k] for k in body["keys"] if k in committed}})
        else:
            reply({"type": "error", "code": 10, "text": f"{t} not supported"})


if __name__ == "__main__":
    main()
