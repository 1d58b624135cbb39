/* SPDX-License-Identifier: MIT
 *
 * The driver half: what wintun.sys does, in-process. It serves the two rings of a session:
 * it consumes the Receive ring (packets the client injects) on its own thread and hands them to
 * the port, and it produces into the Send ring whatever the port says the OS sends out of the
 * adapter. Everything in the rings is untrusted: offsets and sizes are checked before use, and a
 * ring is declared bad exactly where Wintun 0.14 does.
 *
 * The port is the OS side (driver/port.h): the Linux TUN device, or the emulated wire.
 */
#ifndef WINTUN_DRIVER_H
#define WINTUN_DRIVER_H

#include "platform.h"
#include "ring.h"
#include "ip.h"
#include "wintun_ext.h"

#define WT_DRIVER_VERSION_MAJOR 0
#define WT_DRIVER_VERSION_MINOR 14
/* Packets handed to the port at once by the receive thread. */
#define WT_RECEIVE_BATCH 256
/* The virtio-net header before each packet of super-packet mode (offload.h). */
#define WT_VNET_HDR_LEN 10
/* How long the receive thread spins on an empty ring before it sleeps: at most Wintun's 0.1 ms,
 * adapted to the traffic (receive_ring.c): while packets keep coming within WORTH of each other
 * the budget doubles back up to the most; a wait that gave up, or whose packet came later than
 * that, halves it, and below the least it is 0 (sleep at once). */
#define WT_RECEIVE_SPIN_NS 100000
#define WT_RECEIVE_SPIN_MIN_NS 2000
#define WT_RECEIVE_SPIN_WORTH_NS 20000

typedef struct wt_packet
{
    const uint8_t *data;
    uint32_t size;
} wt_packet;

struct wt_driver;

/* Where the driver left a session's rings when it ended: the Send ring's last Tail (what it
 * had delivered) and the Receive ring's last Head (what it had consumed). */
struct wt_ring_ends
{
    uint32_t send_tail;
    uint32_t receive_head;
};

typedef struct wt_port_ops
{
    /* Packets the client sent, in ring order, for the OS. Returns how many it took from the
     * front; the driver retries the rest later (backpressure: ring space stays held, as Wintun
     * holds it until the stack returns the packets). The port counts each packet it took once:
     * ReceivePackets/Bytes if the OS side got it (WT_STAT_COUNT), else a drop or an error. */
    uint32_t (*transmit)(void *port, const wt_packet *packets, uint32_t count);
    /* Optional: a session's rings are about to be served (called before the receive thread
     * starts, under the registration lock): what the port fixes for the session, such as the
     * format of its rings (vnet_hdr_in_rings), is then seen by every thread of the session. */
    void (*session_starting)(void *port);
    /* Optional: a session's rings are registered (start delivering) / about to close (stop, and
     * return only once no packet is being produced any more). */
    DWORD (*session_started)(void *port);
    void (*session_ending)(void *port);
} wt_port_ops;

typedef struct wt_stats
{
    uint64_t send_packets, send_bytes, send_drops, send_errors;
    uint64_t receive_packets, receive_bytes, receive_discards, receive_drops, receive_errors;
    uint64_t send_unread;
} wt_stats;

/* Send ring producer state, guarded by lock. */
struct wt_send_side
{
    wt_mutex lock;
    TUN_RING *ring;
    uint32_t capacity;
    uint32_t tail;       /* private copy, the ring's Tail is only ever stored */
    uint32_t head_cache; /* last Head read from the ring (never ahead of the real one) */
    HANDLE tail_moved;
    uint32_t pending_packets; /* zero-copy path: committed, not yet published */
    uint64_t pending_bytes;
    const TUN_RING *closed_ring;  /* the last session's Send ring, and where the driver left */
    struct wt_ring_ends closed;   /* both rings (registration_lock) */
};

struct wt_receive_side
{
    TUN_RING *ring;
    uint32_t capacity;
    HANDLE tail_moved;
    HANDLE stop;      /* manual-reset: teardown in progress */
    wt_thread thread;
    int thread_running;
    uint32_t final_head; /* where the receive thread stopped (valid once it has ended) */
    uint32_t spin_ns;    /* the receive thread's spin budget now (its own) */
    uint64_t discard_logged_ns; /* the last WARN line about discards (one a second at most) */
    uint32_t discards_unlogged;
};

typedef struct wt_driver
{
    wt_mutex registration_lock;
    int registered;    /* a session is registered; guarded by registration_lock */
    int accepting;     /* the Send ring takes packets; guarded by send.lock */
    int dead;          /* the adapter is gone: no more sessions */
    int disconnecting; /* read by the receive thread */
    int vnet_hdr_in_rings; /* super-packet mode: a virtio-net header before each packet (set by
                            * the port's session_starting, for that session) */
    struct wt_send_side send;
    struct wt_receive_side receive;
    const wt_port_ops *ops;
    void *port;
    wt_stats stats; /* updated with atomic adds */
} wt_driver;

void wt_driver_init(wt_driver *driver, const wt_port_ops *ops, void *port);
void wt_driver_destroy(wt_driver *driver);

/* Registers a client's rings: Wintun's TUN_IOCTL_REGISTER_RINGS, its input as the client gave it
 * (input_size bytes, sizeof(TUN_REGISTER_RINGS) expected). Checks in the driver's order
 * (docs/protocol.md §1.4, wintun_device.h): ERROR_DEV_NOT_EXIST (the adapter is gone), ERROR_ALREADY_INITIALIZED (a
 * session is registered), ERROR_INVALID_PARAMETER (input size, ring sizes, pointers, alignment,
 * the initial Send Tail), ERROR_NOACCESS (no input), ERROR_INVALID_HANDLE (an event that is not
 * one), ERROR_INVALID_USER_BUFFER (ring memory), or the error of starting the receive thread. The
 * driver holds its own references on both events until the session ends. *registered gets the
 * descriptor as the driver read it (the client may change its own meanwhile). */
DWORD wt_driver_register(wt_driver *driver, const void *input, DWORD input_size, TUN_REGISTER_RINGS *registered);

/* Ends the session on the driver side: the receive thread hands what the client had sent to the
 * port (or counts it as dropped), stops and sets Receive Head to 0xFFFFFFFF; then Send Tail is
 * set to 0xFFFFFFFF and readers are woken. Only if the session's Send ring is send_ring (NULL:
 * whichever is registered); idempotent. *ends (if given) gets where the driver left the rings of
 * the session of send_ring, whether this call or an earlier one ended it (0xFFFFFFFF: unknown). */
void wt_driver_unregister(wt_driver *driver, const TUN_RING *send_ring, struct wt_ring_ends *ends);

/* The adapter is going away: ends the session and refuses new ones (ERROR_DEV_NOT_EXIST). */
void wt_driver_kill(wt_driver *driver);

enum wt_indicate_mode
{
    WT_INDICATE_ALL_OR_NOTHING, /* Wintun: a batch that does not fit is dropped and counted */
    WT_INDICATE_PREFIX          /* take what fits, drop nothing: for lossless wires */
};

/* Packets the OS sends out of the adapter: copied into the Send ring, in order. Oversize
 * packets are skipped and counted as errors. Returns how many packets were consumed (delivered,
 * dropped or skipped); *error gets ERROR_SUCCESS, ERROR_BUFFER_OVERFLOW (ring full),
 * ERROR_NOT_READY (no session) or ERROR_HANDLE_EOF (the client broke the ring's Head). */
uint32_t wt_driver_indicate(wt_driver *driver, const wt_packet *packets, uint32_t count, enum wt_indicate_mode mode,
                            DWORD *error);

/* Whether a session is registered now. */
int wt_driver_has_session(wt_driver *driver);

/* The port lost its OS side (the interface was deleted): called from the port's own thread, it
 * closes both rings (the client sees ERROR_HANDLE_EOF) without waiting for anything. */
void wt_driver_port_gone(wt_driver *driver);

/* The zero-copy path of a port that reads packets straight into the Send ring: only for a port
 * that is the ring's single producer (no wt_driver_indicate on the same adapter), between its
 * session_started and session_ending.
 * wt_send_slot: where the next packet of at most max_size bytes goes, or NULL with *error
 *   (ERROR_BUFFER_OVERFLOW: no room, ERROR_NOT_READY: no session, ERROR_HANDLE_EOF: Head closed).
 * wt_send_commit: the packet in that slot has size bytes (counted when published).
 * wt_send_publish: makes the committed packets visible (one Tail store) and wakes the reader. */
uint8_t *wt_send_slot(wt_driver *driver, uint32_t max_size, DWORD *error);
void wt_send_commit(wt_driver *driver, uint32_t size);
void wt_send_publish(wt_driver *driver);

void wt_driver_get_stats(wt_driver *driver, WINTUN_ADAPTER_STATISTICS *stats);

#define WT_STAT_ADD(driver, field, n) wt_atomic_add_fetch(&(driver)->stats.field, (uint64_t)(n), WT_RELAXED)

/* Packets and bytes of one direction ("send" or "receive"), counted before the packets become
 * visible to the other side: bytes first, then packets with release, so wt_driver_get_stats (which
 * loads packets with acquire, then bytes) never shows packets without their bytes. */
#define WT_STAT_COUNT(driver, dir, n, b)                                                              \
    do {                                                                                          \
        wt_atomic_add_fetch(&(driver)->stats.dir##_bytes, (uint64_t)(b), WT_RELAXED);        \
        wt_atomic_add_fetch(&(driver)->stats.dir##_packets, (uint64_t)(n), WT_RELEASE);      \
    } while (0)

/* receive_ring.c: the receive thread's body. */
void wt_receive_thread(void *driver);
/* The receive thread's parser (exposed for the fuzzer): the packets in [head, tail) of the
 * Receive ring, up to WT_RECEIVE_BATCH, the IP ones into packets/ends[*count], the others counted
 * as discards. Returns the offset past what it parsed; *bad when the framing is corrupt there (the
 * ring is then dead, counted in receive_errors). Reads nothing outside the ring. */
uint32_t wt_receive_parse(wt_driver *driver, TUN_RING *ring, uint32_t head, uint32_t tail, wt_packet *packets,
                          uint32_t *ends, uint32_t *count, int *bad);

#endif
