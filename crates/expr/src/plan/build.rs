//! Planning predicates: resolves every operand, checks types against the schema as
//! Milvus does (a VarChar never compares with a number, `like` needs a string, ...)
//! and builds typed lookup sets for `in` and `array_contains*`.
//!
//! Constant predicates fold (`true and x` is `x`); `and`/`or` chains flatten.

use super::node::{InList, Needles, Operand, Pred, Ty};
use super::operand::describe;
use super::spatial::SpatialCall;
use crate::ast::{Ast, CmpOp};
use crate::error::{ExprError, Result};
use crate::hash::FastSet;
use crate::json;
use crate::like::LikePattern;
use crate::template::TemplateValue;
use crate::value::{Literal, exact_i64};
use quiver_format::schema::{CollectionSchema, DataType};
use std::collections::HashMap;

pub(crate) struct Planner<'a> {
    pub schema: &'a CollectionSchema,
    pub templates: &'a HashMap<String, TemplateValue>,
}

fn quote(literal: &Literal) -> String {
    format!("`{}` ({})", literal.to_json(), literal.type_name())
}

fn and(a: Pred, b: Pred) -> Pred {
    match (a, b) {
        // false absorbs even unknown.
        (Pred::Const(false), _) | (_, Pred::Const(false)) => Pred::Const(false),
        (Pred::Const(true), other) | (other, Pred::Const(true)) => other,
        (Pred::And(mut xs), Pred::And(ys)) => {
            xs.extend(ys);
            Pred::And(xs)
        }
        (Pred::And(mut xs), y) => {
            xs.push(y);
            Pred::And(xs)
        }
        (x, y) => Pred::And(vec![x, y]),
    }
}

fn or(a: Pred, b: Pred) -> Pred {
    match (a, b) {
        (Pred::Const(true), _) | (_, Pred::Const(true)) => Pred::Const(true),
        (Pred::Const(false), other) | (other, Pred::Const(false)) => other,
        (Pred::Or(mut xs), Pred::Or(ys)) => {
            xs.extend(ys);
            Pred::Or(xs)
        }
        (Pred::Or(mut xs), y) => {
            xs.push(y);
            Pred::Or(xs)
        }
        (x, y) => Pred::Or(vec![x, y]),
    }
}

fn not(p: Pred) -> Pred {
    match p {
        Pred::Const(b) => Pred::Const(!b),
        // Double negation is the identity in three-valued logic too.
        Pred::Not(inner) => *inner,
        other => Pred::Not(Box::new(other)),
    }
}

/// Whether a literal may be an element of (or compared with) an Array of `element`.
fn element_accepts(element: DataType, literal: &Literal) -> bool {
    match literal {
        Literal::Int(_) | Literal::Float(_) => element.is_integer() || matches!(element, DataType::Float | DataType::Double),
        Literal::Str(_) => element == DataType::VarChar,
        Literal::Bool(_) => element == DataType::Bool,
        Literal::List(_) | Literal::Json(_) => false,
    }
}

// The methods of `Planner` are on the recursion path (predicate → operand → ...), so
// each only resolves its operands and hands them to a function that builds the
// predicate: in unoptimised builds every temporary of a function has its own stack slot,
// so the checks and messages of a large method would cost kilobytes per nesting level.
impl Planner<'_> {
    pub fn predicate(&self, ast: &Ast) -> Result<Pred> {
        match ast {
            Ast::Bool(b) => Ok(Pred::Const(*b)),
            Ast::And(items) => self.all(items),
            Ast::Or(items) => self.any(items),
            Ast::Not(inner) => self.negation(inner),
            Ast::Compare { op, left, right } => self.compare(ast, *op, left, right),
            Ast::Range { left, left_op, middle, right_op, right } => self.range(ast, (left, *left_op), middle, (*right_op, right)),
            Ast::In { operand, list, negated } => self.in_list(ast, operand, list, *negated),
            Ast::Like { operand, pattern } => self.like(operand, pattern),
            Ast::IsNull { operand, negated } => self.is_null(operand, *negated),
            Ast::Call { name, args } => self.call(ast, name, args),
            Ast::Exists(inner) => self.exists(inner),
            _ => self.truthy(ast),
        }
    }

    fn all(&self, items: &[Ast]) -> Result<Pred> {
        let mut acc = Pred::Const(true);
        for item in items {
            acc = and(acc, self.predicate(item)?);
        }
        Ok(acc)
    }

    fn any(&self, items: &[Ast]) -> Result<Pred> {
        let mut acc = Pred::Const(false);
        for item in items {
            acc = or(acc, self.predicate(item)?);
        }
        Ok(acc)
    }

    fn negation(&self, inner: &Ast) -> Result<Pred> {
        Ok(not(self.predicate(inner)?))
    }

    fn range(&self, expr: &Ast, (left, left_op): (&Ast, CmpOp), middle: &Ast, (right_op, right): (CmpOp, &Ast)) -> Result<Pred> {
        Ok(and(self.compare(expr, left_op, left, middle)?, self.compare(expr, right_op, middle, right)?))
    }

    /// A value used where a predicate is expected: Bool fields and JSON paths are
    /// tested for `true`; anything else is not a predicate.
    fn truthy(&self, ast: &Ast) -> Result<Pred> {
        let operand = self.operand(ast)?;
        truthy(ast, operand)
    }

    fn compare(&self, expr: &Ast, op: CmpOp, l: &Ast, r: &Ast) -> Result<Pred> {
        let left = self.operand(l)?;
        let right = self.operand(r)?;
        compare(expr, op, (l, left), (r, right))
    }

    /// The literal values of an `in` list or a `*_contains_all/any` argument.
    fn list_values(&self, ast: &Ast, operator: &str) -> Result<Vec<Literal>> {
        let operand = self.operand(ast)?;
        list_values(ast, operand, operator)
    }

    fn in_list(&self, expr: &Ast, operand_ast: &Ast, list_ast: &Ast, negated: bool) -> Result<Pred> {
        let operand = self.operand(operand_ast)?;
        let values = self.list_values(list_ast, if negated { "not in" } else { "in" })?;
        in_list(expr, (operand_ast, operand), &values, negated)
    }

    fn like(&self, operand_ast: &Ast, pattern_ast: &Ast) -> Result<Pred> {
        let operand = self.operand(operand_ast)?;
        let pattern = self.operand(pattern_ast)?;
        like((operand_ast, operand), (pattern_ast, pattern))
    }

    fn is_null(&self, operand_ast: &Ast, negated: bool) -> Result<Pred> {
        let operand = self.operand(operand_ast)?;
        is_null(operand_ast, operand, negated)
    }

    fn exists(&self, inner: &Ast) -> Result<Pred> {
        let operand = self.operand(inner)?;
        exists(inner, operand)
    }

    fn call(&self, expr: &Ast, name: &str, args: &[Ast]) -> Result<Pred> {
        if let Some(call) = SpatialCall::new(name, args)? {
            return self.spatial(&call);
        }
        let call = ContainsCall::new(expr, name, args)?;
        let operand = self.operand(call.target)?;
        let element = call.element(&operand)?;
        let values = if call.takes_list {
            self.list_values(call.values, &call.function)?
        } else {
            vec![self.constant(call.values, &call.function)?]
        };
        call.predicate(operand, element, values)
    }
}

impl Planner<'_> {
    fn spatial(&self, call: &SpatialCall<'_>) -> Result<Pred> {
        let target = self.operand(call.target)?;
        let constants = call.constants.iter().map(|c| self.constant(c, "a spatial function")).collect::<Result<_>>()?;
        call.predicate(target, constants)
    }
}

fn truthy(ast: &Ast, operand: Operand) -> Result<Pred> {
    match operand {
        Operand::Literal(Literal::Bool(b)) => Ok(Pred::Const(b)),
        Operand::Json { .. } => Ok(Pred::Truthy(operand)),
        Operand::Column(_) | Operand::Element { .. } if operand.ty() == Ty::Bool => Ok(Pred::Truthy(operand)),
        other => Err(ExprError::NotBoolean { expression: ast.to_string(), found: other.type_name() }),
    }
}

fn compare(expr: &Ast, op: CmpOp, (l, left): (&Ast, Operand), (r, right): (&Ast, Operand)) -> Result<Pred> {
    check_comparable(expr, op, (l, &left), (r, &right))?;
    let (mut left, mut op, mut right) = (left, op, right);
    if let (Operand::Literal(a), Operand::Literal(b)) = (&left, &right) {
        return Ok(Pred::Const(json::compare(Some(&a.to_json()), op, Some(&b.to_json())) == Some(true)));
    }
    if matches!(left, Operand::Literal(_)) {
        std::mem::swap(&mut left, &mut right);
        op = op.flip();
    }
    if left.is_float32() {
        right = round_to_f32(right);
    }
    Ok(Pred::Compare { left, op, right })
}

fn check_comparable(expr: &Ast, op: CmpOp, (l, left): (&Ast, &Operand), (r, right): (&Ast, &Operand)) -> Result<()> {
    let equality_only = |side_ast: &Ast, side: &Operand| {
        if op.is_equality() {
            return Ok(());
        }
        Err(ExprError::InvalidOperand {
            operator: format!("operator {}", op.symbol()),
            operand: format!("`{side_ast}`"),
            expected: "numbers or strings",
            found: side.type_name(),
        })
    };
    let list_fits = |element: DataType, list: &Operand| match list {
        Operand::Literal(Literal::List(items)) => items.iter().all(|item| element_accepts(element, item)),
        _ => false,
    };
    let comparable = match (left.ty(), right.ty()) {
        (Ty::Json, _) | (_, Ty::Json) => true,
        (Ty::Int | Ty::Float, Ty::Int | Ty::Float) | (Ty::Str, Ty::Str) => true,
        (Ty::Bool, Ty::Bool) => {
            equality_only(l, left)?;
            true
        }
        (Ty::Array(element), Ty::List) => {
            equality_only(l, left)?;
            list_fits(element, right)
        }
        (Ty::List, Ty::Array(element)) => {
            equality_only(r, right)?;
            list_fits(element, left)
        }
        (Ty::List, Ty::List) => {
            equality_only(l, left)?;
            true
        }
        _ => false,
    };
    if comparable {
        return Ok(());
    }
    Err(ExprError::TypeMismatch { expression: expr.to_string(), left: describe(l, left), right: describe(r, right) })
}

fn list_values(ast: &Ast, operand: Operand, operator: &str) -> Result<Vec<Literal>> {
    match operand {
        Operand::Literal(Literal::List(items)) => Ok(items),
        other => Err(ExprError::InvalidOperand {
            operator: operator.to_string(),
            operand: format!("`{ast}`"),
            expected: "a list of values",
            found: other.type_name(),
        }),
    }
}

fn in_list(expr: &Ast, (operand_ast, operand): (&Ast, Operand), values: &[Literal], negated: bool) -> Result<Pred> {
    if let Operand::Literal(literal) = &operand {
        let value = literal.to_json();
        let found = values.iter().any(|v| json::json_eq(&value, &v.to_json()));
        return Ok(Pred::Const(found != negated));
    }
    let mismatch = |literal: &Literal| ExprError::TypeMismatch {
        expression: expr.to_string(),
        left: describe(operand_ast, &operand),
        right: quote(literal),
    };
    let list = match operand.ty() {
        Ty::Int => {
            let mut set = FastSet::default();
            for value in values {
                match value {
                    Literal::Int(i) => {
                        set.insert(*i);
                    }
                    // 1.5 can never equal an integer; 2.0 equals 2.
                    Literal::Float(f) => set.extend(exact_i64(*f)),
                    other => return Err(mismatch(other)),
                }
            }
            InList::Int(set)
        }
        Ty::Float => {
            let mut floats = Vec::with_capacity(values.len());
            for value in values {
                let Some(num) = value.as_num() else { return Err(mismatch(value)) };
                let f = if operand.is_float32() { num.as_f64() as f32 as f64 } else { num.as_f64() };
                // `+ 0.0` folds -0.0 into 0.0 so the sorted lookup finds both.
                floats.push(f + 0.0);
            }
            floats.retain(|f| !f.is_nan());
            floats.sort_by(f64::total_cmp);
            floats.dedup();
            InList::Float(floats)
        }
        Ty::Str => InList::Str(
            values
                .iter()
                .map(|v| match v {
                    Literal::Str(s) => Ok(s.clone()),
                    other => Err(mismatch(other)),
                })
                .collect::<Result<_>>()?,
        ),
        Ty::Bool => {
            let (mut has_true, mut has_false) = (false, false);
            for value in values {
                match value {
                    Literal::Bool(true) => has_true = true,
                    Literal::Bool(false) => has_false = true,
                    other => return Err(mismatch(other)),
                }
            }
            InList::Bool { has_true, has_false }
        }
        Ty::Json => InList::Json(values.iter().map(Literal::to_json).collect()),
        Ty::Array(_) | Ty::List | Ty::Geometry => {
            return Err(ExprError::Unsupported { what: format!("`in` on {}", describe(operand_ast, &operand)) });
        }
    };
    Ok(Pred::In { operand, list, negated })
}

fn like((operand_ast, operand): (&Ast, Operand), (pattern_ast, pattern): (&Ast, Operand)) -> Result<Pred> {
    let pattern = match pattern {
        Operand::Literal(Literal::Str(s)) => LikePattern::new(&s),
        other => {
            return Err(ExprError::InvalidOperand {
                operator: "like".into(),
                operand: format!("`{pattern_ast}`"),
                expected: "a string pattern",
                found: other.type_name(),
            });
        }
    };
    match &operand {
        Operand::Literal(Literal::Str(s)) => Ok(Pred::Const(pattern.matches(s))),
        Operand::Literal(_) => Err(like_operand_error(operand_ast, &operand)),
        _ if matches!(operand.ty(), Ty::Str | Ty::Json) => Ok(Pred::Like { operand, pattern }),
        _ => Err(like_operand_error(operand_ast, &operand)),
    }
}

fn like_operand_error(operand_ast: &Ast, operand: &Operand) -> ExprError {
    ExprError::InvalidOperand {
        operator: "like".into(),
        operand: format!("`{operand_ast}`"),
        expected: "a VarChar field or a JSON path",
        found: operand.type_name(),
    }
}

fn is_null(operand_ast: &Ast, operand: Operand, negated: bool) -> Result<Pred> {
    if matches!(operand, Operand::Literal(_)) {
        return Err(ExprError::Unsupported { what: format!("`is null` on the literal `{operand_ast}`") });
    }
    Ok(Pred::IsNull { operand, negated })
}

fn exists(inner: &Ast, operand: Operand) -> Result<Pred> {
    match operand {
        Operand::Json { column, path } if !path.is_empty() => Ok(Pred::Exists { column, path }),
        other => Err(ExprError::InvalidOperand {
            operator: "exists".into(),
            operand: format!("`{inner}`"),
            expected: "a JSON path such as $meta[\"key\"]",
            found: other.type_name(),
        }),
    }
}

/// A call of `array_contains`/`_all`/`_any` (or a `json_` spelling) being planned.
struct ContainsCall<'a> {
    expr: &'a Ast,
    /// The name in lower case.
    function: String,
    all: bool,
    takes_list: bool,
    target: &'a Ast,
    values: &'a Ast,
}

impl<'a> ContainsCall<'a> {
    /// `expr` is `name(args...)`: refuses other functions and argument counts.
    fn new(expr: &'a Ast, name: &str, args: &'a [Ast]) -> Result<ContainsCall<'a>> {
        let function = name.to_ascii_lowercase();
        let (all, takes_list) = match function.as_str() {
            "array_contains" | "json_contains" => (false, false),
            "array_contains_all" | "json_contains_all" => (true, true),
            "array_contains_any" | "json_contains_any" => (false, true),
            "array_length" => return Err(ExprError::NotBoolean { expression: expr.to_string(), found: "Int64".into() }),
            _ => return Err(ExprError::UnknownFunction { name: name.to_string() }),
        };
        let [target, values] = args else {
            return Err(ExprError::ArgumentCount { function, expected: 2, found: args.len() });
        };
        Ok(ContainsCall { expr, function, all, takes_list, target, values })
    }

    /// The element type of the target Array field, or `None` for a JSON path.
    fn element(&self, operand: &Operand) -> Result<Option<DataType>> {
        match (operand, operand.ty()) {
            (Operand::Literal(_), _) => {}
            (_, Ty::Array(element)) => return Ok(Some(element)),
            (_, Ty::Json) => return Ok(None),
            _ => {}
        }
        Err(ExprError::InvalidOperand {
            operator: format!("function {}", self.function),
            operand: format!("`{}`", self.target),
            expected: "an Array field or a JSON path",
            found: operand.type_name(),
        })
    }

    fn predicate(&self, operand: Operand, element: Option<DataType>, values: Vec<Literal>) -> Result<Pred> {
        let all = self.all;
        let Some(element) = element else {
            let needles = Needles::Json(values.iter().map(Literal::to_json).collect());
            return Ok(Pred::Contains { operand, all, needles, unmatchable: false });
        };
        if let Some(bad) = values.iter().find(|v| !element_accepts(element, v)) {
            return Err(ExprError::TypeMismatch {
                expression: self.expr.to_string(),
                left: describe(self.target, &operand),
                right: quote(bad),
            });
        }
        let mut unmatchable = false;
        let needles = match element {
            e if e.is_integer() => Needles::Int(
                values
                    .iter()
                    .filter_map(|v| {
                        let exact = v.as_num().and_then(|n| n.as_exact_i64());
                        unmatchable |= exact.is_none();
                        exact
                    })
                    .collect(),
            ),
            DataType::Float | DataType::Double => Needles::Float(
                values
                    .iter()
                    .filter_map(|v| v.as_num())
                    .map(|n| if element == DataType::Float { n.as_f64() as f32 as f64 } else { n.as_f64() })
                    .collect(),
            ),
            DataType::VarChar => {
                Needles::Str(values.iter().filter_map(|v| if let Literal::Str(s) = v { Some(s.clone()) } else { None }).collect())
            }
            _ => Needles::Bool(values.iter().filter_map(|v| if let Literal::Bool(b) = v { Some(*b) } else { None }).collect()),
        };
        Ok(Pred::Contains { operand, all, needles, unmatchable })
    }
}

/// Milvus casts a literal to a Float field's type before comparing, so `price == 0.1`
/// matches the Float32 nearest 0.1.
fn round_to_f32(operand: Operand) -> Operand {
    match operand {
        Operand::Literal(Literal::Int(i)) => Operand::Literal(Literal::Float(i as f32 as f64)),
        Operand::Literal(Literal::Float(f)) => Operand::Literal(Literal::Float(f as f32 as f64)),
        other => other,
    }
}
