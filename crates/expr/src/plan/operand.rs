//! Planning values: literals and templates, fields and paths, arithmetic, and
//! `array_length`. Constant sub-expressions are folded here, so evaluation never
//! sees two literals meet.

use super::build::Planner;
use super::node::{ColumnRef, Operand, Ty};
use crate::ast::{ArithOp, Ast, PathStep};
use crate::error::{ExprError, Result};
use crate::value::{Literal, Num, arith, int_arith};
use quiver_format::schema::{DYNAMIC_FIELD_NAME, DataType};

/// The functions that yield booleans, so using them as a value gets a precise error.
pub(crate) const PREDICATE_FUNCTIONS: [&str; 6] =
    ["array_contains", "array_contains_all", "array_contains_any", "json_contains", "json_contains_all", "json_contains_any"];

/// How an operand is quoted in messages: "`a + 1` (Int64)".
pub(crate) fn describe(ast: &Ast, operand: &Operand) -> String {
    format!("`{ast}` ({})", operand.type_name())
}

impl Planner<'_> {
    pub fn operand(&self, ast: &Ast) -> Result<Operand> {
        Ok(match ast {
            Ast::Bool(b) => Operand::Literal(Literal::Bool(*b)),
            Ast::Int(i) => Operand::Literal(Literal::Int(*i)),
            Ast::Float(f) => Operand::Literal(Literal::Float(*f)),
            Ast::Str(s) => Operand::Literal(Literal::Str(s.clone())),
            Ast::List(items) => {
                Operand::Literal(Literal::List(items.iter().map(|item| self.constant(item, "a list")).collect::<Result<_>>()?))
            }
            Ast::Template(name) => Operand::Literal(self.template(name)?),
            Ast::Field(name) => self.field(name, &[])?,
            Ast::Path { root, steps } => self.field(root, steps)?,
            Ast::Neg(inner) => self.negate(ast, inner)?,
            Ast::Arith { op, left, right } => self.arith(ast, *op, left, right)?,
            Ast::Call { name, args } => self.call_operand(name, args)?,
            _ => return Err(ExprError::Unsupported { what: format!("using the boolean expression `{ast}` as a value") }),
        })
    }

    /// A value that must be constant (list elements, `array_contains` needles).
    pub fn constant(&self, ast: &Ast, context: &str) -> Result<Literal> {
        match self.operand(ast)? {
            Operand::Literal(literal) => Ok(literal),
            other => Err(ExprError::InvalidOperand {
                operator: context.to_string(),
                operand: format!("`{ast}`"),
                expected: "literal values",
                found: other.type_name(),
            }),
        }
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

    fn numeric(&self, operator: &str, ast: &Ast, operand: &Operand) -> Result<()> {
        let numeric = matches!(operand.ty(), Ty::Int | Ty::Float) || matches!(operand, Operand::Json { .. } | Operand::Arith { .. });
        if numeric {
            return Ok(());
        }
        Err(ExprError::InvalidOperand {
            operator: format!("operator {operator}"),
            operand: format!("`{ast}`"),
            expected: "numbers",
            found: operand.type_name(),
        })
    }

    fn negate(&self, ast: &Ast, inner: &Ast) -> Result<Operand> {
        let operand = self.operand(inner)?;
        self.numeric("-", inner, &operand)?;
        Ok(match operand {
            Operand::Literal(Literal::Int(i)) => {
                Operand::Literal(Literal::Int(i.checked_neg().ok_or_else(|| ExprError::Overflow { expression: ast.to_string() })?))
            }
            Operand::Literal(Literal::Float(f)) => Operand::Literal(Literal::Float(-f)),
            other => {
                let ty = other.ty();
                Operand::Arith { op: ArithOp::Sub, left: Box::new(Operand::Literal(Literal::Int(0))), right: Box::new(other), ty }
            }
        })
    }

    fn arith(&self, ast: &Ast, op: ArithOp, l: &Ast, r: &Ast) -> Result<Operand> {
        let left = self.operand(l)?;
        let right = self.operand(r)?;
        self.numeric(op.symbol(), l, &left)?;
        self.numeric(op.symbol(), r, &right)?;
        if op == ArithOp::Mod {
            // Milvus: modulo applies to integers only.
            for (side_ast, side) in [(l, &left), (r, &right)] {
                if side.ty() == Ty::Float {
                    return Err(ExprError::InvalidOperand {
                        operator: "operator %".into(),
                        operand: format!("`{side_ast}`"),
                        expected: "integers",
                        found: side.type_name(),
                    });
                }
            }
        }
        let zero_divisor = matches!(&right, Operand::Literal(lit) if lit.as_num().is_some_and(|n| n.as_f64() == 0.0));
        if matches!(op, ArithOp::Div | ArithOp::Mod) && zero_divisor {
            return Err(ExprError::DivisionByZero { expression: ast.to_string() });
        }
        if let (Operand::Literal(a), Operand::Literal(b)) = (&left, &right) {
            let (Some(a), Some(b)) = (a.as_num(), b.as_num()) else {
                return Err(ExprError::Unsupported { what: format!("arithmetic on JSON literals in `{ast}`") });
            };
            let folded = match (a, b) {
                (Num::Int(x), Num::Int(y)) if op != ArithOp::Pow => int_arith(op, x, y).map(Num::Int),
                _ => arith(op, a, b),
            };
            return match folded.ok_or_else(|| ExprError::Overflow { expression: ast.to_string() })? {
                Num::Int(i) => Ok(Operand::Literal(Literal::Int(i))),
                Num::Float(f) => Ok(Operand::Literal(Literal::Float(f))),
            };
        }
        let ty = match (left.ty(), right.ty()) {
            (Ty::Json, _) | (_, Ty::Json) => Ty::Json,
            _ if op == ArithOp::Pow => Ty::Float,
            (Ty::Int, Ty::Int) => Ty::Int,
            _ => Ty::Float,
        };
        Ok(Operand::Arith { op, left: Box::new(left), right: Box::new(right), ty })
    }

    fn call_operand(&self, name: &str, args: &[Ast]) -> Result<Operand> {
        let lower = name.to_ascii_lowercase();
        if lower == "array_length" {
            let [arg] = args else {
                return Err(ExprError::ArgumentCount { function: lower, expected: 1, found: args.len() });
            };
            let inner = self.operand(arg)?;
            return match inner {
                Operand::Column(ColumnRef { data_type: DataType::Array, .. }) | Operand::Json { .. } => {
                    Ok(Operand::Length(Box::new(inner)))
                }
                other => Err(ExprError::InvalidOperand {
                    operator: "function array_length".into(),
                    operand: format!("`{arg}`"),
                    expected: "an Array field or a JSON path",
                    found: other.type_name(),
                }),
            };
        }
        if PREDICATE_FUNCTIONS.contains(&lower.as_str()) {
            return Err(ExprError::Unsupported { what: format!("using the boolean function {name}(...) as a value") });
        }
        Err(ExprError::UnknownFunction { name: name.to_string() })
    }
}
