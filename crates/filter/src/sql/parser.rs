//! Recursive-descent parser with the same decisions as RocketMQ's generated JavaCC parser
//! (`SelectorParser.jj`), including its semantic checks (`ComparisonExpression.create*`,
//! `asBooleanExpression`, `ConstantExpression.createFromDecimal/createFloat`).
//!
//! Like the Java parser, the top-level production does not require the end of input: after a
//! complete expression, whatever follows is ignored provided its first token lexes and does not
//! continue the expression (`a = 1 b = 2` is `a = 1`). [`Parsed::tail`] reports where it begins.
//!
//! The recursive functions only peek, recurse and call out-of-line builders, and pass boxed
//! nodes around, so that each nesting level costs little stack (also in debug builds).

use std::cmp::Ordering;

use super::error::{SqlError, SqlErrorKind};
use super::expr::{java_compare, CmpOp, Expr, Literal, StrOp, Value};
use super::lexer::{decode_string, Lexer, TokKind, Token};

/// Maximum nesting of unary operators and parentheses (each `(`, `NOT`, `-`, `+` is a level).
pub const MAX_NESTING: usize = 100;
/// Maximum depth of the compiled tree (left-nested chains such as `a = b = c …` or
/// `x IS NULL IS NULL …` count one level per link; AND/OR chains are flattened).
pub const MAX_TREE_DEPTH: u32 = 256;
/// Maximum expression length in bytes.
pub const MAX_EXPRESSION_LEN: usize = 256 * 1024;

pub(crate) struct Parsed {
    pub expr: Expr,
    /// Byte offset of ignored trailing input, if any.
    pub tail: Option<usize>,
}

struct Node {
    expr: Box<Expr>,
    depth: u32,
}

type PResult<T> = Result<T, SqlError>;

struct Parser<'s> {
    src: &'s str,
    lexer: Lexer<'s>,
    toks: Vec<Token>,
    pos: usize,
    lex_error: Option<SqlError>,
    nesting: usize,
}

pub(crate) fn parse(src: &str) -> PResult<Parsed> {
    if src.len() > MAX_EXPRESSION_LEN {
        return Err(SqlError::new(
            src,
            SqlErrorKind::Limit,
            MAX_EXPRESSION_LEN,
            format!(
                "expression is {} bytes long, at most {MAX_EXPRESSION_LEN} are accepted",
                src.len()
            ),
        ));
    }
    let mut p = Parser {
        src,
        lexer: Lexer::new(src),
        toks: Vec::new(),
        pos: 0,
        lex_error: None,
        nesting: 0,
    };
    let start = p.peek(0)?.start;
    let node = p.parse_or()?;
    let expr = p.as_boolean(node, start)?.expr;
    let next = p.peek(0)?;
    let tail = (next.kind != TokKind::Eof).then_some(next.start);
    Ok(Parsed { expr: *expr, tail })
}

fn leaf(expr: Expr) -> Node {
    Node {
        expr: Box::new(expr),
        depth: 1,
    }
}

fn node(expr: Expr, child_depth: u32) -> Node {
    Node {
        expr: Box::new(expr),
        depth: child_depth + 1,
    }
}

impl<'s> Parser<'s> {
    fn err(&self, kind: SqlErrorKind, offset: usize, msg: impl Into<String>) -> SqlError {
        SqlError::new(self.src, kind, offset, msg.into())
    }

    fn semantic(&self, offset: usize, msg: impl Into<String>) -> SqlError {
        self.err(SqlErrorKind::Semantic, offset, msg)
    }

    /// The k-th token ahead, lexing on demand (a lexical error surfaces only when the token is
    /// actually needed, as with JavaCC's token manager).
    fn peek(&mut self, k: usize) -> PResult<&Token> {
        while self.toks.len() <= self.pos + k {
            if let Some(e) = &self.lex_error {
                return Err(e.clone());
            }
            match self.lexer.next_token() {
                Ok(t) => self.toks.push(t),
                Err(e) => {
                    self.lex_error = Some(e.clone());
                    return Err(e);
                }
            }
        }
        Ok(&self.toks[self.pos + k])
    }

    fn peek_kind(&mut self, k: usize) -> PResult<TokKind> {
        self.peek(k).map(|t| t.kind)
    }

    fn peek_start(&mut self) -> PResult<usize> {
        self.peek(0).map(|t| t.start)
    }

    /// Consumes the token that was peeked last (always present).
    fn advance(&mut self) -> Token {
        let t = self.toks[self.pos];
        self.pos += 1;
        t
    }

    #[inline(never)]
    fn unexpected(&mut self, expected: &str) -> SqlError {
        match self.peek(0) {
            Ok(t) => {
                let (start, end, desc) = (t.start, t.end, t.kind.describe());
                let found = if end > start {
                    format!("{desc} \"{}\"", &self.src[start..end])
                } else {
                    desc.to_string()
                };
                self.err(
                    SqlErrorKind::Syntax,
                    start,
                    format!("encountered {found}, expected {expected}"),
                )
            }
            Err(e) => e,
        }
    }

    fn expect(&mut self, kind: TokKind, expected: &str) -> PResult<Token> {
        if self.peek_kind(0)? == kind {
            Ok(self.advance())
        } else {
            Err(self.unexpected(expected))
        }
    }

    fn expect_string(&mut self) -> PResult<String> {
        if self.peek_kind(0)? == TokKind::Str {
            let t = self.advance();
            Ok(decode_string(self.src, &t))
        } else {
            Err(self.unexpected("a string literal"))
        }
    }

    fn check_depth(&self, n: Node, offset: usize) -> PResult<Node> {
        if n.depth > MAX_TREE_DEPTH {
            return Err(self.err(
                SqlErrorKind::Limit,
                offset,
                format!("expression tree deeper than {MAX_TREE_DEPTH}"),
            ));
        }
        Ok(n)
    }

    /// `asBooleanExpression`: boolean expressions pass, a property becomes a boolean cast,
    /// anything else is an error.
    #[inline(never)]
    fn as_boolean(&self, n: Node, offset: usize) -> PResult<Node> {
        let depth = n.depth;
        match *n.expr {
            Expr::Prop(name) => Ok(Node {
                expr: Box::new(Expr::BoolCast(name)),
                depth,
            }),
            e if e.is_boolean() => Ok(Node {
                expr: Box::new(e),
                depth,
            }),
            _ => Err(self.semantic(offset, "expression will not result in a boolean value")),
        }
    }

    // or := and (OR and)*      and := eq (AND eq)*
    fn parse_or(&mut self) -> PResult<Node> {
        let start = self.peek_start()?;
        let mut left = self.parse_and()?;
        while self.peek_kind(0)? == TokKind::Or {
            let op = self.advance().start;
            let rstart = self.peek_start()?;
            let right = self.parse_and()?;
            left = self.build_logic(left, start, right, rstart, op, true)?;
        }
        Ok(left)
    }

    fn parse_and(&mut self) -> PResult<Node> {
        let start = self.peek_start()?;
        let mut left = self.parse_equality()?;
        while self.peek_kind(0)? == TokKind::And {
            let op = self.advance().start;
            let rstart = self.peek_start()?;
            let right = self.parse_equality()?;
            left = self.build_logic(left, start, right, rstart, op, false)?;
        }
        Ok(left)
    }

    #[inline(never)]
    fn build_logic(
        &self,
        left: Node,
        lstart: usize,
        right: Node,
        rstart: usize,
        op: usize,
        or: bool,
    ) -> PResult<Node> {
        let l = self.as_boolean(left, lstart)?;
        let r = self.as_boolean(right, rstart)?;
        self.check_depth(logic(l, r, or), op)
    }

    // eq := cmp ( '=' cmp | '<>' cmp | IS NULL | IS NOT NULL )*
    fn parse_equality(&mut self) -> PResult<Node> {
        let mut left = self.parse_comparison()?;
        loop {
            let kind = self.peek_kind(0)?;
            let op = self.peek_start()?;
            left = match kind {
                TokKind::Eq | TokKind::Ne => {
                    self.advance();
                    let right = self.parse_comparison()?;
                    self.build_equal(left, right, kind == TokKind::Ne, op)?
                }
                TokKind::Is => {
                    // LOOKAHEAD(2): IS NULL, else IS NOT NULL.
                    let is_null = self.peek_kind(1)? == TokKind::Null;
                    self.advance();
                    if is_null {
                        self.advance();
                    } else {
                        self.expect(TokKind::Not, "NULL or NOT NULL after IS")?;
                        self.expect(TokKind::Null, "NULL after IS NOT")?;
                    }
                    self.build_is_null(left, !is_null, op)?
                }
                _ => return Ok(left),
            };
        }
    }

    /// `createEqual` / `createNotEqual`.
    #[inline(never)]
    fn build_equal(&self, left: Node, right: Node, not: bool, op: usize) -> PResult<Node> {
        self.check_equal_operands(&left.expr, &right.expr, op)?;
        let eq = node(Expr::Eq(left.expr, right.expr), left.depth.max(right.depth));
        let n = if not {
            node(Expr::Not(eq.expr), eq.depth)
        } else {
            eq
        };
        self.check_depth(n, op)
    }

    /// `createIsNull` / `createIsNotNull`: `x = NULL` without the operand checks.
    #[inline(never)]
    fn build_is_null(&self, left: Node, not: bool, op: usize) -> PResult<Node> {
        let eq = node(
            Expr::Eq(left.expr, Box::new(Expr::BoolLit(None))),
            left.depth,
        );
        let n = if not {
            node(Expr::Not(eq.expr), eq.depth)
        } else {
            eq
        };
        self.check_depth(n, op)
    }

    /// `checkEqualOperand` + `checkEqualOperandCompatability`.
    fn check_equal_operands(&self, l: &Expr, r: &Expr, op: usize) -> PResult<()> {
        for e in [l, r] {
            if let Expr::BoolLit(None) = e {
                return Err(self.semantic(
                    op,
                    "'NULL' cannot be compared with '=' or '<>'; use IS NULL / IS NOT NULL",
                ));
            }
        }
        if l.is_constant() && r.is_constant() && l.is_boolean() && !r.is_boolean() {
            return Err(self.semantic(
                op,
                "a boolean literal cannot be compared with a non-boolean literal",
            ));
        }
        Ok(())
    }

    /// `checkLessThanOperand`: numeric literals, properties and negations only.
    fn check_relational_operand(&self, e: &Expr, op: usize) -> PResult<()> {
        if e.is_constant() {
            if matches!(
                e,
                Expr::Literal(Literal::Int(_) | Literal::Long(_) | Literal::Double(_))
            ) {
                return Ok(());
            }
            return Err(self.semantic(
                op,
                "only numeric literals can be compared with '>', '>=', '<', '<='",
            ));
        }
        if e.is_boolean() {
            return Err(self.semantic(
                op,
                "a boolean expression cannot be compared with '>', '>=', '<', '<='",
            ));
        }
        Ok(())
    }

    // cmp := unary ( ('>'|'>='|'<'|'<=') unary | [NOT] (CONTAINS|STARTSWITH|ENDSWITH) string
    //              | [NOT] BETWEEN unary AND unary | [NOT] IN '(' string (',' string)* ')' )*
    fn parse_comparison(&mut self) -> PResult<Node> {
        let mut left = self.parse_unary()?;
        loop {
            let mut kind = self.peek_kind(0)?;
            let op = self.peek_start()?;
            let not = kind == TokKind::Not;
            if not {
                // LOOKAHEAD(2): NOT must introduce one of the negatable operators.
                kind = self.peek_kind(1)?;
                if !matches!(
                    kind,
                    TokKind::Contains
                        | TokKind::StartsWith
                        | TokKind::EndsWith
                        | TokKind::Between
                        | TokKind::In
                ) {
                    return Err(self.unexpected(
                        "an operator (NOT must be followed by CONTAINS, STARTSWITH, ENDSWITH, \
                         BETWEEN or IN here)",
                    ));
                }
                self.advance();
            }
            left = match kind {
                TokKind::Gt | TokKind::Ge | TokKind::Lt | TokKind::Le => {
                    self.advance();
                    let right = self.parse_unary()?;
                    self.build_relational(kind, left, right, op)?
                }
                TokKind::Contains | TokKind::StartsWith | TokKind::EndsWith => {
                    self.advance();
                    let search = self.expect_string()?;
                    self.build_string_op(kind, not, left, search, op)?
                }
                TokKind::Between => {
                    self.advance();
                    let low = self.parse_unary()?;
                    self.expect(TokKind::And, "AND in BETWEEN … AND …")?;
                    let high = self.parse_unary()?;
                    self.build_between(left, low, high, not, op)?
                }
                TokKind::In => {
                    self.advance();
                    let list = self.parse_in_list()?;
                    self.build_in(left, list, not, op)?
                }
                _ => return Ok(left),
            };
        }
    }

    #[inline(never)]
    fn build_relational(&self, kind: TokKind, left: Node, right: Node, op: usize) -> PResult<Node> {
        self.check_relational_operand(&left.expr, op)?;
        self.check_relational_operand(&right.expr, op)?;
        let cmp = match kind {
            TokKind::Gt => CmpOp::Gt,
            TokKind::Ge => CmpOp::Ge,
            TokKind::Lt => CmpOp::Lt,
            _ => CmpOp::Le,
        };
        let d = left.depth.max(right.depth);
        self.check_depth(node(Expr::Cmp(cmp, left.expr, right.expr), d), op)
    }

    #[inline(never)]
    fn build_string_op(
        &self,
        kind: TokKind,
        not: bool,
        left: Node,
        search: String,
        op: usize,
    ) -> PResult<Node> {
        let sop = match kind {
            TokKind::Contains => StrOp::Contains,
            TokKind::StartsWith => StrOp::StartsWith,
            _ => StrOp::EndsWith,
        };
        let n = node(
            Expr::Str {
                op: sop,
                not,
                left: left.expr,
                search,
            },
            left.depth,
        );
        self.check_depth(n, op)
    }

    /// `createBetween` / `createNotBetween`.
    #[inline(never)]
    fn build_between(
        &self,
        value: Node,
        low: Node,
        high: Node,
        not: bool,
        op: usize,
    ) -> PResult<Node> {
        if !not {
            self.check_between_bounds(&low.expr, &high.expr, op)?;
        }
        self.check_relational_operand(&value.expr, op)?;
        self.check_relational_operand(&low.expr, op)?;
        self.check_relational_operand(&high.expr, op)?;
        let d = value.depth.max(low.depth).max(high.depth);
        let n = node(
            Expr::Between {
                value: value.expr,
                low: low.expr,
                high: high.expr,
                not,
            },
            d,
        );
        self.check_depth(n, op)
    }

    /// `createBetween`: with two constant bounds, neither may be NULL and `high >= low`.
    fn check_between_bounds(&self, low: &Expr, high: &Expr, op: usize) -> PResult<()> {
        let (Some(lv), Some(hv)) = (low.constant_value(), high.constant_value()) else {
            return Ok(());
        };
        if lv == Value::Null || hv == Value::Null {
            return Err(self.semantic(op, "BETWEEN bounds cannot be NULL"));
        }
        match java_compare(hv, lv) {
            Ok(Ordering::Less) => Err(self.semantic(
                op,
                "BETWEEN: the lower bound must be less than or equal to the upper bound",
            )),
            Ok(_) => Ok(()),
            Err(e) => Err(self.semantic(op, format!("illegal BETWEEN bounds: {e}"))),
        }
    }

    fn parse_in_list(&mut self) -> PResult<Vec<String>> {
        self.expect(TokKind::LParen, "'(' after IN")?;
        let mut list = vec![self.expect_string()?];
        while self.peek_kind(0)? == TokKind::Comma {
            self.advance();
            list.push(self.expect_string()?);
        }
        self.expect(TokKind::RParen, "',' or ')' in IN list")?;
        Ok(list)
    }

    /// `createInFilter` / `createNotInFilter`: only on a property.
    #[inline(never)]
    fn build_in(&self, left: Node, mut list: Vec<String>, not: bool, op: usize) -> PResult<Node> {
        let Expr::Prop(prop) = *left.expr else {
            return Err(self.semantic(op, "IN needs a property on its left side"));
        };
        list.sort_unstable();
        list.dedup();
        Ok(leaf(Expr::In { prop, list, not }))
    }

    // unary := '+' unary | '-' unary | NOT unary | primary
    fn parse_unary(&mut self) -> PResult<Node> {
        let start = self.peek_start()?;
        if self.nesting >= MAX_NESTING {
            return Err(self.err(
                SqlErrorKind::Limit,
                start,
                format!("expression nested deeper than {MAX_NESTING} levels"),
            ));
        }
        self.nesting += 1;
        let result = match self.peek_kind(0)? {
            TokKind::Plus => {
                self.advance();
                self.parse_unary()
            }
            TokKind::Minus => {
                self.advance();
                match self.parse_unary() {
                    Ok(inner) => self.build_negate(inner, start),
                    Err(e) => Err(e),
                }
            }
            TokKind::Not => {
                self.advance();
                let istart = self.peek_start()?;
                match self.parse_unary() {
                    Ok(inner) => self.build_not(inner, istart, start),
                    Err(e) => Err(e),
                }
            }
            _ => self.parse_primary(),
        };
        self.nesting -= 1;
        result
    }

    #[inline(never)]
    fn build_negate(&self, inner: Node, start: usize) -> PResult<Node> {
        let d = inner.depth;
        self.check_depth(node(Expr::Negate(inner.expr), d), start)
    }

    #[inline(never)]
    fn build_not(&self, inner: Node, istart: usize, start: usize) -> PResult<Node> {
        let inner = self.as_boolean(inner, istart)?;
        let d = inner.depth;
        self.check_depth(node(Expr::Not(inner.expr), d), start)
    }

    // primary := literal | identifier | '(' or ')'
    fn parse_primary(&mut self) -> PResult<Node> {
        if self.peek_kind(0)? == TokKind::LParen {
            self.advance();
            let inner = self.parse_or()?;
            self.expect(TokKind::RParen, "')'")?;
            // Parentheses are transparent: `(NULL)` is still the NULL literal, `(a)` still a
            // property, exactly as in the Java tree.
            return Ok(inner);
        }
        self.parse_leaf()
    }

    #[inline(never)]
    fn parse_leaf(&mut self) -> PResult<Node> {
        let kind = self.peek_kind(0)?;
        let expr = match kind {
            TokKind::Str => {
                let t = self.advance();
                Expr::Literal(Literal::Str(decode_string(self.src, &t)))
            }
            TokKind::Decimal => {
                let t = self.advance();
                Expr::Literal(self.decimal_literal(&t)?)
            }
            TokKind::Float => {
                let t = self.advance();
                Expr::Literal(self.float_literal(&t)?)
            }
            TokKind::True => {
                self.advance();
                Expr::BoolLit(Some(true))
            }
            TokKind::False => {
                self.advance();
                Expr::BoolLit(Some(false))
            }
            TokKind::Null => {
                self.advance();
                Expr::BoolLit(None)
            }
            TokKind::Id => {
                let t = self.advance();
                Expr::Prop(self.src[t.start..t.end].to_string())
            }
            _ => return Err(self.unexpected("an operand")),
        };
        Ok(leaf(expr))
    }

    /// `createFromDecimal`: strip `l`/`L`, parse as long (error on overflow), int if it fits.
    fn decimal_literal(&self, t: &Token) -> PResult<Literal> {
        let text = &self.src[t.start..t.end];
        let digits = text.trim_end_matches(['l', 'L']);
        let v: i64 = digits.parse().map_err(|_| {
            self.semantic(t.start, format!("integer literal {text} is out of range"))
        })?;
        Ok(match i32::try_from(v) {
            Ok(i) => Literal::Int(i),
            Err(_) => Literal::Long(v),
        })
    }

    /// `createFloat`: rejects values above `Double.MAX_VALUE` and below `Double.MIN_VALUE`
    /// (4.9E-324) — which includes 0.0 itself.
    fn float_literal(&self, t: &Token) -> PResult<Literal> {
        let text = &self.src[t.start..t.end];
        let v: f64 = text
            .parse()
            .map_err(|_| self.semantic(t.start, format!("bad floating point literal {text}")))?;
        if v.is_infinite() || v < f64::from_bits(1) {
            return Err(self.semantic(
                t.start,
                format!(
                    "floating point literal {text} is out of range \
                     (must be between 4.9E-324 and 1.7976931348623157E308)"
                ),
            ));
        }
        Ok(Literal::Double(v))
    }
}

/// AND/OR node, flattening chains (the short-circuit three-valued AND/OR is associative, and
/// evaluation stays left to right), so long chains do not make the tree deep. The left chain's
/// vector is reused, so building `a OR b OR … ` is linear.
fn logic(l: Node, r: Node, or: bool) -> Node {
    let same = |e: &Expr| matches!((e, or), (Expr::Or(_), true) | (Expr::And(_), false));
    let (mut items, mut max_item_depth) = if same(&l.expr) {
        match *l.expr {
            Expr::Or(v) | Expr::And(v) => (v, l.depth - 1),
            e => (vec![e], l.depth),
        }
    } else {
        (vec![*l.expr], l.depth)
    };
    if same(&r.expr) {
        if let Expr::Or(v) | Expr::And(v) = *r.expr {
            items.extend(v);
        }
        max_item_depth = max_item_depth.max(r.depth - 1);
    } else {
        items.push(*r.expr);
        max_item_depth = max_item_depth.max(r.depth);
    }
    node(
        if or {
            Expr::Or(items)
        } else {
            Expr::And(items)
        },
        max_item_depth,
    )
}
