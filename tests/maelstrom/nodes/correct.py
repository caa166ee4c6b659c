#!/usr/bin/env python3
"""A correct Maelstrom node for the harness tests (standard library only).

Usage: correct.py WORKLOAD, where WORKLOAD is echo, unique-ids, broadcast,
g-set, g-counter, pn-counter, lin-kv (forwards to the lin-kv service, correct
on any node count) or lin-kv-local (a local map: correct on one node).

Replicated state (broadcast and g-set elements, counter entries) is gossiped
to every other node every GOSSIP_INTERVAL_S until acknowledged, so it
converges after partitions heal.
"""

import json
import os
import select
import sys
import time

GOSSIP_INTERVAL_S = 0.1


class Node:
    def __init__(self, workload):
        self.workload = workload
        self.id = None
        self.nodes = []
        self.next_msg_id = 0
        self.elements = set()          # broadcast / g-set
        self.acked = {}                # peer -> elements it acknowledged
        self.counts = {}               # node -> [inc, dec]
        self.kv = {}                   # lin-kv-local
        self.pending = {}              # our msg_id -> (client, client msg_id)
        self.ids = 0

    def send(self, dest, body):
        sys.stdout.write(json.dumps({"src": self.id, "dest": dest, "body": body}) + "\n")
        sys.stdout.flush()

    def rpc(self, dest, body):
        self.next_msg_id += 1
        self.send(dest, dict(body, msg_id=self.next_msg_id))
        return self.next_msg_id

    def reply(self, msg, body):
        self.send(msg["src"], dict(body, in_reply_to=msg["body"]["msg_id"]))

    def handle(self, msg):
        body = msg["body"]
        t = body["type"]
        if t == "init":
            self.id = body["node_id"]
            self.nodes = body["node_ids"]
            self.acked = {n: set() for n in self.nodes if n != self.id}
            self.counts = {n: [0, 0] for n in self.nodes}
            self.reply(msg, {"type": "init_ok"})
        elif t == "echo":
            self.reply(msg, {"type": "echo_ok", "echo": body["echo"]})
        elif t == "generate":
            self.ids += 1
            self.reply(msg, {"type": "generate_ok", "id": f"{self.id}-{self.ids}"})
        elif t == "topology":
            self.reply(msg, {"type": "topology_ok"})
        elif t == "broadcast":
            self.elements.add(body["message"])
            self.reply(msg, {"type": "broadcast_ok"})
        elif t == "add" and self.workload == "g-set":
            self.elements.add(body["element"])
            self.reply(msg, {"type": "add_ok"})
        elif t == "add":
            c = self.counts[self.id]
            if body["delta"] >= 0:
                c[0] += body["delta"]
            else:
                c[1] -= body["delta"]
            self.reply(msg, {"type": "add_ok"})
        elif t == "gossip":
            self.elements.update(body.get("elements", []))
            for n, (inc, dec) in body.get("counts", {}).items():
                c = self.counts.setdefault(n, [0, 0])
                c[0], c[1] = max(c[0], inc), max(c[1], dec)
            self.reply(msg, {"type": "gossip_ok", "elements": body.get("elements", [])})
        elif t == "gossip_ok":
            self.acked.setdefault(msg["src"], set()).update(body["elements"])
        elif t == "read" and self.workload == "broadcast":
            self.reply(msg, {"type": "read_ok", "messages": sorted(self.elements)})
        elif t == "read" and self.workload == "g-set":
            self.reply(msg, {"type": "read_ok", "value": sorted(self.elements)})
        elif t == "read" and self.workload in ("g-counter", "pn-counter"):
            self.reply(msg, {"type": "read_ok", "value": sum(i - d for i, d in self.counts.values())})
        elif t in ("read", "write", "cas") and self.workload == "lin-kv-local":
            self.local_kv(msg)
        elif t in ("read", "write", "cas") and self.workload == "lin-kv":
            mid = self.rpc("lin-kv", {k: v for k, v in body.items() if k != "msg_id"})
            self.pending[mid] = (msg["src"], body["msg_id"])
        elif "in_reply_to" in body and body["in_reply_to"] in self.pending:
            client, client_msg_id = self.pending.pop(body["in_reply_to"])
            out = {k: v for k, v in body.items() if k not in ("msg_id", "in_reply_to")}
            self.send(client, dict(out, in_reply_to=client_msg_id))
        elif "msg_id" in body:
            self.reply(msg, {"type": "error", "code": 10, "text": f"unsupported type {t}"})

    def local_kv(self, msg):
        body = msg["body"]
        k = json.dumps(body["key"])
        if body["type"] == "read":
            if k not in self.kv:
                return self.reply(msg, {"type": "error", "code": 20, "text": "no such key"})
            return self.reply(msg, {"type": "read_ok", "value": self.kv[k]})
        if body["type"] == "write":
            self.kv[k] = body["value"]
            return self.reply(msg, {"type": "write_ok"})
        if k not in self.kv:
            return self.reply(msg, {"type": "error", "code": 20, "text": "no such key"})
        if self.kv[k] != body["from"]:
            return self.reply(msg, {"type": "error", "code": 22, "text": "from differs"})
        self.kv[k] = body["to"]
        self.reply(msg, {"type": "cas_ok"})

    def gossip(self):
        if self.id is None:
            return
        for peer, acked in self.acked.items():
            missing = sorted(self.elements - acked)
            body = {"type": "gossip", "elements": missing}
            if self.workload in ("g-counter", "pn-counter"):
                body["counts"] = self.counts
            elif not missing:
                continue
            self.rpc(peer, body)


def main():
    node = Node(sys.argv[1] if len(sys.argv) > 1 else "echo")
    buf = b""
    next_gossip = time.monotonic() + GOSSIP_INTERVAL_S
    while True:
        timeout = max(0.0, next_gossip - time.monotonic())
        ready, _, _ = select.select([0], [], [], timeout)
        if ready:
            chunk = os.read(0, 65536)
            if not chunk:
                return
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for line in lines:
                if line.strip():
                    node.handle(json.loads(line))
        if time.monotonic() >= next_gossip:
            node.gossip()
            next_gossip = time.monotonic() + GOSSIP_INTERVAL_S


if __name__ == "__main__":
    main()
