//! A small process-wide pool of message buffers.
//!
//! A fresh buffer of a few megabytes costs more to touch than to fill: the
//! kernel maps and zeroes every page on first use (about half of the CPU
//! time of a large multiplication was spent there). Buffers of messages
//! that were sent (by [`crate::TcpTransport`]) or received and read (an
//! [`crate::channel::Incoming`] going out of scope) come back here, zeroed,
//! and the next message of about the same size reuses one.
//!
//! Bounded: at most [`MAX_BUFFERS`] buffers and [`MAX_BYTES`] bytes are
//! kept, and only buffers of at least [`MIN_BYTES`] (small ones are cheap
//! for the allocator anyway). Buffers are zeroed when they are returned, so
//! the pool holds no message contents.

use std::sync::atomic::{compiler_fence, Ordering};
use std::sync::Mutex;

/// Most buffers kept.
pub const MAX_BUFFERS: usize = 8;
/// Most bytes (of capacity) kept in all.
pub const MAX_BYTES: usize = 256 << 20;
/// Smallest capacity worth keeping.
pub const MIN_BYTES: usize = 64 << 10;

struct Pool {
    buffers: Vec<Vec<u8>>,
    bytes: usize,
}

static POOL: Mutex<Pool> = Mutex::new(Pool {
    buffers: Vec::new(),
    bytes: 0,
});

/// An empty buffer with room for at least `capacity` bytes: a pooled one
/// when one is large enough and not more than twice as large, else a new one.
pub fn take(capacity: usize) -> Vec<u8> {
    if capacity >= MIN_BYTES {
        if let Ok(mut pool) = POOL.lock() {
            let fit = pool
                .buffers
                .iter()
                .enumerate()
                .filter(|(_, b)| b.capacity() >= capacity && b.capacity() / 2 <= capacity)
                .min_by_key(|(_, b)| b.capacity())
                .map(|(i, _)| i);
            if let Some(i) = fit {
                let buf = pool.buffers.swap_remove(i);
                pool.bytes -= buf.capacity();
                return buf;
            }
        }
    }
    Vec::with_capacity(capacity)
}

/// Returns a buffer to the pool (zeroed first), or drops it when it is
/// small or the pool is full.
pub fn give(mut buf: Vec<u8>) {
    let cap = buf.capacity();
    if !(MIN_BYTES..=MAX_BYTES).contains(&cap) {
        return;
    }
    // Zero what was written: every pooled buffer was zeroed up to its
    // length when it came back, so the rest of the capacity holds nothing.
    // (A plain fill, not `zeroize`'s byte-by-byte volatile writes, which
    // would cost more than the page faults saved; the buffer stays
    // reachable from the pool, so the writes cannot be elided.)
    buf.fill(0);
    compiler_fence(Ordering::SeqCst);
    buf.clear();
    if let Ok(mut pool) = POOL.lock() {
        if pool.buffers.len() < MAX_BUFFERS && pool.bytes + cap <= MAX_BYTES {
            pool.bytes += cap;
            pool.buffers.push(buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_empty_are_reused_and_the_pool_is_bounded() {
        let mut b = take(MIN_BYTES * 3);
        b.extend(std::iter::repeat_n(7u8, MIN_BYTES * 3));
        let ptr = b.as_ptr();
        give(b);
        // Other tests may use the pool concurrently: look for ours among a few.
        let mut seen = false;
        let mut held = Vec::new();
        for _ in 0..MAX_BUFFERS {
            let c = take(MIN_BYTES * 2);
            assert!(c.is_empty());
            assert!(c.capacity() >= MIN_BYTES * 2);
            seen |= c.as_ptr() == ptr;
            held.push(c);
        }
        assert!(seen, "the returned buffer was not reused");
        // Too small or too large buffers are not kept; a full pool drops.
        give(Vec::with_capacity(16));
        for h in held {
            give(h);
        }
        for _ in 0..2 * MAX_BUFFERS {
            give(Vec::with_capacity(MIN_BYTES));
        }
        let pool = POOL.lock().unwrap();
        assert!(pool.buffers.len() <= MAX_BUFFERS);
        assert!(pool.bytes <= MAX_BYTES);
        assert!(pool.buffers.iter().all(|b| b.capacity() >= MIN_BYTES));
    }
}
