"""OData query options shared by Graph, Dataverse and Business Central: $filter, $select, $top, $orderby, paging.

Services turn `ODataError` into their own error body (Graph `BadRequest`, Dataverse `0x80060888`, ...).
$filter is parsed once into a predicate over documents; unsupported syntax is an error, never ignored.
Services differ in what $filter accepts: a `Dialect` says which (Graph and BC take OData 4.01's `in` operator;
Dataverse's OData 4.0 endpoint does not, and offers the query functions `Microsoft.Dynamics.CRM.In`/`NotIn`).
"""
from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from collections.abc import Hashable
from typing import Any, Callable, Iterable


class ODataError(ValueError):
    """A query option the service would reject; the message is the one shown to the client."""


# -- tokens ---------------------------------------------------------------------------------------
_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_DATETIME = r"\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)?"
_TOKEN_RE = re.compile(
    rf"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^']|'')*')
  | (?P<guid>{_GUID})(?![\w-])
  | (?P<datetime>{_DATETIME})(?![\w:])
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(?![\w-])
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<comma>,)
  | (?P<colon>:)
  | (?P<equals>=)
  | (?P<lbracket>\[)
  | (?P<rbracket>\])
  | (?P<name>[A-Za-z_@$][\w.@$]*(?:/[A-Za-z_@$][\w.@$]*)*)
    """,
    re.VERBOSE,
)

COMPARISONS = {"eq", "ne", "gt", "ge", "lt", "le"}
FUNCTIONS = {"startswith", "endswith", "contains", "tolower", "toupper"}


@dataclass(frozen=True)
class Dialect:
    """What one service's $filter accepts beyond the common core (comparisons, and/or/not, string functions)."""

    in_operator: bool = True                    # OData 4.01 `prop in ('a','b')`
    in_operator_error: str = ""                 # the service's message when `in` is used but not supported
    list_functions: frozenset[str] = frozenset()  # `NS.In(PropertyName='p',PropertyValues=['a'])`-style functions


# Graph and Business Central: OData 4.01's `in` operator (Graph documents it for $filter).
ODATA_401 = Dialect()
# Dataverse Web API (OData 4.0): no `in` operator; the documented way is the query function
# Microsoft.Dynamics.CRM.In (and NotIn), PropertyValues a Collection(Edm.String): every value quoted, GUIDs too.
# The error text for a bare `in` is the one Dataverse answered in DynamicsWebApi issue #121; its status and
# code (400, 0x80060888 as for other bad $filter) are unconfirmed.
DATAVERSE = Dialect(in_operator=False, in_operator_error="The method or operation is not implemented.",
                    list_functions=frozenset({"Microsoft.Dynamics.CRM.In", "Microsoft.Dynamics.CRM.NotIn"}))


class Guid(str):
    """An unquoted GUID literal: compares case-insensitively with strings."""


@dataclass
class _Tok:
    kind: str
    text: str
    pos: int


def _tokenize(text: str) -> list[_Tok]:
    tokens, pos = [], 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if not m:
            raise ODataError(f"Syntax error at position {pos} in '{text}'.")
        if m.lastgroup != "ws":
            tokens.append(_Tok(m.lastgroup, m.group(), pos))
        pos = m.end()
    return tokens


# -- AST --------------------------------------------------------------------------------------------
# Nodes are tuples: ("lit", value) ("prop", path) ("cmp", op, a, b) ("in", a, [values]) ("and", a, b)
# ("or", a, b) ("not", a) ("call", name, [args]) ("any", path, var, body|None) ("var", name, subpath)
# ("in_strings", a, [strings]): a list function's test, whose string values compare with any property type.


class _Parser:
    def __init__(self, text: str, dialect: Dialect = ODATA_401, aliases: dict[str, str] | None = None):
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0
        self.lambda_vars: list[str] = []
        self.dialect = dialect
        self.aliases = aliases or {}

    def peek(self, offset: int = 0) -> _Tok | None:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def take(self, kind: str | None = None, text: str | None = None) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise ODataError(f"Syntax error: unexpected end of '{self.text}'.")
        if (kind and tok.kind != kind) or (text and tok.text.lower() != text):
            raise ODataError(f"Syntax error at position {tok.pos} in '{self.text}'.")
        self.i += 1
        return tok

    def at_word(self, word: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "name" and tok.text.lower() == word

    def parse(self):
        if not self.tokens:
            raise ODataError("The $filter expression is empty.")
        node = self.or_expr()
        if self.peek() is not None:
            tok = self.peek()
            raise ODataError(f"Syntax error at position {tok.pos} in '{self.text}'.")
        return node

    def or_expr(self):
        node = self.and_expr()
        while self.at_word("or"):
            self.i += 1
            node = ("or", node, self.and_expr())
        return node

    def and_expr(self):
        node = self.not_expr()
        while self.at_word("and"):
            self.i += 1
            node = ("and", node, self.not_expr())
        return node

    def not_expr(self):
        if self.at_word("not"):
            self.i += 1
            return ("not", self.not_expr())
        return self.comparison()

    def comparison(self):
        left = self.operand()
        tok = self.peek()
        if tok is not None and tok.kind == "name" and tok.text.lower() in COMPARISONS:
            self.i += 1
            return ("cmp", tok.text.lower(), left, self.operand())
        if tok is not None and tok.kind == "name" and tok.text.lower() == "in":
            if not self.dialect.in_operator:
                raise ODataError(self.dialect.in_operator_error or f"Syntax error at position {tok.pos} in '{self.text}'.")
            self.i += 1
            self.take("lparen")
            values = [self.literal_value()]
            while self.peek() is not None and self.peek().kind == "comma":
                self.i += 1
                values.append(self.literal_value())
            self.take("rparen")
            return ("in", left, values)
        return left  # a boolean function call, a lambda, or a bare boolean property

    def literal_value(self):
        node = self.operand()
        if node[0] != "lit":
            raise ODataError(f"Only literals are allowed in an 'in' list in '{self.text}'.")
        return node[1]

    def operand(self):
        tok = self.take()
        if tok.kind == "lparen":
            node = self.or_expr()
            self.take("rparen")
            return node
        if tok.kind == "string":
            return ("lit", tok.text[1:-1].replace("''", "'"))
        if tok.kind == "guid":
            return ("lit", Guid(tok.text.lower()))
        if tok.kind == "datetime":
            return ("lit", tok.text)
        if tok.kind == "number":
            return ("lit", float(tok.text) if any(c in tok.text for c in ".eE") else int(tok.text))
        if tok.kind != "name":
            raise ODataError(f"Syntax error at position {tok.pos} in '{self.text}'.")
        word = tok.text
        lowered = word.lower()
        if lowered in ("true", "false"):
            return ("lit", lowered == "true")
        if lowered == "null":
            return ("lit", None)
        nxt = self.peek()
        if lowered in FUNCTIONS and nxt is not None and nxt.kind == "lparen":
            self.i += 1
            args = [self.or_expr()]
            while self.peek() is not None and self.peek().kind == "comma":
                self.i += 1
                args.append(self.or_expr())
            self.take("rparen")
            return ("call", lowered, args)
        if word in self.dialect.list_functions and nxt is not None and nxt.kind == "lparen":
            return self.list_function(word)
        if word.endswith("/any") or word.endswith("/all"):
            return self.lambda_expr(word)
        head, _, rest = word.partition("/")
        if head in self.lambda_vars:
            return ("var", head, rest)
        if nxt is not None and nxt.kind == "lparen":
            raise ODataError(f"An unknown function with name '{word}' was found.")
        return ("prop", word)

    def list_function(self, name: str):
        """`NS.In(PropertyName='p',PropertyValues=['a','b'])`, values inline or as `@alias` query parameters."""
        self.take("lparen")
        params: dict[str, object] = {}
        while True:
            key = self.take("name").text
            self.take("equals")
            if key in params:
                raise ODataError(f"The parameter '{key}' is given more than once in '{self.text}'.")
            params[key] = self.parameter_value()
            if self.peek() is not None and self.peek().kind == "comma":
                self.i += 1
                continue
            self.take("rparen")
            break
        # Parameter checks and their wording follow OData's rules; Dataverse's exact messages are unconfirmed.
        for key in params:
            if key not in ("PropertyName", "PropertyValues"):
                raise ODataError(f"The parameter '{key}' is not defined for the function '{name}'.")
        for key in ("PropertyName", "PropertyValues"):
            if key not in params:
                raise ODataError(f"The parameter '{key}' of the function '{name}' is missing.")
        prop, values = params["PropertyName"], params["PropertyValues"]
        if not isinstance(prop, str) or not prop:
            raise ODataError(f"The parameter 'PropertyName' of the function '{name}' must be a string.")
        if not isinstance(values, list) or not all(isinstance(v, str) and not isinstance(v, Guid) for v in values):
            raise ODataError(f"The parameter 'PropertyValues' of the function '{name}' must be a collection of "
                             "strings.")
        node = ("in_strings", ("prop", prop), values)
        return ("not", node) if name.endswith("NotIn") else node

    def parameter_value(self):
        """A string literal, a `['a','b']` collection of them, or an `@alias` whose query parameter holds one."""
        tok = self.peek()
        if tok is not None and tok.kind == "name" and tok.text.startswith("@"):
            self.i += 1
            if tok.text not in self.aliases:
                raise ODataError(f"The parameter alias '{tok.text}' has no value in the query.")
            sub = _Parser(self.aliases[tok.text], self.dialect)
            value = sub.parameter_value()
            if sub.peek() is not None:
                raise ODataError(f"Syntax error in the value of '{tok.text}'.")
            return value
        if tok is not None and tok.kind == "lbracket":
            self.i += 1
            values = []
            if self.peek() is not None and self.peek().kind == "rbracket":
                self.i += 1
                return values
            while True:
                values.append(self.literal_value())
                if self.peek() is not None and self.peek().kind == "comma":
                    self.i += 1
                    continue
                self.take("rbracket")
                return values
        return self.literal_value()

    def lambda_expr(self, word: str):
        path, _, op = word.rpartition("/")
        self.take("lparen")
        if self.peek() is not None and self.peek().kind == "rparen":
            self.i += 1
            return (op, path, None, None)
        var = self.take("name").text
        self.take("colon")
        self.lambda_vars.append(var)
        try:
            body = self.or_expr()
        finally:
            self.lambda_vars.pop()
        self.take("rparen")
        return (op, path, var, body)


def parse_filter(text: str, dialect: Dialect = ODATA_401, aliases: dict[str, str] | None = None):
    """The AST of a $filter expression (tuples; see the comment above `_Parser`); `aliases`: `@name` parameters."""
    return _Parser(text, dialect, aliases).parse()


# -- evaluation -----------------------------------------------------------------------------------
Resolver = Callable[[dict, str], Any]


def default_resolve(doc: dict, path: str) -> Any:
    """A property path `a/b/c` through nested dicts; missing is null."""
    value: Any = doc
    for part in path.split("/"):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _norm(value: Any, case_insensitive: bool) -> Any:
    if isinstance(value, str) and (case_insensitive or isinstance(value, Guid)):
        return value.lower()
    return value


def _compare(op: str, a: Any, b: Any, ci: bool) -> bool:
    if isinstance(a, Guid) or isinstance(b, Guid):
        a = a.lower() if isinstance(a, str) else a
        b = b.lower() if isinstance(b, str) else b
    a, b = _norm(a, ci), _norm(b, ci)
    if op == "eq":
        return a == b
    if op == "ne":
        return a != b
    if a is None or b is None:
        return False
    try:
        return {"gt": a > b, "ge": a >= b, "lt": a < b, "le": a <= b}[op]
    except TypeError:
        raise ODataError(f"The operator '{op}' cannot compare these operand types.") from None


def _as_string(value: Any) -> str | None:
    """A property value as the string a list function's PropertyValues compares with (numbers, booleans too)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Filter:
    """A compiled $filter: `Filter(text)(doc) -> bool`."""

    def __init__(self, text: str, resolve: Resolver = default_resolve, case_insensitive: bool = False,
                 dialect: Dialect = ODATA_401, aliases: dict[str, str] | None = None):
        self.text = text
        self.ast = parse_filter(text, dialect, aliases)
        self.resolve = resolve
        self.ci = case_insensitive
        self._sets: dict[int, frozenset] = {}   # id of an `in` list of the AST -> its values, folded

    def __call__(self, doc: dict) -> bool:
        return bool(self._eval(self.ast, doc, {}))

    def equalities(self) -> list[tuple[str, Any]]:
        """(property path, literal) pairs every match satisfies: the `prop eq literal` terms of a top-level `and`
        chain. A service may answer from an index of those values first and evaluate the whole filter on what
        it finds (the same matches, without evaluating every record)."""
        found, pending = [], [self.ast]
        while pending:
            node = pending.pop()
            if node[0] == "and":
                pending += [node[1], node[2]]
            elif node[0] == "cmp" and node[1] == "eq":
                sides = {node[2][0]: node[2], node[3][0]: node[3]}
                if set(sides) == {"prop", "lit"}:
                    found.append((sides["prop"][1], sides["lit"][1]))
        return found

    def properties(self) -> set[str]:
        """Property paths the filter reads (services reject unknown ones with their own error)."""
        found: set[str] = set()

        def walk(node):
            if not isinstance(node, tuple):
                return
            if node[0] == "prop":
                found.add(node[1])
            elif node[0] in ("any", "all"):
                found.add(node[1])
            for child in node[1:]:
                if isinstance(child, tuple):
                    walk(child)
                elif isinstance(child, list):
                    for item in child:
                        walk(item)

        walk(self.ast)
        return found

    def _eval(self, node, doc: dict, env: dict) -> Any:
        kind = node[0]
        if kind == "lit":
            return node[1]
        if kind == "prop":
            return self.resolve(doc, node[1])
        if kind == "var":
            value = env[node[1]]
            return default_resolve(value, node[2]) if node[2] else value
        if kind == "and":
            return bool(self._eval(node[1], doc, env)) and bool(self._eval(node[2], doc, env))
        if kind == "or":
            return bool(self._eval(node[1], doc, env)) or bool(self._eval(node[2], doc, env))
        if kind == "not":
            return not self._eval(node[1], doc, env)
        if kind == "cmp":
            return _compare(node[1], self._eval(node[2], doc, env), self._eval(node[3], doc, env), self.ci)
        if kind == "in":
            return self._among(self._eval(node[1], doc, env), node[2])
        if kind == "in_strings":
            value = _as_string(self._eval(node[1], doc, env))
            return value is not None and self._among(value, node[2])
        if kind == "call":
            return self._call(node[1], [self._eval(arg, doc, env) for arg in node[2]])
        if kind in ("any", "all"):
            items = self.resolve(doc, node[1]) or []
            if not isinstance(items, list):
                raise ODataError(f"'{node[1]}' is not a collection.")
            if node[2] is None:
                return bool(items) if kind == "any" else True
            results = (self._eval(node[3], doc, {**env, node[2]: item}) for item in items)
            return any(results) if kind == "any" else all(results)
        raise ODataError(f"Unsupported expression in '{self.text}'.")

    def _among(self, value: Any, candidates: list) -> bool:
        """`value eq` one of the candidates; case-insensitively through a set built once per list (a list of a
        thousand values tested against every record of a table must not cost a thousand compares each)."""
        folded = self._sets.get(id(candidates)) if self.ci else None
        if folded is None and self.ci and all(isinstance(c, Hashable) for c in candidates):
            folded = self._sets[id(candidates)] = frozenset(_norm(c, True) for c in candidates)
        if folded is not None and isinstance(value, Hashable):
            return _norm(value, True) in folded
        return any(_compare("eq", value, candidate, self.ci) for candidate in candidates)

    def _call(self, name: str, args: list) -> Any:
        if name in ("tolower", "toupper"):
            if len(args) != 1:
                raise ODataError(f"The function '{name}' takes one argument.")
            value = args[0]
            return value if not isinstance(value, str) else (value.lower() if name == "tolower" else value.upper())
        if len(args) != 2:
            raise ODataError(f"The function '{name}' takes two arguments.")
        value, prefix = args
        if value is None or prefix is None:
            return False
        if not isinstance(value, str) or not isinstance(prefix, str):
            raise ODataError(f"The function '{name}' needs string arguments.")
        if self.ci:
            value, prefix = value.lower(), prefix.lower()
        return {"startswith": value.startswith, "endswith": value.endswith, "contains": value.__contains__}[name](prefix)


def filter_docs(docs: Iterable[dict], text: str | None, **options) -> list[dict]:
    """The documents matching `$filter` (all when `text` is empty)."""
    docs = list(docs)
    if not text:
        return docs
    predicate = Filter(text, **options)
    return [doc for doc in docs if predicate(doc)]


# -- $select, $top, $orderby ----------------------------------------------------------------------
def parse_select(text: str | None) -> list[str] | None:
    """Field names of `$select`, or None for "all fields"."""
    if text is None or not text.strip():
        return None
    fields = [part.strip() for part in text.split(",")]
    for name in fields:
        if not re.fullmatch(r"[A-Za-z_@][\w.@]*", name) and name != "*":
            raise ODataError(f"Syntax error in $select: '{name}'.")
    return None if "*" in fields else fields


def select(doc: dict, fields: list[str] | None, always: Iterable[str] = ()) -> dict:
    """`doc` cut down to `fields` (+ `always`, + OData annotations `@odata.*`); None means all fields."""
    if fields is None:
        return dict(doc)
    keep = set(fields) | set(always)
    return {k: v for k, v in doc.items() if k in keep or k.startswith("@")}


def parse_top(text: str | None, maximum: int | None = None) -> int | None:
    """`$top` as an int (None when absent); negative, non-numeric or above `maximum` is an error."""
    if text is None or text == "":
        return None
    if not re.fullmatch(r"\d+", text.strip()):
        raise ODataError(f"Invalid value '{text}' for $top query option found.")
    value = int(text)
    if maximum is not None and value > maximum:
        raise ODataError(f"Invalid page size specified: '{value}'. Must be between 1 and {maximum} inclusive.")
    return value


def order_by(docs: list[dict], text: str | None, resolve: Resolver = default_resolve) -> list[dict]:
    """Sorted by `$orderby` (`a desc, b`); nulls first ascending, like SQL Server."""
    if not text:
        return docs
    result = list(docs)
    keys = [part.strip().split() for part in text.split(",")]
    for parts in reversed(keys):
        if not parts or len(parts) > 2 or (len(parts) == 2 and parts[1].lower() not in ("asc", "desc")):
            raise ODataError(f"Syntax error in $orderby: '{text}'.")
        field, descending = parts[0], len(parts) == 2 and parts[1].lower() == "desc"
        result.sort(key=lambda d: _sort_key(resolve(d, field)), reverse=descending)
    return result


def _sort_key(value: Any) -> tuple:
    if value is None:
        return (0, "")
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, (int, float)):
        return (1, value)
    return (2, str(value).lower())


# -- paging -----------------------------------------------------------------------------------------
def encode_token(state: dict) -> str:
    """An opaque paging token ($skiptoken / Graph's nextLink token): URL-safe base64 of JSON."""
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_token(token: str) -> dict:
    try:
        padded = token + "=" * (-len(token) % 4)
        state = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (ValueError, UnicodeDecodeError):
        raise ODataError("The paging token is not valid.") from None
    if not isinstance(state, dict):
        raise ODataError("The paging token is not valid.")
    return state


def paginate(docs: list[dict], page_size: int, token: str | None) -> tuple[list[dict], str | None]:
    """One page of `docs` and the token for the next page (None on the last page)."""
    offset = 0
    if token:
        offset = decode_token(token).get("offset", 0)
        if not isinstance(offset, int) or offset < 0:
            raise ODataError("The paging token is not valid.")
    page = docs[offset : offset + page_size]
    next_offset = offset + page_size
    return page, (encode_token({"offset": next_offset}) if next_offset < len(docs) else None)
