//! Fuzzing without cargo-fuzz: a seeded, deterministic stream of hostile inputs through
//! parse, plan and evaluation, each inside `catch_unwind`. Any panic fails the test with
//! the seed, the iteration and the input; so does a broken invariant (the printed tree
//! parses back to itself; evaluation yields one non-null result per row, and a sliced
//! batch gets the slice of the whole batch's result).
//!
//! Inputs come in three kinds, in turn:
//! - token soup: random sequences from the lexer's vocabulary (keywords, operators,
//!   every field name, numbers at the edges, strings with escapes and unicode, junk);
//! - mutations of valid expressions: every string literal of `tests/expr.rs` that parses,
//!   with characters or tokens deleted, inserted, swapped or duplicated;
//! - grammar-generated expressions, sometimes very deep or very long.
//!
//! The schema has every field type (the fixture's, plus binary and half-precision
//! vectors, arrays of every element type and scalars holding edge values), the batch has
//! nulls, and template values of every kind are supplied. Everything runs on a 512 KiB
//! thread, so a stack overflow fails the test too.
//!
//! `QUIVER_FUZZ_SEED` (default [`DEFAULT_SEED`]) and `QUIVER_FUZZ_ITERATIONS` (default
//! [`DEFAULT_ITERATIONS`], a few seconds in a debug build) control the run. A long run
//! (about 5,000 inputs a second), optimised but keeping the debug build's overflow checks
//! and assertions, in a target directory of its own:
//!
//! ```text
//! CARGO_TARGET_DIR=/tmp/fuzz-target CARGO_PROFILE_RELEASE_OVERFLOW_CHECKS=true \
//!   CARGO_PROFILE_RELEASE_DEBUG_ASSERTIONS=true QUIVER_FUZZ_SEED=2 QUIVER_FUZZ_ITERATIONS=5000000 \
//!   cargo test --release -p quiver-expr --test expr fuzz -- --nocapture
//! ```
//!
//! A failure reports the input and a shrunk input that fails the same way. A stack
//! overflow aborts the process before anything can be reported; rerun with
//! `QUIVER_FUZZ_TRACE=1` to print every input before it runs.

use super::*;
use arrow_array::FixedSizeBinaryArray;
use arrow_array::builder::{BooleanBuilder, Float32Builder, Float64Builder, Int8Builder, Int16Builder, Int32Builder};
use std::panic::{AssertUnwindSafe, catch_unwind};

const DEFAULT_SEED: u64 = 0x0f22_2024_5eed;
const DEFAULT_ITERATIONS: u64 = 5_000;
const STACK: usize = 512 * 1024;

impl Lcg {
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// True with probability `1 / n`.
    fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }
}

// ---------------------------------------------------------------------------------------
// The target: every field type, nulls, edge values, templates

/// Fields beyond the fixture's, each holding awkward values.
fn extra_fields() -> Vec<FieldSchema> {
    vec![
        field("big", DataType::Int64, true),
        field("real", DataType::Double, true),
        field("tiny", DataType::Float, true),
        array_field("flags", DataType::Bool, true),
        array_field("bytes", DataType::Int8, true),
        array_field("shorts", DataType::Int16, false),
        array_field("ints", DataType::Int32, true),
        array_field("floats", DataType::Float, true),
        array_field("ratios", DataType::Double, false),
        field("bits", DataType::BinaryVector, false).with_param("dim", 16),
        field("half", DataType::Float16Vector, false).with_param("dim", 2),
        field("brain", DataType::BFloat16Vector, false).with_param("dim", 2),
    ]
}

fn fuzz_schema() -> CollectionSchema {
    let mut schema = schema(true);
    schema.fields.extend(extra_fields());
    schema.validated().unwrap()
}

fn list<B: arrow_array::builder::ArrayBuilder>(
    values: B,
    rows: &[Option<Vec<Option<f64>>>],
    push: impl Fn(&mut B, Option<f64>),
) -> ArrayRef {
    let mut builder = ListBuilder::new(values);
    for row in rows {
        match row {
            Some(items) => {
                items.iter().for_each(|v| push(builder.values(), *v));
                builder.append(true);
            }
            None => builder.append(false),
        }
    }
    Arc::new(builder.finish())
}

/// The fixture's six rows with the extra columns, placed before `$meta` and `$ts`.
fn fuzz_batch(schema: &CollectionSchema) -> RecordBatch {
    let mut columns = batch().columns().to_vec();
    let system = columns.split_off(columns.len() - 2);
    let lists: Vec<Option<Vec<Option<f64>>>> = vec![
        Some(vec![Some(1.0), None, Some(-1.0)]),
        None,
        Some(vec![]),
        Some(vec![Some(0.0)]),
        Some(vec![Some(127.0), Some(-128.0), Some(1.0)]),
        Some(vec![None]),
    ];
    let unit = |v: Option<f64>| v.map(|v| v.clamp(-1.0, 1.0));
    columns.extend::<[ArrayRef; 12]>([
        Arc::new(Int64Array::from(vec![Some(i64::MIN), Some(i64::MAX), None, Some(0), Some(-1), Some(1)])),
        Arc::new(Float64Array::from(vec![Some(f64::NAN), Some(f64::INFINITY), Some(-0.0), None, Some(f64::MAX), Some(f64::MIN_POSITIVE)])),
        Arc::new(Float32Array::from(vec![Some(f32::NAN), Some(f32::NEG_INFINITY), Some(0.1), Some(f32::MAX), None, Some(-0.0)])),
        list(BooleanBuilder::new(), &lists, |b, v| b.append_option(v.map(|v| v > 0.0))),
        list(Int8Builder::new(), &lists, |b, v| b.append_option(v.map(|v| v as i8))),
        list(Int16Builder::new(), &lists.iter().map(|r| Some(r.clone().unwrap_or_default())).collect::<Vec<_>>(), |b, v| {
            b.append_option(v.map(|v| v as i16))
        }),
        list(Int32Builder::new(), &lists, |b, v| b.append_option(v.map(|v| v as i32))),
        list(Float32Builder::new(), &lists, |b, v| b.append_option(unit(v).map(|v| v as f32))),
        list(Float64Builder::new(), &lists.iter().map(|r| Some(r.clone().unwrap_or_default())).collect::<Vec<_>>(), |b, v| {
            b.append_option(unit(v))
        }),
        Arc::new(FixedSizeBinaryArray::try_from_iter((0..6u8).map(|i| [i, 255 - i])).unwrap()),
        Arc::new(FixedSizeBinaryArray::try_from_iter((0..6u8).map(|i| [i, 0x3c, 0, 0xc0])).unwrap()),
        Arc::new(FixedSizeBinaryArray::try_from_iter((0..6u8).map(|i| [0x80, 0x3f, i, 0x7f])).unwrap()),
    ]);
    columns.extend(system);
    RecordBatch::try_new(arrow_schema(schema), columns).unwrap()
}

fn templates() -> HashMap<String, TemplateValue> {
    use TemplateValue as T;
    let json = serde_json::json!({"a": [1, {"b": null}], "n": 18446744073709551615u64, "f": 1e308});
    HashMap::from([
        ("i".into(), T::Int(i64::MIN)),
        ("m".into(), T::Int(i64::MAX)),
        ("f".into(), T::Float(f64::NAN)),
        ("inf".into(), T::Float(f64::INFINITY)),
        ("s".into(), T::String("a%_\\é日本".into())),
        ("b".into(), T::Bool(true)),
        ("arr".into(), T::Array(vec![T::Int(1), T::Float(-0.0), T::String("x".into()), T::Bool(false)])),
        ("ints".into(), T::Array(vec![T::Int(0), T::Int(i64::MAX), T::Int(-1)])),
        ("empty".into(), T::Array(vec![])),
        ("nested".into(), T::Array(vec![T::Array(vec![T::Int(1)]), T::Array(vec![])])),
        ("j".into(), T::Json(json.clone())),
        ("jarr".into(), T::Json(serde_json::json!([1, "two", [3], null]))),
        ("jnull".into(), T::Json(serde_json::Value::Null)),
        ("jlist".into(), T::Array(vec![T::Json(json), T::Json(serde_json::json!(2.5))])),
    ])
}

// ---------------------------------------------------------------------------------------
// Inputs

const KEYWORDS: &[&str] = &[
    "and", "or", "not", "in", "like", "exists", "true", "false", "is", "null", "AND", "Or", "NOT", "IN", "LIKE", "Exists", "TRUE", "Null",
    "IS",
];
const OPERATORS: &[&str] = &[
    "+", "-", "*", "/", "%", "**", "==", "!=", "<", "<=", ">", ">=", "&&", "||", "!", "&", "|", "^", "~", "<<", ">>", "=", "(", ")", "[",
    "]", ",", "(", ")", "[", "]", "{", "}",
];
const NAMES: &[&str] = &[
    "id",
    "age",
    "small",
    "mid",
    "score",
    "ratio",
    "flag",
    "name",
    "info",
    "tags",
    "nums",
    "vec",
    "big",
    "real",
    "tiny",
    "flags",
    "bytes",
    "shorts",
    "ints",
    "floats",
    "ratios",
    "bits",
    "half",
    "brain",
    "$meta",
    "$ts",
    "$x",
    "color",
    "size",
    "nested",
    "extra",
    "missing",
    "null",
    "NaN",
    "nan",
    "inf",
    "Infinity",
    "_",
    "array_contains",
    "ARRAY_CONTAINS_ALL",
    "array_contains_any",
    "array_length",
    "json_contains",
    "json_contains_all",
    "json_contains_any",
    "unknown_fn",
];
const NUMBERS: &[&str] = &[
    "0",
    "1",
    "2",
    "-1",
    "127",
    "128",
    "-129",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "0x7fffffffffffffff",
    "0xffffffffffffffff",
    "0X1f",
    "1e308",
    "1.7976931348623157e308",
    "-1e308",
    "5e-324",
    "1e-400",
    "2.5",
    ".5",
    "5.",
    "1.e5",
    "00012",
    "0.1",
    "-0.0",
];
/// Numbers the lexer refuses.
const BAD_NUMBERS: &[&str] = &[
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999",
    "0x10000000000000000",
    "0x",
    "1e309",
    "1e",
    "1e+",
    "3.14.15",
    "12abc",
];
const STRINGS: &[&str] = &[
    "''",
    "\"\"",
    "'a'",
    "\"x\"",
    "'red'",
    "'apple'",
    "'ap%'",
    "'%an%'",
    "'a_b'",
    "'\\%'",
    "'\\_'",
    "'a\\\\b'",
    "'\\x41'",
    "'\\u00e9'",
    "'\\U0001F600'",
    "'é日本🙂'",
    "\"\\\"quoted\\\"\"",
    "'tab\\tnew\\nline'",
    "'\\0'",
    "\"%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%_\"",
    "'NaN'",
    "'inf'",
];
/// Strings the lexer refuses.
const BAD_STRINGS: &[&str] = &["'\\xZZ'", "'\\uD800'", "'\\U00110000'", "'\\u12'", "'\\'", "'unterminated"];
const TEMPLATES: &[&str] = &[
    "{i}",
    "{m}",
    "{f}",
    "{inf}",
    "{s}",
    "{b}",
    "{arr}",
    "{ints}",
    "{empty}",
    "{nested}",
    "{j}",
    "{jarr}",
    "{jnull}",
    "{jlist}",
    "{missing}",
    "{ i }",
];
/// Templates the lexer refuses.
const BAD_TEMPLATES: &[&str] = &["{}", "{1}", "{", "{a b}"];
/// Fields of the fuzz schema, `$meta`, dynamic keys and names that resolve to nothing.
const FIELDS: &[&str] = &[
    "id", "age", "small", "mid", "score", "ratio", "flag", "name", "info", "tags", "nums", "big", "real", "tiny", "flags", "bytes",
    "shorts", "ints", "floats", "ratios", "$meta", "color", "size", "nested", "extra", "missing",
];
const JUNK: &[&str] = &["@", "#", ";", ".", "`", "\\", "é", "🙂", "\u{0}", "\u{feff}", "$", "'", "\"", "0x", "..", "'\\"];
const SEPARATORS: &[&str] = &[" ", " ", " ", "", "\t", "\n", "  ", "\u{a0}"];

fn token(rng: &mut Lcg) -> &'static str {
    let valid = !rng.one_in(4);
    match rng.below(10) {
        0 | 1 => rng.pick(KEYWORDS),
        2 | 3 => rng.pick(OPERATORS),
        4 | 5 => rng.pick(NAMES),
        6 => rng.pick(if valid { NUMBERS } else { BAD_NUMBERS }),
        7 => rng.pick(if valid { STRINGS } else { BAD_STRINGS }),
        8 => rng.pick(if valid { TEMPLATES } else { BAD_TEMPLATES }),
        _ => rng.pick(JUNK),
    }
}

fn token_soup(rng: &mut Lcg) -> String {
    let most = if rng.one_in(20) { 400 } else { 30 };
    let n = 1 + rng.below(most);
    let mut text = String::new();
    for _ in 0..n {
        text.push_str(token(rng));
        text.push_str(rng.pick(SEPARATORS));
    }
    text
}

/// Every string literal in `tests/expr.rs` that parses: the valid expressions the
/// other tests use.
fn corpus() -> Vec<String> {
    let source = include_str!("../expr.rs");
    let mut out = Vec::new();
    let mut chars = source.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            continue;
        }
        let mut literal = String::new();
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => match chars.next() {
                    Some('n') => literal.push('\n'),
                    Some('t') => literal.push('\t'),
                    Some(other) => literal.push(other),
                    None => break,
                },
                c => literal.push(c),
            }
        }
        if !literal.trim().is_empty() && parse(&literal).is_ok() {
            out.push(literal);
        }
    }
    out.sort();
    out.dedup();
    out
}

fn mutate(rng: &mut Lcg, corpus: &[String]) -> String {
    let mut chars: Vec<char> = corpus[rng.below(corpus.len() as u64) as usize].chars().collect();
    for _ in 0..1 + rng.below(2) {
        let len = chars.len() as u64;
        let at = rng.below(len + 1) as usize;
        match rng.below(7) {
            0 if len > 0 => {
                let end = (at + 1 + rng.below(4) as usize).min(chars.len());
                chars.drain(at.min(chars.len())..end);
            }
            1 => chars.splice(at..at, format!(" {} ", token(rng)).chars()).for_each(drop),
            2 => chars.insert(
                at,
                rng.pick(&["(", ")", "[", "]", "'", "\"", "-", "!", "\\", "{", "}", ",", "é", "\u{0}"]).chars().next().unwrap(),
            ),
            3 if len > 1 => {
                let other = rng.below(len) as usize;
                let at = at.min(chars.len() - 1);
                chars.swap(at, other);
            }
            4 => {
                let end = (at + rng.below(12) as usize).min(chars.len());
                let slice: Vec<char> = chars[at..end].to_vec();
                chars.splice(at..at, slice).for_each(drop);
            }
            5 => {
                let other: Vec<char> = corpus[rng.below(corpus.len() as u64) as usize].chars().collect();
                let joint = rng.pick(&[" and ", " or ", " ", " == ", " + ", ""]);
                chars.splice(at..at, joint.chars().chain(other)).for_each(drop);
            }
            _ => {
                // Replace one word (maximal run of identifier characters) by a vocabulary token.
                let start =
                    (0..at.min(chars.len())).rev().take_while(|&i| chars[i].is_alphanumeric() || chars[i] == '_').last().unwrap_or(at);
                let end = (at..chars.len()).take_while(|&i| chars[i].is_alphanumeric() || chars[i] == '_').last().map_or(at, |i| i + 1);
                chars.splice(start.min(end)..end, token(rng).chars()).for_each(drop);
            }
        }
    }
    chars.into_iter().collect()
}

/// Where the grammar stops lengthening chains, lists and paths: long enough for every
/// shape, short enough that chains within chains stay quick.
const MAX_INPUT: usize = 200_000;

/// Generates random expressions from the grammar; `budget` bounds the nesting, which
/// sometimes goes past [`quiver_expr::MAX_DEPTH`] on purpose.
struct Grammar<'r> {
    rng: &'r mut Lcg,
}

impl Grammar<'_> {
    fn predicate(&mut self, budget: u32, out: &mut String) {
        if budget == 0 {
            return self.comparison(0, out);
        }
        match self.rng.below(14) {
            0..=2 => self.comparison(budget - 1, out),
            3 => {
                let n = self.chain_length();
                let word = self.rng.pick(&[" and ", " or ", " && ", " || ", " AND ", " Or "]);
                for i in 0..n {
                    if out.len() > MAX_INPUT {
                        break;
                    }
                    if i > 0 {
                        let mixed = self.rng.one_in(4);
                        out.push_str(if mixed { self.rng.pick(&[" and ", " or "]) } else { word });
                    }
                    let budget = if self.rng.one_in(8) { budget - 1 } else { 0 };
                    self.predicate(budget, out);
                }
            }
            4 => {
                out.push_str(self.rng.pick(&["not ", "!", "NOT ", "not not "]));
                self.predicate(budget - 1, out);
            }
            5 => {
                out.push('(');
                self.predicate(budget - 1, out);
                out.push(')');
            }
            6 => {
                self.value(budget - 1, out);
                out.push_str(self.rng.pick(&[" in ", " not in ", " IN "]));
                self.list(budget - 1, out);
            }
            7 => {
                self.value(budget - 1, out);
                out.push_str(self.rng.pick(&[" like ", " not like "]));
                out.push_str(self.rng.pick(&[STRINGS, TEMPLATES].concat()));
            }
            8 => {
                self.value(budget - 1, out);
                out.push_str(self.rng.pick(&[" is null", " is not null", " IS NULL"]));
            }
            9 => {
                out.push_str(self.rng.pick(&[
                    "array_contains(",
                    "array_contains_all(",
                    "array_contains_any(",
                    "json_contains_any(",
                    "json_contains(",
                ]));
                self.value(budget - 1, out);
                out.push_str(", ");
                if self.rng.one_in(2) {
                    self.list(budget - 1, out)
                } else {
                    self.value(budget - 1, out)
                }
                out.push(')');
            }
            10 => {
                out.push_str("exists ");
                self.path(out);
            }
            11 => {
                self.value(budget - 1, out);
                out.push_str(self.rng.pick(&[" < ", " <= "]));
                self.value(budget - 1, out);
                out.push_str(self.rng.pick(&[" < ", " <= ", " > "]));
                self.value(budget - 1, out);
            }
            12 => out.push_str(self.rng.pick(&["flag", "extra", "info['a']", "true", "false", "$meta['extra']", "age"])),
            _ => {
                // Deep on purpose: one shape repeated past the limit, or just under it.
                let most = if self.rng.one_in(2) { 140 } else { 400 };
                let depth = self.rng.below(most) as usize;
                let (open, close) = self.rng.pick(&[("(", ")"), ("not ", ""), ("!", ""), ("- ", ""), ("+", ""), ("-(", ")"), ("[", "]")]);
                out.push_str(&open.repeat(depth));
                self.comparison(0, out);
                out.push_str(&close.repeat(depth));
            }
        }
    }

    fn comparison(&mut self, budget: u32, out: &mut String) {
        self.value(budget, out);
        out.push_str(self.rng.pick(&[" == ", " != ", " < ", " <= ", " > ", " >= "]));
        self.value(budget, out);
    }

    fn chain_length(&mut self) -> u64 {
        match self.rng.below(20) {
            0 => 100 + self.rng.below(3_000),
            1..=4 => 2 + self.rng.below(40),
            _ => 2 + self.rng.below(4),
        }
    }

    fn value(&mut self, budget: u32, out: &mut String) {
        let choice = if budget == 0 { self.rng.below(4) } else { self.rng.below(10) };
        match choice {
            0 => out.push_str(self.rng.pick(FIELDS)),
            1 => out.push_str(self.rng.pick(NUMBERS)),
            2 => out.push_str(self.rng.pick(&[STRINGS, TEMPLATES].concat())),
            3 => self.path(out),
            4 | 5 => {
                let n = self.chain_length();
                for i in 0..n {
                    if out.len() > MAX_INPUT {
                        break;
                    }
                    if i > 0 {
                        out.push_str(self.rng.pick(&[" + ", " - ", " * ", " / ", " % ", " ** "]));
                    }
                    let budget = if self.rng.one_in(6) { budget - 1 } else { 0 };
                    self.value(budget, out);
                }
            }
            6 => {
                out.push_str(self.rng.pick(&["-", "- ", "+", "-("]));
                self.value(budget - 1, out);
                if out.ends_with("-(") {
                    out.push(')');
                }
            }
            7 => {
                out.push('(');
                self.value(budget - 1, out);
                out.push(')');
            }
            8 => self.list(budget - 1, out),
            _ => {
                out.push_str("array_length(");
                self.value(budget - 1, out);
                out.push(')');
            }
        }
    }

    fn list(&mut self, budget: u32, out: &mut String) {
        if self.rng.one_in(4) {
            return out.push_str(self.rng.pick(TEMPLATES));
        }
        let n = match self.rng.below(10) {
            0 => self.rng.below(5_000),
            _ => self.rng.below(6),
        };
        out.push('[');
        for i in 0..n {
            if out.len() > MAX_INPUT {
                break;
            }
            if i > 0 {
                out.push_str(", ");
            }
            if budget > 0 && self.rng.one_in(10) {
                self.value(budget - 1, out)
            } else {
                out.push_str(self.rng.pick(&[NUMBERS, STRINGS].concat()))
            }
        }
        out.push(']');
    }

    fn path(&mut self, out: &mut String) {
        out.push_str(self.rng.pick(&["info", "$meta", "color", "nested", "tags", "nums", "age", "flags", "missing"]));
        let most = if self.rng.one_in(20) { 3_000 } else { 4 };
        let steps = self.rng.below(most);
        for _ in 0..steps {
            if out.len() > MAX_INPUT {
                break;
            }
            out.push_str(self.rng.pick(&["['a']", "['b']", "[0]", "[1]", "['k']", "[18446744073709551615]", "['']", "['é']", "[\"0\"]"]));
        }
    }
}

// ---------------------------------------------------------------------------------------
// The run

struct Target {
    schema: CollectionSchema,
    batch: RecordBatch,
    templates: HashMap<String, TemplateValue>,
}

/// One input through the whole pipeline, checking the invariants named in the module doc.
fn exercise(target: &Target, text: &str) {
    let Ok(ast) = parse(text) else { return };
    let printed = ast.to_string();
    assert!(parse(&printed).as_ref() == Ok(&ast), "printed as {printed:?}, which parses differently");
    let plan = match Plan::new(&ast, &target.schema, &target.templates) {
        Ok(plan) => plan,
        Err(e) => return drop(e.to_string()),
    };
    let _ = (plan.columns(), plan.primary_keys(), plan.index_term(), plan.matches_all());
    let whole = match plan.evaluate(&target.batch) {
        Ok(whole) => whole,
        Err(e) => return drop(e.to_string()),
    };
    assert_eq!((whole.len(), whole.null_count()), (target.batch.num_rows(), 0));
    let part = plan.evaluate(&target.batch.slice(1, 4)).expect("the whole batch evaluated");
    let expected: Vec<bool> = (1..5).map(|i| whole.value(i)).collect();
    assert_eq!((0..4).map(|i| part.value(i)).collect::<Vec<_>>(), expected, "rows 1..5 alone");
}

/// A smaller input that still fails, for the report: deletes ever smaller chunks of
/// characters while the failure remains.
fn shrink(target: &Target, text: &str) -> String {
    let fails = |text: &str| catch_unwind(AssertUnwindSafe(|| exercise(target, text))).is_err();
    let mut chars: Vec<char> = text.chars().collect();
    let mut chunk = chars.len().div_ceil(2);
    while chunk > 0 {
        let mut at = 0;
        while at < chars.len() {
            let end = (at + chunk).min(chars.len());
            let candidate: String = chars[..at].iter().chain(&chars[end..]).collect();
            if fails(&candidate) {
                chars.drain(at..end);
            } else {
                at += chunk;
            }
        }
        chunk /= 2;
    }
    chars.into_iter().collect()
}

/// The first 2,000 characters of `text`, for reports.
fn clip(text: &str) -> String {
    let mut clipped: String = text.chars().take(2_000).collect();
    if clipped.len() < text.len() {
        clipped.push_str("...");
    }
    clipped
}

/// Leaves the report to say what failed: the inputs' panics (many, while shrinking) print
/// nothing, other threads' still go to the default hook.
fn quiet_panics_on_this_thread() {
    let default = std::panic::take_hook();
    let fuzz_thread = std::thread::current().id();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().id() != fuzz_thread {
            default(info);
        }
    }));
}

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => {
            let v = v.trim();
            let parsed = match v.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => v.parse(),
            };
            parsed.unwrap_or_else(|_| panic!("{name}={v} is not a number"))
        }
        Err(_) => default,
    }
}

#[test]
fn fuzz() {
    let seed = env_u64("QUIVER_FUZZ_SEED", DEFAULT_SEED);
    let iterations = env_u64("QUIVER_FUZZ_ITERATIONS", DEFAULT_ITERATIONS);
    let trace = std::env::var("QUIVER_FUZZ_TRACE").is_ok_and(|v| v == "1");
    eprintln!("fuzz: QUIVER_FUZZ_SEED={seed:#x} QUIVER_FUZZ_ITERATIONS={iterations}");
    let run = move || {
        quiet_panics_on_this_thread();
        let schema = fuzz_schema();
        let target = Target { batch: fuzz_batch(&schema), schema, templates: templates() };
        let corpus = corpus();
        assert!(corpus.len() > 100, "only {} expressions found in tests/expr.rs", corpus.len());
        let mut rng = Lcg(seed);
        let started = std::time::Instant::now();
        for iteration in 0..iterations {
            let (kind, text) = match iteration % 3 {
                0 => ("token soup", token_soup(&mut rng)),
                1 => ("mutation", mutate(&mut rng, &corpus)),
                _ => {
                    let mut text = String::new();
                    let budget = 1 + rng.below(6) as u32;
                    Grammar { rng: &mut rng }.predicate(budget, &mut text);
                    ("grammar", text)
                }
            };
            if iteration > 0 && iteration % 100_000 == 0 {
                eprintln!("fuzz: {iteration} inputs in {:.0?}", started.elapsed());
            }
            if trace {
                eprintln!("fuzz: iteration {iteration} ({kind}): {text:?}");
            }
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| exercise(&target, &text))) {
                let message = panic.downcast_ref::<String>().cloned().or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()));
                let shrunk = shrink(&target, &text);
                // Back to the default hook, which prints this report.
                drop(std::panic::take_hook());
                panic!(
                    "fuzz: QUIVER_FUZZ_SEED={seed:#x}, iteration {iteration} ({kind}) failed: {}\nshrunk to: {shrunk:?}\ninput ({} characters): {:?}",
                    clip(&message.unwrap_or_default()),
                    text.chars().count(),
                    clip(&text),
                );
            }
        }
        eprintln!("fuzz: {iterations} inputs in {:.1?}", started.elapsed());
    };
    let outcome = std::thread::Builder::new().stack_size(STACK).spawn(run).unwrap().join();
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}
