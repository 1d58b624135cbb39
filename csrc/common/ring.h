/* SPDX-License-Identifier: MIT
 *
 * The Wintun ring: layout, constants and the few inline operations both halves use on the hot
 * path. Bit-exact with Wintun's driver/wintun.c and api/session.c (docs/protocol.md §1):
 *
 *   TUN_RING    { u32 Head; u32 Tail; i32 Alertable; u8 Data[Capacity + 0x10000]; }  (12-byte header)
 *   TUN_PACKET  { u32 Size; u8 Data[Size]; }   next packet at wrap(offset + align4(4 + Size))
 *
 * Head is written by the consumer, Tail by the producer, both byte offsets into Data modulo the
 * capacity. Free space is wrap(Head - Tail - 4): one 4-byte unit stays free so that Head == Tail
 * means empty. A packet is never split: one that starts near the end runs on into the 0x10000
 * trailing bytes. Head == 0xFFFFFFFF means the consumer gave up on the ring; Tail == 0xFFFFFFFF
 * means the producer closed it.
 */
#ifndef WINTUN_RING_H
#define WINTUN_RING_H

#include <stddef.h>
#include <stdint.h>

#include "atomic.h"

#ifdef _WIN32
#include <winsock2.h>
#include <windows.h>
#endif

#include "wintun_device.h" /* the layouts and their constants: public, for raw clients */

/* Set in a packet's Size while it is handed out (client side only, never seen by the driver). */
#define TUN_PACKET_RELEASE 0x80000000u

static inline int tun_ring_capacity_valid(uint64_t Capacity)
{
    return Capacity >= TUN_MIN_RING_CAPACITY && Capacity <= TUN_MAX_RING_CAPACITY &&
           (Capacity & (Capacity - 1)) == 0;
}

/* Bytes a producer may still write. */
static inline uint32_t tun_ring_free(uint32_t Head, uint32_t Tail, uint32_t Capacity)
{
    return TUN_RING_WRAP(Head - Tail - TUN_ALIGNMENT, Capacity);
}

/* Bytes between the consumer and the producer. */
static inline uint32_t tun_ring_used(uint32_t Head, uint32_t Tail, uint32_t Capacity)
{
    return TUN_RING_WRAP(Tail - Head, Capacity);
}

/* Ring space one packet of Size payload bytes takes. */
static inline uint32_t tun_packet_space(uint32_t Size)
{
    return TUN_ALIGN(sizeof(TUN_PACKET) + Size);
}

static inline TUN_PACKET *tun_ring_packet(TUN_RING *Ring, uint32_t Offset)
{
    return (TUN_PACKET *)(Ring->Data + Offset);
}

/* The well-formed packets in [From, To) of a ring: what one side left for the other when a
 * session ended (with OnlySent, those without TUN_PACKET_RELEASE: sent, not just allocated).
 * Stops at framing that is not (the other side may have scribbled over the ring); reads nothing
 * outside it. Not for the hot path. */
static inline uint64_t tun_ring_count_packets(const TUN_RING *Ring, uint32_t Capacity, uint32_t From, uint32_t To,
                                              int OnlySent)
{
    uint64_t Count = 0;
    if (From >= Capacity || To >= Capacity)
        return 0;
    while (From != To) {
        uint32_t Content = tun_ring_used(From, To, Capacity), Header = ((const TUN_PACKET *)(Ring->Data + From))->Size;
        uint32_t Size = Header & ~TUN_PACKET_RELEASE;
        if (Content < sizeof(TUN_PACKET) || Size > TUN_MAX_IP_PACKET_SIZE || tun_packet_space(Size) > Content)
            break;
        From = TUN_RING_WRAP(From + tun_packet_space(Size), Capacity);
        Count += !OnlySent || !(Header & TUN_PACKET_RELEASE);
    }
    return Count;
}

/* Memory ordering. Wintun uses acquire loads and release stores of Head and Tail, and a full
 * barrier between "store Tail, load Alertable" (producer) and "store Alertable, load Tail"
 * (consumer): the Dekker handshake that Wintun releases up to 0.14.1 got wrong (docs/protocol.md §5.1).
 * The seq_cst pair below gives that guarantee by itself (one total order over both). */
static inline uint32_t tun_load_acquire(const volatile uint32_t *p)
{
    return wt_atomic_load(p, WT_ACQUIRE);
}
static inline void tun_store_release(volatile uint32_t *p, uint32_t v)
{
    wt_atomic_store(p, v, WT_RELEASE);
}
static inline void tun_store_seq(volatile void *p, uint32_t v)
{
    wt_atomic_store((volatile uint32_t *)p, v, WT_SEQ_CST);
}
static inline uint32_t tun_load_seq(const volatile void *p)
{
    return wt_atomic_load((const volatile uint32_t *)p, WT_SEQ_CST);
}
static inline uint32_t tun_exchange(volatile void *p, uint32_t v)
{
    return wt_atomic_exchange((volatile uint32_t *)p, v, WT_SEQ_CST);
}

#endif
