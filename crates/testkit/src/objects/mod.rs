//! [`FaultyObjectStore`]: an `ObjectStore` decorator that makes chosen calls fail, stall,
//! tear or crash the process, and counts what went through.
//!
//! It simulates what object storage does to an engine in the real world:
//!
//! | action | simulates |
//! | --- | --- |
//! | [`Fail`](ObjectAction::Fail) | a refused request (S3 500, full disk): an error, no effect |
//! | [`Tear`](ObjectAction::Tear) | a write cut off half-way on a store or filesystem that is not atomic: half the bytes land, the caller gets an error |
//! | [`Stall`](ObjectAction::Stall) | a slow request: sleeps on tokio's clock (instant with a paused clock), then runs |
//! | [`CrashBefore`](ObjectAction::CrashBefore) | the process dies as it sends the request: nothing lands, the [`Power`] goes off |
//! | [`CrashAfter`](ObjectAction::CrashAfter) | the process dies after the request landed but before it heard back |
//!
//! Every method of the trait, including those with default bodies (`get_ranges`,
//! `list_with_offset`, `rename_opts`), goes through the checks, so no call reaches the
//! inner store unseen. Errors the inner store returns (`NotFound`, `AlreadyExists`, …)
//! pass through untouched; injected ones are `Error::Generic { store: "FaultyObjectStore" }`
//! whose message names the call and the rule ("injected fault: fail put of
//! insert_log/1/2/3/4.parquet (rule 2)"). See [`crate::rules`] for how a call is judged
//! when several rules match it.
//!
//! # What counts as which call
//! | [`ObjectOp`] | trait methods (and the `ObjectStoreExt` helpers built on them) | matched against |
//! | --- | --- | --- |
//! | `Put` | `put_opts` (`put`) | the location |
//! | `Multipart` | `MultipartUpload::complete` of an upload from `put_multipart_opts`, the moment the object appears | the location |
//! | `Get` | `get_opts` without `head` (`get`, `get_range`), `get_ranges` | the location |
//! | `Head` | `get_opts` with `head` (`head`) | the location |
//! | `Delete` | each location of `delete_stream` (`delete`) | the location |
//! | `Copy` | `copy_opts` (`copy`, `copy_if_not_exists`) | either location |
//! | `Rename` | `rename_opts` (`rename`, `rename_if_not_exists`) | either location |
//! | `List` | `list`, `list_with_offset`, `list_with_delimiter` | the listed prefix: a [`PathMatch::Prefix`] matches when either prefix contains the other (the listing can see the rule's keys) |
//!
//! Starting a multipart upload and putting its parts are not counted and match no rule;
//! they only check the power. A delete stream is judged one location at a time, in order,
//! and each location is deleted on its own (the inner store's bulk delete is not used), so
//! "the 3rd delete" means the same thing on every backend.
//!
//! [`Power`]: crate::Power

mod upload;

use crate::power::{Power, power_off_message};
use crate::rules::{self, Effect, Plan, Proceed, Rule, RuleId, Rules, When};
use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{
    CopyOptions, Error, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore, ObjectStoreExt, PutMultipartOptions,
    PutOptions, PutPayload, PutResult, RenameOptions, Result,
};
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use upload::FaultyUpload;

/// The `store` of every error this wrapper injects.
pub const STORE: &str = "FaultyObjectStore";

/// The kinds of call a rule can target (see the module doc for which methods each covers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ObjectOp {
    /// A single-request put.
    Put,
    /// The completion of a multipart upload.
    Multipart,
    /// A read of an object's bytes.
    Get,
    /// A read of an object's metadata only.
    Head,
    /// The delete of one location.
    Delete,
    /// A server-side copy.
    Copy,
    /// A rename (move).
    Rename,
    /// A listing.
    List,
}

impl fmt::Display for ObjectOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ObjectOp::Put => "put",
            ObjectOp::Multipart => "multipart put",
            ObjectOp::Get => "get",
            ObjectOp::Head => "head",
            ObjectOp::Delete => "delete",
            ObjectOp::Copy => "copy",
            ObjectOp::Rename => "rename",
            ObjectOp::List => "list",
        })
    }
}

/// Which locations a rule applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathMatch {
    /// Every location.
    Any,
    /// Locations starting with this string (`"insert_log/"`, `"snapshots/7/"`).
    Prefix(String),
    /// Locations containing this string (`".parquet"`, `"/manifests/"`).
    Contains(String),
}

impl PathMatch {
    fn matches(&self, op: ObjectOp, location: &str) -> bool {
        match self {
            PathMatch::Any => true,
            PathMatch::Prefix(prefix) if op == ObjectOp::List => rules::prefixes_overlap(location, prefix),
            PathMatch::Prefix(prefix) => location.starts_with(prefix.as_str()),
            PathMatch::Contains(part) => location.contains(part.as_str()),
        }
    }
}

/// What a rule does to a call it fires on (see the module doc for what each simulates).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ObjectAction {
    /// Return an error; the inner store is not called.
    Fail,
    /// (`Put` and `Multipart` only.) Write the first half of the payload to the same
    /// location (with the caller's put mode), then return an error.
    Tear,
    /// Sleep on tokio's clock, then go on (other firing rules still apply).
    Stall(Duration),
    /// Wait at the gate until the test opens it, then go on (other firing rules still
    /// apply).
    Hold(crate::gate::Gate),
    /// Cut the power and return an error; the inner store is not called.
    CrashBefore,
    /// Run the call on the inner store, then cut the power and return an error whatever
    /// the store answered.
    CrashAfter,
}

/// A fault to inject: which calls (operation, location, which of the matching calls) and
/// what happens to them. Built with [`ObjectRule::new`] or [`ObjectRule::any_op`] and
/// narrowed with the builder methods; by default it matches every location and every call.
///
/// ```
/// use quiver_testkit::{ObjectAction, ObjectOp, ObjectRule, When};
/// // The 2nd put of an insert log fails.
/// let rule = ObjectRule::new(ObjectOp::Put, ObjectAction::Fail).prefix("insert_log/").when(When::Nth(2));
/// # let _ = rule;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectRule {
    op: Option<ObjectOp>,
    path: PathMatch,
    when: When,
    action: ObjectAction,
}

impl ObjectRule {
    /// `action` on every call of kind `op`, at any location.
    pub fn new(op: ObjectOp, action: ObjectAction) -> Self {
        ObjectRule { op: Some(op), path: PathMatch::Any, when: When::Every, action }
    }

    /// `action` on every call of every kind, at any location (e.g. a latency on everything).
    pub fn any_op(action: ObjectAction) -> Self {
        ObjectRule { op: None, path: PathMatch::Any, when: When::Every, action }
    }

    /// Only locations starting with `prefix`.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.path = PathMatch::Prefix(prefix.into());
        self
    }

    /// Only locations containing `part`.
    pub fn contains(mut self, part: impl Into<String>) -> Self {
        self.path = PathMatch::Contains(part.into());
        self
    }

    /// Which matching calls: `When::Nth(n)` (counting from 1), `When::FirstN(n)` or
    /// `When::Every` (the default).
    pub fn when(mut self, when: When) -> Self {
        if let When::Nth(n) = when {
            assert!(n >= 1, "When::Nth counts from 1");
        }
        self.when = when;
        self
    }

    fn matches(&self, op: ObjectOp, locations: &[&Path]) -> bool {
        self.op.is_none_or(|own| own == op) && locations.iter().any(|location| self.path.matches(op, location.as_ref()))
    }
}

impl Rule for ObjectRule {
    fn when(&self) -> When {
        self.when
    }

    fn effect(&self) -> Effect {
        match self.action.clone() {
            ObjectAction::Fail => Effect::Fail,
            ObjectAction::Tear => Effect::Tear,
            ObjectAction::Stall(duration) => Effect::Stall(duration),
            ObjectAction::Hold(gate) => Effect::Hold(gate),
            ObjectAction::CrashBefore => Effect::CrashBefore,
            ObjectAction::CrashAfter => Effect::CrashAfter,
        }
    }
}

/// What went through a [`FaultyObjectStore`] since it was made (or its counters reset).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectCounters {
    /// Calls per kind, including the ones that failed or were refused for lack of power.
    pub calls: BTreeMap<ObjectOp, u64>,
    /// Bytes the inner store accepted in puts and completed multipart uploads (including
    /// the half of a torn put and a put that crashed after landing).
    pub bytes_put: u64,
    /// Bytes the inner store returned to gets (the length of the range served).
    pub bytes_read: u64,
    /// Locations whose delete reached the inner store and left the object absent (it
    /// answered `Ok`, or `NotFound`), in the order they were deleted.
    pub deleted: Vec<Path>,
}

impl ObjectCounters {
    /// Calls of kind `op`.
    pub fn count(&self, op: ObjectOp) -> u64 {
        self.calls.get(&op).copied().unwrap_or(0)
    }
}

#[derive(Debug, Default)]
struct State {
    rules: Rules<ObjectRule>,
    counters: ObjectCounters,
}

/// What the store and its open uploads and streams share.
#[derive(Debug)]
struct Shared {
    power: Power,
    state: Mutex<State>,
}

/// A call that passed its checks: what it is and how it goes on.
struct Admitted {
    what: String,
    proceed: Proceed,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("FaultyObjectStore state poisoned")
    }

    /// Count the call, check the power, and plan what the rules do to it (no waiting:
    /// `list` must judge its call before it returns a stream).
    fn judge(&self, op: ObjectOp, locations: &[&Path]) -> Result<(String, Plan)> {
        let what = describe(op, locations);
        let mut state = self.lock();
        *state.counters.calls.entry(op).or_default() += 1;
        if !self.power.is_on() {
            return Err(fault(power_off_message(&what)));
        }
        let plan = state.rules.plan(|rule| rule.matches(op, locations));
        Ok((what, plan))
    }

    /// [`judge`](Self::judge), then stall and apply any outcome that comes before the call.
    async fn admit(&self, op: ObjectOp, locations: &[&Path]) -> Result<Admitted> {
        let (what, plan) = self.judge(op, locations)?;
        run(plan, &self.power, what).await
    }

    fn check_power(&self, what: &str) -> Result<()> {
        if self.power.is_on() { Ok(()) } else { Err(fault(power_off_message(what))) }
    }
}

async fn run(plan: Plan, power: &Power, what: String) -> Result<Admitted> {
    let proceed = plan.run(power, &what).await.map_err(fault)?;
    Ok(Admitted { what, proceed })
}

impl Admitted {
    /// The caller's answer once the inner store answered `result`: a crash after the call
    /// cuts the power and fails; a power cut while the call was in flight fails too.
    fn finish<T>(self, power: &Power, result: Result<T>) -> Result<T> {
        match self.proceed {
            Proceed::CrashAfter(id) => {
                power.cut();
                Err(fault(rules::crashed_after(&self.what, id)))
            }
            _ if !power.is_on() => Err(fault(power_off_message(&self.what))),
            _ => result,
        }
    }
}

fn fault(message: String) -> Error {
    Error::Generic { store: STORE, source: message.into() }
}

fn describe(op: ObjectOp, locations: &[&Path]) -> String {
    let show = |location: &Path| if location.as_ref().is_empty() { "(everything)".to_string() } else { location.to_string() };
    match locations {
        [location] => format!("{op} of {}", show(location)),
        [from, to] => format!("{op} of {} to {}", show(from), show(to)),
        _ => op.to_string(),
    }
}

/// The first half (rounded down) of the bytes of `chunks`, which hold `total` bytes.
fn first_half<'a>(chunks: impl IntoIterator<Item = &'a Bytes>, total: usize) -> PutPayload {
    let mut left = total / 2;
    let mut half = Vec::new();
    for chunk in chunks {
        if left == 0 {
            break;
        }
        let take = left.min(chunk.len());
        half.push(chunk.slice(..take));
        left -= take;
    }
    half.into_iter().collect()
}

/// An `ObjectStore` that injects the faults its rules describe into calls to `inner`, and
/// refuses every call once its [`Power`] is cut. With no rules and the power on it behaves
/// exactly like `inner` (it passes [`object_store_conformance`](crate::object_store_conformance)).
///
/// Keep an `Arc<FaultyObjectStore>` in the test to add rules and read counters, and hand a
/// clone of it to the engine as its `Arc<dyn ObjectStore>`.
#[derive(Debug)]
pub struct FaultyObjectStore {
    inner: Arc<dyn ObjectStore>,
    shared: Arc<Shared>,
}

impl FaultyObjectStore {
    /// Wrap `inner`; every call fails once `power` is cut.
    pub fn new(inner: Arc<dyn ObjectStore>, power: Power) -> Self {
        FaultyObjectStore { inner, shared: Arc::new(Shared { power, state: Mutex::default() }) }
    }

    /// The wrapped store (what survives a crash).
    pub fn inner(&self) -> &Arc<dyn ObjectStore> {
        &self.inner
    }

    /// The switch this store obeys.
    pub fn power(&self) -> &Power {
        &self.shared.power
    }

    /// Arm `rule` from the next call on.
    ///
    /// # Panics
    /// If the rule tears a call that is not a put (`Tear` needs `ObjectOp::Put` or
    /// `ObjectOp::Multipart`).
    pub fn add_rule(&self, rule: ObjectRule) -> RuleId {
        if rule.action == ObjectAction::Tear {
            assert!(
                matches!(rule.op, Some(ObjectOp::Put | ObjectOp::Multipart)),
                "ObjectAction::Tear applies only to ObjectOp::Put and ObjectOp::Multipart, not {rule:?}"
            );
        }
        self.shared.lock().rules.add(rule)
    }

    /// A fixed latency on every call, of every kind, at a location starting with `prefix`
    /// (`""` for all): shorthand for a `Stall` rule on every matching call.
    pub fn add_latency(&self, prefix: impl Into<String>, latency: Duration) -> RuleId {
        self.add_rule(ObjectRule::any_op(ObjectAction::Stall(latency)).prefix(prefix))
    }

    /// Disarm a rule; whether it was armed.
    pub fn remove_rule(&self, id: RuleId) -> bool {
        self.shared.lock().rules.remove(id)
    }

    /// Disarm every rule.
    pub fn clear_rules(&self) {
        self.shared.lock().rules.clear();
    }

    /// How many calls `id` has fired on (0 for a rule not armed here). A rule whose fault
    /// was overridden by an earlier rule firing on the same call does not count it.
    pub fn fired(&self, id: RuleId) -> u64 {
        self.shared.lock().rules.fired(id)
    }

    /// A copy of the counters.
    pub fn counters(&self) -> ObjectCounters {
        self.shared.lock().counters.clone()
    }

    /// Zero the counters.
    pub fn reset_counters(&self) {
        self.shared.lock().counters = ObjectCounters::default();
    }

    fn add_bytes_put(&self, bytes: usize) {
        self.shared.lock().counters.bytes_put += bytes as u64;
    }

    fn add_bytes_read(&self, bytes: u64) {
        self.shared.lock().counters.bytes_read += bytes;
    }

    /// Judge a list of `prefix` now, and run `listing` (already built from the inner store,
    /// but not yet polled) only if the call is admitted. Every entry checks the power.
    fn guard_list(&self, prefix: Option<&Path>, listing: BoxStream<'static, Result<ObjectMeta>>) -> BoxStream<'static, Result<ObjectMeta>> {
        let prefix = prefix.cloned().unwrap_or_default();
        let judged = self.shared.judge(ObjectOp::List, &[&prefix]);
        let shared = Arc::clone(&self.shared);
        stream::once(async move {
            let (what, plan) = judged?;
            let admitted = run(plan, &shared.power, what).await?;
            if let Proceed::CrashAfter(_) = admitted.proceed {
                let drained: Vec<Result<ObjectMeta>> = listing.collect().await;
                drop(drained);
                return admitted.finish(&shared.power, Ok(stream::empty().boxed()));
            }
            let what = admitted.what;
            let power = shared.power.clone();
            // Stop at the first entry seen with the power off: a dead process lists no further.
            Ok(listing
                .scan(false, move |stopped, entry| {
                    let entry = match entry {
                        _ if *stopped => None,
                        _ if !power.is_on() => {
                            *stopped = true;
                            Some(Err(fault(power_off_message(&what))))
                        }
                        entry => Some(entry),
                    };
                    futures::future::ready(entry)
                })
                .boxed())
        })
        .try_flatten()
        .boxed()
    }
}

impl fmt::Display for FaultyObjectStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{STORE}({})", self.inner)
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl ObjectStore for FaultyObjectStore {
    async fn put_opts(&self, location: &Path, payload: PutPayload, opts: PutOptions) -> Result<PutResult> {
        let admitted = self.shared.admit(ObjectOp::Put, &[location]).await?;
        let size = payload.content_length();
        if let Proceed::Tear(id) = admitted.proceed {
            let half = first_half(&payload, size);
            let written = half.content_length();
            self.inner.put_opts(location, half, opts).await?;
            self.add_bytes_put(written);
            return Err(fault(format!("{}: wrote {written} of {size} bytes", rules::injected("tear", &admitted.what, id))));
        }
        let result = self.inner.put_opts(location, payload, opts).await;
        if result.is_ok() {
            self.add_bytes_put(size);
        }
        admitted.finish(&self.shared.power, result)
    }

    async fn put_multipart_opts(&self, location: &Path, opts: PutMultipartOptions) -> Result<Box<dyn MultipartUpload>> {
        let what = describe(ObjectOp::Multipart, &[location]);
        self.shared.check_power(&what)?;
        let upload = self.inner.put_multipart_opts(location, opts).await?;
        self.shared.check_power(&what)?;
        Ok(Box::new(FaultyUpload::new(location.clone(), upload, Arc::clone(&self.inner), Arc::clone(&self.shared))))
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        let op = if options.head { ObjectOp::Head } else { ObjectOp::Get };
        let admitted = self.shared.admit(op, &[location]).await?;
        let result = self.inner.get_opts(location, options).await;
        if let Ok(got) = &result
            && op == ObjectOp::Get
        {
            self.add_bytes_read(got.range.end - got.range.start);
        }
        admitted.finish(&self.shared.power, result)
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        let admitted = self.shared.admit(ObjectOp::Get, &[location]).await?;
        let result = self.inner.get_ranges(location, ranges).await;
        if let Ok(got) = &result {
            self.add_bytes_read(got.iter().map(|bytes| bytes.len() as u64).sum());
        }
        admitted.finish(&self.shared.power, result)
    }

    fn delete_stream(&self, locations: BoxStream<'static, Result<Path>>) -> BoxStream<'static, Result<Path>> {
        let inner = Arc::clone(&self.inner);
        let shared = Arc::clone(&self.shared);
        locations
            .then(move |location| {
                let inner = Arc::clone(&inner);
                let shared = Arc::clone(&shared);
                async move {
                    let location = location?;
                    let admitted = shared.admit(ObjectOp::Delete, &[&location]).await?;
                    let result = inner.delete(&location).await;
                    if matches!(result, Ok(()) | Err(Error::NotFound { .. })) {
                        shared.lock().counters.deleted.push(location.clone());
                    }
                    admitted.finish(&shared.power, result.map(|()| location))
                }
            })
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.guard_list(prefix, self.inner.list(prefix))
    }

    fn list_with_offset(&self, prefix: Option<&Path>, offset: &Path) -> BoxStream<'static, Result<ObjectMeta>> {
        self.guard_list(prefix, self.inner.list_with_offset(prefix, offset))
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        let root = Path::default();
        let admitted = self.shared.admit(ObjectOp::List, &[prefix.unwrap_or(&root)]).await?;
        let result = self.inner.list_with_delimiter(prefix).await;
        admitted.finish(&self.shared.power, result)
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        let admitted = self.shared.admit(ObjectOp::Copy, &[from, to]).await?;
        let result = self.inner.copy_opts(from, to, options).await;
        admitted.finish(&self.shared.power, result)
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        let admitted = self.shared.admit(ObjectOp::Rename, &[from, to]).await?;
        let result = self.inner.rename_opts(from, to, options).await;
        admitted.finish(&self.shared.power, result)
    }
}
