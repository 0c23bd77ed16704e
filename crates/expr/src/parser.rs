//! Text to [`Ast`]: a precedence-climbing parser over the lexer's tokens.
//!
//! Precedence, loosest first: `or`/`||`, `and`/`&&`, prefix `not`/`!`, comparisons and
//! `in`/`not in`/`like`/`is [not] null`, `+ -`, `* / %`, unary `-`, `**` (right
//! associative), then atoms. `not` binds looser than comparisons, as in SQL, so
//! `not a > 1` means `not (a > 1)`.
//!
//! Two comparisons in a row form a range (`1 < a <= 5`, `10 >= b > 2`); both must
//! point the same way, as Milvus requires.

use crate::ast::{ArithOp, Ast, CmpOp, PREC_ADD, PREC_AND, PREC_ATOM, PREC_CMP, PREC_NOT, PREC_OR, PREC_UNARY, PathStep};
use crate::error::{ExprError, Result};
use crate::lexer::{Keyword, Sym, Tok, Token, tokenize};

/// Parses an expression. Blank text parses to `true` (match every row), which is what
/// Milvus does with an empty filter.
pub fn parse(text: &str) -> Result<Ast> {
    let tokens = tokenize(text)?;
    let mut parser = Parser { tokens, next: 0 };
    if parser.peek().tok == Tok::End {
        return Ok(Ast::Bool(true));
    }
    let ast = parser.expr(0)?;
    let token = parser.peek();
    if token.tok != Tok::End {
        let message = if token.tok == Tok::Sym(Sym::RParen) {
            "unexpected token ')' without a matching '('".to_string()
        } else {
            format!("unexpected token '{}' after a complete expression", token.text)
        };
        return Err(error_at(token, message));
    }
    Ok(ast)
}

fn error_at(token: &Token, message: impl Into<String>) -> ExprError {
    ExprError::Syntax { position: token.pos, token: token.text.clone(), message: message.into() }
}

fn unexpected(token: &Token) -> ExprError {
    let message = match &token.tok {
        Tok::End => "unexpected end of expression".to_string(),
        _ => format!("unexpected token '{}'", token.text),
    };
    error_at(token, message)
}

struct Parser {
    tokens: Vec<Token>,
    next: usize,
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
            Infix::Arith(op) => crate::ast::arith_precedence(*op),
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

    fn expect(&mut self, sym: Sym, what: &str) -> Result<Token> {
        if self.peek().tok == Tok::Sym(sym) {
            return Ok(self.bump());
        }
        let token = self.peek();
        let found = if token.tok == Tok::End { "end of expression".to_string() } else { format!("'{}'", token.text) };
        Err(error_at(token, format!("expected {what}, found {found}")))
    }

    /// The infix operator at the cursor, if any, and how many tokens it spans.
    fn infix(&self) -> Result<Option<(Infix, usize)>> {
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
                return Err(ExprError::Unsupported { what: format!("bitwise operator '{}'", token.text) });
            }
            Tok::Sym(Sym::Assign) => return Err(error_at(token, "unexpected token '=' (use '==' to compare)")),
            tok => match cmp_op(tok) {
                Some(op) => (Infix::Cmp(op), 1),
                None => return Ok(None),
            },
        };
        Ok(Some(op))
    }

    /// Parses an expression whose operators all bind at least as tightly as `min`.
    fn expr(&mut self, min: u8) -> Result<Ast> {
        let mut left = self.prefix()?;
        while let Some((op, width)) = self.infix()? {
            let prec = op.precedence();
            if prec < min {
                break;
            }
            let op_token = self.peek().clone();
            for _ in 0..width {
                self.bump();
            }
            left = match op {
                Infix::Or => Ast::Or(Box::new(left), Box::new(self.expr(prec + 1)?)),
                Infix::And => Ast::And(Box::new(left), Box::new(self.expr(prec + 1)?)),
                Infix::Arith(ArithOp::Pow) => Ast::Arith { op: ArithOp::Pow, left: Box::new(left), right: Box::new(self.expr(prec)?) },
                Infix::Arith(op) => Ast::Arith { op, left: Box::new(left), right: Box::new(self.expr(prec + 1)?) },
                Infix::In { negated } => Ast::In { operand: Box::new(left), list: Box::new(self.expr(PREC_ADD)?), negated },
                Infix::Like { negated } => {
                    let like = Ast::Like { operand: Box::new(left), pattern: Box::new(self.expr(PREC_ADD)?) };
                    if negated { Ast::Not(Box::new(like)) } else { like }
                }
                Infix::Is => self.is_null(left, &op_token)?,
                Infix::Cmp(op) => self.comparison(left, op)?,
            };
        }
        Ok(left)
    }

    /// After `left op`: a comparison, or a range when a second comparison follows.
    fn comparison(&mut self, left: Ast, op: CmpOp) -> Result<Ast> {
        let middle = self.expr(PREC_ADD)?;
        let Some(right_op) = cmp_op(&self.peek().tok) else {
            return Ok(Ast::Compare { op, left: Box::new(left), right: Box::new(middle) });
        };
        let op_token = self.bump();
        let ascending = |op: CmpOp| matches!(op, CmpOp::Lt | CmpOp::Le);
        let descending = |op: CmpOp| matches!(op, CmpOp::Gt | CmpOp::Ge);
        if !(ascending(op) && ascending(right_op) || descending(op) && descending(right_op)) {
            return Err(error_at(
                &op_token,
                format!("unexpected token '{}': a chained comparison needs two of '<', '<=' or two of '>', '>='", op_token.text),
            ));
        }
        let right = self.expr(PREC_ADD)?;
        if cmp_op(&self.peek().tok).is_some() {
            return Err(error_at(self.peek(), format!("unexpected token '{}': at most two comparisons may be chained", self.peek().text)));
        }
        Ok(Ast::Range { left: Box::new(left), left_op: op, middle: Box::new(middle), right_op, right: Box::new(right) })
    }

    /// After `operand is`: `null` or `not null`.
    fn is_null(&mut self, operand: Ast, is_token: &Token) -> Result<Ast> {
        let negated = self.peek().tok == Tok::Kw(Keyword::Not);
        if negated {
            self.bump();
        }
        if !is_word(&self.peek().tok, "null") {
            let token = self.peek();
            return Err(error_at(
                token,
                format!("expected 'null' after '{}{}', found '{}'", is_token.text, if negated { " not" } else { "" }, token.text),
            ));
        }
        self.bump();
        Ok(Ast::IsNull { operand: Box::new(operand), negated })
    }

    fn prefix(&mut self) -> Result<Ast> {
        let token = self.bump();
        match token.tok {
            Tok::Int(v) => {
                i64::try_from(v).map(Ast::Int).map_err(|_| error_at(&token, format!("integer {} is out of the Int64 range", token.text)))
            }
            Tok::Float(v) => Ok(Ast::Float(v)),
            Tok::Str(s) => Ok(Ast::Str(s)),
            Tok::Kw(Keyword::True) => Ok(Ast::Bool(true)),
            Tok::Kw(Keyword::False) => Ok(Ast::Bool(false)),
            Tok::Template(name) => Ok(Ast::Template(name)),
            Tok::Ident(name) => self.identifier(name),
            Tok::Kw(Keyword::Not) | Tok::Sym(Sym::Bang) => Ok(Ast::Not(Box::new(self.expr(PREC_NOT)?))),
            Tok::Kw(Keyword::Exists) => Ok(Ast::Exists(Box::new(self.expr(PREC_ATOM)?))),
            Tok::Sym(Sym::Minus) => self.negation(),
            // Unary plus changes nothing; the planner still checks the operand is numeric
            // where it matters.
            Tok::Sym(Sym::Plus) => self.expr(PREC_UNARY),
            Tok::Sym(Sym::LParen) => {
                let inner = self.expr(0)?;
                let close = self.peek();
                if close.tok != Tok::Sym(Sym::RParen) {
                    let found = if close.tok == Tok::End { "end of expression".to_string() } else { format!("'{}'", close.text) };
                    return Err(error_at(close, format!("expected ')' to close '(' at position {}, found {found}", token.pos)));
                }
                self.bump();
                Ok(inner)
            }
            Tok::Sym(Sym::LBracket) => self.list(&token),
            Tok::Sym(Sym::Tilde) => Err(ExprError::Unsupported { what: "bitwise operator '~'".into() }),
            _ => Err(unexpected(&token)),
        }
    }

    /// After a unary `-`: literals are negated in place (which is how `i64::MIN` is
    /// written); anything else becomes [`Ast::Neg`].
    fn negation(&mut self) -> Result<Ast> {
        let next = self.peek().clone();
        let pow_follows = self.peek_at(1).tok == Tok::Sym(Sym::Pow);
        if next.tok == Tok::Int(1 << 63) && !pow_follows {
            self.bump();
            return Ok(Ast::Int(i64::MIN));
        }
        Ok(match self.expr(PREC_UNARY)? {
            // `-(-9223372036854775808)` has no Int64 value; the planner reports it.
            Ast::Int(v) => v.checked_neg().map_or_else(|| Ast::Neg(Box::new(Ast::Int(v))), Ast::Int),
            Ast::Float(v) => Ast::Float(-v),
            other => Ast::Neg(Box::new(other)),
        })
    }

    /// After an identifier: a call `f(...)`, a path `j["a"][0]`, or the bare name.
    fn identifier(&mut self, name: String) -> Result<Ast> {
        if self.peek().tok == Tok::Sym(Sym::LParen) {
            let open = self.bump();
            let args = self.items(Sym::RParen, &open, "')' to close the argument list")?;
            return Ok(Ast::Call { name, args });
        }
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
        Ok(if steps.is_empty() { Ast::Field(name) } else { Ast::Path { root: name, steps } })
    }

    fn list(&mut self, open: &Token) -> Result<Ast> {
        Ok(Ast::List(self.items(Sym::RBracket, open, "']' to close the list")?))
    }

    /// Comma-separated expressions up to `close` (a trailing comma is allowed).
    fn items(&mut self, close: Sym, open: &Token, what: &str) -> Result<Vec<Ast>> {
        let mut items = Vec::new();
        loop {
            if self.peek().tok == Tok::Sym(close) {
                self.bump();
                return Ok(items);
            }
            items.push(self.expr(0)?);
            if self.peek().tok == Tok::Sym(Sym::Comma) {
                self.bump();
                continue;
            }
            if self.peek().tok != Tok::Sym(close) {
                let token = self.peek();
                let found = if token.tok == Tok::End { "end of expression".to_string() } else { format!("'{}'", token.text) };
                return Err(error_at(token, format!("expected ',' or {what} opened at position {}, found {found}", open.pos)));
            }
        }
    }
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
        assert_eq!(roundtrip("   "), "true");
        assert_eq!(roundtrip("name not like 'a%'"), "not name like \"a%\"");
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
