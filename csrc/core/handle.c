/* SPDX-License-Identifier: MIT
 *
 * The handle table (handle.h).
 *
 * A slot's state is one 64-bit word, changed only by compare-and-swap:
 *   bits 63..32  generation (bumped when the slot is retired)
 *   bit  31      live: acquire may take references
 *   bits 30..29  kind
 *   bits 28..0   references held by calls in flight
 * Slots live in chunks that are allocated on demand and never freed.
 */
#include "handle.h"
#include "logger.h"

#include <stdlib.h>

#define INDEX_BITS 16
#define MAX_SLOTS (1u << INDEX_BITS)
#define CHUNK_BITS 8
#define CHUNK_SLOTS (1u << CHUNK_BITS)
#define KIND_BITS 2
#define HANDLE_GEN_BITS (sizeof(uintptr_t) * 8 - INDEX_BITS - KIND_BITS > 32 ? 32 : sizeof(uintptr_t) * 8 - INDEX_BITS - KIND_BITS)
#define HANDLE_GEN_MASK ((uint32_t)((1ull << HANDLE_GEN_BITS) - 1))

#define WORD_LIVE (1ull << 31)
#define WORD_KIND_SHIFT 29
#define WORD_REFS_MASK ((1ull << WORD_KIND_SHIFT) - 1)
#define WORD_GEN(w) ((uint32_t)((w) >> 32))
#define WORD_KIND(w) ((unsigned)(((w) >> WORD_KIND_SHIFT) & 3))

/* One cache line each: threads working on different handles never share a line. */
struct slot
{
    _Alignas(64) uint64_t word;
    void *object; /* written before the slot goes live, read only with a reference */
};

_Static_assert(sizeof(struct slot) == 64, "a slot is one cache line");

static struct slot *chunks[MAX_SLOTS / CHUNK_SLOTS];
static wt_mutex table_lock = WT_MUTEX_INIT; /* chunks' allocation and the free queue */
static uint32_t slots_made;                  /* slots [0, slots_made) exist */
/* Free slots, oldest first: a ring of indexes [free_head, free_tail). */
static uint16_t free_queue[MAX_SLOTS];
static uint32_t free_head, free_tail;

static struct slot *slot_at(uint32_t index)
{
    struct slot *chunk = wt_atomic_load(&chunks[index >> CHUNK_BITS], WT_ACQUIRE);
    return chunk ? &chunk[index & (CHUNK_SLOTS - 1)] : NULL;
}

static uintptr_t encode(uint32_t index, uint32_t gen, enum wt_handle_kind kind)
{
    return ((uintptr_t)(gen & HANDLE_GEN_MASK) << (INDEX_BITS + KIND_BITS)) | ((uintptr_t)index << KIND_BITS) |
           (uintptr_t)kind;
}

static uint32_t handle_index(uintptr_t handle) { return (uint32_t)(handle >> KIND_BITS) & (MAX_SLOTS - 1); }
static uint32_t handle_gen(uintptr_t handle) { return (uint32_t)(handle >> (INDEX_BITS + KIND_BITS)) & HANDLE_GEN_MASK; }

/* The slot a handle of that kind names, if the handle's bits can name one at all. */
static struct slot *slot_of(uintptr_t handle, enum wt_handle_kind kind)
{
    if ((handle & ((1u << KIND_BITS) - 1)) != (uintptr_t)kind)
        return NULL;
    if (sizeof(uintptr_t) * 8 > INDEX_BITS + KIND_BITS + HANDLE_GEN_BITS &&
        handle >> (INDEX_BITS + KIND_BITS + HANDLE_GEN_BITS))
        return NULL; /* bits no handle has */
    return slot_at(handle_index(handle));
}

static int word_matches(uint64_t word, uintptr_t handle, enum wt_handle_kind kind)
{
    return (word & WORD_LIVE) && WORD_KIND(word) == (unsigned)kind && (WORD_GEN(word) & HANDLE_GEN_MASK) == handle_gen(handle);
}

/* Under table_lock: a free slot's index, making a new one if none is free. */
static int take_free_slot(uint32_t *index)
{
    if (free_head != free_tail) {
        *index = free_queue[free_head++ % MAX_SLOTS];
        return 1;
    }
    if (slots_made == MAX_SLOTS)
        return 0;
    uint32_t c = slots_made >> CHUNK_BITS;
    if (!chunks[c]) {
        /* Heap memory (leak checkers see what the slots point to), aligned to the cache line by
         * hand (aligned_alloc is not everywhere), never freed. */
        uint8_t *raw = calloc(1, CHUNK_SLOTS * sizeof(struct slot) + 63);
        if (!raw)
            return 0;
        struct slot *chunk = (struct slot *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
        for (uint32_t i = 0; i < CHUNK_SLOTS; ++i)
            chunk[i].word = 1ull << 32; /* generation 1 */
        wt_atomic_store(&chunks[c], chunk, WT_RELEASE);
    }
    *index = slots_made++;
    return 1;
}

uintptr_t wt_handle_new(enum wt_handle_kind kind, void *object)
{
    uint32_t index;
    wt_mutex_lock(&table_lock);
    int found = take_free_slot(&index);
    wt_mutex_unlock(&table_lock);
    if (!found) {
        SetLastError(ERROR_NOT_ENOUGH_MEMORY);
        return 0;
    }
    struct slot *slot = slot_at(index);
    slot->object = object;
    /* Bits only added: the passing references of stale callers stay counted. */
    uint64_t word = wt_atomic_fetch_or(&slot->word, WORD_LIVE | ((uint64_t)kind << WORD_KIND_SHIFT), WT_RELEASE);
    return encode(index, WORD_GEN(word), kind);
}

void *wt_handle_enter(uintptr_t handle, enum wt_handle_kind kind)
{
    struct slot *slot = slot_of(handle, kind);
    if (slot) {
        /* Optimistic: one atomic add, undone when the slot is not this live handle's. A stale
         * caller's passing reference only delays a retire for the few instructions it lasts. */
        uint64_t word = wt_atomic_fetch_add(&slot->word, 1, WT_ACQUIRE);
        if (word_matches(word, handle, kind))
            return slot->object;
        wt_atomic_sub_fetch(&slot->word, 1, WT_RELEASE);
    }
    SetLastError(ERROR_INVALID_HANDLE);
    return NULL;
}

void wt_handle_leave(uintptr_t handle)
{
    struct slot *slot = slot_at(handle_index(handle));
    wt_atomic_sub_fetch(&slot->word, 1, WT_RELEASE);
}

void *wt_handle_acquire(uintptr_t handle, enum wt_handle_kind kind)
{
    void *object = wt_handle_enter(handle, kind);
    if (object)
        wt_log_hold(); /* the call's log lines wait until it has left (logger.h) */
    return object;
}

void wt_handle_release(uintptr_t handle)
{
    wt_handle_leave(handle);
    wt_log_unhold();
}

void *wt_handle_retire(uintptr_t handle, enum wt_handle_kind kind)
{
    struct slot *slot = slot_of(handle, kind);
    if (!slot) {
        SetLastError(ERROR_INVALID_HANDLE);
        return NULL;
    }
    uint64_t word = wt_atomic_load(&slot->word, WT_ACQUIRE);
    do {
        if (!word_matches(word, handle, kind)) {
            SetLastError(ERROR_INVALID_HANDLE);
            return NULL;
        }
    } while (!wt_atomic_compare_exchange(&slot->word, &word, word & ~WORD_LIVE, 1, WT_ACQ_REL, WT_ACQUIRE));
    void *object = slot->object;
    /* Rundown: calls already in have only a few instructions to go, or a syscall at most. */
    for (unsigned spins = 0; wt_atomic_load(&slot->word, WT_ACQUIRE) & WORD_REFS_MASK; ++spins) {
        if (spins < 64)
            wt_yield();
        else
            wt_sleep_us(spins < 1024 ? 50 : 1000);
    }
    /* The next generation, no kind: no reference can be taken any more. Added and masked, never
     * stored, so that a stale caller's passing reference is not lost. */
    wt_atomic_fetch_and(&slot->word, ~(3ull << WORD_KIND_SHIFT), WT_RELAXED);
    wt_atomic_fetch_add(&slot->word, 1ull << 32, WT_RELEASE);
    wt_mutex_lock(&table_lock);
    free_queue[free_tail++ % MAX_SLOTS] = (uint16_t)handle_index(handle);
    wt_mutex_unlock(&table_lock);
    return object;
}

#ifndef _WIN32
/* In a forked child every inherited handle is stale, and every slot free again: the objects are
 * the parent's (left alone, not freed), and the table's lock may have been held by a thread that
 * the child does not have. */
static void handles_after_fork(void)
{
    wt_mutex_init(&table_lock);
    free_head = free_tail = 0;
    for (uint32_t i = 0; i < slots_made; ++i) {
        struct slot *slot = slot_at(i);
        slot->word = (uint64_t)(WORD_GEN(slot->word) + 1) << 32;
        slot->object = NULL;
        free_queue[free_tail++] = (uint16_t)i;
    }
}

__attribute__((constructor)) static void handles_init(void) { pthread_atfork(NULL, NULL, handles_after_fork); }
#endif
