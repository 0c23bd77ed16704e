//! Planning Milvus's spatial functions over Geometry fields:
//! `ST_EQUALS`, `ST_TOUCHES`, `ST_OVERLAPS`, `ST_CROSSES`, `ST_CONTAINS`, `ST_INTERSECTS`,
//! `ST_WITHIN` (`ST_X(field, 'wkt')`: the OGC relation of the field's value to the
//! literal, in that order), `ST_DWITHIN(field, 'POINT (lon lat)', meters)` (within a
//! great-circle distance of a longitude/latitude point) and `ST_ISVALID(field)` (OGC
//! validity). Names are case-insensitive, as in Milvus.
//!
//! The literal geometry is parsed and checked once here, so evaluation only reads rows.

use super::node::{Operand, Pred};
use crate::ast::Ast;
use crate::error::{ExprError, Result};
use crate::value::Literal;
use quiver_format::geometry;
use quiver_format::schema::DataType;

/// An OGC relation between a row's geometry and the literal one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Relation {
    Equals,
    Touches,
    Overlaps,
    Crosses,
    Contains,
    Intersects,
    Within,
}

/// What a spatial predicate tests of each row's geometry.
#[derive(Clone, Debug)]
pub(crate) enum SpatialTest {
    Relate {
        relation: Relation,
        query: geo::Geometry<f64>,
    },
    /// Great-circle distance to `point` (x longitude, y latitude, degrees) at most `meters`.
    WithinMeters {
        point: geo::Point<f64>,
        meters: f64,
    },
    Valid,
}

/// The spatial function `name` names (lower case), with how many arguments it takes.
enum Function {
    Relate(Relation),
    DWithin,
    IsValid,
}

impl Function {
    fn of(lower: &str) -> Option<Function> {
        Some(match lower {
            "st_equals" => Function::Relate(Relation::Equals),
            "st_touches" => Function::Relate(Relation::Touches),
            "st_overlaps" => Function::Relate(Relation::Overlaps),
            "st_crosses" => Function::Relate(Relation::Crosses),
            "st_contains" => Function::Relate(Relation::Contains),
            "st_intersects" => Function::Relate(Relation::Intersects),
            "st_within" => Function::Relate(Relation::Within),
            "st_dwithin" => Function::DWithin,
            "st_isvalid" => Function::IsValid,
            _ => return None,
        })
    }

    fn arity(&self) -> usize {
        match self {
            Function::Relate(_) => 2,
            Function::DWithin => 3,
            Function::IsValid => 1,
        }
    }
}

/// A call of a spatial function being planned: its target (the Geometry field) is the
/// first argument, its constants the rest.
pub(crate) struct SpatialCall<'a> {
    /// The name as written, for messages.
    name: &'a str,
    function: Function,
    pub target: &'a Ast,
    pub constants: &'a [Ast],
}

impl<'a> SpatialCall<'a> {
    /// `None` when `name` is no spatial function; an error when its argument count is wrong.
    pub fn new(name: &'a str, args: &'a [Ast]) -> Result<Option<SpatialCall<'a>>> {
        let Some(function) = Function::of(&name.to_ascii_lowercase()) else { return Ok(None) };
        if args.len() != function.arity() {
            return Err(ExprError::ArgumentCount { function: name.to_string(), expected: function.arity(), found: args.len() });
        }
        Ok(Some(SpatialCall { name, function, target: &args[0], constants: &args[1..] }))
    }

    /// The predicate, given the planned target and the constants' values.
    pub fn predicate(&self, target: Operand, constants: Vec<Literal>) -> Result<Pred> {
        let column = match target {
            Operand::Column(column) if column.data_type == DataType::Geometry => column.name,
            other => {
                return Err(ExprError::InvalidOperand {
                    operator: format!("function {}", self.name),
                    operand: format!("`{}`", self.target),
                    expected: "a Geometry field",
                    found: other.type_name(),
                });
            }
        };
        let test = match self.function {
            Function::IsValid => SpatialTest::Valid,
            Function::Relate(relation) => SpatialTest::Relate { relation, query: self.geometry(&constants[0])? },
            Function::DWithin => {
                let point = match self.geometry(&constants[0])? {
                    geo::Geometry::Point(point) => point,
                    _ => return Err(self.invalid("the reference geometry must be a POINT (longitude latitude)")),
                };
                if !(-180.0..=180.0).contains(&point.x()) || !(-90.0..=90.0).contains(&point.y()) {
                    return Err(self.invalid(format!(
                        "invalid coordinate: longitude {} must be in [-180, 180] and latitude {} in [-90, 90]",
                        point.x(),
                        point.y()
                    )));
                }
                let meters = match constants[1].as_num() {
                    Some(num) if num.as_f64() >= 0.0 => num.as_f64(),
                    _ => {
                        return Err(
                            self.invalid(format!("the distance must be a non-negative number of meters, got {}", constants[1].to_json()))
                        );
                    }
                };
                SpatialTest::WithinMeters { point, meters }
            }
        };
        Ok(Pred::Spatial { column, test })
    }

    fn geometry(&self, literal: &Literal) -> Result<geo::Geometry<f64>> {
        let Literal::Str(text) = literal else {
            return Err(self.invalid(format!("the geometry must be a WKT string, got {}", literal.to_json())));
        };
        geometry::to_geo(text).map_err(|e| self.invalid(e.to_string()))
    }

    fn invalid(&self, message: impl Into<String>) -> ExprError {
        ExprError::InvalidArgument { function: self.name.to_string(), message: message.into() }
    }
}
