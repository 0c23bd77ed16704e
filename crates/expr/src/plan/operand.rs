//! Planning values: literals and templates, fields and paths, arithmetic, and
//! `array_length`. Constant sub-expressions are folded here, so evaluation never
//! sees two literals meet.

use super::build::Planner;
use super::node::{ArithStep, ColumnRef, Operand, Ty};
use crate::ast::{ArithChain, ArithOp, Ast, PathStep};
use crate::error::{ExprError, Result};
use crate::value::{Literal, Num, arith, int_arith};
use quiver_format::schema::{DYNAMIC_FIELD_NAME, DataType};
use std::fmt::Display;

/// The functions that yield booleans, so using them as a value gets a precise error.
pub(crate) const PREDICATE_FUNCTIONS: [&str; 6] =
    ["array_contains", "array_contains_all", "array_contains_any", "json_contains", "json_contains_all", "json_contains_any"];

/// How an operand is quoted in messages: "`a + 1` (Int64)".
pub(crate) fn describe(ast: &Ast, operand: &Operand) -> String {
    format!("`{ast}` ({})", operand.type_name())
}

/// The error for a predicate used where a value is expected.
fn not_a_value(ast: &Ast) -> ExprError {
    ExprError::Unsupported { what: format!("using the boolean expression `{ast}` as a value") }
}

// As in `build`: the methods are on the recursion path, so they resolve sub-operands and
// leave checks and messages to functions off it.
impl Planner<'_> {
    pub fn operand(&self, ast: &Ast) -> Result<Operand> {
        match ast {
            Ast::Bool(b) => Ok(Operand::Literal(Literal::Bool(*b))),
            Ast::Int(i) => Ok(Operand::Literal(Literal::Int(*i))),
            Ast::Float(f) => Ok(Operand::Literal(Literal::Float(*f))),
            Ast::Str(s) => Ok(Operand::Literal(Literal::Str(s.clone()))),
            Ast::List(items) => self.list(items),
            Ast::Template(name) => self.template(name).map(Operand::Literal),
            Ast::Field(name) => self.field(name, &[]),
            Ast::Path { root, steps } => self.field(root, steps),
            Ast::Neg(inner) => self.negate(ast, inner),
            Ast::Arith { first, rest } => self.arith(first, rest),
            Ast::Call { name, args } => self.call_operand(name, args),
            _ => Err(not_a_value(ast)),
        }
    }

    fn list(&self, items: &[Ast]) -> Result<Operand> {
        let mut values = Vec::with_capacity(items.len());
        for item in items {
            values.push(self.constant(item, "a list")?);
        }
        Ok(Operand::Literal(Literal::List(values)))
    }

    /// A value that must be constant (list elements, `array_contains` needles).
    pub fn constant(&self, ast: &Ast, context: &str) -> Result<Literal> {
        let operand = self.operand(ast)?;
        constant(ast, operand, context)
    }

    pub fn template(&self, name: &str) -> Result<Literal> {
        let value = self.templates.get(name).ok_or_else(|| ExprError::UnknownTemplate { name: name.to_string() })?;
        value.to_literal(name)
    }

    /// Resolves `root[steps...]`: a schema field, `$meta`, or (with a dynamic field) a
    /// key of `$meta`.
    fn field(&self, root: &str, steps: &[PathStep]) -> Result<Operand> {
        if let Some(field) = self.schema.field(root) {
            let column = ColumnRef { name: field.name.clone(), data_type: field.data_type, element: field.element_type };
            if field.data_type.is_vector() {
                return Err(ExprError::Unsupported { what: format!("filtering on vector field {root}") });
            }
            return match (field.data_type, steps) {
                (DataType::Json, _) => Ok(Operand::Json { column: field.name.clone(), path: steps.to_vec() }),
                (_, []) => Ok(Operand::Column(column)),
                (DataType::Array, [PathStep::Index(index)]) => Ok(Operand::Element { column, index: *index }),
                (DataType::Array, _) => Err(ExprError::InvalidArrayIndex {
                    field: root.to_string(),
                    index: Ast::Path { root: String::new(), steps: steps.to_vec() }.to_string(),
                }),
                (data_type, _) => Err(ExprError::NotIndexable { field: root.to_string(), data_type: data_type.name().to_string() }),
            };
        }
        if self.schema.enable_dynamic_field {
            if root == DYNAMIC_FIELD_NAME {
                return Ok(Operand::Json { column: DYNAMIC_FIELD_NAME.to_string(), path: steps.to_vec() });
            }
            // `$`-names are reserved for system columns, never dynamic keys.
            if !root.starts_with('$') {
                let mut path = vec![PathStep::Key(root.to_string())];
                path.extend_from_slice(steps);
                return Ok(Operand::Json { column: DYNAMIC_FIELD_NAME.to_string(), path });
            }
        }
        Err(ExprError::UnknownField { name: root.to_string() })
    }

    fn negate(&self, ast: &Ast, inner: &Ast) -> Result<Operand> {
        let operand = self.operand(inner)?;
        negate(ast, inner, operand)
    }

    /// A chain `first op₁ x₁ op₂ x₂ ...`, one [`step`] at a time, left to right.
    fn arith(&self, first: &Ast, rest: &[(ArithOp, Ast)]) -> Result<Operand> {
        let mut acc = self.operand(first)?;
        for at in 0..rest.len() {
            let right = self.operand(&rest[at].1)?;
            acc = step(ArithChain { first, rest: &rest[..=at] }, acc, right)?;
        }
        Ok(acc)
    }

    fn call_operand(&self, name: &str, args: &[Ast]) -> Result<Operand> {
        let arg = length_argument(name, args)?;
        let inner = self.operand(arg)?;
        length(arg, inner)
    }
}

fn constant(ast: &Ast, operand: Operand, context: &str) -> Result<Literal> {
    match operand {
        Operand::Literal(literal) => Ok(literal),
        other => Err(ExprError::InvalidOperand {
            operator: context.to_string(),
            operand: format!("`{ast}`"),
            expected: "literal values",
            found: other.type_name(),
        }),
    }
}

/// Checks that `operand` (written `text`) is a number, or may be one per row.
fn numeric(operator: &str, text: &dyn Display, operand: &Operand) -> Result<()> {
    let numeric = matches!(operand.ty(), Ty::Int | Ty::Float) || matches!(operand, Operand::Json { .. } | Operand::Arith { .. });
    if numeric {
        return Ok(());
    }
    Err(ExprError::InvalidOperand {
        operator: format!("operator {operator}"),
        operand: format!("`{text}`"),
        expected: "numbers",
        found: operand.type_name(),
    })
}

fn negate(ast: &Ast, inner: &Ast, operand: Operand) -> Result<Operand> {
    numeric("-", inner, &operand)?;
    Ok(match operand {
        Operand::Literal(Literal::Int(i)) => {
            Operand::Literal(Literal::Int(i.checked_neg().ok_or_else(|| ExprError::Overflow { expression: ast.to_string() })?))
        }
        Operand::Literal(Literal::Float(f)) => Operand::Literal(Literal::Float(-f)),
        other => {
            let ty = other.ty();
            let step = ArithStep { op: ArithOp::Sub, operand: other, ty };
            Operand::Arith { first: Box::new(Operand::Literal(Literal::Int(0))), steps: vec![step] }
        }
    })
}

/// The last step of `chain`: `acc` (the value of the steps before it) `op` `right`.
/// Steps between literals are folded; the first step with a column starts an
/// [`Operand::Arith`] that later steps extend, so the plan stays as flat as the tree.
/// Messages quote the chain up to this step.
fn step(chain: ArithChain<'_>, acc: Operand, right: Operand) -> Result<Operand> {
    let Some(((op, r), before)) = chain.rest.split_last() else { return Ok(acc) };
    let op = *op;
    let left_text = ArithChain { first: chain.first, rest: before };
    numeric(op.symbol(), &left_text, &acc)?;
    numeric(op.symbol(), r, &right)?;
    if op == ArithOp::Mod {
        // Milvus: modulo applies to integers only.
        for (side_text, side) in [(&left_text as &dyn Display, &acc), (r, &right)] {
            if side.ty() == Ty::Float {
                return Err(ExprError::InvalidOperand {
                    operator: "operator %".into(),
                    operand: format!("`{side_text}`"),
                    expected: "integers",
                    found: side.type_name(),
                });
            }
        }
    }
    let zero_divisor = matches!(&right, Operand::Literal(lit) if lit.as_num().is_some_and(|n| n.as_f64() == 0.0));
    if matches!(op, ArithOp::Div | ArithOp::Mod) && zero_divisor {
        return Err(ExprError::DivisionByZero { expression: chain.to_string() });
    }
    let ty = match (acc.ty(), right.ty()) {
        (Ty::Json, _) | (_, Ty::Json) => Ty::Json,
        _ if op == ArithOp::Pow => Ty::Float,
        (Ty::Int, Ty::Int) => Ty::Int,
        _ => Ty::Float,
    };
    Ok(match (acc, right) {
        (Operand::Literal(a), Operand::Literal(b)) => {
            let (Some(a), Some(b)) = (a.as_num(), b.as_num()) else {
                return Err(ExprError::Unsupported { what: format!("arithmetic on JSON literals in `{chain}`") });
            };
            let folded = match (a, b) {
                (Num::Int(x), Num::Int(y)) if op != ArithOp::Pow => int_arith(op, x, y).map(Num::Int),
                _ => arith(op, a, b),
            };
            match folded.ok_or_else(|| ExprError::Overflow { expression: chain.to_string() })? {
                Num::Int(i) => Operand::Literal(Literal::Int(i)),
                Num::Float(f) => Operand::Literal(Literal::Float(f)),
            }
        }
        (Operand::Arith { first, mut steps }, operand) => {
            steps.push(ArithStep { op, operand, ty });
            Operand::Arith { first, steps }
        }
        (left, operand) => Operand::Arith { first: Box::new(left), steps: vec![ArithStep { op, operand, ty }] },
    })
}

/// `name(args...)` used as a value: the argument of `array_length`, or why not.
fn length_argument<'a>(name: &str, args: &'a [Ast]) -> Result<&'a Ast> {
    let lower = name.to_ascii_lowercase();
    if lower == "array_length" {
        let [arg] = args else {
            return Err(ExprError::ArgumentCount { function: lower, expected: 1, found: args.len() });
        };
        return Ok(arg);
    }
    if PREDICATE_FUNCTIONS.contains(&lower.as_str()) {
        return Err(ExprError::Unsupported { what: format!("using the boolean function {name}(...) as a value") });
    }
    Err(ExprError::UnknownFunction { name: name.to_string() })
}

/// `array_length(arg)`, `arg` planned as `inner`.
fn length(arg: &Ast, inner: Operand) -> Result<Operand> {
    match inner {
        Operand::Column(ColumnRef { data_type: DataType::Array, .. }) | Operand::Json { .. } => Ok(Operand::Length(Box::new(inner))),
        other => Err(ExprError::InvalidOperand {
            operator: "function array_length".into(),
            operand: format!("`{arg}`"),
            expected: "an Array field or a JSON path",
            found: other.type_name(),
        }),
    }
}
