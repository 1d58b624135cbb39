/* SPDX-License-Identifier: MIT
 *
 * The one place the library's atomics come from: GCC/Clang's __atomic builtins (gcc, clang,
 * mingw-w64, clang-cl), named once here so that a port to another compiler changes this file
 * only. Every use names its memory order.
 */
#ifndef WINTUN_ATOMIC_H
#define WINTUN_ATOMIC_H

#define WT_RELAXED __ATOMIC_RELAXED
#define WT_ACQUIRE __ATOMIC_ACQUIRE
#define WT_RELEASE __ATOMIC_RELEASE
#define WT_ACQ_REL __ATOMIC_ACQ_REL
#define WT_SEQ_CST __ATOMIC_SEQ_CST

#define wt_atomic_load(p, order) __atomic_load_n((p), (order))
#define wt_atomic_store(p, v, order) __atomic_store_n((p), (v), (order))
#define wt_atomic_exchange(p, v, order) __atomic_exchange_n((p), (v), (order))
#define wt_atomic_add_fetch(p, v, order) __atomic_add_fetch((p), (v), (order))
#define wt_atomic_sub_fetch(p, v, order) __atomic_sub_fetch((p), (v), (order))
#define wt_atomic_fetch_add(p, v, order) __atomic_fetch_add((p), (v), (order))
#define wt_atomic_fetch_and(p, v, order) __atomic_fetch_and((p), (v), (order))
#define wt_atomic_fetch_or(p, v, order) __atomic_fetch_or((p), (v), (order))
/* Strong unless weak is nonzero; *expected gets the current value on failure. */
#define wt_atomic_compare_exchange(p, expected, desired, weak, success, failure)                  \
    __atomic_compare_exchange_n((p), (expected), (desired), (weak), (success), (failure))
#define wt_atomic_fence(order) __atomic_thread_fence(order)

#endif
