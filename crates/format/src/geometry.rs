//! Geometry values: the WKT text clients send, checked and rewritten in one canonical
//! form, which is what columns store and what queries return.
//!
//! Canonical WKT is Milvus's output form (GEOS's writer): upper-case type names, a space
//! before each parenthesis, `, ` between coordinates, `EMPTY` for empty geometries, each
//! MULTIPOINT member in its own parentheses, and numbers in the shortest form that reads
//! back to the same f64 (`12.3`, not `12.30`). Z and M ordinates are kept (`POINT Z
//! (1 2 3)`).
//!
//! Parsing is `wkt`'s (georust); this module adds the structural checks Milvus makes on
//! insert: a LineString has no single point, a Polygon ring is closed and has at least
//! four points, and every ordinate is finite.

use std::fmt::Write;
use std::str::FromStr;
use wkt::Wkt;
use wkt::types::{Coord, Dimension, LineString, Polygon};

/// Why a text is not a geometry. Displays as Milvus words it (`syntax error`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("syntax error: {detail}")]
pub struct GeometryError {
    pub detail: String,
}

fn error(detail: impl Into<String>) -> GeometryError {
    GeometryError { detail: detail.into() }
}

/// Parses WKT and checks its structure.
pub fn parse(text: &str) -> Result<Wkt<f64>, GeometryError> {
    let wkt = Wkt::<f64>::from_str(text.trim()).map_err(|e| error(format!("`{text}` is not WKT: {e}")))?;
    check(&wkt).map_err(|detail| error(format!("`{text}`: {detail}")))?;
    Ok(wkt)
}

/// The canonical WKT of a geometry given as WKT.
pub fn canonical_wkt(text: &str) -> Result<String, GeometryError> {
    let mut out = String::with_capacity(text.len());
    write_geometry(&mut out, &parse(text)?);
    Ok(out)
}

/// A geometry given as WKT, for computation. An empty POINT (which `geo` cannot hold)
/// becomes an empty collection: both contain no point, so every predicate agrees.
pub fn to_geo(text: &str) -> Result<geo_types::Geometry<f64>, GeometryError> {
    match parse(text)? {
        Wkt::Point(p) if p.coord().is_none() => Ok(geo_types::Geometry::GeometryCollection(Default::default())),
        wkt => geo_types::Geometry::try_from(wkt).map_err(|e| error(format!("`{text}`: {e}"))),
    }
}

fn check(wkt: &Wkt<f64>) -> Result<(), String> {
    match wkt {
        Wkt::Point(p) => p.coord().map_or(Ok(()), check_coord),
        Wkt::LineString(l) => check_line(l),
        Wkt::Polygon(p) => check_polygon(p),
        Wkt::MultiPoint(m) => m.points().iter().filter_map(|p| p.coord()).try_for_each(check_coord),
        Wkt::MultiLineString(m) => m.line_strings().iter().try_for_each(check_line),
        Wkt::MultiPolygon(m) => m.polygons().iter().try_for_each(check_polygon),
        Wkt::GeometryCollection(c) => c.geometries().iter().try_for_each(check),
    }
}

fn check_coord(c: &Coord<f64>) -> Result<(), String> {
    let finite = c.x.is_finite() && c.y.is_finite() && c.z.is_none_or(f64::is_finite) && c.m.is_none_or(f64::is_finite);
    if finite { Ok(()) } else { Err("coordinates must be finite numbers".into()) }
}

fn check_line(line: &LineString<f64>) -> Result<(), String> {
    if line.coords().len() == 1 {
        return Err("a LINESTRING needs at least two points".into());
    }
    line.coords().iter().try_for_each(check_coord)
}

fn check_polygon(polygon: &Polygon<f64>) -> Result<(), String> {
    for ring in polygon.rings() {
        let coords = ring.coords();
        if coords.len() < 4 {
            return Err("a POLYGON ring needs at least four points".into());
        }
        let (first, last) = (&coords[0], &coords[coords.len() - 1]);
        if (first.x, first.y) != (last.x, last.y) {
            return Err("a POLYGON ring must be closed (end where it starts)".into());
        }
        coords.iter().try_for_each(check_coord)?;
    }
    Ok(())
}

fn dimension_tag(dim: Dimension) -> &'static str {
    match dim {
        Dimension::XY => "",
        Dimension::XYZ => " Z",
        Dimension::XYM => " M",
        Dimension::XYZM => " ZM",
    }
}

// `write!` into a String cannot fail, so its results are ignored below.
fn write_geometry(out: &mut String, wkt: &Wkt<f64>) {
    let (name, dim) = match wkt {
        Wkt::Point(g) => ("POINT", g.dimension()),
        Wkt::LineString(g) => ("LINESTRING", g.dimension()),
        Wkt::Polygon(g) => ("POLYGON", g.dimension()),
        Wkt::MultiPoint(g) => ("MULTIPOINT", g.dimension()),
        Wkt::MultiLineString(g) => ("MULTILINESTRING", g.dimension()),
        Wkt::MultiPolygon(g) => ("MULTIPOLYGON", g.dimension()),
        Wkt::GeometryCollection(g) => ("GEOMETRYCOLLECTION", g.dimension()),
    };
    out.push_str(name);
    out.push_str(dimension_tag(dim));
    let empty = match wkt {
        Wkt::Point(g) => g.coord().is_none(),
        Wkt::LineString(g) => g.coords().is_empty(),
        Wkt::Polygon(g) => g.rings().is_empty(),
        Wkt::MultiPoint(g) => g.points().is_empty(),
        Wkt::MultiLineString(g) => g.line_strings().is_empty(),
        Wkt::MultiPolygon(g) => g.polygons().is_empty(),
        Wkt::GeometryCollection(g) => g.geometries().is_empty(),
    };
    if empty {
        out.push_str(" EMPTY");
        return;
    }
    out.push(' ');
    match wkt {
        Wkt::Point(g) => write_coords(out, g.coord().into_iter()),
        Wkt::LineString(g) => write_coords(out, g.coords().iter()),
        Wkt::Polygon(g) => write_rings(out, g.rings()),
        Wkt::MultiPoint(g) => write_list(out, g.points(), |out, p| match p.coord() {
            Some(c) => write_coords(out, std::iter::once(c)),
            None => out.push_str("EMPTY"),
        }),
        Wkt::MultiLineString(g) => write_rings(out, g.line_strings()),
        Wkt::MultiPolygon(g) => write_list(out, g.polygons(), |out, p| write_rings(out, p.rings())),
        Wkt::GeometryCollection(g) => write_list(out, g.geometries(), write_geometry),
    }
}

/// `(a, b, ...)` with each item written by `item`.
fn write_list<T>(out: &mut String, items: &[T], item: impl Fn(&mut String, &T)) {
    out.push('(');
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        item(out, x);
    }
    out.push(')');
}

fn write_rings(out: &mut String, rings: &[LineString<f64>]) {
    write_list(out, rings, |out, ring| write_coords(out, ring.coords().iter()));
}

fn write_coords<'a>(out: &mut String, coords: impl Iterator<Item = &'a Coord<f64>>) {
    out.push('(');
    for (i, c) in coords.enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{} {}", c.x, c.y);
        for v in [c.z, c.m].into_iter().flatten() {
            let _ = write!(out, " {v}");
        }
    }
    out.push(')');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(text: &str) -> String {
        canonical_wkt(text).unwrap()
    }

    #[test]
    fn writes_milvus_form() {
        assert_eq!(canon("POINT(1.50 2)"), "POINT (1.5 2)");
        assert_eq!(canon("point (0 0)"), "POINT (0 0)");
        assert_eq!(canon("LINESTRING(0 0,1 1)"), "LINESTRING (0 0, 1 1)");
        assert_eq!(
            canon("POLYGON((0 0,1 0,1 1,0 0),(0.1 0.1,0.2 0.1,0.2 0.2,0.1 0.1))"),
            "POLYGON ((0 0, 1 0, 1 1, 0 0), (0.1 0.1, 0.2 0.1, 0.2 0.2, 0.1 0.1))"
        );
        assert_eq!(canon("MULTIPOINT (1 1, 2 2)"), "MULTIPOINT ((1 1), (2 2))");
        assert_eq!(canon("MULTIPOINT ((1 1), (2 2))"), "MULTIPOINT ((1 1), (2 2))");
        assert_eq!(canon("MULTILINESTRING ((10 10, 11 11), (12 12, 13 13))"), "MULTILINESTRING ((10 10, 11 11), (12 12, 13 13))");
        assert_eq!(
            canon("MULTIPOLYGON (((0 0, 2 0, 2 2, 0 2, 0 0)), ((3 3, 5 3, 5 5, 3 5, 3 3)))"),
            "MULTIPOLYGON (((0 0, 2 0, 2 2, 0 2, 0 0)), ((3 3, 5 3, 5 5, 3 5, 3 3)))"
        );
        assert_eq!(canon("GEOMETRYCOLLECTION(POINT(1 1),LINESTRING(2 2,3 3))"), "GEOMETRYCOLLECTION (POINT (1 1), LINESTRING (2 2, 3 3))");
        assert_eq!(canon("POINT Z (1 2 3)"), "POINT Z (1 2 3)");
        assert_eq!(canon("POINT (-73.98765432109876 40.123456789012344)"), "POINT (-73.98765432109876 40.123456789012344)");
    }

    #[test]
    fn empty_geometries_round_trip() {
        for text in [
            "POINT EMPTY",
            "LINESTRING EMPTY",
            "POLYGON EMPTY",
            "MULTIPOINT EMPTY",
            "MULTILINESTRING EMPTY",
            "MULTIPOLYGON EMPTY",
            "GEOMETRYCOLLECTION EMPTY",
        ] {
            assert_eq!(canon(text), text);
            assert!(to_geo(text).is_ok(), "{text}");
        }
    }

    #[test]
    fn refuses_what_milvus_refuses() {
        for text in [
            "INVALID WKT STRING",
            "POINT ()",
            "POINT (abc def)",
            "POLYGON ((0 0, 1 1))",
            "LINESTRING (0 0)",
            "POINT (1 2 3 4 5)",
            "POLYGON ((0 0, 1 0, 1 1, 0 1))",
            "",
        ] {
            let err = canonical_wkt(text).expect_err(text);
            assert!(err.to_string().starts_with("syntax error"), "{text}: {err}");
        }
    }
}
