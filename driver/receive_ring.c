/* SPDX-License-Identifier: MIT
 *
 * The driver as consumer of the Receive ring: packets the client injects, handed to the OS
 * (Wintun's TunProcessReceiveData, docs/protocol.md §1.6). One thread per session.
 *
 * - Empty ring: spin while packets keep coming (a budget of up to 0.1 ms that adapts to them,
 *   driver.h), then the Alertable handshake with full fences (store Alertable = 1, re-read Tail,
 *   sleep on TailMoved), the lost-wake-up fix of docs/protocol.md §5.1.
 * - Framing is untrusted: Tail >= capacity, less than 4 bytes of content, Size > 0xFFFF or a
 *   packet longer than the content declare the ring bad: Head = 0xFFFFFFFF, thread ends.
 * - A packet that is not IPv4/IPv6 (version nibble and minimum length) is discarded and counted
 *   (Wintun 0.14), not fatal; a WARN line says so, once a second at most.
 * - Head is published only after the port has taken the packets, so ring space is held while
 *   the OS side is busy (backpressure for lossless ports).
 * - At teardown what the client had sent is still handed to the port, without waiting for it:
 *   what it does not take at once is counted as dropped (ReceiveDrops). Nothing is lost silently.
 */
#include "driver.h"
#include "logger.h"

/* The next spin budget, from how the last wait went: packets within WORTH of each other are
 * worth spinning for (a wake-up costs more), anything slower is not. */
static void adapt_spin(struct wt_receive_side *receive, int slept, uint64_t gap)
{
    const uint32_t budget = receive->spin_ns;
    if (!slept && gap <= WT_RECEIVE_SPIN_WORTH_NS) /* packets keep coming */
        receive->spin_ns = budget < WT_RECEIVE_SPIN_MIN_NS   ? WT_RECEIVE_SPIN_MIN_NS
                           : budget > WT_RECEIVE_SPIN_NS / 2 ? WT_RECEIVE_SPIN_NS
                                                             : budget * 2;
    else
        receive->spin_ns = budget / 2 < WT_RECEIVE_SPIN_MIN_NS ? 0 : budget / 2;
}

/* Waits until Tail moves away from head, or teardown. Returns the new Tail, or head on stop. */
static uint32_t wait_for_tail(wt_driver *driver, TUN_RING *ring, uint32_t head)
{
    const uint64_t start = wt_monotonic_ns();
    uint64_t spin_until = start + driver->receive.spin_ns;
    int slept = 0;
    for (;;) {
        uint32_t tail = tun_load_acquire(&ring->Tail);
        if (tail != head) {
            adapt_spin(&driver->receive, slept, wt_monotonic_ns() - start);
            return tail;
        }
        if (wt_atomic_load(&driver->disconnecting, WT_ACQUIRE))
            return head;
        if (wt_monotonic_ns() < spin_until) {
            wt_yield();
            continue;
        }
        tun_store_seq(&ring->Alertable, 1);
        tail = tun_load_seq(&ring->Tail);
        if (tail != head) {
            tun_store_seq(&ring->Alertable, 0);
            ResetEvent(driver->receive.tail_moved); /* a signal the client may have raced in */
            return tail;
        }
        HANDLE events[2] = { driver->receive.stop, driver->receive.tail_moved };
        WaitForMultipleObjects(2, events, FALSE, INFINITE);
        tun_store_seq(&ring->Alertable, 0);
        slept = 1;
        spin_until = 0; /* woken: the ring has something, or it is teardown */
    }
}

/* Hands packets[0..count) to the port, waiting while it pushes back, and publishes Head as it
 * goes: the space of a packet the port took is freed at once, not at the end of the batch, so a
 * slow peer never pins ring space that was already delivered. ends[i] is the offset just past
 * packets[i]; batch_end (past trailing discards too) is published once all are taken. At teardown
 * (disconnecting) it stops waiting: the packets the port does not take at once are counted as
 * dropped, so every packet passed in is accounted for when it returns. */
static void transmit_all(wt_driver *driver, TUN_RING *ring, const wt_packet *packets, const uint32_t *ends,
                         uint32_t count, uint32_t batch_end)
{
    uint32_t done = 0, idle = 0;
    while (done < count) {
        uint32_t n = driver->ops->transmit(driver->port, packets + done, count - done);
        if (n) {
            done += n;
            idle = 0;
            tun_store_release(&ring->Head, done == count ? batch_end : ends[done - 1]);
            continue;
        }
        if (wt_atomic_load(&driver->disconnecting, WT_ACQUIRE)) {
            WT_STAT_ADD(driver, receive_drops, count - done);
            break;
        }
        /* No event tells us the OS side made room: back off from yielding to 1 ms sleeps. */
        if (++idle < 64)
            wt_yield();
        else
            wt_sleep_us(idle < 256 ? 50 : 1000);
    }
    tun_store_release(&ring->Head, batch_end);
}

uint32_t wt_receive_parse(wt_driver *driver, TUN_RING *ring, uint32_t head, uint32_t tail, wt_packet *packets,
                          uint32_t *ends, uint32_t *count, int *bad)
{
    const uint32_t capacity = driver->receive.capacity;
    uint32_t n = 0, discards = 0, offset = head;
    *bad = 0;
    if (head & (TUN_ALIGNMENT - 1)) { /* only a client's first Head can be: found by fuzz_receive_ring */
        wt_log_error(ERROR_INVALID_DATA, "Receive ring Head 0x%x is not a multiple of %u", head, TUN_ALIGNMENT);
        *bad = 1;
    } else if (tail >= capacity) {
        wt_log_error(ERROR_INVALID_DATA, "Receive ring Tail 0x%x is outside its capacity 0x%x", tail, capacity);
        *bad = 1;
    }
    while (!*bad && offset != tail && n < WT_RECEIVE_BATCH) {
        uint32_t content = tun_ring_used(offset, tail, capacity);
        if (content < sizeof(TUN_PACKET)) {
            wt_log_error(ERROR_INVALID_DATA, "Receive ring has %u bytes at 0x%x, less than a packet header", content, offset);
            *bad = 1;
            break;
        }
        const TUN_PACKET *packet = tun_ring_packet(ring, offset);
        uint32_t size = *(const volatile uint32_t *)&packet->Size; /* read once */
        if (size > TUN_MAX_IP_PACKET_SIZE) {
            wt_log_error(ERROR_INVALID_DATA, "Receive ring packet at 0x%x has size 0x%x > 0xFFFF", offset, size);
            *bad = 1;
            break;
        }
        uint32_t space = tun_packet_space(size);
        if (space > content) {
            wt_log_error(ERROR_INVALID_DATA, "Receive ring packet at 0x%x of size %u runs past Tail", offset, size);
            *bad = 1;
            break;
        }
        offset = TUN_RING_WRAP(offset + space, capacity);
        const uint32_t skip = driver->vnet_hdr_in_rings ? WT_VNET_HDR_LEN : 0;
        if (size < skip || !wt_is_ip_packet(packet->Data + skip, size - skip)) {
            ++discards;
            continue;
        }
        packets[n] = (wt_packet){ .data = packet->Data, .size = size };
        ends[n++] = offset;
    }
    if (discards) {
        WT_STAT_ADD(driver, receive_discards, discards);
        /* Told once a second at most: a peer sending garbage must not flood the log. */
        uint64_t now = wt_monotonic_ns();
        driver->receive.discards_unlogged += discards;
        if (now - driver->receive.discard_logged_ns >= 1000000000ull) {
            wt_log(WINTUN_LOG_WARN, "Discarded %u packets that are not IPv4 or IPv6", driver->receive.discards_unlogged);
            driver->receive.discard_logged_ns = now;
            driver->receive.discards_unlogged = 0;
        }
    }
    if (*bad)
        WT_STAT_ADD(driver, receive_errors, 1);
    *count = n;
    return offset;
}

void wt_receive_thread(void *arg)
{
    wt_driver *driver = arg;
    TUN_RING *ring = driver->receive.ring;
    const uint32_t capacity = driver->receive.capacity;
    wt_packet packets[WT_RECEIVE_BATCH];
    uint32_t ends[WT_RECEIVE_BATCH], n;
    int bad = 0;

    uint32_t head = tun_load_acquire(&ring->Head);
    if (head >= capacity) {
        wt_log_error(ERROR_INVALID_DATA, "Receive ring Head 0x%x is outside its capacity 0x%x", head, capacity);
        WT_STAT_ADD(driver, receive_errors, 1);
        head = TUN_RING_CLOSED;
        goto close_ring;
    }

    while (!bad && !wt_atomic_load(&driver->disconnecting, WT_ACQUIRE)) {
        uint32_t tail = wait_for_tail(driver, ring, head);
        if (tail == head)
            continue; /* teardown */
        uint32_t next = wt_receive_parse(driver, ring, head, tail, packets, ends, &n, &bad);
        transmit_all(driver, ring, packets, ends, n, next);
        head = next;
    }
    /* Teardown: what the client published before its session ended still goes to the port. */
    for (uint32_t tail = tun_load_acquire(&ring->Tail); !bad && head != tail;) {
        uint32_t next = wt_receive_parse(driver, ring, head, tail, packets, ends, &n, &bad);
        transmit_all(driver, ring, packets, ends, n, next);
        head = next;
    }
close_ring:
    driver->receive.final_head = bad ? TUN_RING_CLOSED : head;
    tun_store_release(&ring->Head, TUN_RING_CLOSED);
}
