//! The syntax tree of a filter expression, before any schema is consulted.
//!
//! Identifiers are kept as written: whether `color` is a field or a dynamic key is
//! decided by the planner. `Display` prints an expression back in canonical form (with
//! only the parentheses precedence needs) that parses to the same tree; error messages
//! quote it.
//!
//! Shape invariants, which keep every pass over the tree (planning, evaluation,
//! `Display`, `Drop`, all recursive) within a bounded stack:
//! - chains of one operator are flat: `a and b and c` is one [`Ast::And`] with three
//!   operands, `a + b - c` one [`Ast::Arith`] with two steps, however long the chain;
//! - the tree is at most [`MAX_DEPTH`] levels tall (an atom is one level), which the
//!   parser enforces while it builds the tree.

use std::fmt;

/// How many levels an expression may nest: the parser refuses a tree taller than this,
/// and recursion deeper than this, with [`crate::ExprError::TooDeep`]; template values
/// are held to the same limit.
///
/// Every pass over the tree (parse, plan, evaluate, print, drop) recurses once per
/// level, so this bounds their stack. Measured at the deepest nesting accepted, in each
/// shape `tests/expr/depth.rs` runs on a 512 KiB thread (a quarter of a tokio worker's
/// 2 MiB), the costliest pass takes about 310 KiB in an unoptimised build (planning and
/// evaluating 126 nested `-` or `**`, about 2.4 KiB a level) and 200 KiB in an optimised
/// one. That holds only while the functions on the recursion path stay small (see the
/// parser, `plan::build` and `eval`). Real filters nest a handful of levels, and long
/// `and`/`or` and arithmetic chains are flat, so they do not count.
pub const MAX_DEPTH: usize = 128;

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    /// The operator with its operands swapped: `a < b` ⇔ `b > a`.
    pub fn flip(self) -> CmpOp {
        match self {
            CmpOp::Eq => CmpOp::Eq,
            CmpOp::Ne => CmpOp::Ne,
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
        }
    }

    /// Whether an ordering of left against right satisfies the operator.
    pub fn test(self, ordering: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            CmpOp::Eq => ordering == Equal,
            CmpOp::Ne => ordering != Equal,
            CmpOp::Lt => ordering == Less,
            CmpOp::Le => ordering != Greater,
            CmpOp::Gt => ordering == Greater,
            CmpOp::Ge => ordering != Less,
        }
    }

    /// `==` and `!=`, the only comparisons defined on bools, arrays and objects.
    pub fn is_equality(self) -> bool {
        matches!(self, CmpOp::Eq | CmpOp::Ne)
    }

    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// An arithmetic operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
}

impl ArithOp {
    pub fn symbol(self) -> &'static str {
        match self {
            ArithOp::Add => "+",
            ArithOp::Sub => "-",
            ArithOp::Mul => "*",
            ArithOp::Div => "/",
            ArithOp::Mod => "%",
            ArithOp::Pow => "**",
        }
    }
}

/// One step of a JSON path or an array index: `["key"]` or `[3]`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub enum PathStep {
    Key(String),
    Index(u64),
}

/// A parsed expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Ast {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// `[a, b, ...]`; elements are expressions so `[-1, 2 * 3]` works.
    List(Vec<Ast>),
    /// `{name}`, resolved from the request's template values when planned.
    Template(String),
    /// A bare identifier: a field, `$meta`, or a dynamic key.
    Field(String),
    /// `root["a"][0]...`: a JSON path or an array element.
    Path {
        root: String,
        steps: Vec<PathStep>,
    },
    /// Unary minus on a non-literal (literals are negated while parsing).
    Neg(Box<Ast>),
    /// `first op₁ x₁ op₂ x₂ ...`, evaluated left to right: `((first op₁ x₁) op₂ x₂) ...`.
    /// The operators are all of one precedence level: any number of `+`/`-`, or of
    /// `*`/`/`/`%`, or exactly one `**` (right associative, so `a ** b ** c` nests).
    Arith {
        first: Box<Ast>,
        rest: Vec<(ArithOp, Ast)>,
    },
    Compare {
        op: CmpOp,
        left: Box<Ast>,
        right: Box<Ast>,
    },
    /// A chained comparison `left left_op middle right_op right`, e.g. `1 < a <= 5`;
    /// both operators point the same way.
    Range {
        left: Box<Ast>,
        left_op: CmpOp,
        middle: Box<Ast>,
        right_op: CmpOp,
        right: Box<Ast>,
    },
    /// `x₁ and x₂ and ...`: two or more operands.
    And(Vec<Ast>),
    /// `x₁ or x₂ or ...`: two or more operands.
    Or(Vec<Ast>),
    Not(Box<Ast>),
    /// `operand in list` / `operand not in list`; `list` is a list or a template.
    In {
        operand: Box<Ast>,
        list: Box<Ast>,
        negated: bool,
    },
    /// `operand like pattern`; `pattern` is a string literal or a template.
    Like {
        operand: Box<Ast>,
        pattern: Box<Ast>,
    },
    IsNull {
        operand: Box<Ast>,
        negated: bool,
    },
    /// `name(args...)`; the planner knows which names exist.
    Call {
        name: String,
        args: Vec<Ast>,
    },
    /// `exists path`.
    Exists(Box<Ast>),
}

// Binding strength, loosest first; the parser uses the same levels.
pub(crate) const PREC_OR: u8 = 1;
pub(crate) const PREC_AND: u8 = 2;
pub(crate) const PREC_NOT: u8 = 3;
pub(crate) const PREC_CMP: u8 = 4;
pub(crate) const PREC_ADD: u8 = 5;
pub(crate) const PREC_MUL: u8 = 6;
pub(crate) const PREC_UNARY: u8 = 7;
pub(crate) const PREC_POW: u8 = 8;
pub(crate) const PREC_ATOM: u8 = 9;

pub(crate) fn arith_precedence(op: ArithOp) -> u8 {
    match op {
        ArithOp::Add | ArithOp::Sub => PREC_ADD,
        ArithOp::Mul | ArithOp::Div | ArithOp::Mod => PREC_MUL,
        ArithOp::Pow => PREC_POW,
    }
}

impl Ast {
    fn precedence(&self) -> u8 {
        match self {
            Ast::Or(..) => PREC_OR,
            Ast::And(..) => PREC_AND,
            Ast::Not(_) => PREC_NOT,
            Ast::Compare { .. } | Ast::Range { .. } | Ast::In { .. } | Ast::Like { .. } | Ast::IsNull { .. } => PREC_CMP,
            Ast::Arith { rest, .. } => rest.first().map_or(PREC_ATOM, |(op, _)| arith_precedence(*op)),
            Ast::Neg(_) => PREC_UNARY,
            Ast::Int(v) if *v < 0 => PREC_UNARY,
            // `-0.0` too: `(-0.0) ** x` is not `-(0.0 ** x)`.
            Ast::Float(v) if v.is_sign_negative() => PREC_UNARY,
            _ => PREC_ATOM,
        }
    }

    /// Writes `child`, parenthesised when it binds looser than `min`.
    fn child(f: &mut fmt::Formatter<'_>, child: &Ast, min: u8) -> fmt::Result {
        if child.precedence() < min { write!(f, "({child})") } else { write!(f, "{child}") }
    }
}

pub(crate) fn write_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\t' => f.write_str("\\t")?,
            '\r' => f.write_str("\\r")?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("\"")
}

pub(crate) fn write_steps(f: &mut fmt::Formatter<'_>, steps: &[PathStep]) -> fmt::Result {
    for step in steps {
        match step {
            PathStep::Key(key) => {
                f.write_str("[")?;
                write_string(f, key)?;
                f.write_str("]")?;
            }
            PathStep::Index(i) => write!(f, "[{i}]")?,
        }
    }
    Ok(())
}

fn write_list(f: &mut fmt::Formatter<'_>, items: &[Ast]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

/// `x₁ and x₂ ...`: operands that are themselves `and`/`or` chains are parenthesised,
/// so the text parses back to the same tree.
fn write_junction(f: &mut fmt::Formatter<'_>, items: &[Ast], word: &str, prec: u8) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(word)?;
        }
        Ast::child(f, item, prec + 1)?;
    }
    Ok(())
}

/// An arithmetic chain, or its first steps (error messages quote the step that failed).
pub(crate) struct ArithChain<'a> {
    pub first: &'a Ast,
    pub rest: &'a [(ArithOp, Ast)],
}

impl fmt::Display for ArithChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some((op, _)) = self.rest.first() else { return write!(f, "{}", self.first) };
        let prec = arith_precedence(*op);
        // Left-associative except `**`, so the other side needs one level more.
        let (lmin, rmin) = if *op == ArithOp::Pow { (prec + 1, prec) } else { (prec, prec + 1) };
        Ast::child(f, self.first, lmin)?;
        for (op, operand) in self.rest {
            write!(f, " {} ", op.symbol())?;
            Ast::child(f, operand, rmin)?;
        }
        Ok(())
    }
}

impl fmt::Display for Ast {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ast::Bool(b) => write!(f, "{b}"),
            Ast::Int(v) => write!(f, "{v}"),
            Ast::Float(v) => write!(f, "{v:?}"),
            Ast::Str(s) => write_string(f, s),
            Ast::List(items) => {
                f.write_str("[")?;
                write_list(f, items)?;
                f.write_str("]")
            }
            Ast::Template(name) => write!(f, "{{{name}}}"),
            Ast::Field(name) => f.write_str(name),
            Ast::Path { root, steps } => {
                f.write_str(root)?;
                write_steps(f, steps)
            }
            Ast::Neg(inner) => {
                f.write_str("-")?;
                Ast::child(f, inner, PREC_UNARY)
            }
            Ast::Arith { first, rest } => write!(f, "{}", ArithChain { first, rest }),
            Ast::Compare { op, left, right } => {
                Ast::child(f, left, PREC_ADD)?;
                write!(f, " {} ", op.symbol())?;
                Ast::child(f, right, PREC_ADD)
            }
            Ast::Range { left, left_op, middle, right_op, right } => {
                Ast::child(f, left, PREC_ADD)?;
                write!(f, " {} ", left_op.symbol())?;
                Ast::child(f, middle, PREC_ADD)?;
                write!(f, " {} ", right_op.symbol())?;
                Ast::child(f, right, PREC_ADD)
            }
            Ast::And(items) => write_junction(f, items, " and ", PREC_AND),
            Ast::Or(items) => write_junction(f, items, " or ", PREC_OR),
            Ast::Not(inner) => {
                f.write_str("not ")?;
                Ast::child(f, inner, PREC_NOT)
            }
            Ast::In { operand, list, negated } => {
                Ast::child(f, operand, PREC_ADD)?;
                f.write_str(if *negated { " not in " } else { " in " })?;
                Ast::child(f, list, PREC_ADD)
            }
            Ast::Like { operand, pattern } => {
                Ast::child(f, operand, PREC_ADD)?;
                f.write_str(" like ")?;
                Ast::child(f, pattern, PREC_ADD)
            }
            Ast::IsNull { operand, negated } => {
                Ast::child(f, operand, PREC_ADD)?;
                f.write_str(if *negated { " is not null" } else { " is null" })
            }
            Ast::Call { name, args } => {
                write!(f, "{name}(")?;
                write_list(f, args)?;
                f.write_str(")")
            }
            Ast::Exists(inner) => {
                f.write_str("exists ")?;
                Ast::child(f, inner, PREC_ATOM)
            }
        }
    }
}
