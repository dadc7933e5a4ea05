"""Query text -> `nodes.Query`, raising `MalformedQueryError` where AWS's grammar would."""
from __future__ import annotations

import re2

from .errors import MalformedQueryError
from .functions import FUNCTIONS, check_call
from .lexer import Kind, Token, tokenize
from .nodes import (Binary, Call, Command, Dedup, Display, Expr, FieldRef, Fields, Filter, InList, Like,
                    Limit, NumberLit, Parse, PeriodLit, Projection, Query, RegexLit, Sort, SortKey, Star,
                    Stats, StringLit, Unary)
from .patterns import glob_to_regex, split_named_groups, to_re2

MAX_LIMIT = 10_000
# Commands of the AWS query language that this engine does not run (lower case).
NOT_IMPLEMENTED_COMMANDS = {"pattern", "diff", "anomaly", "unnest", "lookup", "filterindex", "source", "unmask"}
_KEYWORDS = {"and", "or", "not", "in", "like", "as", "by", "asc", "desc"}
_COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")
# Parentheses nest at most this deep: each level is a descent through the grammar's ten rules, and a
# query must not exhaust the parser's stack (500 levels did). AWS's own limit is not documented.
MAX_NESTING = 50
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False


def parse_query(text: str) -> Query:
    return _Parser(text).query()


def _check_regex(token: Token) -> None:
    """A regex the engine (RE2) cannot compile is refused when the query starts, as AWS refuses it."""
    try:
        re2.compile(to_re2(token.value), _RE2_OPTIONS)
    except re2.error:
        raise token.error() from None


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0
        self.nesting = 0

    # --- token helpers ---------------------------------------------------------------------

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def peek(self, ahead: int = 1) -> Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.current
        self.index += 1
        return token

    def accept_symbol(self, symbol: str) -> bool:
        if self.current.is_symbol(symbol):
            self.index += 1
            return True
        return False

    def accept_word(self, word: str) -> bool:
        if self.current.is_word(word):
            self.index += 1
            return True
        return False

    def expect_symbol(self, symbol: str) -> Token:
        if not self.current.is_symbol(symbol):
            raise self.current.error()
        return self.advance()

    def source(self, start: Token) -> str:
        return self.text[start.start:self.tokens[self.index - 1].end]

    # --- commands --------------------------------------------------------------------------

    def query(self) -> Query:
        commands = [self.command()]
        while self.accept_symbol("|"):
            commands.append(self.command())
        if self.current.kind is not Kind.EOF:
            raise self.current.error()
        _check_order(commands)
        return Query(tuple(commands))

    def command(self) -> Command:
        token = self.current
        word = token.text.lower() if token.kind is Kind.NAME else ""
        parse = {
            "fields": self.fields, "display": self.display, "filter": self.filter, "stats": self.stats,
            "sort": self.sort, "limit": self.limit, "parse": self.parse, "dedup": self.dedup,
        }.get(word)
        if parse is None and word in NOT_IMPLEMENTED_COMMANDS:
            raise MalformedQueryError(f"The local cloud does not run the `{token.text}` command (CloudWatch Logs "
                                      f"Insights on AWS does); it runs fields, display, filter, stats, sort, limit, "
                                      f"parse and dedup", token.line, token.column, token.start, token.end)
        if parse is None:
            raise token.error()
        self.advance()
        return parse(token)

    def fields(self, token: Token) -> Fields:
        return Fields(token, tuple(self.projections()))

    def display(self, token: Token) -> Display:
        return Display(token, tuple(self.name_list()))

    def filter(self, token: Token) -> Filter:
        return Filter(token, self.expression())

    def stats(self, token: Token) -> Stats:
        aggregates = self.projections()
        groups = self.projections() if self.accept_word("by") else []
        return Stats(token, tuple(aggregates), tuple(groups))

    def sort(self, token: Token) -> Sort:
        keys = []
        while True:
            name_token = self.current
            name = self.field_name()
            descending = False
            if self.current.is_word("asc", "desc"):
                descending = self.advance().text.lower() == "desc"
            keys.append(SortKey(name, descending, name_token))
            if not self.accept_symbol(","):
                return Sort(token, tuple(keys))

    def limit(self, token: Token) -> Limit:
        count = self.current
        if count.kind is not Kind.NUMBER or not isinstance(count.value, int) or not 0 < count.value <= MAX_LIMIT:
            raise count.error()
        self.advance()
        return Limit(token, count.value)

    def parse(self, token: Token) -> Parse:
        source: Expr = FieldRef("@message", token, "@message")
        if self.current.kind not in (Kind.STRING, Kind.REGEX):
            source = self.primary()
        pattern = self.current
        if pattern.kind is Kind.STRING:
            self.advance()
            regex, count = glob_to_regex(pattern.value)
            if not self.current.is_word("as"):
                raise self.current.error()
            self.advance()
            names_token = self.current
            names = self.name_list()
            if count == 0 or len(names) != count:
                raise names_token.error()
            return Parse(token, source, regex, tuple(names))
        if pattern.kind is Kind.REGEX:
            self.advance()
            _check_regex(pattern)
            regex, names = split_named_groups(pattern.value)
            if not names:
                raise pattern.error()
            return Parse(token, source, regex, tuple(names))
        raise pattern.error()

    def dedup(self, token: Token) -> Dedup:
        return Dedup(token, tuple(self.name_list()))

    # --- lists and names -------------------------------------------------------------------

    def projections(self) -> list[Projection]:
        items = []
        while True:
            expr = self.expression()
            alias = self.field_name() if self.accept_word("as") else None
            items.append(Projection(expr, alias))
            if not self.accept_symbol(","):
                return items

    def name_list(self) -> list[str]:
        names = [self.field_name()]
        while self.accept_symbol(","):
            names.append(self.field_name())
        return names

    def field_name(self) -> str:
        token = self.current
        if token.kind is Kind.QUOTED_NAME or (token.kind is Kind.NAME and token.text.lower() not in _KEYWORDS):
            self.advance()
            return token.value
        raise token.error()

    # --- expressions, loosest binding first ------------------------------------------------

    def expression(self) -> Expr:
        return self.disjunction()

    def disjunction(self) -> Expr:
        start, left = self.current, self.conjunction()
        while self.accept_word("or"):
            right = self.conjunction()
            left = Binary(self.source(start), start, "or", left, right)
        return left

    def conjunction(self) -> Expr:
        start, left = self.current, self.negation()
        while self.accept_word("and"):
            right = self.negation()
            left = Binary(self.source(start), start, "and", left, right)
        return left

    def negation(self) -> Expr:
        start = self.current
        if self.accept_word("not"):
            operand = self.negation()
            return Unary(self.source(start), start, "not", operand)
        return self.comparison()

    def comparison(self) -> Expr:
        start, left = self.current, self.additive()
        negated = False
        if self.current.is_word("not") and self.peek().is_word("like", "in"):
            self.advance()
            negated = True
        if self.accept_word("like"):
            pattern = self.pattern(allow_string=True)
            return Like(self.source(start), start, left, pattern, negated)
        if self.accept_word("in"):
            items = self.list_literal()
            return InList(self.source(start), start, left, tuple(items), negated)
        if negated:
            raise self.current.error()
        if self.accept_symbol("=~"):
            pattern = self.pattern(allow_string=True)
            return Like(self.source(start), start, left, pattern, False)
        if self.current.is_symbol(*_COMPARISONS):
            op = self.advance().text
            right = self.additive()
            return Binary(self.source(start), start, op, left, right)
        return left

    def pattern(self, allow_string: bool) -> StringLit | RegexLit:
        token = self.current
        if token.kind is Kind.REGEX:
            self.advance()
            _check_regex(token)
            return RegexLit(token.text, token, token.value)
        if token.kind is Kind.STRING and allow_string:
            self.advance()
            return StringLit(token.text, token, token.value)
        raise token.error()

    def list_literal(self) -> list[Expr]:
        self.expect_symbol("[")
        items = [self.additive()]
        while self.accept_symbol(","):
            items.append(self.additive())
        self.expect_symbol("]")
        return items

    def additive(self) -> Expr:
        start, left = self.current, self.multiplicative()
        while self.current.is_symbol("+", "-"):
            op = self.advance().text
            right = self.multiplicative()
            left = Binary(self.source(start), start, op, left, right)
        return left

    def multiplicative(self) -> Expr:
        start, left = self.current, self.power()
        while self.current.is_symbol("*", "/", "%"):
            op = self.advance().text
            right = self.power()
            left = Binary(self.source(start), start, op, left, right)
        return left

    def power(self) -> Expr:
        start, base = self.current, self.unary()
        if self.accept_symbol("^"):
            right = self.power()
            return Binary(self.source(start), start, "^", base, right)
        return base

    def unary(self) -> Expr:
        start = self.current
        if self.accept_symbol("-"):
            operand = self.unary()
            if isinstance(operand, NumberLit):
                return NumberLit(self.source(start), start, -operand.value)
            return Unary(self.source(start), start, "-", operand)
        return self.primary()

    def primary(self) -> Expr:
        token = self.current
        if token.kind is Kind.STRING:
            self.advance()
            return StringLit(token.text, token, token.value)
        if token.kind is Kind.NUMBER:
            self.advance()
            return NumberLit(token.text, token, token.value)
        if token.kind is Kind.PERIOD:
            self.advance()
            amount, unit = token.value
            return PeriodLit(token.text, token, amount, unit)
        if token.kind is Kind.NAME and token.text.lower() in FUNCTIONS and self.peek().is_symbol("("):
            return self.call()
        if token.kind in (Kind.NAME, Kind.QUOTED_NAME):
            name = self.field_name()
            return FieldRef(token.text, token, name)
        if self.accept_symbol("("):
            self.nesting += 1
            if self.nesting > MAX_NESTING:
                raise token.error()
            inner = self.expression()
            self.expect_symbol(")")
            self.nesting -= 1
            return inner
        raise token.error()

    def call(self) -> Call:
        name = self.advance()
        self.expect_symbol("(")
        args: list[Expr] = []
        if name.text.lower() == "count" and self.current.is_symbol("*"):
            star = self.advance()
            args.append(Star("*", star))
        elif not self.current.is_symbol(")"):
            args.append(self.expression())
            while self.accept_symbol(","):
                args.append(self.expression())
        self.expect_symbol(")")
        call = Call(self.source(name), name, name.text.lower(), tuple(args))
        check_call(call)
        return call


def _check_order(commands: list[Command]) -> None:
    """AWS accepts only `limit` after `dedup`."""
    seen_dedup = False
    for command in commands:
        if seen_dedup and not isinstance(command, (Limit, Dedup)):
            raise command.token.error()
        seen_dedup = seen_dedup or isinstance(command, Dedup)
