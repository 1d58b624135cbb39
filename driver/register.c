/* SPDX-License-Identifier: MIT
 *
 * Session registration and teardown on the driver side (Wintun's TunRegisterBuffers and
 * TunUnregisterBuffers, docs/protocol.md §1.4 and §1.8).
 */
#include "driver.h"
#include "logger.h"

#include <string.h>

void wt_driver_init(wt_driver *driver, const wt_port_ops *ops, void *port)
{
    memset(driver, 0, sizeof(*driver));
    wt_mutex_init(&driver->registration_lock);
    wt_mutex_init(&driver->send.lock);
    driver->ops = ops;
    driver->port = port;
}

void wt_driver_destroy(wt_driver *driver)
{
    wt_driver_unregister(driver, NULL, NULL);
    if (driver->receive.stop)
        CloseHandle(driver->receive.stop);
    wt_mutex_destroy(&driver->send.lock);
    wt_mutex_destroy(&driver->registration_lock);
}

/* One half of the descriptor, in Wintun's order: capacity, ring and event present
 * (ERROR_INVALID_PARAMETER), the event referenced (ERROR_INVALID_HANDLE: no open event), the
 * ring's memory writable (ERROR_INVALID_USER_BUFFER). Wintun does not check the ring's alignment;
 * it is checked here, since the ring's words are accessed atomically. */
static DWORD take_half(const char *which, uint32_t ring_size, const TUN_RING *ring, HANDLE event, uint32_t *capacity,
                       HANDLE *reference)
{
    DWORD err;
    *capacity = TUN_RING_CAPACITY(ring_size); /* unsigned: too small a size wraps to huge */
    if (!tun_ring_capacity_valid(*capacity))
        return wt_log_error(ERROR_INVALID_PARAMETER, "%s ring size 0x%x gives capacity 0x%x, not a power of two in [0x%x, 0x%x]",
                            which, ring_size, *capacity, TUN_MIN_RING_CAPACITY, TUN_MAX_RING_CAPACITY);
    if (!ring || !event)
        return wt_log_error(ERROR_INVALID_PARAMETER, "%s ring or its event is missing", which);
    if ((uintptr_t)ring & (TUN_ALIGNMENT - 1))
        return wt_log_error(ERROR_INVALID_PARAMETER, "%s ring is not aligned to %u bytes", which, TUN_ALIGNMENT);
    if (!(*reference = wt_event_reference(event)))
        return wt_log_error(ERROR_INVALID_HANDLE, "%s ring's TailMoved is not an open event", which);
    if ((err = wt_memory_writable(ring, ring_size))) {
        wt_event_dereference(*reference);
        *reference = NULL;
        return wt_log_error(err, "%s ring is not %u bytes of writable memory", which, ring_size);
    }
    return ERROR_SUCCESS;
}

DWORD wt_driver_register(wt_driver *driver, const void *input, DWORD input_size, TUN_REGISTER_RINGS *registered)
{
    DWORD err;
    uint32_t send_capacity, receive_capacity;
    HANDLE send_event = NULL, receive_event = NULL;
    TUN_REGISTER_RINGS rings;

    wt_mutex_lock(&driver->registration_lock);
    if (driver->dead) {
        err = ERROR_DEV_NOT_EXIST;
        goto out;
    }
    if (wt_atomic_load(&driver->registered, WT_ACQUIRE)) {
        err = ERROR_ALREADY_INITIALIZED;
        goto out;
    }
    if (input_size != sizeof(rings)) {
        err = wt_log_error(ERROR_INVALID_PARAMETER, "The rings' descriptor is %u bytes, not %u", (unsigned)input_size,
                           (unsigned)sizeof(rings));
        goto out;
    }
    if (!input) {
        err = wt_log_error(ERROR_NOACCESS, "The rings' descriptor is missing");
        goto out;
    }
    memcpy(&rings, input, sizeof(rings)); /* METHOD_BUFFERED: the driver reads its own copy */
    if ((err = take_half("Send", rings.Send.RingSize, rings.Send.Ring, rings.Send.TailMoved, &send_capacity, &send_event)))
        goto out;
    uint32_t send_tail = tun_load_acquire(&rings.Send.Ring->Tail);
    if (send_tail >= send_capacity) {
        err = wt_log_error(ERROR_INVALID_PARAMETER, "Send ring Tail 0x%x is outside its capacity 0x%x", send_tail, send_capacity);
        goto out;
    }
    if ((err = take_half("Receive", rings.Receive.RingSize, rings.Receive.Ring, rings.Receive.TailMoved, &receive_capacity,
                         &receive_event)))
        goto out;

    wt_mutex_lock(&driver->send.lock);
    driver->send.ring = rings.Send.Ring;
    driver->send.capacity = send_capacity;
    driver->send.tail = send_tail;
    driver->send.head_cache = send_tail; /* "nothing free" until Head is read */
    driver->send.tail_moved = send_event;
    wt_mutex_unlock(&driver->send.lock);

    driver->receive.ring = rings.Receive.Ring;
    driver->receive.capacity = receive_capacity;
    driver->receive.tail_moved = receive_event;
    if (!driver->receive.stop) {
        driver->receive.stop = CreateEventW(NULL, TRUE, FALSE, NULL);
        if (!driver->receive.stop) {
            err = wt_log_error(GetLastError(), "Failed to create the receive thread's stop event");
            goto out;
        }
    }
    wt_atomic_store(&driver->disconnecting, 0, WT_RELEASE);
    ResetEvent(driver->receive.stop);
    driver->receive.final_head = TUN_RING_CLOSED;
    driver->receive.spin_ns = WT_RECEIVE_SPIN_NS;
    driver->vnet_hdr_in_rings = 0;
    if (driver->ops->session_starting)
        driver->ops->session_starting(driver->port); /* before the thread: it reads what this sets */
    if ((err = wt_thread_start(&driver->receive.thread, wt_receive_thread, driver))) {
        wt_log_error(err, "Failed to start the receive thread");
        goto out;
    }
    driver->receive.thread_running = 1;

    wt_mutex_lock(&driver->send.lock);
    driver->send.pending_packets = 0;
    driver->send.pending_bytes = 0;
    wt_atomic_store(&driver->accepting, 1, WT_RELEASE);
    wt_mutex_unlock(&driver->send.lock);
    wt_atomic_store(&driver->registered, 1, WT_RELEASE);
    if (driver->ops->session_started && (err = driver->ops->session_started(driver->port))) {
        wt_mutex_unlock(&driver->registration_lock);
        wt_driver_unregister(driver, rings.Send.Ring, NULL); /* gives the events back */
        return err;
    }
    wt_mutex_unlock(&driver->registration_lock);
    *registered = rings;
    return ERROR_SUCCESS;

out:
    /* Not registered: the events taken are given back (and forgotten, if they were stored). */
    if (send_event && driver->send.tail_moved == send_event)
        driver->send.tail_moved = NULL;
    if (receive_event && driver->receive.tail_moved == receive_event)
        driver->receive.tail_moved = NULL;
    wt_event_dereference(send_event);
    wt_event_dereference(receive_event);
    wt_mutex_unlock(&driver->registration_lock);
    return err;
}

void wt_driver_kill(wt_driver *driver)
{
    wt_mutex_lock(&driver->registration_lock);
    driver->dead = 1;
    wt_mutex_unlock(&driver->registration_lock);
    wt_driver_unregister(driver, NULL, NULL);
}

/* Closes the Send ring to the client: no more packets, Tail = 0xFFFFFFFF, every reader woken. */
static void close_send_ring(wt_driver *driver)
{
    wt_mutex_lock(&driver->send.lock);
    wt_atomic_store(&driver->accepting, 0, WT_RELEASE);
    tun_store_seq(&driver->send.ring->Tail, TUN_RING_CLOSED);
    wt_event_wake_all(driver->send.tail_moved);
    wt_mutex_unlock(&driver->send.lock);
}

void wt_driver_port_gone(wt_driver *driver)
{
    /* The receive thread stops and closes the Receive ring on its way out. */
    wt_atomic_store(&driver->disconnecting, 1, WT_RELEASE);
    SetEvent(driver->receive.stop);
    close_send_ring(driver);
}

void wt_driver_unregister(wt_driver *driver, const TUN_RING *send_ring, struct wt_ring_ends *ends)
{
    if (ends)
        *ends = (struct wt_ring_ends){ TUN_RING_CLOSED, TUN_RING_CLOSED };
    wt_mutex_lock(&driver->registration_lock);
    if (!wt_atomic_load(&driver->registered, WT_ACQUIRE) || (send_ring && send_ring != driver->send.ring)) {
        /* Ended already (the adapter was closed under the session): its last Tail is kept. */
        if (ends && send_ring && send_ring == driver->send.closed_ring)
            *ends = driver->send.closed;
        wt_mutex_unlock(&driver->registration_lock);
        return;
    }
    /* No more packets into the Send ring from indicate(). */
    wt_mutex_lock(&driver->send.lock);
    wt_atomic_store(&driver->accepting, 0, WT_RELEASE);
    wt_mutex_unlock(&driver->send.lock);

    /* Stop the receive thread; it publishes Receive Head = 0xFFFFFFFF on its way out. */
    wt_atomic_store(&driver->disconnecting, 1, WT_RELEASE);
    SetEvent(driver->receive.stop);
    if (driver->receive.thread_running) {
        wt_thread_join(driver->receive.thread);
        driver->receive.thread_running = 0;
    }
    /* The port's own producer stops before the ring closes. */
    if (driver->ops->session_ending)
        driver->ops->session_ending(driver->port);

    /* The producer closes the Send ring and wakes every reader. */
    driver->send.closed_ring = driver->send.ring;
    driver->send.closed = (struct wt_ring_ends){ driver->send.tail, driver->receive.final_head };
    if (ends)
        *ends = driver->send.closed;
    close_send_ring(driver);
    wt_atomic_store(&driver->registered, 0, WT_RELEASE);
    driver->send.ring = NULL;
    driver->receive.ring = NULL;
    /* The driver's references on the client's events (the Send one was signalled just above). */
    wt_event_dereference(driver->send.tail_moved);
    wt_event_dereference(driver->receive.tail_moved);
    driver->send.tail_moved = driver->receive.tail_moved = NULL;
    wt_mutex_unlock(&driver->registration_lock);
}

int wt_driver_has_session(wt_driver *driver)
{
    return wt_atomic_load(&driver->registered, WT_ACQUIRE);
}

void wt_driver_get_stats(wt_driver *driver, WINTUN_ADAPTER_STATISTICS *out)
{
#define LOAD(field) wt_atomic_load(&driver->stats.field, WT_RELAXED)
    out->SendPackets = wt_atomic_load(&driver->stats.send_packets, WT_ACQUIRE); /* WT_STAT_COUNT */
    out->SendBytes = LOAD(send_bytes);
    out->SendDrops = LOAD(send_drops);
    out->SendErrors = LOAD(send_errors);
    out->ReceivePackets = wt_atomic_load(&driver->stats.receive_packets, WT_ACQUIRE);
    out->ReceiveBytes = LOAD(receive_bytes);
    out->ReceiveDiscards = LOAD(receive_discards);
    out->ReceiveDrops = LOAD(receive_drops);
    out->ReceiveErrors = LOAD(receive_errors);
    out->SendUnread = LOAD(send_unread);
#undef LOAD
}
