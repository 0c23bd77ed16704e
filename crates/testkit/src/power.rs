//! The power switch of one simulated process.
//!
//! Every seam of one engine instance (its [`FaultyObjectStore`](crate::FaultyObjectStore),
//! its [`FaultyMetaStore`](crate::FaultyMetaStore), the hook of an armed engine failpoint)
//! holds a clone of the same [`Power`]. Cutting it is `kill -9` of that process: from then
//! on every call of every seam holding it fails at once, without touching the inner store,
//! so the instance makes no further durable change. Calls already inside the inner store
//! when the power goes may still land (as a write that reached the disk before the process
//! died does), but their callers only ever hear an error.
//!
//! The stores underneath outlive the switch: the test drops the dead instance and builds new
//! seams with a fresh `Power` around the same inner stores, which is what a restart sees.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A cloneable on/off switch shared by every seam of one engine instance. Starts on; once
/// cut it stays off (a dead process does not come back: build new seams with a new
/// `Power` instead).
#[derive(Clone, Default)]
pub struct Power {
    off: Arc<AtomicBool>,
}

impl Power {
    /// A switch that is on.
    pub fn new() -> Self {
        Self::default()
    }

    /// Turn the power off for every holder of this switch. Idempotent.
    pub fn cut(&self) {
        self.off.store(true, Ordering::SeqCst);
    }

    /// Whether the power is still on.
    pub fn is_on(&self) -> bool {
        !self.off.load(Ordering::SeqCst)
    }

    /// Whether `self` and `other` are clones of one switch.
    pub fn same_switch(&self, other: &Power) -> bool {
        Arc::ptr_eq(&self.off, &other.off)
    }
}

impl fmt::Debug for Power {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_on() { "Power(on)" } else { "Power(off)" })
    }
}

/// The message of a call refused because the power is off; `what` names the call
/// ("put of a/b").
pub(crate) fn power_off_message(what: &str) -> String {
    format!("power is off (simulated crash): {what} refused")
}
