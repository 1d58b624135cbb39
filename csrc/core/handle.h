/* SPDX-License-Identifier: MIT
 *
 * The handle table: what WINTUN_ADAPTER_HANDLE and WINTUN_SESSION_HANDLE really are.
 *
 * A handle is no pointer but a number: the index of a slot in a process-wide table, the slot's
 * generation and the kind of object, packed into a pointer-sized value (never NULL). The slots
 * are never freed, so any handle value can be looked up without touching freed memory:
 *
 *   - a handle whose slot was retired (closed, ended) or reused since, or that names no slot,
 *     is refused with ERROR_INVALID_HANDLE, and never reaches a newer object that took the slot;
 *   - every call holds a reference on its handle for its duration (wt_handle_acquire ..
 *     wt_handle_release): rundown protection. wt_handle_retire refuses new references at once and
 *     returns only when the last call in flight has left, so its caller may then free the object.
 *
 * Generations: 32 bits in the slot, as many as fit in the handle (all 32 on 64-bit builds, 14 on
 * 32-bit ones); slots are reused oldest first (FIFO), so a stale handle can be mistaken for a live
 * one only after its slot has been reused 2^32 (2^14) times, and even then it names a live object
 * of the same kind, never freed memory.
 *
 * After fork() the child sees every inherited handle as stale: the objects belong to the parent
 * (threads, shared eventfds and TUN descriptors), and the child must not act on them.
 *
 * A reference costs one compare-and-swap and one atomic add on the slot: no lock, no syscall.
 */
#ifndef WINTUN_HANDLE_H
#define WINTUN_HANDLE_H

#include "platform.h"

enum wt_handle_kind
{
    WT_HANDLE_ADAPTER = 1,
    WT_HANDLE_SESSION = 2,
    WT_HANDLE_DEVICE = 3, /* a device file (device_file.h): a HANDLE, told from an event by its low bits */
};

/* A new live handle for object, or 0 with ERROR_NOT_ENOUGH_MEMORY (table full or no memory). */
uintptr_t wt_handle_new(enum wt_handle_kind kind, void *object);

/* The object behind a live handle of that kind, with a reference taken; NULL with
 * ERROR_INVALID_HANDLE for anything else. Every success is paired with wt_handle_release. Log
 * lines of the thread are held in between (wt_log_hold). */
void *wt_handle_acquire(uintptr_t handle, enum wt_handle_kind kind);
void wt_handle_release(uintptr_t handle);
/* The same without holding log lines, for the data path (no thread-local access): such a call
 * must log nothing between them (it logs after wt_handle_leave, when it logs at all). */
void *wt_handle_enter(uintptr_t handle, enum wt_handle_kind kind);
void wt_handle_leave(uintptr_t handle);

/* Makes the handle stale for every later acquire and waits until no call holds a reference;
 * returns the object, now the caller's alone to free. NULL with ERROR_INVALID_HANDLE if the
 * handle is not live (one retire wins when two race). The slot becomes free for reuse. The
 * calling thread must not hold a reference on the same handle. */
void *wt_handle_retire(uintptr_t handle, enum wt_handle_kind kind);

#endif
