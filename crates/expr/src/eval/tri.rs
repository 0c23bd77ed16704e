//! Three-valued truth per row, as two bitmaps: rows known true and rows known false.
//! A row in neither is unknown (it involved a null). Kleene logic then is plain
//! bitwise work: `and` is (t₁∧t₂, f₁∨f₂), `or` is (t₁∨t₂, f₁∧f₂), `not` swaps.

use arrow_buffer::{BooleanBuffer, BooleanBufferBuilder, NullBuffer};

#[derive(Clone, Debug)]
pub(crate) struct Tri {
    pub t: BooleanBuffer,
    pub f: BooleanBuffer,
}

impl Tri {
    pub fn constant(value: bool, rows: usize) -> Tri {
        let (set, unset) = (BooleanBuffer::new_set(rows), BooleanBuffer::new_unset(rows));
        if value { Tri { t: set, f: unset } } else { Tri { t: unset, f: set } }
    }

    /// A definite result on valid rows and unknown on null ones.
    pub fn from_bits(bits: BooleanBuffer, nulls: Option<&NullBuffer>) -> Tri {
        let f = !&bits;
        match nulls {
            None => Tri { t: bits, f },
            Some(nulls) => Tri { t: &bits & nulls.inner(), f: &f & nulls.inner() },
        }
    }

    /// Row by row, for the dynamically typed cases.
    pub fn from_fn(rows: usize, mut f: impl FnMut(usize) -> Option<bool>) -> Tri {
        let mut t_bits = BooleanBufferBuilder::new(rows);
        let mut f_bits = BooleanBufferBuilder::new(rows);
        for i in 0..rows {
            let value = f(i);
            t_bits.append(value == Some(true));
            f_bits.append(value == Some(false));
        }
        Tri { t: t_bits.finish(), f: f_bits.finish() }
    }

    pub fn and(&self, other: &Tri) -> Tri {
        Tri { t: &self.t & &other.t, f: &self.f | &other.f }
    }

    pub fn or(&self, other: &Tri) -> Tri {
        Tri { t: &self.t | &other.t, f: &self.f & &other.f }
    }

    pub fn not(self) -> Tri {
        Tri { t: self.f, f: self.t }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tri(values: &[Option<bool>]) -> Tri {
        Tri::from_fn(values.len(), |i| values[i])
    }

    fn read(t: &Tri) -> Vec<Option<bool>> {
        (0..t.t.len())
            .map(|i| {
                if t.t.value(i) {
                    Some(true)
                } else if t.f.value(i) {
                    Some(false)
                } else {
                    None
                }
            })
            .collect()
    }

    #[test]
    fn kleene_logic() {
        let all = [Some(true), Some(false), None];
        let a: Vec<_> = all.iter().flat_map(|x| all.iter().map(move |_| *x)).collect();
        let b: Vec<_> = all.iter().flat_map(|_| all.iter().copied()).collect();
        let (ta, tb) = (tri(&a), tri(&b));
        let and: Vec<_> = a
            .iter()
            .zip(&b)
            .map(|(x, y)| match (x, y) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            })
            .collect();
        let or: Vec<_> = a
            .iter()
            .zip(&b)
            .map(|(x, y)| match (x, y) {
                (Some(true), _) | (_, Some(true)) => Some(true),
                (Some(false), Some(false)) => Some(false),
                _ => None,
            })
            .collect();
        assert_eq!(read(&ta.and(&tb)), and);
        assert_eq!(read(&ta.or(&tb)), or);
        assert_eq!(read(&ta.clone().not()), a.iter().map(|x| x.map(|v| !v)).collect::<Vec<_>>());
    }
}
