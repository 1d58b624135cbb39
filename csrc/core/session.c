/* SPDX-License-Identifier: MIT
 *
 * The client half of the rings: Wintun's api/session.c semantics (docs/protocol.md §2), with its gaps
 * closed (see wintun.h). One lock per ring; the two directions never share one.
 *
 * Memory: one page-aligned region holds this struct, then the Send ring, then the Receive ring
 * right after it (as Wintun lays out its two rings).
 */
#include "adapter.h"
#include "device_file.h"
#include "handle.h"
#include "logger.h"
#include "platform.h"
#include "session.h"

#include <string.h>

#define SESSION_HEADER_SIZE 4096

struct wt_session
{
    struct wt_session_head head; /* first: the ops (session.h) */
    uint32_t capacity;
    struct wt_device *dev;
    struct wt_device_file *file; /* the device, opened as wintun.dll does, its rings registered on it */
    size_t memory_size;
    TUN_REGISTER_RINGS descriptor;
    /* Receive ring: the client produces (AllocateSendPacket/SendPacket). */
    _Alignas(64) struct
    {
        wt_spinlock lock;
        uint32_t tail;          /* next allocation */
        uint32_t tail_release;  /* first allocated packet not yet published */
        uint32_t packets_to_release;
    } receive;
    /* Send ring: the client consumes (ReceivePacket/ReleaseReceivePacket). */
    _Alignas(64) struct
    {
        wt_spinlock lock;
        uint32_t head;          /* next packet to hand out */
        uint32_t head_release;  /* first handed-out packet not yet released */
        uint32_t packets_to_release;
    } send;
};

_Static_assert(sizeof(struct wt_session) <= SESSION_HEADER_SIZE, "session header fits its page");

/* Every entry point holds its handle for the call (handle.h): WintunEndSession frees nothing
 * until the last call has left, and a stale handle gets ERROR_INVALID_HANDLE. The data path
 * logs only after it has left (a logger callback may end the session), so it holds no log lines:
 * one atomic add and one subtract a call, nothing else. */
static struct wt_session_head *session_enter(WINTUN_SESSION_HANDLE handle)
{
    struct wt_session_head *session = wt_handle_enter((uintptr_t)handle, WT_HANDLE_SESSION);
    if (session && session->ops->holds_logs)
        wt_log_hold();
    return session;
}

static void session_leave(WINTUN_SESSION_HANDLE handle, struct wt_session_head *session)
{
    int held = session->ops->holds_logs; /* read while the session cannot go */
    wt_handle_leave((uintptr_t)handle);
    if (held)
        wt_log_unhold();
}

static const struct wt_session_ops ring_session_ops;

/* A ring session behind a live handle (for the test accessors), or NULL: another kind of session
 * has no rings here. Pairs with session_leave when not NULL. */
static struct wt_session *ring_session_enter(WINTUN_SESSION_HANDLE handle)
{
    struct wt_session_head *head = session_enter(handle);
    if (head && head->ops != &ring_session_ops) {
        session_leave(handle, head);
        SetLastError(ERROR_NOT_SUPPORTED);
        return NULL;
    }
    return (struct wt_session *)head;
}

/* Ring memory of sessions that ended with packets still handed out (received and not released,
 * or allocated and not sent): a thread may still be reading or filling one, outside any call,
 * when EndSession runs. Such memory is unmapped a grace period later, not at once. */
#define QUARANTINE_NS 2000000000ull

struct quarantined
{
    struct quarantined *next;
    uint64_t since;
    size_t size;
};

static wt_mutex quarantine_lock = WT_MUTEX_INIT;
static struct quarantined *quarantine;

/* Unmaps what has waited long enough; with memory, adds it to the queue. */
static void quarantine_sweep(void *memory, size_t size)
{
    const uint64_t now = wt_monotonic_ns();
    struct quarantined *expired = NULL;
    wt_mutex_lock(&quarantine_lock);
    for (struct quarantined **p = &quarantine; *p;) {
        struct quarantined *q = *p;
        if (now - q->since < QUARANTINE_NS) {
            p = &q->next;
            continue;
        }
        *p = q->next;
        q->next = expired;
        expired = q;
    }
    if (memory) {
        struct quarantined *q = memory; /* in the session's own header page */
        q->since = now;
        q->size = size;
        q->next = quarantine;
        quarantine = q;
    }
    wt_mutex_unlock(&quarantine_lock);
    while (expired) {
        struct quarantined *q = expired;
        expired = q->next;
        wt_ring_free(q, q->size);
    }
}

WINTUN_SESSION_HANDLE wt_session_start(struct wt_device *dev, DWORD capacity)
{
    DWORD err;
    /* The driver's order: an existing session first, then the capacity. */
    if (wt_driver_has_session(&dev->driver)) {
        SetLastError(wt_log_error(ERROR_ALREADY_INITIALIZED, "Failed to register rings"));
        return NULL;
    }
    if (!tun_ring_capacity_valid(capacity)) {
        SetLastError(wt_log_error(ERROR_INVALID_PARAMETER, "Failed to register rings: capacity 0x%x is not a power of two in [0x%x, 0x%x]",
                                  (unsigned)capacity, TUN_MIN_RING_CAPACITY, TUN_MAX_RING_CAPACITY));
        return NULL;
    }
    quarantine_sweep(NULL, 0);
    const uint32_t ring_size = TUN_RING_SIZE(capacity);
    const size_t memory_size = SESSION_HEADER_SIZE + 2 * (size_t)ring_size;
    uint8_t *memory = wt_ring_alloc(memory_size);
    if (!memory) {
        SetLastError(wt_log_error(GetLastError(), "Failed to allocate ring memory"));
        return NULL;
    }
    struct wt_session *session = (struct wt_session *)memory;
    uintptr_t handle = 0;
    session->head.ops = &ring_session_ops;
    session->capacity = capacity;
    session->dev = dev;
    session->memory_size = memory_size;
    TUN_RING *send_ring = (TUN_RING *)(memory + SESSION_HEADER_SIZE);
    TUN_RING *receive_ring = (TUN_RING *)(memory + SESSION_HEADER_SIZE + ring_size);
    /* Armed from the start, so that the first packet signals a reader that waits at once. */
    send_ring->Alertable = 1;
    session->descriptor.Send.RingSize = ring_size;
    session->descriptor.Send.Ring = send_ring;
    session->descriptor.Send.TailMoved = CreateEventW(NULL, FALSE, FALSE, NULL);
    session->descriptor.Receive.RingSize = ring_size;
    session->descriptor.Receive.Ring = receive_ring;
    session->descriptor.Receive.TailMoved = CreateEventW(NULL, FALSE, FALSE, NULL);
    if (!session->descriptor.Send.TailMoved || !session->descriptor.Receive.TailMoved) {
        err = wt_log_error(GetLastError(), "Failed to create the ring events");
        goto fail;
    }
    if (!(handle = wt_handle_new(WT_HANDLE_SESSION, session))) {
        err = wt_log_error(GetLastError(), "Failed to allocate the session handle");
        goto fail;
    }
    /* As wintun.dll: open the adapter's device, then register the rings on it. The file's
     * reference on the device is taken before the rings go to the driver: a close of the adapter
     * meanwhile kills the driver, never frees the device under us. */
    session->file = wt_device_file_open(dev, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE);
    if (!session->file) {
        err = wt_log_error(GetLastError(), "Failed to open adapter device object");
        wt_handle_retire(handle, WT_HANDLE_SESSION);
        goto fail;
    }
    err = wt_device_file_ioctl(session->file, TUN_IOCTL_REGISTER_RINGS, &session->descriptor, sizeof(session->descriptor));
    if (err) {
        wt_log_error(err, "Failed to register rings");
        wt_device_file_close(session->file);
        wt_handle_retire(handle, WT_HANDLE_SESSION);
        goto fail;
    }
    return (WINTUN_SESSION_HANDLE)handle;

fail:
    if (session->descriptor.Send.TailMoved)
        CloseHandle(session->descriptor.Send.TailMoved);
    if (session->descriptor.Receive.TailMoved)
        CloseHandle(session->descriptor.Receive.TailMoved);
    wt_ring_free(memory, memory_size);
    SetLastError(err);
    return NULL;
}

WINTUN_SESSION_HANDLE WINAPI WintunStartSession(WINTUN_ADAPTER_HANDLE adapter, DWORD capacity)
{
    struct wt_device *dev = wt_adapter_enter(adapter);
    if (!dev)
        return NULL;
    WINTUN_SESSION_HANDLE session;
    if (dev->ops->start_session) { /* the backend's own sessions (wintun.dll's on Windows) */
        struct wt_session_head *own = dev->ops->start_session(dev, capacity);
        uintptr_t handle = own ? wt_handle_new(WT_HANDLE_SESSION, own) : 0;
        if (own && !handle) {
            DWORD err = GetLastError();
            own->ops->end(own);
            SetLastError(err);
        }
        session = (WINTUN_SESSION_HANDLE)handle;
    } else {
        session = wt_session_start(dev, capacity);
    }
    wt_adapter_leave(adapter);
    return session;
}

static void end_ring_session(void *session_)
{
    struct wt_session *session = session_;
    struct wt_device *dev = session->dev;
    /* Driver side first: the receive thread hands over what the client sent, Send Tail closes,
     * blocked readers wake. */
    struct wt_ring_ends ends;
    wt_device_file_unregister(session->file, &ends);
    /* No call is in flight (the handle is retired), so the counts below are final: what the
     * client never read, and what it sent that the driver never took (it ended first). */
    const uint32_t capacity = session->capacity;
    uint64_t unread = tun_ring_count_packets(session->descriptor.Send.Ring, capacity, session->send.head, ends.send_tail, 0);
    /* Published but not consumed; then sent but never published (behind an allocation that was
     * never sent, which holds back every later packet). */
    uint64_t untaken = tun_ring_count_packets(session->descriptor.Receive.Ring, capacity, ends.receive_head,
                                       session->receive.tail_release, 0) +
                       tun_ring_count_packets(session->descriptor.Receive.Ring, capacity, session->receive.tail_release,
                                       session->receive.tail, 1);
    if (unread)
        WT_STAT_ADD(&dev->driver, send_unread, unread);
    if (untaken)
        WT_STAT_ADD(&dev->driver, receive_drops, untaken);
    /* Packets still handed out keep the memory mapped for a grace period (quarantine_sweep). */
    int outstanding = session->send.packets_to_release || session->receive.packets_to_release;
    CloseHandle(session->descriptor.Send.TailMoved);
    CloseHandle(session->descriptor.Receive.TailMoved);
    wt_device_file_close(session->file); /* the device may go with it: dev is not used after */
    if (outstanding)
        quarantine_sweep(session, session->memory_size);
    else
        wt_ring_free(session, session->memory_size);
}

VOID WINAPI WintunEndSession(WINTUN_SESSION_HANDLE handle)
{
    /* Rundown: the handle is stale for new calls at once, and calls in flight leave first. */
    struct wt_session_head *session = wt_handle_retire((uintptr_t)handle, WT_HANDLE_SESSION);
    if (!session)
        return;
    wt_log_hold();
    session->ops->end(session);
    wt_log_unhold();
}

HANDLE WINAPI WintunGetReadWaitEvent(WINTUN_SESSION_HANDLE handle)
{
    struct wt_session_head *session = session_enter(handle);
    if (!session)
        return NULL;
    HANDLE event = session->ops->read_wait_event(session);
    session_leave(handle, session);
    return event;
}

/* The ring offset of the packet whose payload is at data, if data is exactly the payload of one
 * of the outstanding packets [start, end); else -1. Walks the packets from start (the oldest, so
 * in-order releases find theirs at once); a pointer into a payload is no packet. */
static int64_t outstanding_offset(const TUN_RING *ring, uint32_t capacity, const BYTE *data, uint32_t start, uint32_t end)
{
    uintptr_t p = (uintptr_t)data, base = (uintptr_t)ring->Data + sizeof(TUN_PACKET);
    if (!data || p < base)
        return -1;
    uintptr_t offset = p - base;
    if (offset >= capacity || (offset & (TUN_ALIGNMENT - 1)))
        return -1;
    const uint32_t window = TUN_RING_WRAP(end - start, capacity), target = TUN_RING_WRAP((uint32_t)offset - start, capacity);
    if (target >= window)
        return -1;
    for (uint32_t walked = 0; walked < target;) {
        uint32_t size = tun_ring_packet((TUN_RING *)ring, TUN_RING_WRAP(start + walked, capacity))->Size & ~TUN_PACKET_RELEASE;
        if (size > TUN_MAX_IP_PACKET_SIZE)
            return -1; /* a header the client overwrote: refuse rather than guess */
        walked += tun_packet_space(size);
        if (walked > target)
            return -1; /* inside this packet's payload */
    }
    return (int64_t)offset;
}

/* Under send.lock, Wintun's checks before a packet is handed out (docs/protocol.md §2.5, first checks):
 * ERROR_HANDLE_EOF; or ERROR_NO_MORE_ITEMS, with the read event armed (Alertable = 1, then Tail
 * read once more past a full fence, so a packet published meanwhile is seen); or ERROR_SUCCESS
 * and the ring's Tail in *tail. */
static DWORD ready_tail(struct wt_session *session, TUN_RING *ring, uint32_t *tail)
{
    const uint32_t head = session->send.head, capacity = session->capacity;
    if (head >= capacity)
        return ERROR_HANDLE_EOF;
    *tail = tun_load_acquire(&ring->Tail);
    if (*tail >= capacity)
        return ERROR_HANDLE_EOF;
    if (head != *tail)
        return ERROR_SUCCESS;
    tun_store_seq(&ring->Alertable, 1);
    *tail = tun_load_seq(&ring->Tail);
    if (*tail >= capacity)
        return ERROR_HANDLE_EOF;
    return head == *tail ? ERROR_NO_MORE_ITEMS : ERROR_SUCCESS;
}

/* Under send.lock, after packets were taken: a take that emptied the ring arms the read event
 * again (Alertable = 1, then Tail once more past a full fence), so that other threads waiting on
 * it are woken by the next packet; a packet that slipped in meanwhile signals it at once. */
static void rearm_if_drained(struct wt_session *session, TUN_RING *ring, uint32_t tail)
{
    if (session->send.head != tail)
        return; /* packets are left: the caller goes on receiving before it waits */
    tun_store_seq(&ring->Alertable, 1);
    if (tun_load_seq(&ring->Tail) != tail && tun_exchange(&ring->Alertable, 0))
        SetEvent(session->descriptor.Send.TailMoved);
}

/* docs/protocol.md §2.5, framing checks: the packet at head with its size, or NULL if the framing between head and tail
 * is corrupt (ERROR_INVALID_DATA: too little content, Size > 0xFFFF, or longer than the content). */
static TUN_PACKET *packet_at(TUN_RING *ring, uint32_t head, uint32_t tail, uint32_t capacity, uint32_t *size)
{
    const uint32_t content = tun_ring_used(head, tail, capacity);
    if (content < sizeof(TUN_PACKET))
        return NULL;
    TUN_PACKET *packet = tun_ring_packet(ring, head);
    *size = packet->Size;
    if (*size > TUN_MAX_IP_PACKET_SIZE || tun_packet_space(*size) > content)
        return NULL;
    return packet;
}

static BYTE *receive_packet(struct wt_session *session, DWORD *packet_size)
{
    TUN_RING *ring = session->descriptor.Send.Ring;
    const uint32_t capacity = session->capacity;
    uint32_t tail, size;
    wt_spinlock_lock(&session->send.lock);
    DWORD err = ready_tail(session, ring, &tail);
    TUN_PACKET *packet = err ? NULL : packet_at(ring, session->send.head, tail, capacity, &size);
    if (!packet) {
        wt_spinlock_unlock(&session->send.lock);
        SetLastError(err ? err : ERROR_INVALID_DATA); /* sticky: Head does not move */
        return NULL;
    }
    *packet_size = size;
    session->send.head = TUN_RING_WRAP(session->send.head + tun_packet_space(size), capacity);
    session->send.packets_to_release++;
    rearm_if_drained(session, ring, tail);
    wt_spinlock_unlock(&session->send.lock);
    return packet->Data;
}

BYTE *WINAPI WintunReceivePacket(WINTUN_SESSION_HANDLE handle, DWORD *packet_size)
{
    struct wt_session_head *session = session_enter(handle);
    if (!session)
        return NULL;
    BYTE *packet = NULL;
    if (!packet_size)
        SetLastError(ERROR_INVALID_PARAMETER);
    else
        packet = session->ops->receive(session, packet_size);
    session_leave(handle, session);
    return packet;
}

/* Under send.lock: frees ring space over the released prefix and publishes Head. */
static void publish_head(struct wt_session *session, TUN_RING *ring)
{
    const uint32_t capacity = session->capacity;
    while (session->send.packets_to_release) {
        const TUN_PACKET *p = tun_ring_packet(ring, session->send.head_release);
        if (!(p->Size & TUN_PACKET_RELEASE))
            break;
        session->send.head_release =
            TUN_RING_WRAP(session->send.head_release + tun_packet_space(p->Size & ~TUN_PACKET_RELEASE), capacity);
        session->send.packets_to_release--;
    }
    tun_store_release(&ring->Head, session->send.head_release);
}

/* Under receive.lock: publishes the sent prefix of the allocations, and wakes the driver if it
 * sleeps (store Tail, full fence, load Alertable). */
static void publish_tail(struct wt_session *session, TUN_RING *ring)
{
    const uint32_t capacity = session->capacity;
    while (session->receive.packets_to_release) {
        const TUN_PACKET *p = tun_ring_packet(ring, session->receive.tail_release);
        if (p->Size & TUN_PACKET_RELEASE)
            break;
        session->receive.tail_release = TUN_RING_WRAP(session->receive.tail_release + tun_packet_space(p->Size), capacity);
        session->receive.packets_to_release--;
    }
    if (ring->Tail != session->receive.tail_release) {
        tun_store_seq(&ring->Tail, session->receive.tail_release);
        /* The driver's receive thread is the ring's only consumer and sets Alertable again each
         * time it goes to sleep: one signal wakes it, and taking Alertable back spares the system
         * call for every packet published while it wakes (docs/protocol.md §1.7). */
        if (tun_load_seq(&ring->Alertable) && tun_exchange(&ring->Alertable, 0))
            SetEvent(session->descriptor.Receive.TailMoved);
    }
}

/* What was wrong with a pointer given back (logged once the call has left), or NULL. */
static const char *release_packet(struct wt_session *session, const BYTE *data)
{
    TUN_RING *ring = session->descriptor.Send.Ring;
    const uint32_t capacity = session->capacity;
    wt_spinlock_lock(&session->send.lock);
    int64_t offset = outstanding_offset(ring, capacity, data, session->send.head_release, session->send.head);
    TUN_PACKET *packet = offset < 0 ? NULL : tun_ring_packet(ring, (uint32_t)offset);
    if (!packet || (packet->Size & TUN_PACKET_RELEASE)) {
        wt_spinlock_unlock(&session->send.lock);
        return packet ? "Packet released twice" : "Released pointer is not an outstanding received packet";
    }
    packet->Size |= TUN_PACKET_RELEASE;
    publish_head(session, ring);
    wt_spinlock_unlock(&session->send.lock);
    return NULL;
}

VOID WINAPI WintunReleaseReceivePacket(WINTUN_SESSION_HANDLE handle, const BYTE *data)
{
    struct wt_session_head *session = session_enter(handle);
    if (!session)
        return;
    const char *wrong = session->ops->release(session, data);
    session_leave(handle, session);
    if (wrong)
        SetLastError(wt_log_error(ERROR_INVALID_PARAMETER, "%s", wrong));
}

static BYTE *allocate_packet(struct wt_session *session, DWORD packet_size)
{
    DWORD err;
    TUN_RING *ring = session->descriptor.Receive.Ring;
    const uint32_t capacity = session->capacity;
    wt_spinlock_lock(&session->receive.lock);
    const uint32_t tail = session->receive.tail;
    if (tail >= capacity) {
        err = ERROR_HANDLE_EOF;
        goto fail;
    }
    const uint32_t space = tun_packet_space(packet_size);
    const uint32_t head = tun_load_acquire(&ring->Head);
    if (head >= capacity) {
        err = ERROR_HANDLE_EOF;
        goto fail;
    }
    if (space > tun_ring_free(head, tail, capacity)) {
        err = ERROR_BUFFER_OVERFLOW;
        goto fail;
    }
    TUN_PACKET *packet = tun_ring_packet(ring, tail);
    packet->Size = packet_size | TUN_PACKET_RELEASE;
    session->receive.tail = TUN_RING_WRAP(tail + space, capacity);
    session->receive.packets_to_release++;
    wt_spinlock_unlock(&session->receive.lock);
    return packet->Data;

fail:
    wt_spinlock_unlock(&session->receive.lock);
    SetLastError(err);
    return NULL;
}

BYTE *WINAPI WintunAllocateSendPacket(WINTUN_SESSION_HANDLE handle, DWORD packet_size)
{
    if (packet_size > TUN_MAX_IP_PACKET_SIZE) { /* wintun.dll does not check this: done here for both */
        SetLastError(wt_log_error(ERROR_INVALID_PARAMETER, "Packet size %u exceeds 0x%x", (unsigned)packet_size, TUN_MAX_IP_PACKET_SIZE));
        return NULL;
    }
    struct wt_session_head *session = session_enter(handle);
    if (!session)
        return NULL;
    BYTE *packet = session->ops->allocate(session, packet_size);
    session_leave(handle, session);
    return packet;
}

/* What was wrong with a pointer given to send (logged once the call has left), or NULL. */
static const char *send_packet(struct wt_session *session, const BYTE *data)
{
    TUN_RING *ring = session->descriptor.Receive.Ring;
    const uint32_t capacity = session->capacity;
    wt_spinlock_lock(&session->receive.lock);
    int64_t offset = outstanding_offset(ring, capacity, data, session->receive.tail_release, session->receive.tail);
    TUN_PACKET *packet = offset < 0 ? NULL : tun_ring_packet(ring, (uint32_t)offset);
    if (!packet || !(packet->Size & TUN_PACKET_RELEASE)) {
        wt_spinlock_unlock(&session->receive.lock);
        return packet ? "Packet sent twice" : "Sent pointer is not an allocated packet";
    }
    packet->Size &= ~TUN_PACKET_RELEASE;
    publish_tail(session, ring);
    wt_spinlock_unlock(&session->receive.lock);
    return NULL;
}

VOID WINAPI WintunSendPacket(WINTUN_SESSION_HANDLE handle, const BYTE *data)
{
    struct wt_session_head *session = session_enter(handle);
    if (!session)
        return;
    const char *wrong = session->ops->send(session, data);
    session_leave(handle, session);
    if (wrong)
        SetLastError(wt_log_error(ERROR_INVALID_PARAMETER, "%s", wrong));
}

static DWORD receive_packets(struct wt_session *session, WINTUN_PACKET_VISITOR visitor, void *context, DWORD max_packets)
{
    TUN_RING *ring = session->descriptor.Send.Ring;
    const uint32_t capacity = session->capacity;
    DWORD consumed = 0;
    uint32_t tail, size;
    wt_spinlock_lock(&session->send.lock);
    DWORD err = ready_tail(session, ring, &tail);
    uint32_t head = session->send.head;
    while (!err && consumed < max_packets && head != tail) {
        TUN_PACKET *packet = packet_at(ring, head, tail, capacity, &size);
        if (!packet) {
            err = ERROR_INVALID_DATA;
            break;
        }
        if (!visitor(context, packet->Data, size))
            break;
        head = TUN_RING_WRAP(head + tun_packet_space(size), capacity);
        ++consumed;
        if (session->send.packets_to_release) {
            packet->Size |= TUN_PACKET_RELEASE; /* behind packets still handed out: freed in order */
            session->send.packets_to_release++;
        } else {
            session->send.head_release = head; /* nothing outstanding: freed at once */
        }
    }
    if (consumed) {
        session->send.head = head;
        publish_head(session, ring);
        rearm_if_drained(session, ring, tail);
    }
    wt_spinlock_unlock(&session->send.lock);
    if (!consumed)
        SetLastError(err); /* success leaves the last error alone, as everywhere in Wintun */
    return consumed;
}

DWORD WINAPI WintunReceivePackets(WINTUN_SESSION_HANDLE handle, WINTUN_PACKET_VISITOR visitor, void *context,
                                  DWORD max_packets)
{
    struct wt_session_head *session = session_enter(handle);
    if (!session)
        return 0;
    DWORD consumed = 0;
    if (!visitor || !max_packets)
        SetLastError(ERROR_INVALID_PARAMETER);
    else
        consumed = session->ops->receive_batch(session, visitor, context, max_packets);
    session_leave(handle, session);
    return consumed;
}

static DWORD send_packets(struct wt_session *session, const BYTE *const *packets, const DWORD *sizes, DWORD count)
{
    TUN_RING *ring = session->descriptor.Receive.Ring;
    const uint32_t capacity = session->capacity;
    DWORD err = ERROR_SUCCESS, sent = 0;
    wt_spinlock_lock(&session->receive.lock);
    uint32_t tail = session->receive.tail;
    const uint32_t head = tun_load_acquire(&ring->Head);
    if (tail >= capacity || head >= capacity) {
        err = ERROR_HANDLE_EOF;
        goto out;
    }
    uint32_t free = tun_ring_free(head, tail, capacity);
    for (; sent < count; ++sent) {
        const uint32_t space = tun_packet_space(sizes[sent]);
        if (space > free)
            break;
        TUN_PACKET *packet = tun_ring_packet(ring, tail);
        packet->Size = sizes[sent];
        if (sizes[sent])
            memcpy(packet->Data, packets[sent], sizes[sent]);
        tail = TUN_RING_WRAP(tail + space, capacity);
        free -= space;
    }
    if (!sent) {
        err = ERROR_BUFFER_OVERFLOW;
        goto out;
    }
    session->receive.tail = tail;
    if (session->receive.packets_to_release)
        session->receive.packets_to_release += sent; /* after earlier allocations not sent yet */
    else
        session->receive.tail_release = tail; /* nothing outstanding: all of it goes now */
    publish_tail(session, ring);
out:
    wt_spinlock_unlock(&session->receive.lock);
    if (!sent)
        SetLastError(err);
    return sent;
}

/* The first packet no ring can carry (larger than 0xFFFF, or NULL with a size), or -1. */
static int64_t first_bad_packet(const BYTE *const *packets, const DWORD *sizes, DWORD count)
{
    for (DWORD i = 0; i < count; ++i)
        if (sizes[i] > TUN_MAX_IP_PACKET_SIZE || (!packets[i] && sizes[i]))
            return i;
    return -1;
}

DWORD WINAPI WintunSendPackets(WINTUN_SESSION_HANDLE handle, const BYTE *const *packets, const DWORD *sizes,
                               DWORD count)
{
    struct wt_session_head *session = session_enter(handle);
    if (!session)
        return 0;
    DWORD sent = 0;
    int64_t bad = -1; /* every packet is checked before any is sent */
    if (!count || !packets || !sizes)
        SetLastError(ERROR_INVALID_PARAMETER);
    else if ((bad = first_bad_packet(packets, sizes, count)) >= 0)
        ; /* logged below, once the call has left: the callback may end the session */
    else
        sent = session->ops->send_batch(session, packets, sizes, count);
    session_leave(handle, session);
    if (bad >= 0)
        SetLastError(wt_log_error(ERROR_INVALID_PARAMETER, "Packet %u: size %u or data invalid", (unsigned)bad,
                                  (unsigned)sizes[bad]));
    return sent;
}

DWORD wt_send_packets_waiting(WINTUN_SESSION_HANDLE session, const BYTE *const *packets, const DWORD *sizes, DWORD count,
                              uint64_t wait_ns, DWORD *error)
{
    DWORD done = 0;
    uint64_t deadline = 0;
    *error = ERROR_SUCCESS;
    for (unsigned idle = 0; done < count;) {
        DWORD sent = WintunSendPackets(session, packets + done, sizes + done, count - done);
        if (sent) {
            done += sent;
            idle = 0;
            continue;
        }
        if ((*error = GetLastError()) != ERROR_BUFFER_OVERFLOW)
            break;
        if (!deadline)
            deadline = wt_monotonic_ns() + wait_ns;
        if (wt_monotonic_ns() >= deadline)
            break;
        if (++idle < 16)
            wt_yield();
        else
            wt_sleep_us(idle < 128 ? 20 : 200);
    }
    if (done == count)
        *error = ERROR_SUCCESS;
    return done;
}

BOOL WINAPI WintunIsReceiveReady(WINTUN_SESSION_HANDLE handle)
{
    struct wt_session_head *session = session_enter(handle);
    if (!session)
        return TRUE; /* WintunReceivePacket will report the error */
    BOOL ready = session->ops->is_receive_ready(session);
    session_leave(handle, session);
    return ready; /* also TRUE at EOF: WintunReceivePacket will report it */
}

/* ---- the ring session's ops: what every entry point above calls ---- */

static HANDLE ring_read_wait_event(void *session) { return ((struct wt_session *)session)->descriptor.Send.TailMoved; }

static BOOL ring_is_receive_ready(void *session_)
{
    struct wt_session *session = session_;
    uint32_t tail;
    wt_spinlock_lock(&session->send.lock);
    BOOL ready = ready_tail(session, session->descriptor.Send.Ring, &tail) != ERROR_NO_MORE_ITEMS;
    wt_spinlock_unlock(&session->send.lock);
    return ready;
}

static BYTE *ring_receive(void *session, DWORD *size) { return receive_packet(session, size); }
static const char *ring_release(void *session, const BYTE *packet) { return release_packet(session, packet); }
static BYTE *ring_allocate(void *session, DWORD size) { return allocate_packet(session, size); }
static const char *ring_send(void *session, const BYTE *packet) { return send_packet(session, packet); }

static DWORD ring_receive_batch(void *session, WINTUN_PACKET_VISITOR visitor, void *context, DWORD max)
{
    return receive_packets(session, visitor, context, max);
}

static DWORD ring_send_batch(void *session, const BYTE *const *packets, const DWORD *sizes, DWORD count)
{
    return send_packets(session, packets, sizes, count);
}

static const struct wt_session_ops ring_session_ops = {
    .end = end_ring_session,
    .read_wait_event = ring_read_wait_event,
    .receive = ring_receive,
    .release = ring_release,
    .allocate = ring_allocate,
    .send = ring_send,
    .receive_batch = ring_receive_batch,
    .send_batch = ring_send_batch,
    .is_receive_ready = ring_is_receive_ready,
};

/* Test accessors: the ring pointers stay valid while the session lives. */
static TUN_RING *session_ring(WINTUN_SESSION_HANDLE handle, int receive)
{
    struct wt_session *session = ring_session_enter(handle);
    if (!session)
        return NULL;
    TUN_RING *ring = receive ? session->descriptor.Receive.Ring : session->descriptor.Send.Ring;
    session_leave(handle, &session->head);
    return ring;
}

TUN_RING *wt_session_send_ring(WINTUN_SESSION_HANDLE session) { return session_ring(session, 0); }
TUN_RING *wt_session_receive_ring(WINTUN_SESSION_HANDLE session) { return session_ring(session, 1); }

void wt_session_publish_receive_tail(WINTUN_SESSION_HANDLE handle, uint32_t tail)
{
    struct wt_session *session = ring_session_enter(handle);
    if (!session)
        return;
    tun_store_seq(&session->descriptor.Receive.Ring->Tail, tail);
    if (tun_load_seq(&session->descriptor.Receive.Ring->Alertable))
        SetEvent(session->descriptor.Receive.TailMoved);
    session_leave(handle, &session->head);
}
