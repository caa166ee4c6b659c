#!/usr/bin/env python3
"""Deliberately broken Maelstrom nodes for the harness tests (standard library only).

Usage: faulty.py MODE

- stale-read: lin-kv on a local map, but reads answer the value from before
  the latest change (not linearizable).
- txn-stale: txn-list-append and txn-rw-register on a local map, each txn
  atomic, but a read of a key another txn changed answers the key as it was
  before that txn's change (not serializable).
- lost-write: broadcast that tells its neighbours once and never retries, so
  messages cut by a partition are lost for good.
- garbage: echo, but every third request it first prints a non-JSON line, a
  message to an unknown destination, and one that breaks the envelope.
- bad-schema: echo whose echo_ok carries an extra key (closed schema).
- crash: echo that exits with status 3 on its third request.
- no-init: never answers init.
"""

import json
import sys


def send(src, dest, body):
    sys.stdout.write(json.dumps({"src": src, "dest": dest, "body": body}) + "\n")
    sys.stdout.flush()


def main():
    mode = sys.argv[1]
    me = None
    nodes = []
    kv, previous = {}, {}
    elements = set()
    requests = 0
    for line in sys.stdin:
        msg = json.loads(line)
        body = msg["body"]
        t = body["type"]

        def reply(out):
            send(me, msg["src"], dict(out, in_reply_to=body["msg_id"]))

        if t == "init":
            if mode == "no-init":
                print("ignoring init on purpose", file=sys.stderr, flush=True)
                continue
            me, nodes = body["node_id"], body["node_ids"]
            reply({"type": "init_ok"})
            continue
        requests += 1
        if t == "echo":
            if mode == "crash" and requests >= 3:
                print(f"{me}: crashing on purpose after {requests} requests", file=sys.stderr,
                      flush=True)
                sys.exit(3)
            if mode == "garbage" and requests % 3 == 0:
                sys.stdout.write("this is not json\n")
                send(me, "n-nowhere", {"type": "echo_ok"})
                sys.stdout.write(json.dumps({"src": me, "body": {"type": "x"}}) + "\n")
                sys.stdout.flush()
            out = {"type": "echo_ok", "echo": body["echo"]}
            if mode == "bad-schema":
                out["extra"] = 1
            reply(out)
        elif t in ("read", "write", "cas") and mode == "stale-read":
            k = json.dumps(body["key"])
            if t == "read":
                if k in previous:
                    reply({"type": "read_ok", "value": previous[k]})
                elif k in kv:
                    reply({"type": "read_ok", "value": kv[k]})
                else:
                    reply({"type": "error", "code": 20, "text": "no such key"})
                continue
            if t == "cas" and k not in kv:
                reply({"type": "error", "code": 20, "text": "no such key"})
                continue
            if t == "cas" and kv[k] != body["from"]:
                reply({"type": "error", "code": 22, "text": "from differs"})
                continue
            new = body["value"] if t == "write" else body["to"]
            if k in kv and kv[k] != new:
                previous[k] = kv[k]
            kv[k] = new
            reply({"type": "write_ok" if t == "write" else "cas_ok"})
        elif t == "txn" and mode == "txn-stale":
            out = []
            mine = {}  # this txn's own writes, which it does see
            for f, k, v in body["txn"]:
                k2 = json.dumps(k)
                if f == "r":
                    if k2 in mine:
                        v = mine[k2]
                    else:
                        v = previous.get(k2, kv.get(k2))
                    v = list(v) if isinstance(v, list) else v
                else:
                    old = mine.get(k2, kv.get(k2))
                    mine[k2] = (old or []) + [v] if f == "append" else v
                out.append([f, k, v])
            for k2, new in mine.items():
                previous[k2] = kv.get(k2)
                kv[k2] = new
            reply({"type": "txn_ok", "txn": out})
        elif t == "topology":
            reply({"type": "topology_ok"})
        elif t == "broadcast":
            m = body["message"]
            if m not in elements:
                elements.add(m)
                for n in nodes:
                    if n != me and n != msg["src"]:
                        send(me, n, {"type": "broadcast", "message": m})
            if "msg_id" in body:
                reply({"type": "broadcast_ok"})
        elif t == "read":
            reply({"type": "read_ok", "messages": sorted(elements)})


if __name__ == "__main__":
    main()
