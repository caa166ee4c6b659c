"""Which nodes a run has, from Maelstrom's four node options combined as Maelstrom does."""

from __future__ import annotations

import pytest

from maelstrom.node_names import DEFAULT_NODES, node_names, split_nodes_file


def test_no_option_gives_n1_to_n5():
    assert node_names() == DEFAULT_NODES == ("n1", "n2", "n3", "n4", "n5")


def test_node_count_counts_from_zero():
    assert node_names(node_count=3) == ("n0", "n1", "n2")


def test_repeated_node_flags_replace_the_default_in_order():
    assert node_names(node=("b", "a")) == ("b", "a")


def test_nodes_is_split_on_commas_and_the_blanks_after_them():
    assert node_names(nodes="x1, x2,x3") == ("x1", "x2", "x3")


def test_node_count_overrides_nodes_but_not_node_flags_or_the_file():
    # Maelstrom's parse-node-count replaces :nodes; Jepsen's parse-nodes then
    # concatenates the file, that list and the -n names.
    assert node_names(node_count=2, nodes="x1,x2") == ("n0", "n1")
    assert node_names(node_count=2, node=("k",), nodes_file_text="f1\nf2\n") == ("f1", "f2", "n0", "n1", "k")


def test_file_then_nodes_then_node_flags():
    assert node_names(node=("k",), nodes="x1", nodes_file_text="f1\n") == ("f1", "x1", "k")


def test_nodes_or_a_file_drop_the_default_node_list():
    assert node_names(nodes="x1") == ("x1",)
    assert node_names(nodes_file_text="f1\nf2") == ("f1", "f2")


def test_file_lines_lose_the_blanks_around_newlines_and_trailing_empty_lines():
    assert split_nodes_file("f1 \n  f2\r\n\n\nf3\n\n") == ["f1", "f2", "f3"]
    assert split_nodes_file("\nf1") == ["", "f1"]  # Java's split keeps a leading empty name


@pytest.mark.parametrize("kwargs,text", [
    ({"nodes": ""}, "empty node name"),
    ({"nodes_file_text": ""}, "empty node name"),
    ({"nodes_file_text": "\nf1\n"}, "empty node name"),
    ({"nodes": "a1,a1"}, "named twice"),
    ({"node_count": 2, "node": ("n1",)}, "named twice"),
    ({"nodes": "n1,c2"}, "clients"),
    ({"node": ("lin-kv",)}, "service"),
    ({"nodes": "../x"}, "log file"),
    ({"node": ("..",)}, "log file"),
])
def test_names_that_would_make_a_run_wrong_are_refused(kwargs, text):
    with pytest.raises(ValueError, match=text):
        node_names(**kwargs)
