"""The MPyC side of `compare-mpyc.sh`: one operation, timed like `mpc-bench`.

Run one process per party, e.g. for 3 parties on 127.0.0.1:

    python mpyc_ops.py -M3 -I0 -B 20000 --op sum --size 1000000 &
    python mpyc_ops.py -M3 -I1 -B 20000 --op sum --size 1000000 &
    python mpyc_ops.py -M3 -I2 -B 20000 --op sum --size 1000000

Every party prints one JSON line {"party","op","n","seconds","correct"}:
seconds from a barrier after start-up and local input generation to the
party's result (sharing the inputs, the operation and opening the result,
as in `mpc-bench`); the script takes the slowest party.

- sum: every party inputs a length-n vector of random 32-bit unsigned
  integers (SecInt(64) array); everyone learns the element-wise sum.
- mul: parties 0 and 1 input length-n vectors of random 31-bit signed
  integers; the element-wise product is opened to all.
- lt: as mul, with the comparison x < y (SecInt(32)); the bits are opened.
- psi: parties 0 (receiver) and 1 (sender) hold n random 16-byte items
  each, a tenth in common; party 0 learns which of its items the sender
  holds; party 2 sits out. MPyC has no PSI of its own: this runs the same
  Diffie-Hellman protocol as Symbolon's `psi::PsiMode::Which` (additive
  blinding X_a = H(a) + rho_a*G; the sender returns B = beta*G, its
  beta*H(b) shuffled, and beta*X_a in order) with MPyC's group arithmetic
  (mpyc.fingroups Ed25519, extended coordinates, gmpy2), hashing to the
  curve by try-and-increment and clearing the cofactor, messages through
  mpc.transfer.
"""

import argparse
import hashlib
import json
import random
import secrets
import sys
import time

import numpy as np
from mpyc.runtime import mpc
from mpyc import fingroups


def int_inputs(seed, op, i, n):
    rng = np.random.default_rng([seed, i])
    if op == 'sum':
        return rng.integers(0, 2**32, size=n, dtype=np.int64)
    return rng.integers(-2**30, 2**30, size=n, dtype=np.int64)


def psi_items(seed, i, n):
    common = random.Random(f'{seed}-common')
    own = random.Random(f'{seed}-{i}')
    return [(common if k < n // 10 else own).randbytes(16) for k in range(n)]


EC = fingroups.EllipticCurve('Ed25519', 'extended')
DOMAIN = b'symbolon-bench/psi'


def hash_to_point(item):
    """Try-and-increment onto Ed25519, then the cofactor 8 is cleared."""
    gf = EC.field
    ctr = 0
    while True:
        h = hashlib.sha256(DOMAIN + ctr.to_bytes(4, 'little') + item).digest()
        x = gf(int.from_bytes(h, 'little') % gf.modulus)
        y2 = EC.ysquared(x)
        if y2.is_sqr():
            return 8 * EC((x, y2.sqrt()), check=False)
        ctr += 1


def affine(p):
    p = p.normalize()
    return (int(p[0]), int(p[1]))


def point(xy):
    return EC(xy, check=False)


async def send(obj, sender, receiver):
    """obj from sender to receiver (None elsewhere)."""
    got = await mpc.transfer(obj, sender_receivers=[(sender, receiver)])
    return got[0] if got else None


async def run_psi(items, n):
    me = mpc.pid
    order = EC.order
    G = EC.generator
    if me == 0:
        rho = [secrets.randbelow(order) for _ in range(n)]
        X = [affine(hash_to_point(a) + r * G) for a, r in zip(items, rho)]
    else:
        X = None
    X = await send(X, 0, 1)
    if me == 1:
        beta = secrets.randbelow(order)
        B = affine(beta * G)
        mine = [affine(beta * hash_to_point(b)) for b in items]
        random.SystemRandom().shuffle(mine)
        back = [affine(beta * point(x)) for x in X]
        msg = (B, mine, back)
    else:
        msg = None
    msg = await send(msg, 1, 0)
    if me != 0:
        return None
    B, theirs, back = msg
    B = point(B)
    theirs = set(theirs)
    return [k for k in range(n) if affine(point(back[k]) - rho[k] * B) in theirs]


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--op', choices=['sum', 'mul', 'lt', 'psi'], required=True)
    ap.add_argument('--size', type=int, required=True)
    ap.add_argument('--seed', type=int, default=None)
    args, _ = ap.parse_known_args()
    op, n = args.op, args.size
    await mpc.start()
    seed = args.seed
    if seed is None:  # the same seed for all parties
        seed = await mpc.transfer(secrets.randbits(64) if mpc.pid == 0 else None, senders=0)
    me = mpc.pid
    correct = True
    if op == 'psi':
        items = psi_items(seed, me, n) if me < 2 else []
        await mpc.barrier()
        t0 = time.perf_counter()
        out = await run_psi(items, n)
        seconds = time.perf_counter() - t0
        if me == 0:
            correct = out == list(range(n // 10))
    else:
        secint = mpc.SecInt(32 if op == 'lt' else 64)
        m = len(mpc.parties)
        mine = int_inputs(seed, op, me, n)
        senders = list(range(m)) if op == 'sum' else [0, 1]
        local = mine if me in senders else np.zeros(n, dtype=np.int64)
        await mpc.barrier()
        t0 = time.perf_counter()
        xs = mpc.input(secint.array(local), senders=senders)
        if op == 'sum':
            z = xs[0]
            for x in xs[1:]:
                z = z + x
        elif op == 'mul':
            z = xs[0] * xs[1]
        else:
            z = xs[0] < xs[1]
        out = await mpc.output(z)
        seconds = time.perf_counter() - t0
        ins = [int_inputs(seed, op, i, n) for i in senders]
        if op == 'sum':
            want = sum(ins)
        elif op == 'mul':
            want = ins[0] * ins[1]
        else:
            want = (ins[0] < ins[1]).astype(np.int64)
        correct = bool(np.array_equal(np.asarray(out, dtype=object).astype(np.int64), want))
    await mpc.shutdown()
    print(json.dumps({'party': me, 'op': op, 'n': n, 'seconds': seconds, 'correct': correct}))
    sys.stdout.flush()


if __name__ == '__main__':
    mpc.run(main())
