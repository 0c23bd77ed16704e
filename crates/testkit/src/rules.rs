//! What the two faulty stores share: which matching calls a rule applies to ([`When`]),
//! rule identity ([`RuleId`]), and the evaluation of a call against the rules.
//!
//! # How a call is judged
//! 1. The call is counted; if the power is off it fails at once.
//! 2. Every rule whose operation and path (or key) match the call counts it, whether or
//!    not another rule fires on it; a rule *fires* when its [`When`] accepts that count.
//! 3. Every firing stall sleeps, in the order the rules were added (so a latency rule on
//!    every call and a failure on the 3rd put both apply to the 3rd put).
//! 4. The power is checked again (another call may have crashed the process while this
//!    one slept).
//! 5. The first firing rule with any other action (fail, tear, crash) decides the
//!    outcome; with none, the call goes to the inner store.
//! 6. After the inner store answers, the power is checked once more: a process killed
//!    while the call was in flight never hears the answer.

use crate::gate::Gate;
use crate::power::{Power, power_off_message};
use std::fmt;
use std::time::Duration;

/// Which of the calls matching a rule it applies to. Counts start at 1 and include only
/// the calls that match the rule's operation and path (or key).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    /// Only the nth matching call (1-based).
    Nth(u64),
    /// The first n matching calls.
    FirstN(u64),
    /// Every matching call.
    Every,
}

impl When {
    fn accepts(self, count: u64) -> bool {
        match self {
            When::Nth(n) => count == n,
            When::FirstN(n) => count <= n,
            When::Every => true,
        }
    }
}

/// Identifies a rule within the store it was added to; shown as `rule N` in the errors
/// the rule injects. Numbered from 1 in the order rules are added.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RuleId(pub u64);

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rule {}", self.0)
    }
}

/// What a firing rule does, reduced to what the evaluation needs.
#[derive(Clone, Debug)]
pub(crate) enum Effect {
    Stall(Duration),
    Hold(Gate),
    Fail,
    Tear,
    CrashBefore,
    CrashAfter,
}

/// A rule of either store, as the evaluation sees it.
pub(crate) trait Rule {
    fn when(&self) -> When;
    fn effect(&self) -> Effect;
}

struct Armed<R> {
    id: RuleId,
    rule: R,
    matched: u64,
    fired: u64,
}

/// The rules of one store, with their counts.
pub(crate) struct Rules<R> {
    next_id: u64,
    armed: Vec<Armed<R>>,
}

impl<R> Default for Rules<R> {
    fn default() -> Self {
        Rules { next_id: 1, armed: Vec::new() }
    }
}

impl<R: fmt::Debug> fmt::Debug for Rules<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.armed.iter().map(|a| (a.id, &a.rule, a.matched, a.fired))).finish()
    }
}

impl<R: Rule> Rules<R> {
    pub(crate) fn add(&mut self, rule: R) -> RuleId {
        let id = RuleId(self.next_id);
        self.next_id += 1;
        self.armed.push(Armed { id, rule, matched: 0, fired: 0 });
        id
    }

    pub(crate) fn remove(&mut self, id: RuleId) -> bool {
        let before = self.armed.len();
        self.armed.retain(|a| a.id != id);
        self.armed.len() != before
    }

    pub(crate) fn clear(&mut self) {
        self.armed.clear();
    }

    pub(crate) fn fired(&self, id: RuleId) -> u64 {
        self.armed.iter().find(|a| a.id == id).map_or(0, |a| a.fired)
    }

    /// Count the call against every rule `matches` accepts and plan what the firing ones do.
    pub(crate) fn plan(&mut self, mut matches: impl FnMut(&R) -> bool) -> Plan {
        let mut plan = Plan::default();
        for armed in self.armed.iter_mut().filter(|a| matches(&a.rule)) {
            armed.matched += 1;
            if !armed.rule.when().accepts(armed.matched) {
                continue;
            }
            match armed.rule.effect() {
                Effect::Stall(duration) => {
                    armed.fired += 1;
                    plan.stalls.push(Wait::Sleep(duration));
                }
                Effect::Hold(gate) => {
                    armed.fired += 1;
                    plan.stalls.push(Wait::Hold(gate));
                }
                effect if plan.outcome.is_none() => {
                    armed.fired += 1;
                    plan.outcome = Some((armed.id, effect));
                }
                // A later rule whose outcome is overridden by an earlier one has not fired.
                _ => {}
            }
        }
        plan
    }
}

/// A wait before a call goes on: a stall, or a gate a test opens.
#[derive(Debug)]
enum Wait {
    Sleep(Duration),
    Hold(Gate),
}

/// What the rules decided for one call, before it runs.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    stalls: Vec<Wait>,
    outcome: Option<(RuleId, Effect)>,
}

/// How a call that passed its checks goes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Proceed {
    /// Run it on the inner store and return what the store says.
    Normally,
    /// (Puts only.) Write the first half of the payload, then fail.
    Tear(RuleId),
    /// Run it on the inner store, then cut the power and fail.
    CrashAfter(RuleId),
}

impl Plan {
    /// Sleep the stalls, re-check the power, and apply an outcome that happens before the
    /// call reaches the inner store. `Err` holds the message of the error to return.
    pub(crate) async fn run(self, power: &Power, what: &str) -> Result<Proceed, String> {
        for wait in self.stalls {
            match wait {
                Wait::Sleep(duration) => tokio::time::sleep(duration).await,
                Wait::Hold(gate) => gate.pass().await,
            }
        }
        if !power.is_on() {
            return Err(power_off_message(what));
        }
        match self.outcome {
            None => Ok(Proceed::Normally),
            Some((id, Effect::Fail)) => Err(injected("fail", what, id)),
            Some((id, Effect::CrashBefore)) => {
                power.cut();
                Err(format!("{}; power is now off", injected("crash before", what, id)))
            }
            Some((id, Effect::Tear)) => Ok(Proceed::Tear(id)),
            Some((id, Effect::CrashAfter)) => Ok(Proceed::CrashAfter(id)),
            Some((_, Effect::Stall(_) | Effect::Hold(_))) => unreachable!("waits are never the outcome"),
        }
    }
}

/// The message of an injected fault: "injected fault: fail put of a/b (rule 2)".
pub(crate) fn injected(verb: &str, what: &str, id: RuleId) -> String {
    format!("injected fault: {verb} {what} ({id})")
}

/// The message of a [`Proceed::CrashAfter`], once the call ran and the power is cut.
pub(crate) fn crashed_after(what: &str, id: RuleId) -> String {
    format!("{}; the call reached the store, power is now off", injected("crash after", what, id))
}

/// Whether a scan of everything under `scanned` can see a key under `rule_prefix`, or the
/// other way round: the two key ranges overlap.
pub(crate) fn prefixes_overlap(scanned: &str, rule_prefix: &str) -> bool {
    scanned.starts_with(rule_prefix) || rule_prefix.starts_with(scanned)
}
