//! Boolean circuits of XOR and AND gates, recorded once and evaluated either
//! in the clear (for tests) or on replicated shares with every AND of one
//! depth in a single round.

use crate::error::{MpcError, Result};
use crate::party::{BitShares, Party};
use crate::transport::Transport;

/// Something that builds or evaluates XOR and AND gates.
pub(crate) trait Gates {
    /// A wire's handle.
    type Wire: Clone;
    /// a ⊕ b.
    fn xor(&mut self, a: &Self::Wire, b: &Self::Wire) -> Self::Wire;
    /// a ∧ b.
    fn and(&mut self, a: &Self::Wire, b: &Self::Wire) -> Self::Wire;
}

#[derive(Debug, Clone, Copy)]
enum Gate {
    Xor(usize, usize),
    And(usize, usize),
}

/// Records the gates a function builds; wires are numbered inputs first.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    inputs: usize,
    gates: Vec<Gate>,
}

impl Gates for Recorder {
    type Wire = usize;

    fn xor(&mut self, a: &usize, b: &usize) -> usize {
        self.gates.push(Gate::Xor(*a, *b));
        self.inputs + self.gates.len() - 1
    }

    fn and(&mut self, a: &usize, b: &usize) -> usize {
        self.gates.push(Gate::And(*a, *b));
        self.inputs + self.gates.len() - 1
    }
}

/// A recorded circuit: `inputs` input wires, then one wire per gate.
#[derive(Debug, Clone)]
pub(crate) struct Circuit {
    inputs: usize,
    gates: Vec<Gate>,
    outputs: Vec<usize>,
    // Per wire, its AND depth (inputs 0).
    depth: Vec<usize>,
}

impl Circuit {
    /// Records `build` on `inputs` fresh input wires.
    pub(crate) fn record(
        inputs: usize,
        build: impl FnOnce(&mut Recorder, Vec<usize>) -> Vec<usize>,
    ) -> Circuit {
        let mut rec = Recorder {
            inputs,
            gates: Vec::new(),
        };
        let outputs = build(&mut rec, (0..inputs).collect());
        let mut depth = vec![0usize; inputs + rec.gates.len()];
        for (k, gate) in rec.gates.iter().enumerate() {
            let d = match *gate {
                Gate::Xor(a, b) => depth.get(a).max(depth.get(b)).copied().unwrap_or(0),
                Gate::And(a, b) => depth.get(a).max(depth.get(b)).copied().unwrap_or(0) + 1,
            };
            if let Some(slot) = depth.get_mut(inputs + k) {
                *slot = d;
            }
        }
        Circuit {
            inputs,
            gates: rec.gates,
            outputs,
            depth,
        }
    }

    /// Number of AND gates.
    #[cfg(test)]
    pub(crate) fn and_count(&self) -> usize {
        self.gates
            .iter()
            .filter(|g| matches!(g, Gate::And(..)))
            .count()
    }

    /// The largest number of ANDs on a path: the rounds of a shared evaluation.
    pub(crate) fn and_depth(&self) -> usize {
        self.depth.iter().copied().max().unwrap_or(0)
    }

    /// Evaluates on public words (each input a vector of words, all of one length).
    #[cfg(test)]
    pub(crate) fn eval_plain(&self, inputs: &[Vec<u64>]) -> Vec<Vec<u64>> {
        let mut wires: Vec<Vec<u64>> = inputs.to_vec();
        for gate in &self.gates {
            let (a, b, and) = match *gate {
                Gate::Xor(a, b) => (a, b, false),
                Gate::And(a, b) => (a, b, true),
            };
            let v = wires[a]
                .iter()
                .zip(&wires[b])
                .map(|(x, y)| if and { x & y } else { x ^ y })
                .collect();
            wires.push(v);
        }
        self.outputs.iter().map(|&o| wires[o].clone()).collect()
    }

    /// Evaluates on replicated shares: at each depth, the XORs first, then
    /// all ANDs of the next depth in one round. Wires are dropped after
    /// their last use.
    pub(crate) fn eval_shared<T: Transport>(
        &self,
        party: &mut Party<T>,
        inputs: Vec<BitShares>,
    ) -> Result<Vec<BitShares>> {
        if inputs.len() != self.inputs {
            return Err(MpcError::LengthMismatch {
                left: inputs.len(),
                right: self.inputs,
            });
        }
        let total = self.inputs + self.gates.len();
        // The last gate (in evaluation order: depth, then kind, then index)
        // that reads each wire; outputs are never dropped.
        let order = |k: usize| -> (usize, usize) {
            let d = self.depth.get(self.inputs + k).copied().unwrap_or(0);
            match self.gates.get(k) {
                Some(Gate::And(..)) => (d.saturating_sub(1), 1),
                _ => (d, 0),
            }
        };
        let mut last_use: Vec<Option<(usize, usize, usize)>> = vec![None; total];
        for (k, gate) in self.gates.iter().enumerate() {
            let (Gate::Xor(a, b) | Gate::And(a, b)) = *gate;
            let (stage, kind) = order(k);
            for w in [a, b] {
                if let Some(slot) = last_use.get_mut(w) {
                    let at = (stage, kind, k);
                    if slot.is_none_or(|s| s < at) {
                        *slot = Some(at);
                    }
                }
            }
        }
        for &o in &self.outputs {
            if let Some(slot) = last_use.get_mut(o) {
                *slot = Some((usize::MAX, 0, 0));
            }
        }
        let mut wires: Vec<Option<BitShares>> = inputs.into_iter().map(Some).collect();
        wires.resize(total, None);
        let missing = || MpcError::Config("circuit wire used before it is computed".into());
        let release = |wires: &mut Vec<Option<BitShares>>, stage: (usize, usize)| {
            for (w, lu) in last_use.iter().enumerate() {
                if lu.is_some_and(|(s, kind, _)| (s, kind) == stage) {
                    if let Some(slot) = wires.get_mut(w) {
                        *slot = None;
                    }
                }
            }
        };
        for level in 0..=self.and_depth() {
            for (k, gate) in self.gates.iter().enumerate() {
                if let Gate::Xor(a, b) = *gate {
                    if order(k) == (level, 0) {
                        let x = wires.get(a).and_then(Option::as_ref).ok_or_else(missing)?;
                        let y = wires.get(b).and_then(Option::as_ref).ok_or_else(missing)?;
                        let v = x.xor(y)?;
                        if let Some(slot) = wires.get_mut(self.inputs + k) {
                            *slot = Some(v);
                        }
                    }
                }
            }
            release(&mut wires, (level, 0));
            let ands: Vec<(usize, usize, usize)> = self
                .gates
                .iter()
                .enumerate()
                .filter_map(|(k, g)| match *g {
                    Gate::And(a, b) if order(k) == (level, 1) => Some((k, a, b)),
                    _ => None,
                })
                .collect();
            if ands.is_empty() {
                continue;
            }
            let products = {
                let mut pairs = Vec::with_capacity(ands.len());
                for &(_, a, b) in &ands {
                    let x = wires.get(a).and_then(Option::as_ref).ok_or_else(missing)?;
                    let y = wires.get(b).and_then(Option::as_ref).ok_or_else(missing)?;
                    pairs.push((x, y));
                }
                party.replicated_and(&pairs)?
            };
            for ((k, _, _), v) in ands.into_iter().zip(products) {
                if let Some(slot) = wires.get_mut(self.inputs + k) {
                    *slot = Some(v);
                }
            }
            release(&mut wires, (level, 1));
        }
        self.outputs
            .iter()
            .map(|&o| wires.get_mut(o).and_then(Option::take).ok_or_else(missing))
            .collect()
    }
}
