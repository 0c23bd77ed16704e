//! Worst-case shapes through parse, plan and evaluation on a 512 KiB thread (a quarter
//! of a tokio worker's 2 MiB stack): chains of any length give the right rows, nesting
//! past [`MAX_DEPTH`] gives [`ExprError::TooDeep`], and the deepest nesting accepted
//! still fits the stack, error messages (which print the tree) included.

use super::*;
use quiver_expr::MAX_DEPTH;

const SMALL_STACK: usize = 512 * 1024;

/// Runs `f` on a thread with a [`SMALL_STACK`] stack.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new().stack_size(SMALL_STACK).spawn(f).unwrap().join().unwrap()
}

/// Parses `text`, prints it back, plans it against the test schema and evaluates it on
/// the six-row batch, all on the small stack: the matching ids, or the first error.
fn outcome_with(text: String, templates: HashMap<String, TemplateValue>) -> Result<Vec<i64>, ExprError> {
    on_small_stack(move || {
        let ast = parse(&text)?;
        assert_eq!(parse(&ast.to_string()).as_ref(), Ok(&ast), "printing round-trips");
        let plan = Plan::new(&ast, &schema(true), &templates)?;
        let batch = batch();
        Ok(ids_of(&batch, &plan.evaluate(&batch)?))
    })
}

fn outcome(text: String) -> Result<Vec<i64>, ExprError> {
    outcome_with(text, HashMap::new())
}

fn too_deep() -> ExprError {
    ExprError::TooDeep { what: "expression".into(), limit: MAX_DEPTH }
}

/// `open` `k` times, `inner`, `close` `k` times.
fn nest(open: &str, inner: &str, close: &str, k: usize) -> String {
    format!("{}{inner}{}", open.repeat(k), close.repeat(k))
}

/// The largest `k` for which `shape(k)` parses, checking that `k + 1` is refused.
fn deepest(shape: &impl Fn(usize) -> String) -> usize {
    let parses = |k: usize| {
        let text = shape(k);
        on_small_stack(move || !matches!(parse(&text), Err(ExprError::TooDeep { .. })))
    };
    let k = (0..=MAX_DEPTH).rev().find(|&k| parses(k)).expect("some depth parses");
    assert!(!parses(k + 1));
    k
}

#[test]
fn long_and_or_chains_are_flat_and_keep_three_valued_logic() {
    let n = 20_000;
    // age: 10, null, 30, 40, null, 60.
    let all: Vec<String> = (0..n).map(|i| format!("age > {}", i % 50)).collect();
    assert_eq!(outcome(all.join(" and ")), Ok(vec![6]));
    assert_eq!(outcome(all.join(" && ")), Ok(vec![6]));
    // Unknown (null age) and false is false; not unknown stays unknown.
    assert_eq!(outcome(format!("not ({})", all.join(" AND "))), Ok(vec![1, 3, 4]));
    let any: Vec<String> = (0..n).map(|i| format!("age == {}", 1000 + i)).chain(["age == 30".into(), "id == 5".into()]).collect();
    // Unknown or true is true (row 5).
    assert_eq!(outcome(any.join(" or ")), Ok(vec![3, 5]));
    assert_eq!(outcome(any.join(" || ")), Ok(vec![3, 5]));
    assert_eq!(outcome(format!("not ({})", any.join(" or "))), Ok(vec![1, 4, 6]));
    // `and` binds tighter than `or`, with parentheses mixed in.
    let mixed: Vec<String> = (0..n).map(|i| format!("id == {} and (age > 0 or id == 2)", i % 7)).collect();
    assert_eq!(outcome(mixed.join(" or ")), Ok(vec![1, 2, 3, 4, 6]));
}

#[test]
fn long_arithmetic_chains_and_lists_are_flat() {
    let n = 20_000;
    assert_eq!(outcome(format!("age{} == {}", " + 1".repeat(n), 30 + n)), Ok(vec![3]));
    assert_eq!(outcome(format!("age{} == 30", " + 2 - 1 * 2".repeat(n))), Ok(vec![3]));
    assert_eq!(outcome(format!("age{} == 30", " * 1".repeat(n))), Ok(vec![3]));
    assert_eq!(outcome(format!("1{} + age == 31", " * 1".repeat(n))), Ok(vec![3]));
    // Constants fold however long the chain; overflow is found at its step.
    assert_eq!(outcome(format!("id == 0{}", " + 1".repeat(n))), Ok(vec![]));
    assert_eq!(
        outcome(format!("id == 9223372036854775800{}", " + 1".repeat(n))),
        Err(ExprError::Overflow { expression: format!("9223372036854775800{}", " + 1".repeat(8)) })
    );
    // Overflow during evaluation makes the row unknown.
    assert_eq!(outcome(format!("age{} > 0", " * 1000".repeat(10))), Ok(vec![]));

    let ints: Vec<String> = (0..100_000).map(|i| i.to_string()).collect();
    assert_eq!(outcome(format!("age in [{}]", ints.join(", "))), Ok(vec![1, 3, 4, 6]));
    assert_eq!(outcome(format!("age not in [{}]", ints.join(", "))), Ok(vec![]));
    assert_eq!(outcome(format!("size in [{}]", ints.join(", "))), Ok(vec![1, 2]));
    let words: Vec<String> = (0..20_000).map(|i| format!("'w{i}'")).chain(["'apple'".into()]).collect();
    assert_eq!(outcome(format!("name in [{}]", words.join(", "))), Ok(vec![1]));
    assert_eq!(outcome(format!("array_contains_any(nums, [{}])", ints.join(", "))), Ok(vec![1, 2, 5, 6]));
}

#[test]
fn long_json_paths_are_flat() {
    let path = "['a']".repeat(5_000);
    assert_eq!(outcome(format!("info{path} == 1")), Ok(vec![]));
    assert_eq!(outcome(format!("info{path} is null")), Ok(vec![1, 2, 3, 4, 5, 6]));
    assert_eq!(outcome(format!("exists $meta{path}")), Ok(vec![]));
    assert_eq!(outcome(format!("color{} != 1", "[0]".repeat(5_000))), Ok(vec![]));
}

#[test]
fn nesting_past_the_limit_is_refused() {
    let k = 5_000;
    let shapes = [
        nest("(", "age == 1", ")", k),
        nest("not ", "age == 1", "", k),
        nest("!", "age == 1", "", k),
        format!("{}age == 1", "-".repeat(k)),
        format!("{}age == 1", "- ".repeat(k)),
        format!("{}age == 1", "+".repeat(k)),
        format!("{} == 1", nest("-(", "age", ")", k)),
        format!("{} == 1", nest("age + (", "age", ")", k)),
        format!("{} == 1", nest("(", "age", " + 1)", k)),
        format!("age{} == 1", " ** 1".repeat(k)),
        format!("age{}", " is null".repeat(k)),
        format!("age{}", " in [1]".repeat(k)),
        format!("age{}", " like 'x'".repeat(k)),
        format!("info == {}", nest("[", "1", "]", k)),
        format!("{} == 1", nest("array_length(", "nums", ")", k)),
        nest("(age == 1 and ", "age == 2", ")", k),
        nest("(age == 1 or ", "age == 2", ")", k),
        nest("exists ", "info['a']", "", k),
    ];
    for text in shapes {
        let head: String = text.chars().take(40).collect();
        assert_eq!(outcome(text), Err(too_deep()), "{head}...");
    }
    assert_eq!(too_deep().to_string(), format!("expression nests deeper than {MAX_DEPTH} levels: simplify the filter"));
}

type Outcome = Result<Vec<i64>, ExprError>;

#[test]
fn the_deepest_accepted_nesting_fits_a_small_stack() {
    // (what, the text nested k levels, whether the outcome at k levels is right)
    type Shape = (&'static str, fn(usize) -> String, fn(usize, &Outcome) -> bool);
    let shapes: [Shape; 11] = [
        ("parentheses", |k| nest("(", "age == 30", ")", k), |_, got| *got == Ok(vec![3])),
        ("not", |k| nest("not ", "age > 20", "", k), |k, got| *got == Ok(if k % 2 == 0 { vec![3, 4, 6] } else { vec![1] })),
        ("unary minus", |k| format!("{}age == 30", "- ".repeat(k)), |k, got| *got == Ok(if k % 2 == 0 { vec![3] } else { vec![] })),
        (
            "negated parentheses",
            |k| format!("{} == -30", nest("-(", "age", ")", k)),
            |k, got| *got == Ok(if k % 2 == 1 { vec![3] } else { vec![] }),
        ),
        ("right-nested sums", |k| format!("{} == {}", nest("age + (", "age", ")", k), 30 * (k + 1)), |_, got| *got == Ok(vec![3])),
        ("products in sums", |k| format!("{} == 30", nest("age * (1 + 0 * (", "age", "))", k)), |_, got| *got == Ok(vec![3])),
        ("powers", |k| format!("age{} == 30", " ** 1".repeat(k)), |_, got| *got == Ok(vec![3])),
        ("nested and/or", |k| nest("(age > 0 and ", "(id == 3 or id == 4)", " or id == 1)", k), |_, got| *got == Ok(vec![1, 3, 4])),
        ("nested lists", |k| format!("info['arr'] != {}", nest("[", "1", "]", k)), |_, got| *got == Ok(vec![1, 2, 4, 6])),
        (
            "nested calls",
            |k| format!("{} == 1", nest("array_length(", "nums", ")", k)),
            |_, got| matches!(got, Err(ExprError::InvalidOperand { .. })),
        ),
        // The type error prints the whole tree.
        (
            "a deep operand in an error",
            |k| format!("name == {}", nest("-(", "age", ")", k)),
            |_, got| matches!(got, Err(ExprError::TypeMismatch { .. })),
        ),
    ];
    for (what, shape, right) in shapes {
        let k = deepest(&shape);
        let got = outcome(shape(k));
        assert!(right(k, &got), "{what} at {k} levels: {got:?}");
    }
}

#[test]
fn template_values_nested_past_the_limit_are_refused() {
    let nested_array = |levels: usize| (1..levels).fold(TemplateValue::Int(30), |inner, _| TemplateValue::Array(vec![inner]));
    let nested_json = |levels: usize| (1..levels).fold(serde_json::json!(30), |inner, _| serde_json::json!({ "k": inner }));
    let deep = HashMap::from([("t".to_string(), nested_array(MAX_DEPTH + 1))]);
    let refused = ExprError::TooDeep { what: "the value of template variable t".into(), limit: MAX_DEPTH };
    assert_eq!(outcome_with("info['arr'] == {t}".into(), deep), Err(refused.clone()));
    let deep = HashMap::from([("t".to_string(), TemplateValue::Json(nested_json(MAX_DEPTH + 1)))]);
    assert_eq!(outcome_with("info == {t}".into(), deep), Err(refused.clone()));
    let deep = HashMap::from([("t".to_string(), TemplateValue::Array(vec![TemplateValue::Json(nested_json(MAX_DEPTH))]))]);
    assert_eq!(outcome_with("info in {t}".into(), deep), Err(refused));

    let fits = HashMap::from([("t".to_string(), nested_array(MAX_DEPTH))]);
    assert_eq!(outcome_with("info['arr'] != {t}".into(), fits), Ok(vec![1, 2, 4, 6]));
    let fits = HashMap::from([("t".to_string(), TemplateValue::Json(nested_json(MAX_DEPTH)))]);
    assert_eq!(outcome_with("info != {t}".into(), fits), Ok(vec![1, 2, 4, 5, 6]));
}
