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
#else
#include "win32compat.h"
#endif

#define TUN_ALIGNMENT 4u
#define TUN_ALIGN(Size) (((uint32_t)(Size) + (TUN_ALIGNMENT - 1)) & ~(TUN_ALIGNMENT - 1))
#define TUN_MAX_IP_PACKET_SIZE 0xFFFFu
#define TUN_MAX_PACKET_SIZE TUN_ALIGN(sizeof(uint32_t) + TUN_MAX_IP_PACKET_SIZE) /* 0x10004 */
#define TUN_RING_TRAILING_BYTES (TUN_MAX_PACKET_SIZE - TUN_ALIGNMENT)        /* 0x10000 */
#define TUN_MIN_RING_CAPACITY 0x20000u
#define TUN_MAX_RING_CAPACITY 0x4000000u
#define TUN_PACKET_RELEASE 0x80000000u
#define TUN_RING_CLOSED 0xFFFFFFFFu
#define TUN_RING_WRAP(Value, Capacity) ((uint32_t)(Value) & ((Capacity)-1))
#define TUN_RING_SIZE(Capacity) ((uint32_t)(sizeof(TUN_RING) + (Capacity) + TUN_RING_TRAILING_BYTES))
#define TUN_RING_CAPACITY(Size) ((uint32_t)(Size) - (uint32_t)sizeof(TUN_RING) - TUN_RING_TRAILING_BYTES)

typedef struct _TUN_RING
{
    volatile uint32_t Head;
    volatile uint32_t Tail;
    volatile int32_t Alertable;
    uint8_t Data[];
} TUN_RING;

typedef struct _TUN_PACKET
{
    uint32_t Size;
    uint8_t Data[];
} TUN_PACKET;

/* What a client hands the driver half when it starts a session (Wintun's IOCTL input). */
typedef struct _TUN_REGISTER_RINGS
{
    struct
    {
        uint32_t RingSize;
        TUN_RING *Ring;
        HANDLE TailMoved;
    } Send, Receive;
} TUN_REGISTER_RINGS;

_Static_assert(sizeof(TUN_RING) == 12, "TUN_RING header is 12 bytes");
_Static_assert(offsetof(TUN_RING, Data) == 12, "ring data starts at offset 12");
_Static_assert(sizeof(TUN_PACKET) == 4, "TUN_PACKET header is 4 bytes");
_Static_assert(TUN_RING_TRAILING_BYTES == 0x10000, "trailing slack is 0x10000 bytes");
_Static_assert(sizeof(void *) != 8 || sizeof(TUN_REGISTER_RINGS) == 48, "TUN_REGISTER_RINGS is 48 bytes on 64-bit");

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
