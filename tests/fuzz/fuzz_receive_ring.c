/* SPDX-License-Identifier: MIT
 *
 * libFuzzer: the driver's Receive-ring consumer (driver/receive_ring.c) over whatever a hostile
 * client leaves in its ring. Input: u32 Head, u32 Tail, then the ring's data (the rest zero).
 * The ring is a heap block of exactly its size, so a read past it is an ASan report.
 */
#include "driver.h"

#include <stdlib.h>
#include <string.h>

#define CAPACITY TUN_MIN_RING_CAPACITY

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8)
        return 0;
    static wt_driver driver;
    static TUN_RING *ring;
    if (!ring)
        ring = malloc(TUN_RING_SIZE(CAPACITY));
    memset(ring, 0, TUN_RING_SIZE(CAPACITY));
    uint32_t head, tail;
    memcpy(&head, data, 4);
    memcpy(&tail, data + 4, 4);
    size_t body = size - 8 < CAPACITY + TUN_RING_TRAILING_BYTES ? size - 8 : CAPACITY + TUN_RING_TRAILING_BYTES;
    memcpy(ring->Data, data + 8, body);
    head &= CAPACITY - 1; /* the driver starts from a Head it checked */
    ring->Tail = tail;
    driver.receive.ring = ring;
    driver.receive.capacity = CAPACITY;
    wt_packet packets[WT_RECEIVE_BATCH];
    uint32_t ends[WT_RECEIVE_BATCH], n;
    int bad = 0;
    for (unsigned rounds = 0; !bad && head != tail && rounds < CAPACITY / 4; ++rounds) {
        uint32_t next = wt_receive_parse(&driver, ring, head, tail, packets, ends, &n, &bad);
        for (uint32_t i = 0; i < n; ++i) {
            /* Every packet handed to a port lies inside the ring, its bytes readable. */
            if (packets[i].data < ring->Data || packets[i].data + packets[i].size > ring->Data + CAPACITY + TUN_RING_TRAILING_BYTES)
                abort();
            volatile uint8_t sink = packets[i].size ? packets[i].data[packets[i].size - 1] : 0;
            (void)sink;
        }
        if (!bad && next == head && n == 0)
            abort(); /* no progress without an error: the thread would spin */
        head = next;
    }
    return 0;
}
