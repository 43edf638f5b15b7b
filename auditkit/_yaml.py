"""The one YAML reader for every file auditkit reads: strict types, and limits a hostile file cannot pass.

Templates, checklist instruments and answers, report message catalogs, archetype and constraint files all
come from other people, so every one of them is read here, under the same rules:

* only ``true``/``false`` are booleans (``no``, Norway's code, stays text) and dates stay text;
* a key written twice in one mapping is refused (YAML would silently keep the last one);
* anchors and aliases (``&name`` / ``*name``) may repeat at most :data:`MAX_ALIAS_VALUES` values in
  all; the 1 KB "billion laughs" file, which expands to 10⁹ values, is refused before it is expanded;
* nesting is at most :data:`MAX_DEPTH` levels and the text at most :data:`MAX_CHARS` characters;
* ``.inf``, ``.nan`` and numbers too large for a float are refused (they cannot be written as JSON);
  integers are at most 100 digits;
* only what JSON can hold is read: a tag such as ``!!binary``, ``!!set`` or ``!!timestamp`` is refused.

The checks run on the composed node graph, whose size is linear in the file's length (an alias is one
shared node), so refusing a hostile file costs as little as reading an honest one.

>>> load_yaml("a: [1, 2]\\nb: no\\n")
{'a': [1, 2], 'b': 'no'}
>>> load_yaml("a: &x [1, 2]\\nb: *x\\n")
{'a': [1, 2], 'b': [1, 2]}
>>> load_yaml("a: 1\\na: 2\\n")
Traceback (most recent call last):
...
auditkit._yaml.YamlLimitError: line 2: the key 'a' appears twice in one mapping (lines 1 and 2); YAML would silently keep the last one.
"""

from __future__ import annotations

import math
import re
from typing import Any

__all__ = ["MAX_ALIAS_VALUES", "MAX_CHARS", "MAX_DEPTH", "YamlLimitError", "compose_yaml", "construct", "load_yaml"]

#: Values that anchors and aliases may add to a document beyond what it writes out.
MAX_ALIAS_VALUES = 100_000
#: Deepest nesting of mappings and lists.
MAX_DEPTH = 64
#: Longest YAML text read, in characters (templates have their own, smaller limit).
MAX_CHARS = 10_000_000
_MAX_INT_DIGITS = 100
_BOOL = "tag:yaml.org,2002:bool"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_STR = "tag:yaml.org,2002:str"
# What JSON can hold, and the merge key ('<<: *defaults'): a !!binary, !!set, !!omap or !!timestamp value
# would reach the JSON writers as bytes, a set or a date.
_TAGS = {f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "seq", "map", "merge")}
_LOADER: type | None = None


class YamlLimitError(ValueError):
    """A YAML document auditkit refuses to read; ``line`` is 1-based (or None), ``fix`` says what to do."""

    def __init__(self, reason: str, line: int | None = None, fix: str = ""):
        super().__init__(f"line {line}: {reason}" if line else reason)
        self.reason, self.line, self.fix = reason, line, fix


def _loader_class() -> type:
    global _LOADER
    if _LOADER is None:
        import yaml

        base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: ten times faster

        class StrictLoader(base):  # type: ignore[valid-type,misc]
            """SafeLoader with YAML 1.2 booleans and no implicit timestamps."""

        StrictLoader.yaml_implicit_resolvers = {
            first: [(tag, rx) for tag, rx in resolvers if tag not in (_BOOL, _TIMESTAMP)]
            for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
        }
        StrictLoader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
        _LOADER = StrictLoader
    return _LOADER


def _children(node: Any) -> list:
    import yaml

    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_tag(node: Any) -> None:
    if node.tag not in _TAGS:
        shown = node.tag.replace("tag:yaml.org,2002:", "!!")
        raise YamlLimitError(f"the tag {shown} is not accepted: auditkit reads text, numbers, true/false, null, "
                             "lists and mappings.", node.start_mark.line + 1,
                             "Remove the tag, or put the value in quotes.")


def _check_scalar(node: Any, loader: Any) -> None:
    line = node.start_mark.line + 1
    if node.tag == "tag:yaml.org,2002:float":
        try:
            value = loader.construct_yaml_float(node)
        except (ValueError, OverflowError):
            value = math.nan
        if not math.isfinite(value):
            raise YamlLimitError(f"the number {node.value!r} is not finite (infinite, not-a-number or too large); "
                                 "auditkit writes every number as JSON, which has no such values.", line,
                                 "Write a finite number, or put the text in quotes.")
    elif node.tag == "tag:yaml.org,2002:int" and len(node.value) > _MAX_INT_DIGITS:
        raise YamlLimitError(f"a whole number of {len(node.value):,} characters; at most {_MAX_INT_DIGITS} are read.",
                             line, "Put it in quotes if it is an identifier.")


def _check_keys(node: Any) -> None:
    import yaml

    seen: dict[str, int] = {}
    for key_node, _ in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.tag == _STR:
            line = key_node.start_mark.line + 1
            if key_node.value in seen:
                raise YamlLimitError(f"the key {key_node.value!r} appears twice in one mapping (lines "
                                     f"{seen[key_node.value]} and {line}); YAML would silently keep the last one.",
                                     line, "Keep one of them.")
            seen[key_node.value] = line


def _check_graph(root: Any, loader: Any, duplicates: bool, aliases: bool = True) -> None:
    """Refuse deep nesting, alias bombs, non-finite numbers (and duplicate keys): one pass, no recursion."""
    import yaml

    size: dict[int, int] = {}  # id(node) -> values once every alias below it is expanded
    depth: dict[int, int] = {}
    written = 0
    stack: list[tuple[Any, bool]] = [(root, False)]
    shared: list[Any] = []
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            kids = _children(node)
            size[key] = 1 + sum(size[id(k)] for k in kids)
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=0)
            if depth[key] > MAX_DEPTH:
                raise YamlLimitError(f"the document nests more than {MAX_DEPTH} levels of mappings and lists.",
                                     node.start_mark.line + 1, "Is this the right file?")
            continue
        if key in size:
            shared.append(node)  # reached again through an alias
            if not aliases:
                raise YamlLimitError("YAML anchors and aliases (&name, *name) are not accepted in this file; the "
                                     f"value anchored on line {node.start_mark.line + 1} is used again.",
                                     node.start_mark.line + 1, "Write the values out.")
            continue
        written += 1
        _check_tag(node)
        if isinstance(node, yaml.ScalarNode):
            _check_scalar(node, loader)
            size[key], depth[key] = 1, 0
            continue
        if isinstance(node, yaml.MappingNode) and duplicates:
            _check_keys(node)
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(_children(node)))
    extra = size[id(root)] - written
    if extra > MAX_ALIAS_VALUES:
        biggest = max(shared, key=lambda n: size.get(id(n), 0))
        raise YamlLimitError(
            f"its anchors and aliases (&name / *name) expand {written:,} written values into "
            f"{size[id(root)]:,}; aliases may repeat at most {MAX_ALIAS_VALUES:,} values (the largest repeated "
            f"part starts on line {biggest.start_mark.line + 1}).", biggest.start_mark.line + 1,
            "Write the repeated parts out, or check that this is the file you meant to use.")


def compose_yaml(text: str, *, duplicates: bool = True, aliases: bool = True) -> tuple[Any, Any]:
    """(node graph or None, loader) for ``text`` after every check; call ``loader.dispose()`` when done.

    Raises :class:`YamlLimitError` for a refused document and ``yaml.YAMLError`` for a syntax error.
    ``duplicates=False`` leaves duplicate keys to the caller (the template reader reports all of them);
    ``aliases=False`` refuses every alias (files that never need one, such as model specifications).
    """
    if len(text) > MAX_CHARS:
        raise YamlLimitError(f"the text is {len(text):,} characters long; at most {MAX_CHARS:,} are read.",
                             None, "Is this the right file?")
    loader = _loader_class()(text)
    try:
        node = loader.get_single_node()
    except RecursionError as err:
        loader.dispose()
        raise YamlLimitError(f"the document nests more than {MAX_DEPTH} levels of mappings and lists.",
                             None, "Is this the right file?") from err
    except BaseException:
        loader.dispose()
        raise
    if node is not None:
        try:
            _check_graph(node, loader, duplicates, aliases)
        except BaseException:
            loader.dispose()
            raise
    return node, loader


def construct(node: Any, loader: Any) -> Any:
    """The Python value of a checked node graph (None for an empty document)."""
    if node is None:
        return None
    try:
        return loader.construct_document(node)
    except Exception as err:  # noqa: BLE001 - PyYAML's constructors fail in many ways on crafted values
        mark = getattr(err, "problem_mark", None)
        raise YamlLimitError(f"a value cannot be read ({type(err).__name__}: {err}).", mark.line + 1 if mark else None,
                             "Put it in quotes.") from err


def load_yaml(text: str, *, aliases: bool = True) -> Any:
    """Parse one YAML document from ``text`` under the rules in the module docstring.

    Raises :class:`YamlLimitError` (with ``line``) for a refused document and ``yaml.YAMLError`` for a
    syntax error.  ``aliases=False`` refuses any alias at all.
    """
    node, loader = compose_yaml(text, aliases=aliases)
    try:
        return construct(node, loader)
    finally:
        loader.dispose()
