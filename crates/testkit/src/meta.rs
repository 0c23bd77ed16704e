//! [`FaultyMetaStore`]: a [`MetaStore`] decorator that makes chosen calls fail, stall or
//! crash the process, and counts what went through.
//!
//! | action | simulates |
//! | --- | --- |
//! | [`Fail`](MetaAction::Fail) | the store refused the call (etcd unreachable, disk error): an error, nothing applied |
//! | [`Stall`](MetaAction::Stall) | a slow call: sleeps on tokio's clock, then runs |
//! | [`CrashBefore`](MetaAction::CrashBefore) | the process dies as it sends the call: nothing applied, the [`Power`] goes off |
//! | [`CrashAfter`](MetaAction::CrashAfter) | the process dies after the store applied the call but before it heard back: on a commit, the classic "crashed after commit, before the reply" |
//!
//! Injected errors are [`MetaError::Unavailable`] with a message naming the call and the
//! rule ("injected fault: fail commit touching catalog/db/1 (rule 2)"); errors of the inner
//! store (`ConditionFailed`, …) pass through untouched.
//!
//! # What a rule matches
//! | [`MetaOp`] | calls | a rule's key prefix matches when |
//! | --- | --- | --- |
//! | `Get` | `get` | the key starts with it |
//! | `Scan` | `scan_prefix`, `scan_prefixes` | a scanned prefix and the rule's prefix overlap (one starts with the other: the scan can see the rule's keys) |
//! | `Commit` | `commit`, and `put` / `delete` (one-op commits) | any condition key or op key starts with it |
//!
//! The empty prefix matches every call. See [`crate::rules`] for how a call is judged when
//! several rules match it.

use crate::power::{Power, power_off_message};
use crate::rules::{self, Effect, Proceed, Rule, RuleId, Rules, When};
use async_trait::async_trait;
use quiver_storage::MetaStore;
use quiver_storage::meta::{MetaError, Result, Txn};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// The kinds of call a rule can target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MetaOp {
    /// A point read.
    Get,
    /// A prefix scan (one prefix or several in one view).
    Scan,
    /// A transaction (including `put` and `delete`).
    Commit,
}

impl fmt::Display for MetaOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MetaOp::Get => "get",
            MetaOp::Scan => "scan",
            MetaOp::Commit => "commit",
        })
    }
}

/// What a rule does to a call it fires on (see the module doc for what each simulates).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MetaAction {
    /// Return an error; the inner store is not called.
    Fail,
    /// Sleep on tokio's clock, then go on (other firing rules still apply).
    Stall(Duration),
    /// Wait at the gate until the test opens it, then go on (other firing rules still
    /// apply).
    Hold(crate::gate::Gate),
    /// Cut the power and return an error; the inner store is not called.
    CrashBefore,
    /// Run the call on the inner store (a commit is applied if its conditions hold), then
    /// cut the power and return an error whatever the store answered.
    CrashAfter,
}

/// A fault to inject into the metadata store: which calls (operation, key prefix, which of
/// the matching calls) and what happens to them. By default it matches every key and every
/// call.
///
/// ```
/// use quiver_testkit::{MetaAction, MetaOp, MetaRule, When};
/// // Crash right after the first commit that touches a snapshot record lands.
/// let rule = MetaRule::new(MetaOp::Commit, MetaAction::CrashAfter).prefix("snapshot/").when(When::Nth(1));
/// # let _ = rule;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetaRule {
    op: Option<MetaOp>,
    prefix: String,
    when: When,
    action: MetaAction,
}

impl MetaRule {
    /// `action` on every call of kind `op`, whatever its keys.
    pub fn new(op: MetaOp, action: MetaAction) -> Self {
        MetaRule { op: Some(op), prefix: String::new(), when: When::Every, action }
    }

    /// `action` on every call of every kind, whatever its keys.
    pub fn any_op(action: MetaAction) -> Self {
        MetaRule { op: None, prefix: String::new(), when: When::Every, action }
    }

    /// Only calls with a key starting with `prefix` (see the module doc for scans).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
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

    /// The first key of `call` this rule matches, if it matches the call at all.
    fn matched_key<'a>(&self, call: &Call<'a>) -> Option<&'a str> {
        if self.op.is_some_and(|op| op != call.op()) {
            return None;
        }
        match call {
            Call::Get(key) => key.starts_with(self.prefix.as_str()).then_some(*key),
            Call::Scan(prefixes) => prefixes.iter().copied().find(|scanned| rules::prefixes_overlap(scanned, &self.prefix)),
            Call::Commit(txn) => txn_keys(txn).find(|key| key.starts_with(self.prefix.as_str())),
        }
    }
}

impl Rule for MetaRule {
    fn when(&self) -> When {
        self.when
    }

    fn effect(&self) -> Effect {
        match self.action.clone() {
            MetaAction::Fail => Effect::Fail,
            MetaAction::Stall(duration) => Effect::Stall(duration),
            MetaAction::Hold(gate) => Effect::Hold(gate),
            MetaAction::CrashBefore => Effect::CrashBefore,
            MetaAction::CrashAfter => Effect::CrashAfter,
        }
    }
}

fn txn_keys(txn: &Txn) -> impl Iterator<Item = &str> {
    let ops = txn.ops.iter().map(|op| match op {
        quiver_storage::meta::Op::Put(key, _) | quiver_storage::meta::Op::Delete(key) => key.as_str(),
    });
    txn.conditions.iter().map(|condition| condition.key()).chain(ops)
}

/// One call, as the rules see it.
enum Call<'a> {
    Get(&'a str),
    Scan(&'a [&'a str]),
    Commit(&'a Txn),
}

impl Call<'_> {
    fn op(&self) -> MetaOp {
        match self {
            Call::Get(_) => MetaOp::Get,
            Call::Scan(_) => MetaOp::Scan,
            Call::Commit(_) => MetaOp::Commit,
        }
    }

    /// "get of k", "scan of [a/, b/]", "commit touching k" (`key`: the key the rule matched,
    /// else the first key of the transaction).
    fn describe(&self, key: Option<&str>) -> String {
        match self {
            Call::Get(key) => format!("get of {key}"),
            Call::Scan([prefix]) => format!("scan of {prefix}"),
            Call::Scan(prefixes) => format!("scan of {prefixes:?}"),
            Call::Commit(txn) => match key.or_else(|| txn_keys(txn).next()) {
                Some(key) => format!("commit touching {key}"),
                None => "empty commit".to_string(),
            },
        }
    }
}

/// What went through a [`FaultyMetaStore`] since it was made (or its counters reset).
/// Call counts include the calls that failed or were refused for lack of power.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MetaCounters {
    /// `get` calls.
    pub gets: u64,
    /// `scan_prefix` and `scan_prefixes` calls.
    pub scans: u64,
    /// `commit` calls (including `put` and `delete`).
    pub commits: u64,
    /// Commits the inner store applied (answered `Ok`), including one followed by a crash.
    pub commits_applied: u64,
}

impl MetaCounters {
    /// Calls of kind `op`.
    pub fn count(&self, op: MetaOp) -> u64 {
        match op {
            MetaOp::Get => self.gets,
            MetaOp::Scan => self.scans,
            MetaOp::Commit => self.commits,
        }
    }
}

#[derive(Debug, Default)]
struct State {
    rules: Rules<MetaRule>,
    counters: MetaCounters,
}

/// A [`MetaStore`] that injects the faults its rules describe into calls to `inner`, and
/// refuses every call once its [`Power`] is cut. With no rules and the power on it behaves
/// exactly like `inner`.
///
/// Keep an `Arc<FaultyMetaStore>` in the test to add rules and read counters, and hand a
/// clone of it to the engine as its `Arc<dyn MetaStore>`.
pub struct FaultyMetaStore {
    inner: Arc<dyn MetaStore>,
    power: Power,
    state: Mutex<State>,
}

impl fmt::Debug for FaultyMetaStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `dyn MetaStore` is not `Debug`.
        f.debug_struct("FaultyMetaStore").field("power", &self.power).field("state", &self.state).finish_non_exhaustive()
    }
}

/// A call that passed its checks: what it is and how it goes on.
struct Admitted {
    what: String,
    proceed: Proceed,
}

impl FaultyMetaStore {
    /// Wrap `inner`; every call fails once `power` is cut.
    pub fn new(inner: Arc<dyn MetaStore>, power: Power) -> Self {
        FaultyMetaStore { inner, power, state: Mutex::default() }
    }

    /// The wrapped store (what survives a crash).
    pub fn inner(&self) -> &Arc<dyn MetaStore> {
        &self.inner
    }

    /// The switch this store obeys.
    pub fn power(&self) -> &Power {
        &self.power
    }

    /// Arm `rule` from the next call on.
    pub fn add_rule(&self, rule: MetaRule) -> RuleId {
        self.lock().rules.add(rule)
    }

    /// A fixed latency on every call, of every kind, with a key starting with `prefix`
    /// (`""` for all): shorthand for a `Stall` rule on every matching call.
    pub fn add_latency(&self, prefix: impl Into<String>, latency: Duration) -> RuleId {
        self.add_rule(MetaRule::any_op(MetaAction::Stall(latency)).prefix(prefix))
    }

    /// Disarm a rule; whether it was armed.
    pub fn remove_rule(&self, id: RuleId) -> bool {
        self.lock().rules.remove(id)
    }

    /// Disarm every rule.
    pub fn clear_rules(&self) {
        self.lock().rules.clear();
    }

    /// How many calls `id` has fired on (0 for a rule not armed here).
    pub fn fired(&self, id: RuleId) -> u64 {
        self.lock().rules.fired(id)
    }

    /// A copy of the counters.
    pub fn counters(&self) -> MetaCounters {
        self.lock().counters
    }

    /// Zero the counters.
    pub fn reset_counters(&self) {
        self.lock().counters = MetaCounters::default();
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("FaultyMetaStore state poisoned")
    }

    /// Count the call, check the power, stall, and apply any outcome that comes before
    /// the call reaches the inner store.
    async fn admit(&self, call: Call<'_>) -> Result<Admitted> {
        let (what, plan) = {
            let mut state = self.lock();
            let counters = &mut state.counters;
            match call.op() {
                MetaOp::Get => counters.gets += 1,
                MetaOp::Scan => counters.scans += 1,
                MetaOp::Commit => counters.commits += 1,
            }
            if !self.power.is_on() {
                return Err(MetaError::Unavailable(power_off_message(&call.describe(None))));
            }
            // Name the key of the first rule that matched, so the message says why it fired.
            let mut first_match = None;
            let plan = state.rules.plan(|rule| match rule.matched_key(&call) {
                Some(key) => {
                    first_match.get_or_insert(key);
                    true
                }
                None => false,
            });
            (call.describe(first_match), plan)
        };
        let proceed = plan.run(&self.power, &what).await.map_err(MetaError::Unavailable)?;
        Ok(Admitted { what, proceed })
    }

    /// The caller's answer once the inner store answered `result`.
    fn finish<T>(&self, admitted: Admitted, result: Result<T>) -> Result<T> {
        match admitted.proceed {
            Proceed::CrashAfter(id) => {
                self.power.cut();
                Err(MetaError::Unavailable(rules::crashed_after(&admitted.what, id)))
            }
            _ if !self.power.is_on() => Err(MetaError::Unavailable(power_off_message(&admitted.what))),
            _ => result,
        }
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl MetaStore for FaultyMetaStore {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let admitted = self.admit(Call::Get(key)).await?;
        let result = self.inner.get(key).await;
        self.finish(admitted, result)
    }

    async fn scan_prefix(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>> {
        let admitted = self.admit(Call::Scan(&[prefix])).await?;
        let result = self.inner.scan_prefix(prefix).await;
        self.finish(admitted, result)
    }

    async fn scan_prefixes(&self, prefixes: &[&str]) -> Result<Vec<Vec<(String, Vec<u8>)>>> {
        let admitted = self.admit(Call::Scan(prefixes)).await?;
        let result = self.inner.scan_prefixes(prefixes).await;
        self.finish(admitted, result)
    }

    async fn commit(&self, txn: Txn) -> Result<()> {
        let admitted = self.admit(Call::Commit(&txn)).await?;
        let result = self.inner.commit(txn).await;
        if result.is_ok() {
            self.lock().counters.commits_applied += 1;
        }
        self.finish(admitted, result)
    }

    fn single_process(&self) -> bool {
        self.inner.single_process()
    }

    /// A one-op [`commit`](Self::commit), judged by the commit rules.
    async fn put(&self, key: &str, value: Vec<u8>) -> Result<()> {
        self.commit(Txn::new().put(key, value)).await
    }

    /// A one-op [`commit`](Self::commit), judged by the commit rules.
    async fn delete(&self, key: &str) -> Result<()> {
        self.commit(Txn::new().delete(key)).await
    }
}
