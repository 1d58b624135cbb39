/* SPDX-License-Identifier: MIT
 *
 * The driver as producer of the Send ring: packets the OS sends out of the adapter, for the
 * client's WintunReceivePacket (Wintun's TunSendNetBufferLists, docs/protocol.md §1.5).
 *
 * Space is reserved under the ring's lock, and the consumer's Head is read under that same lock
 * (the overrun Wintun fixed only in 2026, docs/protocol.md §5.2). Head is re-read only when the cached value does
 * not leave room: a cached Head is never ahead of the real one, so the free space it gives is
 * never too large. The client's Head is untrusted; a Head >= capacity closes delivery. Offsets
 * written are always our own private Tail, so a hostile Head cannot make us write outside the
 * ring. The read event is signalled once per arming: when the client found the ring empty, or
 * emptied it (session.c arms it then, so that a second waiter is woken by the next packet even
 * though the first one took the last), the next publication signals and disarms it. Tail store
 * and Alertable load are ordered by a full fence, so no wake-up is lost; one system call per
 * arming, not per publication.
 */
#include "driver.h"

#include <string.h>

uint32_t wt_driver_indicate(wt_driver *driver, const wt_packet *packets, uint32_t count, enum wt_indicate_mode mode,
                            DWORD *error)
{
    uint32_t oversize = 0, valid = 0;
    uint64_t need = 0;
    for (uint32_t i = 0; i < count; ++i) {
        if (packets[i].size > TUN_MAX_IP_PACKET_SIZE) {
            ++oversize;
            continue;
        }
        need += tun_packet_space(packets[i].size);
        ++valid;
    }
    if (oversize)
        WT_STAT_ADD(driver, send_errors, oversize);
    *error = ERROR_SUCCESS;
    if (!valid)
        return count;

    struct wt_send_side *send = &driver->send;
    wt_mutex_lock(&send->lock);
    if (!wt_atomic_load(&driver->accepting, WT_RELAXED)) {
        wt_mutex_unlock(&send->lock);
        WT_STAT_ADD(driver, send_drops, valid);
        *error = ERROR_NOT_READY;
        return count;
    }
    TUN_RING *ring = send->ring;
    const uint32_t capacity = send->capacity;
    uint32_t tail = send->tail;
    uint32_t free = tun_ring_free(send->head_cache, tail, capacity);
    if (free < need) {
        uint32_t head = tun_load_acquire(&ring->Head);
        if (head >= capacity) {
            wt_mutex_unlock(&send->lock);
            WT_STAT_ADD(driver, send_drops, valid);
            *error = ERROR_HANDLE_EOF;
            return count;
        }
        send->head_cache = head;
        free = tun_ring_free(head, tail, capacity);
    }

    uint32_t taken = count, delivered = 0;
    uint64_t bytes = 0;
    if (free < need && mode == WT_INDICATE_ALL_OR_NOTHING) {
        wt_mutex_unlock(&send->lock);
        WT_STAT_ADD(driver, send_drops, valid);
        *error = ERROR_BUFFER_OVERFLOW;
        return count;
    }
    for (uint32_t i = 0; i < count; ++i) {
        uint32_t size = packets[i].size;
        if (size > TUN_MAX_IP_PACKET_SIZE)
            continue;
        uint32_t space = tun_packet_space(size);
        if (space > free) {
            taken = i;
            *error = ERROR_BUFFER_OVERFLOW;
            break;
        }
        TUN_PACKET *packet = tun_ring_packet(ring, tail);
        packet->Size = size;
        memcpy(packet->Data, packets[i].data, size);
        tail = TUN_RING_WRAP(tail + space, capacity);
        free -= space;
        bytes += size;
        ++delivered;
    }
    int wake = 0;
    if (delivered) {
        WT_STAT_COUNT(driver, send, delivered, bytes);
        send->tail = tail;
        tun_store_seq(&ring->Tail, tail);
        wake = tun_load_seq(&ring->Alertable) && tun_exchange(&ring->Alertable, 0);
    }
    HANDLE event = send->tail_moved;
    if (wake)
        SetEvent(event); /* under the lock: teardown cannot close the event meanwhile */
    wt_mutex_unlock(&send->lock);
    return taken;
}

/* ---- the zero-copy path of a single-producer port (driver.h) ---- */

uint8_t *wt_send_slot(wt_driver *driver, uint32_t max_size, DWORD *error)
{
    struct wt_send_side *send = &driver->send;
    if (!wt_atomic_load(&driver->accepting, WT_ACQUIRE)) {
        *error = ERROR_NOT_READY;
        return NULL;
    }
    const uint32_t capacity = send->capacity, need = tun_packet_space(max_size);
    if (tun_ring_free(send->head_cache, send->tail, capacity) < need) {
        uint32_t head = tun_load_acquire(&send->ring->Head);
        if (head >= capacity) {
            *error = ERROR_HANDLE_EOF;
            return NULL;
        }
        send->head_cache = head;
        if (tun_ring_free(head, send->tail, capacity) < need) {
            *error = ERROR_BUFFER_OVERFLOW;
            return NULL;
        }
    }
    return tun_ring_packet(send->ring, send->tail)->Data;
}

void wt_send_commit(wt_driver *driver, uint32_t size)
{
    struct wt_send_side *send = &driver->send;
    tun_ring_packet(send->ring, send->tail)->Size = size;
    send->tail = TUN_RING_WRAP(send->tail + tun_packet_space(size), send->capacity);
    send->pending_packets++;
    send->pending_bytes += size;
}

void wt_send_publish(wt_driver *driver)
{
    struct wt_send_side *send = &driver->send;
    if (!send->pending_packets)
        return;
    wt_mutex_lock(&send->lock); /* against close_send_ring: Tail is never moved off 0xFFFFFFFF */
    if (wt_atomic_load(&driver->accepting, WT_RELAXED)) {
        WT_STAT_COUNT(driver, send, send->pending_packets, send->pending_bytes);
        tun_store_seq(&send->ring->Tail, send->tail);
        if (tun_load_seq(&send->ring->Alertable) && tun_exchange(&send->ring->Alertable, 0))
            SetEvent(send->tail_moved);
    }
    wt_mutex_unlock(&send->lock);
    send->pending_packets = 0;
    send->pending_bytes = 0;
}
