/* SPDX-License-Identifier: MIT
 *
 * The emulated backend: an adapter whose OS side lives in this process (csrc/include/wintun/emulated.h).
 */
#include "emulated.h"
#include "icmp_echo.h"
#include "port.h"
#include "device.h"
#include "emulated_port.h"
#include "logger.h"

#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#include <winsock2.h>
#include <ws2ipdef.h>
#else
#include <sys/socket.h>
#endif

/* Emulated NetLuidIndex values start here, away from the kernel's interface indexes. */
#define EMULATED_LUID_INDEX_BASE 0x100000u
#define EMULATED_DEFAULT_MTU 1500u

struct wt_emulated
{
    struct wt_device *dev;
    wt_mutex lock; /* config and peer; held while handing packets to the peer */
    DWORD mtu;
    BOOL up; /* atomic: a peer's transmit reads it under its own lock */
    WINTUN_ADDRESS addresses[WINTUN_MAX_ADDRESSES];
    DWORD address_count;
    struct wt_emulated *peer;

    wt_mutex capture_lock;
    TUN_RING *capture; /* same layout as a Wintun ring; head and tail kept in it */
    int capture_armed; /* the consumer found the queue empty */
    HANDLE capture_event;
};

static wt_mutex pairs_lock = WT_MUTEX_INIT;
static uint32_t next_luid_index = EMULATED_LUID_INDEX_BASE;

#ifndef _WIN32
/* A forked child has none of the parent's adapters, and no thread of the parent holds its lock. */
static void pairs_after_fork(void) { wt_mutex_init(&pairs_lock); }
__attribute__((constructor)) static void pairs_init(void) { pthread_atfork(NULL, NULL, pairs_after_fork); }
#endif

/* Packets for the capture queue; drops (and counts) what does not fit. Whether it was kept. */
static int capture(struct wt_emulated *em, const wt_packet *packet)
{
    TUN_RING *ring = em->capture;
    const uint32_t capacity = WINTUN_EMULATED_CAPTURE_CAPACITY;
    uint32_t space = tun_packet_space(packet->size);
    wt_mutex_lock(&em->capture_lock);
    if (tun_ring_free(ring->Head, ring->Tail, capacity) < space) {
        wt_mutex_unlock(&em->capture_lock);
        WT_STAT_ADD(&em->dev->driver, receive_drops, 1);
        return 0;
    }
    TUN_PACKET *p = tun_ring_packet(ring, ring->Tail);
    p->Size = packet->size;
    memcpy(p->Data, packet->data, packet->size);
    ring->Tail = TUN_RING_WRAP(ring->Tail + space, capacity);
    int wake = em->capture_armed;
    em->capture_armed = 0;
    if (wake)
        SetEvent(em->capture_event);
    wt_mutex_unlock(&em->capture_lock);
    return 1;
}

/* The OS side takes the packet: an echo request to one of its addresses is answered (the reply
 * goes back out of the adapter), anything else is captured. Whether it was taken, not dropped. */
static int answer_or_capture(struct wt_emulated *em, const wt_packet *packet)
{
    uint8_t reply[TUN_MAX_IP_PACKET_SIZE];
    wt_mutex_lock(&em->lock);
    uint32_t n = wt_icmp_echo_reply(packet->data, packet->size, em->addresses, em->address_count, reply);
    wt_mutex_unlock(&em->lock);
    if (!n)
        return capture(em, packet);
    DWORD err;
    wt_packet out = { .data = reply, .size = n };
    wt_driver_indicate(&em->dev->driver, &out, 1, WT_INDICATE_ALL_OR_NOTHING, &err);
    return 1;
}

static void count_delivered(struct wt_emulated *em, const wt_packet *packets, uint32_t count)
{
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < count; ++i)
        bytes += packets[i].size;
    if (count)
        WT_STAT_COUNT(&em->dev->driver, receive, count, bytes);
}

static uint32_t emulated_transmit(void *port, const wt_packet *packets, uint32_t count)
{
    struct wt_emulated *em = port;
    wt_mutex_lock(&em->lock);
    struct wt_emulated *peer = em->peer;
    if (!wt_atomic_load(&em->up, WT_ACQUIRE) || (peer && !wt_atomic_load(&peer->up, WT_ACQUIRE))) {
        wt_mutex_unlock(&em->lock);
        WT_STAT_ADD(&em->dev->driver, receive_drops, count);
        return count;
    }
    if (peer) {
        DWORD err;
        uint32_t taken = wt_driver_indicate(&peer->dev->driver, packets, count, WT_INDICATE_PREFIX, &err);
        wt_mutex_unlock(&em->lock);
        if (err == ERROR_NOT_READY || err == ERROR_HANDLE_EOF) {
            /* The peer has no working session: like a cable to an unplugged NIC, nothing was
             * delivered (the peer counts its own drop too). */
            WT_STAT_ADD(&em->dev->driver, receive_drops, count);
            return count;
        }
        count_delivered(em, packets, taken);
        return taken;
    }
    wt_mutex_unlock(&em->lock);
    uint32_t start = 0;
    for (uint32_t i = 0; i < count; ++i) {
        if (answer_or_capture(em, &packets[i]))
            continue;
        count_delivered(em, packets + start, i - start); /* the dropped one is counted already */
        start = i + 1;
    }
    count_delivered(em, packets + start, count - start);
    return count;
}

static const wt_port_ops emulated_port_ops = { .transmit = emulated_transmit };

static DWORD emulated_create(struct wt_device *dev)
{
    struct wt_emulated *em = calloc(1, sizeof(*em));
    if (!em)
        return wt_log_error(ERROR_NOT_ENOUGH_MEMORY, "Failed to allocate the emulated adapter");
    em->capture = wt_ring_alloc(TUN_RING_SIZE(WINTUN_EMULATED_CAPTURE_CAPACITY));
    em->capture_event = CreateEventW(NULL, FALSE, FALSE, NULL);
    if (!em->capture || !em->capture_event) {
        DWORD err = wt_log_error(GetLastError(), "Failed to set up the emulated adapter's capture queue");
        if (em->capture_event)
            CloseHandle(em->capture_event);
        wt_ring_free(em->capture, TUN_RING_SIZE(WINTUN_EMULATED_CAPTURE_CAPACITY));
        free(em);
        return err ? err : ERROR_NOT_ENOUGH_MEMORY;
    }
    wt_mutex_init(&em->lock);
    wt_mutex_init(&em->capture_lock);
    em->dev = dev;
    em->mtu = EMULATED_DEFAULT_MTU;
    em->up = TRUE;
    dev->port = em;
    dev->driver.ops = &emulated_port_ops;
    dev->driver.port = em;
    /* Called under the registry lock, so the counter needs no lock of its own. */
    dev->luid.Info.NetLuidIndex = next_luid_index++ & 0xFFFFFF;
    return ERROR_SUCCESS;
}

static void unwire(struct wt_emulated *em)
{
    wt_mutex_lock(&pairs_lock);
    struct wt_emulated *peer = em->peer;
    if (peer) {
        struct wt_emulated *first = em < peer ? em : peer, *second = em < peer ? peer : em;
        wt_mutex_lock(&first->lock);
        wt_mutex_lock(&second->lock);
        em->peer = NULL;
        peer->peer = NULL;
        wt_mutex_unlock(&second->lock);
        wt_mutex_unlock(&first->lock);
    }
    wt_mutex_unlock(&pairs_lock);
}

static void emulated_remove(struct wt_device *dev)
{
    struct wt_emulated *em = dev->port;
    unwire(em);
    wt_mutex_lock(&em->lock);
    wt_atomic_store(&em->up, FALSE, WT_RELEASE);
    wt_mutex_unlock(&em->lock);
}

static void emulated_destroy(struct wt_device *dev)
{
    struct wt_emulated *em = dev->port;
    unwire(em);
    CloseHandle(em->capture_event);
    wt_ring_free(em->capture, TUN_RING_SIZE(WINTUN_EMULATED_CAPTURE_CAPACITY));
    wt_mutex_destroy(&em->capture_lock);
    wt_mutex_destroy(&em->lock);
    free(em);
    dev->port = NULL;
}

static DWORD emulated_set_mtu(struct wt_device *dev, DWORD mtu)
{
    struct wt_emulated *em = dev->port;
    wt_mutex_lock(&em->lock);
    em->mtu = mtu;
    wt_mutex_unlock(&em->lock);
    return ERROR_SUCCESS;
}

static DWORD emulated_get_mtu(struct wt_device *dev, DWORD *mtu)
{
    struct wt_emulated *em = dev->port;
    wt_mutex_lock(&em->lock);
    *mtu = em->mtu;
    wt_mutex_unlock(&em->lock);
    return ERROR_SUCCESS;
}

static int same_address(const WINTUN_ADDRESS *a, const WINTUN_ADDRESS *b)
{
    return a->Family == b->Family && a->PrefixLength == b->PrefixLength &&
           !memcmp(a->Address, b->Address, a->Family == AF_INET ? 4 : 16);
}

static DWORD emulated_add_address(struct wt_device *dev, const WINTUN_ADDRESS *address)
{
    struct wt_emulated *em = dev->port;
    DWORD err = ERROR_SUCCESS;
    wt_mutex_lock(&em->lock);
    for (DWORD i = 0; i < em->address_count; ++i)
        if (same_address(&em->addresses[i], address))
            err = ERROR_OBJECT_ALREADY_EXISTS;
    if (!err && em->address_count == WINTUN_MAX_ADDRESSES)
        err = ERROR_INSUFFICIENT_BUFFER;
    if (!err)
        em->addresses[em->address_count++] = *address;
    wt_mutex_unlock(&em->lock);
    return err;
}

static DWORD emulated_delete_address(struct wt_device *dev, const WINTUN_ADDRESS *address)
{
    struct wt_emulated *em = dev->port;
    DWORD err = ERROR_NOT_FOUND;
    wt_mutex_lock(&em->lock);
    for (DWORD i = 0; i < em->address_count; ++i) {
        if (same_address(&em->addresses[i], address)) {
            em->addresses[i] = em->addresses[--em->address_count];
            err = ERROR_SUCCESS;
            break;
        }
    }
    wt_mutex_unlock(&em->lock);
    return err;
}

static DWORD emulated_get_addresses(struct wt_device *dev, WINTUN_ADDRESS *addresses, DWORD *count)
{
    struct wt_emulated *em = dev->port;
    DWORD err = ERROR_SUCCESS;
    wt_mutex_lock(&em->lock);
    if (*count < em->address_count)
        err = ERROR_INSUFFICIENT_BUFFER;
    else if (em->address_count)
        memcpy(addresses, em->addresses, em->address_count * sizeof(*addresses));
    *count = em->address_count;
    wt_mutex_unlock(&em->lock);
    return err;
}

static DWORD emulated_set_up(struct wt_device *dev, BOOL up)
{
    struct wt_emulated *em = dev->port;
    wt_mutex_lock(&em->lock);
    wt_atomic_store(&em->up, !!up, WT_RELEASE);
    wt_mutex_unlock(&em->lock);
    return ERROR_SUCCESS;
}

static DWORD emulated_get_up(struct wt_device *dev, BOOL *up)
{
    struct wt_emulated *em = dev->port;
    wt_mutex_lock(&em->lock);
    *up = wt_atomic_load(&em->up, WT_ACQUIRE);
    wt_mutex_unlock(&em->lock);
    return ERROR_SUCCESS;
}

const wt_backend_ops wt_emulated_backend = {
    .name = "emulated",
    .kind = WINTUN_BACKEND_EMULATED,
    .create = emulated_create,
    .remove = emulated_remove,
    .destroy = emulated_destroy,
    .set_mtu = emulated_set_mtu,
    .get_mtu = emulated_get_mtu,
    .add_address = emulated_add_address,
    .delete_address = emulated_delete_address,
    .get_addresses = emulated_get_addresses,
    .set_up = emulated_set_up,
    .get_up = emulated_get_up,
};

/* ---- what the emulated wire's API (csrc/core/emulated_api.c) does on a device ---- */

DWORD wt_emulated_inject(struct wt_device *dev, const BYTE *const *packets, const DWORD *sizes, DWORD count)
{
    struct wt_emulated *em = dev->port;
    if (!count || !packets || !sizes || count > WT_RECEIVE_BATCH)
        return ERROR_INVALID_PARAMETER;
    wt_packet batch[WT_RECEIVE_BATCH];
    for (DWORD i = 0; i < count; ++i) {
        if (sizes[i] > TUN_MAX_IP_PACKET_SIZE || (!packets[i] && sizes[i]))
            return ERROR_INVALID_PARAMETER;
        batch[i] = (wt_packet){ .data = packets[i], .size = sizes[i] };
    }
    wt_mutex_lock(&em->lock);
    BOOL up = wt_atomic_load(&em->up, WT_ACQUIRE);
    wt_mutex_unlock(&em->lock);
    if (!up) {
        WT_STAT_ADD(&em->dev->driver, send_drops, count);
        return ERROR_DEV_NOT_EXIST;
    }
    DWORD err;
    wt_driver_indicate(&em->dev->driver, batch, count, WT_INDICATE_ALL_OR_NOTHING, &err);
    return err;
}

DWORD wt_emulated_capture(struct wt_device *dev, BYTE *buffer, DWORD buffer_size, DWORD *packet_size)
{
    struct wt_emulated *em = dev->port;
    if (!packet_size || (!buffer && buffer_size))
        return ERROR_INVALID_PARAMETER;
    TUN_RING *ring = em->capture;
    DWORD err = ERROR_SUCCESS;
    wt_mutex_lock(&em->capture_lock);
    if (ring->Head == ring->Tail) {
        em->capture_armed = 1;
        err = ERROR_NO_MORE_ITEMS;
    } else {
        const TUN_PACKET *p = tun_ring_packet(ring, ring->Head);
        *packet_size = p->Size;
        if (p->Size > buffer_size) {
            err = ERROR_INSUFFICIENT_BUFFER;
        } else {
            memcpy(buffer, p->Data, p->Size);
            ring->Head = TUN_RING_WRAP(ring->Head + tun_packet_space(p->Size), WINTUN_EMULATED_CAPTURE_CAPACITY);
        }
    }
    wt_mutex_unlock(&em->capture_lock);
    return err;
}

HANDLE wt_emulated_capture_event(struct wt_device *dev) { return ((struct wt_emulated *)dev->port)->capture_event; }

DWORD wt_emulated_connect(struct wt_device *a, struct wt_device *b)
{
    struct wt_emulated *ea = a->port, *eb = b->port;
    if (ea == eb)
        return ERROR_INVALID_PARAMETER;
    DWORD err = ERROR_SUCCESS;
    wt_mutex_lock(&pairs_lock);
    struct wt_emulated *first = ea < eb ? ea : eb, *second = ea < eb ? eb : ea;
    wt_mutex_lock(&first->lock);
    wt_mutex_lock(&second->lock);
    if (ea->peer || eb->peer)
        err = ERROR_ALREADY_EXISTS;
    else if (wt_atomic_load(&ea->dev->removed, WT_ACQUIRE) || wt_atomic_load(&eb->dev->removed, WT_ACQUIRE))
        err = ERROR_DEV_NOT_EXIST;
    else {
        ea->peer = eb;
        eb->peer = ea;
    }
    wt_mutex_unlock(&second->lock);
    wt_mutex_unlock(&first->lock);
    wt_mutex_unlock(&pairs_lock);
    return err;
}

DWORD wt_emulated_disconnect(struct wt_device *dev)
{
    struct wt_emulated *em = dev->port;
    wt_mutex_lock(&pairs_lock);
    int wired = em->peer != NULL;
    wt_mutex_unlock(&pairs_lock);
    if (wired)
        unwire(em);
    return wired ? ERROR_SUCCESS : ERROR_NOT_FOUND;
}
