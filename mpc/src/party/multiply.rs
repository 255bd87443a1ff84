//! Multiplication of shared vectors: degree reduction by resharing, products, inner
//! products.

use super::*;

impl<T: Transport> Party<T> {
    /// Degree reduction: turns local degree-2t values into degree-t shares
    /// (2t + 1 parties reshare, every party recombines).
    fn reshare(&mut self, local: Secrets<'_>) -> Result<Vec<Fp>> {
        let dealers = self.mul_dealers.clone();
        let coeffs = self.mul_coeffs.clone();
        let len = local.len();
        let mine = dealers.contains(&self.me).then_some(local);
        self.deal_combine_with(&dealers, mine, len, &coeffs)
    }

    /// [`Party::deal`] fused with a linear combination of the dealt
    /// vectors (Σ coeffs[i] · dealt[i]), without materialising them.
    pub(crate) fn deal_combine(
        &mut self,
        dealers: &[usize],
        mine: Option<&[Fp]>,
        len: usize,
        coeffs: &[Fp],
    ) -> Result<Vec<Fp>> {
        let mine = match mine {
            Some(m) => Some(Secrets::Plain(self.dealer_values(Some(m), len)?)),
            None => None,
        };
        self.deal_combine_with(dealers, mine, len, coeffs)
    }

    /// [`Party::deal_combine`] for secrets given as [`Secrets`]. Each dealer
    /// deals coeffs[i] · its secrets (the coefficient folded into its
    /// dealing), so receivers only add.
    pub(super) fn deal_combine_with(
        &mut self,
        dealers: &[usize],
        mine: Option<Secrets<'_>>,
        len: usize,
        coeffs: &[Fp],
    ) -> Result<Vec<Fp>> {
        let me = self.me;
        let round = self.chan.round();
        self.check_dealers(dealers)?;
        // Our own dealing is written first, piece by piece, into reserved
        // room (no zeroing pass); a party that does not deal starts at zero.
        let mut acc: Vec<Fp> = Vec::with_capacity(len);
        let mut out = Vec::new();
        if let Some(cm) = dealers
            .iter()
            .position(|&d| d == me)
            .and_then(|i| coeffs.get(i))
            .copied()
        {
            let secrets = mine.ok_or_else(|| config_err("a dealer must supply its values"))?;
            if secrets.len() != len {
                return Err(MpcError::LengthMismatch {
                    left: secrets.len(),
                    right: len,
                });
            }
            out = self.deal_out(round, secrets, cm, |_, piece| acc.extend_from_slice(piece))?;
        }
        // Pieces arrive in order and cover 0..len; this only guards the length.
        acc.resize(len, Fp::ZERO);
        let from = self.senders(dealers);
        // Send first; add the dealings expanded from pair keys (they need no
        // message) while the peers' messages are on their way; then wait.
        self.chan.send_ahead(out)?;
        for &d in dealers {
            if d != me && !from.contains(&d) {
                self.in_key(d)?
                    .stream(round)
                    .for_each_chunk(len, |at, piece| {
                        let dst = acc.get_mut(at..).unwrap_or(&mut []);
                        axpy(dst, Fp::ONE, piece);
                    });
            }
        }
        for m in &self.chan.exchange(Vec::new(), &from)? {
            accumulate(m.payload(), len, m.peer, &mut acc)?;
        }
        Ok(acc)
    }

    /// Element-wise product of two shared vectors (one round).
    pub fn mul(&mut self, a: &SecretVec, b: &SecretVec) -> Result<SecretVec> {
        self.mul_slices(a.shares(), b.shares())
            .map(SecretVec::from_shares)
    }

    /// Element-wise product of two share slices (one round), for protocols
    /// that keep their shares in plain buffers. The local products are
    /// formed piece by piece as they are dealt.
    pub(crate) fn mul_slices(&mut self, a: &[Fp], b: &[Fp]) -> Result<Vec<Fp>> {
        if a.len() != b.len() {
            return Err(MpcError::LengthMismatch {
                left: a.len(),
                right: b.len(),
            });
        }
        self.reshare(Secrets::Product(a, b))
    }

    /// Degree reduction of `len` local products (degree-2t values) that
    /// `local(at, out)` computes piece by piece, as they are dealt (one
    /// round): for protocols whose factors are not stored contiguously.
    pub(crate) fn mul_computed(
        &mut self,
        len: usize,
        local: &dyn Fn(usize, &mut [Fp]),
    ) -> Result<Vec<Fp>> {
        self.reshare(Secrets::Computed(len, local))
    }

    /// Inner products Σ aᵢ·bᵢ of several pairs in one round, whatever their
    /// lengths: the products are summed locally before degree reduction, so
    /// each inner product costs what one multiplication costs.
    pub fn dot_many(&mut self, pairs: &[(&SecretVec, &SecretVec)]) -> Result<SecretVec> {
        let mut local = Zeroizing::new(Vec::with_capacity(pairs.len()));
        for (a, b) in pairs {
            if a.len() != b.len() {
                return Err(MpcError::LengthMismatch {
                    left: a.len(),
                    right: b.len(),
                });
            }
            local.push(
                a.shares()
                    .iter()
                    .zip(b.shares())
                    .map(|(&x, &y)| x * y)
                    .sum(),
            );
        }
        self.reshare(Secrets::Plain(&local))
            .map(SecretVec::from_shares)
    }

    /// The inner product of two shared vectors.
    pub fn dot(&mut self, a: &SecretVec, b: &SecretVec) -> Result<SecretVec> {
        self.dot_many(&[(a, b)])
    }
}
