"""Wire formats with no I/O: RESP2/RESP3 and Maelstrom's JSON envelope."""
