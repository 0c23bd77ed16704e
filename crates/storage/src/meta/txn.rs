//! A metadata transaction: conditions that must hold, then operations applied together.

/// A check made atomically with the commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Condition {
    /// The key must not exist (create-if-absent).
    Absent(String),
    /// The key must exist with exactly this value (compare-and-swap).
    Equals(String, Vec<u8>),
}

impl Condition {
    pub fn key(&self) -> &str {
        match self {
            Condition::Absent(key) | Condition::Equals(key, _) => key,
        }
    }

    /// Whether the condition holds given the key's current value.
    pub fn holds(&self, current: Option<&[u8]>) -> bool {
        match self {
            Condition::Absent(_) => current.is_none(),
            Condition::Equals(_, expected) => current == Some(expected.as_slice()),
        }
    }
}

/// A change applied by a commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Put(String, Vec<u8>),
    Delete(String),
}

/// Conditions plus operations, applied all-or-nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Txn {
    pub conditions: Vec<Condition>,
    pub ops: Vec<Op>,
}

impl Txn {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn when_absent(mut self, key: impl Into<String>) -> Self {
        self.conditions.push(Condition::Absent(key.into()));
        self
    }

    pub fn when_equals(mut self, key: impl Into<String>, value: Vec<u8>) -> Self {
        self.conditions.push(Condition::Equals(key.into(), value));
        self
    }

    pub fn put(mut self, key: impl Into<String>, value: Vec<u8>) -> Self {
        self.ops.push(Op::Put(key.into(), value));
        self
    }

    pub fn delete(mut self, key: impl Into<String>) -> Self {
        self.ops.push(Op::Delete(key.into()));
        self
    }

    /// This transaction's conditions and operations followed by `other`'s, committed as one.
    pub fn merge(mut self, other: Txn) -> Self {
        self.conditions.extend(other.conditions);
        self.ops.extend(other.ops);
        self
    }

    pub fn is_empty(&self) -> bool {
        self.conditions.is_empty() && self.ops.is_empty()
    }
}
