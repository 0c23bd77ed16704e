//! Text to [`Ast`]: a precedence-climbing parser over the lexer's tokens.
//!
//! Precedence, loosest first: `or`/`||`, `and`/`&&`, prefix `not`/`!`, comparisons and
//! `in`/`not in`/`like`/`is [not] null`, `+ -`, `* / %`, unary `-`, `**` (right
//! associative), then atoms. `not` binds looser than comparisons, as in SQL, so
//! `not a > 1` means `not (a > 1)`.
//!
//! ```text
//! expr    = prefix { infix }            (infix operators bind by the levels above)
//! prefix  = literal | {template} | ident [ path | "(" items ")" ] | "(" expr ")"
//!         | "[" items "]" | ("not" | "!") expr | "-" expr | "+" expr | "exists" prefix
//! infix   = ("or" | "||" | "and" | "&&" | "+" | "-" | "*" | "/" | "%" | "**") expr
//!         | ("==" | "!=" | "<" | "<=" | ">" | ">=") expr [ same-direction comparison expr ]
//!         | ["not"] "in" expr | ["not"] "like" expr | "is" ["not"] "null"
//! path    = { "[" (string | integer) "]" }
//! items   = [ expr { "," expr } [","] ]
//! ```
//!
//! Two comparisons in a row form a range (`1 < a <= 5`, `10 >= b > 2`); both must
//! point the same way, as Milvus requires.
//!
//! Stack: a chain of one operator (`a and b and ...`, `a + b - ...`) is parsed by a loop
//! into one flat node, so its length costs no depth. Everything else that nests
//! (parentheses, prefix operators, lists, call arguments, `**`, comparisons applied to
//! comparisons) recurses or makes the tree taller; the parser counts both and stops at
//! [`MAX_DEPTH`] with [`ExprError::TooDeep`], so neither it nor any later pass over the
//! tree can exhaust the stack.

use crate::ast::{
    ArithOp, Ast, CmpOp, MAX_DEPTH, PREC_ADD, PREC_AND, PREC_ATOM, PREC_CMP, PREC_NOT, PREC_OR, PREC_UNARY, PathStep, arith_precedence,
};
use crate::error::{ExprError, Result};
use crate::lexer::{Keyword, Sym, Tok, Token, tokenize};

/// Parses an expression. Blank text parses to `true` (match every row), which is what
/// Milvus does with an empty filter.
pub fn parse(text: &str) -> Result<Ast> {
    let tokens = tokenize(text)?;
    let mut parser = Parser { tokens, next: 0, depth: 0 };
    if parser.peek().tok == Tok::End {
        return Ok(Ast::Bool(true));
    }
    let ast = *parser.expr(0).map_err(|e| *e)?.ast;
    let token = parser.peek();
    if token.tok != Tok::End {
        let message = if token.tok == Tok::Sym(Sym::RParen) {
            "unexpected token ')' without a matching '('".to_string()
        } else {
            format!("unexpected token '{}' after a complete expression", token.text)
        };
        return Err(*error_at(token, message));
    }
    Ok(ast)
}

/// What the parser's functions return. The error is boxed, like [`Sub::ast`], so a
/// result is three words: an unoptimised build keeps several copies of it per `?` in
/// every frame, and the frames on the recursion path are paid once per nesting level.
type Parsed<T> = std::result::Result<T, Box<ExprError>>;

fn too_deep() -> Box<ExprError> {
    Box::new(ExprError::TooDeep { what: "expression".into(), limit: MAX_DEPTH })
}

/// A parsed sub-expression and the height of its tree (an atom is 1), so a tree taller
/// than [`MAX_DEPTH`] is refused while it is built, before anything recurses over it.
struct Sub {
    ast: Box<Ast>,
    height: usize,
}

impl Sub {
    fn atom(ast: Ast) -> Sub {
        Sub { ast: Box::new(ast), height: 1 }
    }
}

/// The height of a node whose tallest child is `height` tall.
fn above(height: usize) -> Parsed<usize> {
    if height >= MAX_DEPTH {
        return Err(too_deep());
    }
    Ok(height + 1)
}

/// `left and right` (`or` when `or`), appended to `left` when it already is such a
/// chain, so a chain of any length is one node.
fn junction(left: Sub, right: Sub, or: bool) -> Parsed<Sub> {
    let (mut items, height) = match *left.ast {
        Ast::Or(items) if or => (items, left.height.max(above(right.height)?)),
        Ast::And(items) if !or => (items, left.height.max(above(right.height)?)),
        other => (vec![other], above(left.height.max(right.height))?),
    };
    items.push(*right.ast);
    Ok(Sub { ast: Box::new(if or { Ast::Or(items) } else { Ast::And(items) }), height })
}

/// `left op right`, appended to `left` when it is a chain of the same precedence level
/// (`a + b - c`); `**` is right associative and never extends a chain.
fn arith(left: Sub, op: ArithOp, right: Sub) -> Parsed<Sub> {
    let extends = |rest: &[(ArithOp, Ast)]| {
        op != ArithOp::Pow && rest.first().is_some_and(|(first_op, _)| arith_precedence(*first_op) == arith_precedence(op))
    };
    let (first, mut rest, height) = match *left.ast {
        Ast::Arith { first, rest } if extends(&rest) => (first, rest, left.height.max(above(right.height)?)),
        other => (Box::new(other), Vec::new(), above(left.height.max(right.height))?),
    };
    rest.push((op, *right.ast));
    Ok(Sub { ast: Box::new(Ast::Arith { first, rest }), height })
}

fn error_at(token: &Token, message: impl Into<String>) -> Box<ExprError> {
    Box::new(ExprError::Syntax { position: token.pos, token: token.text.clone(), message: message.into() })
}

fn unexpected(token: &Token) -> Box<ExprError> {
    let message = match &token.tok {
        Tok::End => "unexpected end of expression".to_string(),
        _ => format!("unexpected token '{}'", token.text),
    };
    error_at(token, message)
}

struct Parser {
    tokens: Vec<Token>,
    next: usize,
    /// Active [`Parser::expr`] calls. Parentheses and unary `+` recurse without making
    /// the tree taller, so the recursion is bounded separately from the height.
    depth: usize,
}

/// A binary operator found in infix position.
enum Infix {
    Or,
    And,
    Cmp(CmpOp),
    In { negated: bool },
    Like { negated: bool },
    Is,
    Arith(ArithOp),
}

impl Infix {
    fn precedence(&self) -> u8 {
        match self {
            Infix::Or => PREC_OR,
            Infix::And => PREC_AND,
            Infix::Cmp(_) | Infix::In { .. } | Infix::Like { .. } | Infix::Is => PREC_CMP,
            Infix::Arith(op) => arith_precedence(*op),
        }
    }
}

fn cmp_op(tok: &Tok) -> Option<CmpOp> {
    match tok {
        Tok::Sym(Sym::Eq) => Some(CmpOp::Eq),
        Tok::Sym(Sym::Ne) => Some(CmpOp::Ne),
        Tok::Sym(Sym::Lt) => Some(CmpOp::Lt),
        Tok::Sym(Sym::Le) => Some(CmpOp::Le),
        Tok::Sym(Sym::Gt) => Some(CmpOp::Gt),
        Tok::Sym(Sym::Ge) => Some(CmpOp::Ge),
        _ => None,
    }
}

fn is_word(tok: &Tok, word: &str) -> bool {
    matches!(tok, Tok::Ident(w) if w.eq_ignore_ascii_case(word))
}

impl Parser {
    fn peek(&self) -> &Token {
        &self.tokens[self.next.min(self.tokens.len() - 1)]
    }

    fn peek_at(&self, ahead: usize) -> &Token {
        &self.tokens[(self.next + ahead).min(self.tokens.len() - 1)]
    }

    fn bump(&mut self) -> Token {
        let token = self.peek().clone();
        if self.next < self.tokens.len() - 1 {
            self.next += 1;
        }
        token
    }

    fn expect(&mut self, sym: Sym, what: &str) -> Parsed<Token> {
        if self.peek().tok == Tok::Sym(sym) {
            return Ok(self.bump());
        }
        Err(error_at(self.peek(), format!("expected {what}, found {}", found(self.peek()))))
    }

    /// The infix operator at the cursor, if any, and how many tokens it spans.
    fn infix(&self) -> Parsed<Option<(Infix, usize)>> {
        let token = self.peek();
        let op = match &token.tok {
            Tok::Kw(Keyword::Or) | Tok::Sym(Sym::OrOr) => (Infix::Or, 1),
            Tok::Kw(Keyword::And) | Tok::Sym(Sym::AndAnd) => (Infix::And, 1),
            Tok::Kw(Keyword::In) => (Infix::In { negated: false }, 1),
            Tok::Kw(Keyword::Like) => (Infix::Like { negated: false }, 1),
            Tok::Kw(Keyword::Not) => match self.peek_at(1).tok {
                Tok::Kw(Keyword::In) => (Infix::In { negated: true }, 2),
                Tok::Kw(Keyword::Like) => (Infix::Like { negated: true }, 2),
                _ => return Err(unexpected(token)),
            },
            Tok::Ident(_) if is_word(&token.tok, "is") => (Infix::Is, 1),
            Tok::Sym(Sym::Plus) => (Infix::Arith(ArithOp::Add), 1),
            Tok::Sym(Sym::Minus) => (Infix::Arith(ArithOp::Sub), 1),
            Tok::Sym(Sym::Star) => (Infix::Arith(ArithOp::Mul), 1),
            Tok::Sym(Sym::Slash) => (Infix::Arith(ArithOp::Div), 1),
            Tok::Sym(Sym::Percent) => (Infix::Arith(ArithOp::Mod), 1),
            Tok::Sym(Sym::Pow) => (Infix::Arith(ArithOp::Pow), 1),
            Tok::Sym(Sym::Amp | Sym::Pipe | Sym::Caret | Sym::Shl | Sym::Shr) => {
                return Err(Box::new(ExprError::Unsupported { what: format!("bitwise operator '{}'", token.text) }));
            }
            Tok::Sym(Sym::Assign) => return Err(error_at(token, "unexpected token '=' (use '==' to compare)")),
            tok => match cmp_op(tok) {
                Some(op) => (Infix::Cmp(op), 1),
                None => return Ok(None),
            },
        };
        Ok(Some(op))
    }

    // Everything from here on is on the recursion path (`expr` → `prefix` or an
    // operator → `expr`), so each function is kept small: in unoptimised builds every
    // temporary of a function has its own stack slot, and a large function would cost
    // kilobytes per nesting level. Dispatchers tail-call one function per case; error
    // messages are built in functions of their own.

    /// Parses an expression whose operators all bind at least as tightly as `min`.
    fn expr(&mut self, min: u8) -> Parsed<Sub> {
        if self.depth >= MAX_DEPTH {
            return Err(too_deep());
        }
        // An error ends the whole parse, so only success needs to restore the depth.
        self.depth += 1;
        let mut left = self.prefix()?;
        while let Some((op, width)) = self.infix()? {
            if op.precedence() < min {
                break;
            }
            left = self.operator(left, op, width)?;
        }
        self.depth -= 1;
        Ok(left)
    }

    /// After `left`, the operator `op` spanning `width` tokens.
    fn operator(&mut self, left: Sub, op: Infix, width: usize) -> Parsed<Sub> {
        let op_at = self.next;
        for _ in 0..width {
            self.bump();
        }
        match op {
            Infix::Or => self.logic(left, true),
            Infix::And => self.logic(left, false),
            Infix::Arith(op) => self.arithmetic(left, op),
            Infix::In { negated } => self.membership(left, negated),
            Infix::Like { negated } => self.like(left, negated),
            Infix::Is => self.is_null(left, op_at),
            Infix::Cmp(op) => self.comparison(left, op),
        }
    }

    fn logic(&mut self, left: Sub, or: bool) -> Parsed<Sub> {
        let right = self.expr(if or { PREC_OR } else { PREC_AND } + 1)?;
        junction(left, right, or)
    }

    fn arithmetic(&mut self, left: Sub, op: ArithOp) -> Parsed<Sub> {
        let prec = arith_precedence(op);
        let right = self.expr(if op == ArithOp::Pow { prec } else { prec + 1 })?;
        arith(left, op, right)
    }

    fn membership(&mut self, operand: Sub, negated: bool) -> Parsed<Sub> {
        let list = self.expr(PREC_ADD)?;
        let height = above(operand.height.max(list.height))?;
        Ok(Sub { ast: Box::new(Ast::In { operand: operand.ast, list: list.ast, negated }), height })
    }

    fn like(&mut self, operand: Sub, negated: bool) -> Parsed<Sub> {
        let pattern = self.expr(PREC_ADD)?;
        let height = above(operand.height.max(pattern.height))?;
        let like = Sub { ast: Box::new(Ast::Like { operand: operand.ast, pattern: pattern.ast }), height };
        if negated { wrap(like, Ast::Not) } else { Ok(like) }
    }

    /// After `left op`: a comparison, or a range when a second comparison follows.
    fn comparison(&mut self, left: Sub, op: CmpOp) -> Parsed<Sub> {
        let middle = self.expr(PREC_ADD)?;
        let Some(right_op) = cmp_op(&self.peek().tok) else {
            let height = above(left.height.max(middle.height))?;
            return Ok(Sub { ast: Box::new(Ast::Compare { op, left: left.ast, right: middle.ast }), height });
        };
        let op_token = self.bump();
        let ascending = |op: CmpOp| matches!(op, CmpOp::Lt | CmpOp::Le);
        let descending = |op: CmpOp| matches!(op, CmpOp::Gt | CmpOp::Ge);
        if !(ascending(op) && ascending(right_op) || descending(op) && descending(right_op)) {
            return Err(mixed_range(&op_token));
        }
        let right = self.expr(PREC_ADD)?;
        if cmp_op(&self.peek().tok).is_some() {
            return Err(long_range(self.peek()));
        }
        let height = above(left.height.max(middle.height).max(right.height))?;
        let ast = Ast::Range { left: left.ast, left_op: op, middle: middle.ast, right_op, right: right.ast };
        Ok(Sub { ast: Box::new(ast), height })
    }

    /// After `operand is` (the token at `is_at`): `null` or `not null`.
    fn is_null(&mut self, operand: Sub, is_at: usize) -> Parsed<Sub> {
        let negated = self.peek().tok == Tok::Kw(Keyword::Not);
        if negated {
            self.bump();
        }
        if !is_word(&self.peek().tok, "null") {
            return Err(not_null(&self.tokens[is_at], negated, self.peek()));
        }
        self.bump();
        wrap(operand, |operand| Ast::IsNull { operand, negated })
    }

    fn prefix(&mut self) -> Parsed<Sub> {
        let token = self.bump();
        match token.tok {
            Tok::Kw(Keyword::Not) | Tok::Sym(Sym::Bang) => self.not(),
            Tok::Kw(Keyword::Exists) => self.exists(),
            Tok::Sym(Sym::Minus) => self.negation(),
            // Unary plus changes nothing; the planner still checks the operand is numeric
            // where it matters.
            Tok::Sym(Sym::Plus) => self.expr(PREC_UNARY),
            Tok::Sym(Sym::LParen) => self.parenthesised(token.pos),
            Tok::Sym(Sym::LBracket) => self.list(&token),
            Tok::Ident(name) => self.identifier(name),
            _ => atom(token),
        }
    }

    fn not(&mut self) -> Parsed<Sub> {
        let inner = self.expr(PREC_NOT)?;
        wrap(inner, Ast::Not)
    }

    fn exists(&mut self) -> Parsed<Sub> {
        let inner = self.expr(PREC_ATOM)?;
        wrap(inner, Ast::Exists)
    }

    /// After a `(` at `open`: the expression up to its `)`.
    fn parenthesised(&mut self, open: usize) -> Parsed<Sub> {
        let inner = self.expr(0)?;
        if self.peek().tok != Tok::Sym(Sym::RParen) {
            return Err(unclosed(self.peek(), open));
        }
        self.bump();
        Ok(inner)
    }

    /// After a unary `-`: literals are negated in place (which is how `i64::MIN` is
    /// written); anything else becomes [`Ast::Neg`].
    fn negation(&mut self) -> Parsed<Sub> {
        if self.peek().tok == Tok::Int(1 << 63) && self.peek_at(1).tok != Tok::Sym(Sym::Pow) {
            self.bump();
            return Ok(Sub::atom(Ast::Int(i64::MIN)));
        }
        let inner = self.expr(PREC_UNARY)?;
        match *inner.ast {
            Ast::Int(v) if v != i64::MIN => Ok(Sub::atom(Ast::Int(-v))),
            Ast::Float(v) => Ok(Sub::atom(Ast::Float(-v))),
            // Including `-(-9223372036854775808)`, which has no Int64 value; the planner
            // reports it.
            _ => wrap(inner, Ast::Neg),
        }
    }

    /// After an identifier: a call `f(...)`, a path `j["a"][0]`, or the bare name.
    fn identifier(&mut self, name: String) -> Parsed<Sub> {
        if self.peek().tok != Tok::Sym(Sym::LParen) {
            return self.path(name);
        }
        let open = self.bump();
        let (args, height) = self.items(Sym::RParen, &open, "')' to close the argument list")?;
        Ok(Sub { ast: Box::new(Ast::Call { name, args }), height })
    }

    fn list(&mut self, open: &Token) -> Parsed<Sub> {
        let (items, height) = self.items(Sym::RBracket, open, "']' to close the list")?;
        Ok(Sub { ast: Box::new(Ast::List(items)), height })
    }

    /// Comma-separated expressions up to `close` (a trailing comma is allowed), and the
    /// height of the node holding them.
    fn items(&mut self, close: Sym, open: &Token, what: &str) -> Parsed<(Vec<Ast>, usize)> {
        let mut items = Vec::new();
        let mut tallest = 0;
        loop {
            if self.peek().tok == Tok::Sym(close) {
                self.bump();
                return Ok((items, above(tallest)?));
            }
            let item = self.expr(0)?;
            tallest = tallest.max(item.height);
            items.push(*item.ast);
            if self.peek().tok == Tok::Sym(Sym::Comma) {
                self.bump();
            } else if self.peek().tok != Tok::Sym(close) {
                return Err(unclosed_items(self.peek(), open, what));
            }
        }
    }

    /// After identifier `name` not followed by `(`: its path steps, if any.
    fn path(&mut self, name: String) -> Parsed<Sub> {
        let mut steps = Vec::new();
        while self.peek().tok == Tok::Sym(Sym::LBracket) {
            self.bump();
            let key = self.bump();
            let step = match key.tok {
                Tok::Str(s) => PathStep::Key(s),
                Tok::Int(i) => PathStep::Index(i),
                _ => {
                    return Err(error_at(
                        &key,
                        format!("unexpected token '{}': a path index must be a string or a non-negative integer", key.text),
                    ));
                }
            };
            steps.push(step);
            self.expect(Sym::RBracket, "']' to close the path index")?;
        }
        Ok(Sub::atom(if steps.is_empty() { Ast::Field(name) } else { Ast::Path { root: name, steps } }))
    }
}

/// `build(inner)`, one level above `inner`.
fn wrap(inner: Sub, build: impl FnOnce(Box<Ast>) -> Ast) -> Parsed<Sub> {
    Ok(Sub { height: above(inner.height)?, ast: Box::new(build(inner.ast)) })
}

/// A token that is a whole expression by itself, or the error for one that cannot
/// start an expression.
fn atom(token: Token) -> Parsed<Sub> {
    let ast = match token.tok {
        Tok::Int(v) => {
            Ast::Int(i64::try_from(v).map_err(|_| error_at(&token, format!("integer {} is out of the Int64 range", token.text)))?)
        }
        Tok::Float(v) => Ast::Float(v),
        Tok::Str(s) => Ast::Str(s),
        Tok::Kw(Keyword::True) => Ast::Bool(true),
        Tok::Kw(Keyword::False) => Ast::Bool(false),
        Tok::Template(name) => Ast::Template(name),
        Tok::Sym(Sym::Tilde) => return Err(Box::new(ExprError::Unsupported { what: "bitwise operator '~'".into() })),
        _ => return Err(unexpected(&token)),
    };
    Ok(Sub::atom(ast))
}

fn found(token: &Token) -> String {
    if token.tok == Tok::End { "end of expression".to_string() } else { format!("'{}'", token.text) }
}

fn unclosed(token: &Token, open: usize) -> Box<ExprError> {
    error_at(token, format!("expected ')' to close '(' at position {open}, found {}", found(token)))
}

fn unclosed_items(token: &Token, open: &Token, what: &str) -> Box<ExprError> {
    error_at(token, format!("expected ',' or {what} opened at position {}, found {}", open.pos, found(token)))
}

fn mixed_range(op_token: &Token) -> Box<ExprError> {
    error_at(op_token, format!("unexpected token '{}': a chained comparison needs two of '<', '<=' or two of '>', '>='", op_token.text))
}

fn long_range(token: &Token) -> Box<ExprError> {
    error_at(token, format!("unexpected token '{}': at most two comparisons may be chained", token.text))
}

fn not_null(is_token: &Token, negated: bool, token: &Token) -> Box<ExprError> {
    error_at(token, format!("expected 'null' after '{}{}', found '{}'", is_token.text, if negated { " not" } else { "" }, token.text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(text: &str) -> String {
        parse(text).unwrap().to_string()
    }

    #[test]
    fn precedence() {
        assert_eq!(roundtrip("a or b and c"), "a or b and c");
        assert_eq!(roundtrip("(a or b) and c"), "(a or b) and c");
        assert_eq!(roundtrip("not a > 1 and b"), "not a > 1 and b");
        assert!(matches!(parse("not a > 1").unwrap(), Ast::Not(inner) if matches!(*inner, Ast::Compare { .. })));
        assert_eq!(roundtrip("a + 2 * 3 ** 2 ** 1 == 5"), "a + 2 * 3 ** 2 ** 1 == 5");
        assert_eq!(roundtrip("(a + 2) * 3 == 5"), "(a + 2) * 3 == 5");
        assert_eq!(roundtrip("a - (b - c) > 0"), "a - (b - c) > 0");
    }

    #[test]
    fn forms() {
        assert_eq!(roundtrip("1 < a <= 5"), "1 < a <= 5");
        assert_eq!(roundtrip("x NOT IN [1, -2,]"), "x not in [1, -2]");
        assert_eq!(roundtrip("j['a'][0] is NOT null"), "j[\"a\"][0] is not null");
        assert_eq!(roundtrip("ARRAY_CONTAINS(t, 'x')"), "ARRAY_CONTAINS(t, \"x\")");
        assert_eq!(roundtrip("exists $meta[\"k\"]"), "exists $meta[\"k\"]");
        assert_eq!(roundtrip("a == -9223372036854775808"), "a == -9223372036854775808");
        assert_eq!(roundtrip("-a ** 2 > 1"), "-a ** 2 > 1");
        assert_eq!(roundtrip("(-0.0) ** a > 1"), "(-0.0) ** a > 1");
        assert_eq!(roundtrip("   "), "true");
        assert_eq!(roundtrip("name not like 'a%'"), "not name like \"a%\"");
        assert_eq!(roundtrip(r"s == 'a\\b\n\%'"), r#"s == "a\\b\n\\%""#);
    }

    #[test]
    fn chains_of_one_operator_are_flat() {
        assert!(matches!(parse("a and b && c AND d").unwrap(), Ast::And(items) if items.len() == 4));
        // `and` binds tighter: an `or` of three operands, the middle one an `and`.
        assert!(matches!(parse("a or b and c and d or e").unwrap(), Ast::Or(items) if items.len() == 3));
        // A parenthesised chain on the left joins the chain (same meaning); on the right it nests.
        assert!(matches!(parse("(a or b) or c").unwrap(), Ast::Or(items) if items.len() == 3));
        assert!(matches!(parse("a or (b or c)").unwrap(), Ast::Or(items) if items.len() == 2));
        let Ast::Compare { left, .. } = parse("a + 1 - 2 * 3 / 4 + 5 == 0").unwrap() else { panic!("not a comparison") };
        assert!(matches!(*left, Ast::Arith { rest, .. } if rest.len() == 3));
        assert_eq!(roundtrip("a - (b - c) - d > 0"), "a - (b - c) - d > 0");
        assert_eq!(roundtrip("(a - b) - c > 0"), "a - b - c > 0");
        // `**` is right associative and never joins a chain.
        assert_eq!(roundtrip("a ** b ** c == 1"), "a ** b ** c == 1");
        assert_eq!(roundtrip("(a ** b) ** c == 1"), "(a ** b) ** c == 1");
        assert!(matches!(parse("a ** b ** c").unwrap(), Ast::Arith { rest, .. } if rest.len() == 1));
    }

    #[test]
    fn nesting_stops_at_the_limit() {
        let too_deep = Err(ExprError::TooDeep { what: "expression".into(), limit: MAX_DEPTH });
        // The outermost expression is a level, so MAX_DEPTH - 1 parentheses fit.
        let parens = |k: usize| format!("{}a{}", "(".repeat(k), ")".repeat(k));
        assert_eq!(parse(&parens(MAX_DEPTH - 1)), Ok(Ast::Field("a".into())));
        assert_eq!(parse(&parens(MAX_DEPTH)), too_deep);
        // Operators applied to their own results make the tree taller without recursing.
        let nulls = |k: usize| format!("a{}", " is null".repeat(k));
        assert!(parse(&nulls(MAX_DEPTH - 1)).is_ok());
        assert_eq!(parse(&nulls(MAX_DEPTH)), too_deep);
        assert_eq!(parse(&"-".repeat(100_000)), too_deep);
    }

    #[test]
    fn errors_name_token_and_position() {
        let err = parse("(a > 1").unwrap_err().to_string();
        assert_eq!(err, "invalid expression at position 6: expected ')' to close '(' at position 0, found end of expression");
        let err = parse("a > 1)").unwrap_err().to_string();
        assert_eq!(err, "invalid expression at position 5: unexpected token ')' without a matching '('");
        let err = parse("a > 1 b").unwrap_err().to_string();
        assert_eq!(err, "invalid expression at position 6: unexpected token 'b' after a complete expression");
        let err = parse("a > ").unwrap_err().to_string();
        assert_eq!(err, "invalid expression at position 4: unexpected end of expression");
        let err = parse("1 < a > 2").unwrap_err().to_string();
        assert!(err.contains("chained comparison"), "{err}");
        let err = parse("a = 1").unwrap_err().to_string();
        assert!(err.contains("'=='"), "{err}");
        assert!(matches!(parse("a & 1"), Err(ExprError::Unsupported { .. })));
    }
}
