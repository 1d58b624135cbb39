/* SPDX-License-Identifier: MIT
 *
 * The kernel backend on Linux: the adapter is a TUN interface (IFF_TUN | IFF_NO_PI: plain IPv4
 * and IPv6 packets), configured through rtnetlink.
 *
 * - OS -> client: a reader thread per session read()s each packet straight into its Send ring
 *   slot (no intermediate copy; a slot is the MTU's size, and the ring's last room is filled
 *   through a copy), up to a batch, then publishes Tail once and wakes the client if it waits. With the ring full, packets are read and dropped (counted), as Wintun drops: the
 *   kernel's queue keeps draining.
 * - client -> OS: the driver's receive thread hands packets over, and each is write()n straight
 *   from its Receive ring slot.
 * - Offloads (offload.h, WINTUN_OFFLOAD_MODE): the TUN is made with IFF_VNET_HDR and the kernel's
 *   offloads (TSO, USO where it has them, checksums) are turned on, unless WINTUN_OFFLOAD=off.
 *   Transparent mode cuts each super-packet read into the Send ring's packets and merges what the
 *   client sends into super-packets, one writev() each; super-packet mode passes both through
 *   behind their virtio-net header.
 * - The interface is created up, as a Wintun adapter is; closing the adapter closes the TUN fd,
 *   which removes the interface. If it is deleted from outside (ip link del), both rings close:
 *   the client sees ERROR_HANDLE_EOF.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "netlink.h"
#include "offload.h"
#include "port.h"
#include "tun_helper.h"
#include "tun_open.h"
#include "device.h"
#include "logger.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <linux/if_tun.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

/* Packets read per wake-up before Tail is published. */
#define READ_BATCH 128
/* The reader's buffer with a virtio-net header: the header and the largest packet the kernel passes. */
#define SCRATCH_SIZE (WT_VNET_HDR_LEN + 0x10000)
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif
#define ALL_OFFLOADS (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_USO4 | TUN_F_USO6)
_Static_assert(SCRATCH_SIZE + sizeof(wt_gro) <= 256 * 1024, "offload buffers: at most 256 KiB an adapter");

struct wt_kernel
{
    struct wt_device *dev;
    struct wt_tun_handles tun;
    wt_mutex netlink_lock; /* one request at a time on tun.nl_fd */
    int stop_fd;           /* eventfd: the reader thread stops */
    wt_thread reader;
    int reader_running;
    int gone; /* the interface was deleted from outside */
    uint32_t mtu; /* the largest packet the interface delivers, the size of a read (atomic) */
    struct wt_helper_link helper; /* made by wintun-helper: configured through it, not netlink */
    /* Offloads. mode and offloads change only without a session (registration_lock); a session
     * starts with its own copy of the mode in session_mode. */
    WINTUN_OFFLOAD_MODE mode, session_mode;
    unsigned offloads;  /* the TUN_F_* flags the kernel has on */
    unsigned gro_flags; /* what transmit merges */
    uint8_t *scratch;   /* with a virtio-net header: the reader's buffer (SCRATCH_SIZE bytes) */
    wt_gro *gro;        /* and the receive thread's plan of writes */
    uint64_t invalid_logged_ns; /* the last line about a super-packet we could not cut */
};

/* ---- configuration: rtnetlink, or wintun-helper for an adapter it made; netlink_lock held ---- */

static DWORD helper_query(struct wt_kernel *k, struct wt_helper_reply *reply)
{
    struct wt_helper_request req = { .type = WT_HELPER_QUERY };
    return wt_helper_call(&k->helper, &req, reply);
}

static DWORD ctl_set_link(struct wt_kernel *k, DWORD mtu, int up)
{
    if (k->helper.fd < 0)
        return wt_nl_set_link(k->tun.nl_fd, k->tun.ifindex, mtu, up);
    struct wt_helper_reply reply;
    DWORD err = ERROR_SUCCESS;
    if (mtu) {
        struct wt_helper_request req = { .type = WT_HELPER_SET_MTU, .mtu = mtu };
        err = wt_helper_call(&k->helper, &req, &reply);
    }
    if (!err && up >= 0) {
        struct wt_helper_request req = { .type = WT_HELPER_SET_UP, .up = (uint32_t)up };
        err = wt_helper_call(&k->helper, &req, &reply);
    }
    return err;
}

static DWORD ctl_get_link(struct wt_kernel *k, DWORD *mtu, BOOL *up)
{
    if (k->helper.fd < 0)
        return wt_nl_get_link(k->tun.nl_fd, k->tun.ifindex, mtu, up);
    struct wt_helper_reply reply;
    DWORD err = helper_query(k, &reply);
    if (!err && mtu)
        *mtu = reply.mtu;
    if (!err && up)
        *up = reply.up ? TRUE : FALSE;
    return err;
}

static DWORD ctl_address(struct wt_kernel *k, int add, const WINTUN_ADDRESS *address)
{
    if (k->helper.fd < 0)
        return add ? wt_nl_add_address(k->tun.nl_fd, k->tun.ifindex, address)
                   : wt_nl_delete_address(k->tun.nl_fd, k->tun.ifindex, address);
    struct wt_helper_request req = { .type = add ? WT_HELPER_ADD_ADDRESS : WT_HELPER_DELETE_ADDRESS, .address = *address };
    struct wt_helper_reply reply;
    return wt_helper_call(&k->helper, &req, &reply);
}

static DWORD ctl_get_addresses(struct wt_kernel *k, WINTUN_ADDRESS *addresses, DWORD *count)
{
    if (k->helper.fd < 0)
        return wt_nl_get_addresses(k->tun.nl_fd, k->tun.ifindex, addresses, count);
    struct wt_helper_reply reply;
    DWORD err = helper_query(k, &reply);
    if (err)
        return err;
    DWORD room = *count;
    *count = reply.count;
    memcpy(addresses, reply.addresses, (reply.count < room ? reply.count : room) * sizeof(*addresses));
    return reply.count > room ? ERROR_INSUFFICIENT_BUFFER : ERROR_SUCCESS;
}

static DWORD ctl_get_ifname(struct wt_kernel *k, char name[WT_IFNAMSIZ])
{
    if (k->helper.fd < 0)
        return wt_nl_get_ifname(k->tun.nl_fd, k->tun.ifindex, name);
    struct wt_helper_reply reply;
    DWORD err = helper_query(k, &reply);
    if (!err)
        memcpy(name, reply.ifname, WT_IFNAMSIZ);
    return err;
}

/* The interface's MTU, as the reader sizes its reads: read from the OS; a fallback if it cannot be. */
static uint32_t current_mtu(struct wt_kernel *k)
{
    DWORD mtu = 0;
    wt_mutex_lock(&k->netlink_lock);
    DWORD err = ctl_get_link(k, &mtu, NULL);
    wt_mutex_unlock(&k->netlink_lock);
    return err || !mtu || mtu > TUN_MAX_IP_PACKET_SIZE ? TUN_MAX_IP_PACKET_SIZE : (uint32_t)mtu;
}

/* ---- OS -> client ---- */

/* One packet from the TUN fd into the Send ring: straight into its slot while the ring has room
 * for a packet of the MTU (no copy), else through a scratch buffer into whatever room is left,
 * so the ring fills to its last bytes as Wintun's arithmetic says. A packet larger than the read
 * (the MTU was raised from outside) comes back with its full length: it is counted as an error,
 * never delivered cut, and the next reads are sized anew. Returns the read()'s result. */
static ssize_t read_one(struct wt_kernel *k, uint8_t *scratch, uint64_t *drops)
{
    wt_driver *driver = &k->dev->driver;
    const uint32_t mtu = wt_atomic_load(&k->mtu, WT_RELAXED);
    DWORD err;
    uint8_t *slot = wt_send_slot(driver, mtu, &err);
    ssize_t size = read(k->tun.tun_fd, slot ? slot : scratch, mtu);
    if (size < 0)
        return size;
    if ((uint32_t)size > mtu) {
        WT_STAT_ADD(driver, send_errors, 1);
        wt_atomic_store(&k->mtu, current_mtu(k), WT_RELAXED);
        return size;
    }
    if (!slot && err == ERROR_BUFFER_OVERFLOW && (slot = wt_send_slot(driver, (uint32_t)size, &err)))
        memcpy(slot, scratch, (size_t)size);
    if (slot)
        wt_send_commit(driver, (uint32_t)size);
    else
        ++*drops; /* ring full, or no session: dropped like Wintun's NDIS send path */
    return size;
}

/* A packet of size bytes at packet, into the Send ring through a copy (prefix: a virtio-net header
 * of super-packet mode before it, or NULL). */
static void deliver_copy(wt_driver *driver, const wt_vnet_hdr *prefix, const uint8_t *packet, uint32_t size, uint64_t *drops)
{
    const uint32_t before = prefix ? WT_VNET_HDR_LEN : 0;
    DWORD err;
    uint8_t *slot = wt_send_slot(driver, before + size, &err);
    if (!slot) {
        ++*drops;
        return;
    }
    if (prefix)
        memcpy(slot, prefix, WT_VNET_HDR_LEN);
    memcpy(slot + before, packet, size);
    wt_send_commit(driver, before + size);
}

static void invalid_super_packet(struct wt_kernel *k, const wt_vnet_hdr *hdr, uint32_t size)
{
    WT_STAT_ADD(&k->dev->driver, send_errors, 1);
    uint64_t now = wt_monotonic_ns();
    if (now - k->invalid_logged_ns < 1000000000ull)
        return; /* once a second at most */
    k->invalid_logged_ns = now;
    wt_log(WINTUN_LOG_WARN, "Dropped a super-packet of %u bytes from \"%s\" that cannot be cut (GSO type %u, size %u)",
           size, k->dev->name_utf8, hdr->gso_type, hdr->gso_size);
}

/* The segments of a super-packet, into the Send ring (each behind a zero header in super-packet
 * mode): counted as they are published, the ones without room as drops. */
static void deliver_segments(struct wt_kernel *k, const wt_vnet_hdr *hdr, const uint8_t *packet, uint32_t size,
                             int prefix, uint64_t *drops)
{
    wt_driver *driver = &k->dev->driver;
    const uint32_t before = prefix ? WT_VNET_HDR_LEN : 0;
    wt_gso gso;
    if (wt_gso_parse(&gso, hdr, packet, size)) {
        invalid_super_packet(k, hdr, size);
        return;
    }
    for (uint32_t i = 0; i < gso.count; ++i) {
        const uint32_t segment = wt_gso_segment_size(&gso, i);
        DWORD err;
        uint8_t *slot = wt_send_slot(driver, before + segment, &err);
        if (!slot) {
            *drops += gso.count - i;
            return;
        }
        memset(slot, 0, before);
        wt_gso_segment(&gso, i, slot + before);
        wt_send_commit(driver, before + segment);
    }
}

/* One read() of a TUN with a virtio-net header, into k->scratch: one contiguous buffer costs
 * less than a readv() straight into a ring slot (the kernel imports an iovec array per call),
 * and a super-packet is then whole where it is cut. Transparent mode: a plain packet gets its
 * checksum finished and is copied into the ring, a super-packet is cut into it. Super-packet
 * mode: the header goes into the ring before the packet; one too large for a ring packet is cut.
 * Returns the read()'s result. */
static ssize_t read_one_vnet(struct wt_kernel *k, uint64_t *drops)
{
    wt_driver *driver = &k->dev->driver;
    const int super = k->session_mode == WINTUN_OFFLOAD_SUPER_PACKETS;
    ssize_t n = read(k->tun.tun_fd, k->scratch, SCRATCH_SIZE);
    if (n < 0)
        return n;
    if (n <= WT_VNET_HDR_LEN) {
        WT_STAT_ADD(driver, send_errors, 1);
        return n;
    }
    wt_vnet_hdr hdr;
    memcpy(&hdr, k->scratch, WT_VNET_HDR_LEN);
    uint8_t *packet = k->scratch + WT_VNET_HDR_LEN;
    const uint32_t size = (uint32_t)n - WT_VNET_HDR_LEN;
    if (super && WT_VNET_HDR_LEN + size <= TUN_MAX_IP_PACKET_SIZE) {
        deliver_copy(driver, &hdr, packet, size, drops);
    } else if (hdr.gso_type == WT_VNET_GSO_NONE) {
        if ((hdr.flags & WT_VNET_F_NEEDS_CSUM) && !wt_csum_complete(packet, size, &hdr))
            invalid_super_packet(k, &hdr, size);
        else if ((super ? WT_VNET_HDR_LEN : 0) + size > TUN_MAX_IP_PACKET_SIZE)
            WT_STAT_ADD(driver, send_errors, 1); /* no ring packet holds it (an MTU near 64 KiB) */
        else
            deliver_copy(driver, super ? &(wt_vnet_hdr){ 0 } : NULL, packet, size, drops);
    } else {
        deliver_segments(k, &hdr, packet, size, super, drops);
    }
    return n;
}

static void reader_thread(void *arg)
{
    struct wt_kernel *k = arg;
    wt_driver *driver = &k->dev->driver;
    static _Thread_local uint8_t scratch[TUN_MAX_IP_PACKET_SIZE];
    struct pollfd fds[2] = { { .fd = k->tun.tun_fd, .events = POLLIN }, { .fd = k->stop_fd, .events = POLLIN } };
    for (;;) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            wt_log_errno(errno, "Failed to wait for packets on \"%s\"", k->dev->name_utf8);
            break;
        }
        if (fds[1].revents)
            break;
        uint64_t drops = 0;
        for (int n = 0; n < READ_BATCH; ++n) {
            if ((k->tun.vnet_hdr ? read_one_vnet(k, &drops) : read_one(k, scratch, &drops)) >= 0)
                continue;
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                break;
            if (errno == EBADFD || errno == EIO) {
                wt_log(WINTUN_LOG_WARN, "Interface \"%s\" was removed from outside", k->dev->name_utf8);
                wt_atomic_store(&k->gone, 1, WT_RELEASE);
                wt_send_publish(driver);
                wt_driver_port_gone(driver);
                return;
            }
            wt_log_errno(errno, "Failed to read from \"%s\"", k->dev->name_utf8);
            WT_STAT_ADD(driver, send_errors, 1);
            break;
        }
        wt_send_publish(driver);
        if (drops)
            WT_STAT_ADD(driver, send_drops, drops);
    }
}

/* The session's mode, fixed before its receive thread starts (registration_lock held, as
 * WintunSetAdapterOffload holds it): the receive thread (transmit, the ring parser) and the
 * reader thread see it from their start. */
static void kernel_session_starting(void *port)
{
    struct wt_kernel *k = port;
    k->session_mode = k->mode;
    k->dev->driver.vnet_hdr_in_rings = k->mode == WINTUN_OFFLOAD_SUPER_PACKETS;
}

static DWORD kernel_session_started(void *port)
{
    struct wt_kernel *k = port;
    uint64_t value;
    while (read(k->stop_fd, &value, sizeof(value)) > 0) /* a previous session's stop */
        ;
    wt_atomic_store(&k->mtu, current_mtu(k), WT_RELAXED);
    DWORD err = wt_thread_start(&k->reader, reader_thread, k);
    if (err)
        return wt_log_error(err, "Failed to start the reader thread of \"%s\"", k->dev->name_utf8);
    k->reader_running = 1;
    return ERROR_SUCCESS;
}

static void kernel_session_ending(void *port)
{
    struct wt_kernel *k = port;
    if (!k->reader_running)
        return;
    uint64_t one = 1;
    if (write(k->stop_fd, &one, sizeof(one)) < 0)
        wt_log_errno(errno, "Failed to stop the reader thread");
    wt_thread_join(k->reader);
    k->reader_running = 0;
}

/* ---- client -> OS ---- */

/* How a write the kernel refused counts: 1 to go on, 0 when the interface is gone (the caller
 * stops: everything not written is a drop). */
struct tally
{
    uint64_t drops, errors, delivered, bytes;
};

static int count_write(struct wt_kernel *k, struct tally *t, ssize_t n, uint32_t packets, uint64_t bytes)
{
    if (n >= 0) {
        t->delivered += packets;
        t->bytes += bytes;
        return 1;
    }
    if (errno == EBADFD) {
        wt_atomic_store(&k->gone, 1, WT_RELEASE);
        t->drops += packets;
        wt_driver_port_gone(&k->dev->driver);
        return 0;
    }
    if (errno == EINVAL || errno == EFAULT)
        t->errors += packets; /* the kernel refused the packet: malformed, or a header it could not take */
    else
        t->drops += packets; /* EIO: the interface is down; EAGAIN, ENOBUFS: its queue is full */
    return 1;
}

static void count_tally(wt_driver *driver, const struct tally *t)
{
    if (t->delivered)
        WT_STAT_COUNT(driver, receive, t->delivered, t->bytes);
    if (t->drops)
        WT_STAT_ADD(driver, receive_drops, t->drops);
    if (t->errors)
        WT_STAT_ADD(driver, receive_errors, t->errors);
}

static ssize_t writev_retry(int fd, const struct iovec *iov, int count)
{
    ssize_t n;
    do
        n = writev(fd, iov, count);
    while (n < 0 && errno == EINTR);
    return n;
}

/* Super-packet mode: each packet is a virtio-net header and an IP packet, written as it is once
 * the header is one the kernel could have made (DATA_VALID is cleared: the kernel checks what it
 * did not finish itself). */
static uint32_t transmit_super(struct wt_kernel *k, const wt_packet *packets, uint32_t count)
{
    struct tally t = { 0 };
    uint32_t i = 0;
    for (; i < count; ++i) {
        const uint8_t *data = packets[i].data;
        const uint32_t size = packets[i].size - WT_VNET_HDR_LEN; /* the ring parser checked the IP packet */
        wt_vnet_hdr hdr;
        wt_gso gso;
        memcpy(&hdr, data, WT_VNET_HDR_LEN);
        hdr.flags &= WT_VNET_F_NEEDS_CSUM;
        if (hdr.gso_type != WT_VNET_GSO_NONE && wt_gso_parse(&gso, &hdr, data + WT_VNET_HDR_LEN, size)) {
            ++t.errors;
            continue;
        }
        struct iovec iov[2] = { { &hdr, WT_VNET_HDR_LEN }, { (void *)(data + WT_VNET_HDR_LEN), size } };
        if (!count_write(k, &t, writev_retry(k->tun.tun_fd, iov, 2), 1, size)) {
            t.drops += count - i - 1;
            break;
        }
    }
    count_tally(&k->dev->driver, &t);
    return count;
}

/* Transparent mode: the batch's writes as wt_gro_plan groups them, each one writev() of a
 * virtio-net header, the merged headers and the payloads straight from the Receive ring. */
static uint32_t transmit_merged(struct wt_kernel *k, const wt_packet *packets, uint32_t count)
{
    static const wt_vnet_hdr plain = { 0 };
    wt_gro *gro = k->gro;
    struct tally t = { 0 };
    count = wt_gro_plan(gro, packets, count, k->gro_flags);
    for (uint32_t w = 0; w < gro->count; ++w) {
        const wt_gro_write *write = &gro->writes[w];
        struct iovec iov[2 + WT_GRO_MAX_SEGMENTS];
        int n = 0;
        uint64_t bytes = 0;
        if (write->count == 1) {
            const wt_packet *p = &packets[write->first];
            iov[n++] = (struct iovec){ (void *)&plain, WT_VNET_HDR_LEN };
            iov[n++] = (struct iovec){ (void *)p->data, p->size };
            bytes = p->size;
        } else {
            iov[n++] = (struct iovec){ (void *)&write->vnet, WT_VNET_HDR_LEN };
            iov[n++] = (struct iovec){ (void *)write->header, write->headers };
            for (uint32_t i = write->first;; i = gro->next[i]) {
                uint32_t size;
                const uint8_t *payload = wt_gro_payload(write, &packets[i], &size);
                iov[n++] = (struct iovec){ (void *)payload, size };
                bytes += packets[i].size;
                if (i == write->last)
                    break;
            }
        }
        if (!count_write(k, &t, writev_retry(k->tun.tun_fd, iov, n), write->count, bytes)) {
            for (uint32_t rest = w + 1; rest < gro->count; ++rest)
                t.drops += gro->writes[rest].count;
            break;
        }
    }
    count_tally(&k->dev->driver, &t);
    return count;
}

static uint32_t kernel_transmit(void *port, const wt_packet *packets, uint32_t count)
{
    struct wt_kernel *k = port;
    wt_driver *driver = &k->dev->driver;
    if (k->tun.vnet_hdr)
        return k->session_mode == WINTUN_OFFLOAD_SUPER_PACKETS ? transmit_super(k, packets, count)
                                                               : transmit_merged(k, packets, count);
    uint64_t drops = 0, errors = 0, delivered = 0, bytes = 0;
    uint32_t i = 0;
    for (; i < count; ++i) {
        ssize_t n;
        do
            n = write(k->tun.tun_fd, packets[i].data, packets[i].size);
        while (n < 0 && errno == EINTR);
        if (n >= 0) {
            ++delivered;
            bytes += packets[i].size;
            continue;
        }
        if (errno == EAGAIN || errno == ENOBUFS)
            break; /* pushed back: the rest stays in the ring */
        if (errno == EBADFD) {
            wt_atomic_store(&k->gone, 1, WT_RELEASE);
            drops += count - i;
            i = count;
            wt_driver_port_gone(driver);
            break;
        }
        if (errno == EIO) /* the interface is down */
            ++drops;
        else
            ++errors; /* the kernel refused the packet (EINVAL: malformed) */
    }
    if (delivered)
        WT_STAT_COUNT(driver, receive, delivered, bytes);
    if (drops)
        WT_STAT_ADD(driver, receive_drops, drops);
    if (errors)
        WT_STAT_ADD(driver, receive_errors, errors);
    return i;
}

static const wt_port_ops kernel_port_ops = {
    .transmit = kernel_transmit,
    .session_starting = kernel_session_starting,
    .session_started = kernel_session_started,
    .session_ending = kernel_session_ending,
};

/* ---- the interface ---- */

/* Whether adapters are made with offloads: WINTUN_OFFLOAD=off (or 0, no, none) says no. */
static int offload_wanted(void)
{
    const char *value = getenv("WINTUN_OFFLOAD");
    if (!value)
        return 1;
    return strcmp(value, "off") && strcmp(value, "0") && strcmp(value, "no") && strcmp(value, "none");
}

/* The mode's offloads on the TUN; registration_lock held, no session. */
static void apply_offload(struct wt_kernel *k, WINTUN_OFFLOAD_MODE mode)
{
    k->offloads = wt_tun_set_offload(k->tun.tun_fd, mode == WINTUN_OFFLOAD_NONE ? 0 : ALL_OFFLOADS);
    k->mode = mode;
    k->gro_flags = mode == WINTUN_OFFLOAD_NONE ? 0 : WT_GRO_TCP | (k->offloads & TUN_F_USO4 ? WT_GRO_UDP : 0);
}

/* Buffers and offloads of a TUN with a virtio-net header. */
static DWORD setup_offload(struct wt_kernel *k)
{
    if (!k->tun.vnet_hdr)
        return ERROR_SUCCESS;
    k->scratch = malloc(SCRATCH_SIZE);
    k->gro = malloc(sizeof(*k->gro));
    if (!k->scratch || !k->gro)
        return wt_log_error(ERROR_NOT_ENOUGH_MEMORY, "Failed to allocate the offload buffers");
    apply_offload(k, WINTUN_OFFLOAD_TRANSPARENT);
    if (!(k->offloads & TUN_F_TSO4))
        wt_log(WINTUN_LOG_INFO, "Adapter \"%s\": this kernel has no TUN offloads", k->dev->name_utf8);
    return ERROR_SUCCESS;
}

static void free_kernel(struct wt_kernel *k)
{
    close(k->stop_fd);
    free(k->scratch);
    free(k->gro);
    free(k);
}

static DWORD kernel_create(struct wt_device *dev)
{
    struct wt_kernel *k = calloc(1, sizeof(*k));
    if (!k)
        return wt_log_error(ERROR_NOT_ENOUGH_MEMORY, "Failed to allocate the adapter");
    k->dev = dev;
    k->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (k->stop_fd < 0) {
        DWORD err = wt_log_errno(errno, "Failed to create an eventfd");
        free(k);
        return err;
    }
    k->helper.fd = -1;
    const unsigned flags = offload_wanted() ? WT_TUN_VNET_HDR : 0;
    DWORD err;
    if (wt_helper_wanted(dev->netns)) {
        /* No CAP_NET_ADMIN here: the privileged helper makes the interface and hands over its fd. */
        char *tunnel_type = wt_wide_to_utf8_dup(dev->tunnel_type);
        err = tunnel_type ? wt_helper_create(dev->name_utf8, tunnel_type, &dev->guid, flags, &k->helper, &k->tun)
                          : wt_log_error(ERROR_NOT_ENOUGH_MEMORY, "Failed to allocate the adapter");
        free(tunnel_type);
    } else if (!(err = wt_tun_create_adapter(dev->name_utf8, dev->netns, flags, &k->tun))) {
        char *tunnel_type = wt_wide_to_utf8_dup(dev->tunnel_type);
        if (tunnel_type)
            wt_tun_mark_adapter(k->tun.nl_fd, k->tun.ifindex, &dev->guid, tunnel_type);
        free(tunnel_type);
    }
    if (!err && (err = setup_offload(k)))
        wt_tun_close(&k->tun);
    if (err) {
        if (k->helper.fd >= 0)
            wt_helper_close(&k->helper);
        free_kernel(k);
        return err;
    }
    wt_mutex_init(&k->netlink_lock);
    dev->port = k;
    dev->driver.ops = &kernel_port_ops;
    dev->driver.port = k;
    dev->luid.Info.NetLuidIndex = k->tun.ifindex & 0xFFFFFF;
    return ERROR_SUCCESS;
}

static void kernel_remove(struct wt_device *dev)
{
    struct wt_kernel *k = dev->port;
    /* The session is gone already (wt_driver_kill); closing the fd deletes the interface (or
     * closing the connection makes the helper delete it). */
    if (k->tun.tun_fd >= 0) {
        close(k->tun.tun_fd);
        k->tun.tun_fd = -1;
    }
    wt_mutex_lock(&k->netlink_lock);
    wt_helper_close(&k->helper);
    wt_mutex_unlock(&k->netlink_lock);
}

static void kernel_destroy(struct wt_device *dev)
{
    struct wt_kernel *k = dev->port;
    kernel_remove(dev);
    wt_tun_close(&k->tun);
    wt_mutex_destroy(&k->netlink_lock);
    free_kernel(k);
    dev->port = NULL;
}

#define NETLINK_CALL(dev, call)                                                                    \
    do {                                                                                           \
        struct wt_kernel *k_ = (dev)->port;                                                        \
        wt_mutex_lock(&k_->netlink_lock);                                                          \
        DWORD err_ = call;                                                                         \
        wt_mutex_unlock(&k_->netlink_lock);                                                        \
        return err_;                                                                               \
    } while (0)

static DWORD kernel_set_mtu(struct wt_device *dev, DWORD mtu)
{
    struct wt_kernel *k = dev->port;
    wt_mutex_lock(&k->netlink_lock);
    DWORD err = ctl_set_link(k, mtu, -1);
    wt_mutex_unlock(&k->netlink_lock);
    if (!err) /* the reader's next reads are of the new size (a larger packet read meanwhile is counted) */
        wt_atomic_store(&k->mtu, (uint32_t)mtu, WT_RELAXED);
    return err;
}

static DWORD kernel_get_mtu(struct wt_device *dev, DWORD *mtu)
{
    NETLINK_CALL(dev, ctl_get_link(k_, mtu, NULL));
}

static DWORD kernel_add_address(struct wt_device *dev, const WINTUN_ADDRESS *address)
{
    NETLINK_CALL(dev, ctl_address(k_, 1, address));
}

static DWORD kernel_delete_address(struct wt_device *dev, const WINTUN_ADDRESS *address)
{
    NETLINK_CALL(dev, ctl_address(k_, 0, address));
}

static DWORD kernel_get_addresses(struct wt_device *dev, WINTUN_ADDRESS *addresses, DWORD *count)
{
    NETLINK_CALL(dev, ctl_get_addresses(k_, addresses, count));
}

static DWORD kernel_get_ifname(struct wt_device *dev, char *name, DWORD size)
{
    char current[WT_IFNAMSIZ];
    struct wt_kernel *k = dev->port;
    wt_mutex_lock(&k->netlink_lock);
    DWORD err = ctl_get_ifname(k, current);
    wt_mutex_unlock(&k->netlink_lock);
    if (err)
        return err;
    if (strlen(current) >= size)
        return ERROR_INSUFFICIENT_BUFFER;
    memcpy(name, current, strlen(current) + 1);
    return ERROR_SUCCESS;
}

/* An interface deleted from outside (ip link del) is down: asking for that, or for its state,
 * succeeds; only bringing it up fails (ERROR_DEV_NOT_EXIST). */
static DWORD kernel_set_up(struct wt_device *dev, BOOL up)
{
    struct wt_kernel *k = dev->port;
    if (!up && wt_atomic_load(&k->gone, WT_ACQUIRE))
        return ERROR_SUCCESS;
    wt_mutex_lock(&k->netlink_lock);
    DWORD err = ctl_set_link(k, 0, up ? 1 : 0);
    wt_mutex_unlock(&k->netlink_lock);
    if ((err == ERROR_NOT_FOUND || err == ERROR_DEV_NOT_EXIST) && !up) {
        wt_atomic_store(&k->gone, 1, WT_RELEASE);
        return ERROR_SUCCESS;
    }
    return err;
}

static DWORD kernel_get_up(struct wt_device *dev, BOOL *up)
{
    struct wt_kernel *k = dev->port;
    if (wt_atomic_load(&k->gone, WT_ACQUIRE)) {
        *up = FALSE;
        return ERROR_SUCCESS;
    }
    wt_mutex_lock(&k->netlink_lock);
    DWORD err = ctl_get_link(k, NULL, up);
    wt_mutex_unlock(&k->netlink_lock);
    if (err == ERROR_NOT_FOUND || err == ERROR_DEV_NOT_EXIST) {
        wt_atomic_store(&k->gone, 1, WT_RELEASE);
        *up = FALSE;
        return ERROR_SUCCESS;
    }
    return err;
}

static DWORD kernel_set_offload(struct wt_device *dev, WINTUN_OFFLOAD_MODE mode)
{
    struct wt_kernel *k = dev->port;
    if (!k->tun.vnet_hdr)
        return mode == WINTUN_OFFLOAD_NONE ? ERROR_SUCCESS : ERROR_NOT_SUPPORTED;
    DWORD err = ERROR_SUCCESS;
    wt_mutex_lock(&dev->driver.registration_lock);
    if (dev->driver.registered)
        err = ERROR_BUSY;
    else if (mode != k->mode)
        apply_offload(k, mode);
    wt_mutex_unlock(&dev->driver.registration_lock);
    return err;
}

static DWORD kernel_get_offload(struct wt_device *dev, WINTUN_OFFLOAD_MODE *mode, DWORD *offloads)
{
    struct wt_kernel *k = dev->port;
    wt_mutex_lock(&dev->driver.registration_lock);
    *mode = k->tun.vnet_hdr ? k->mode : WINTUN_OFFLOAD_NONE;
    *offloads = k->tun.vnet_hdr ? k->offloads : 0;
    wt_mutex_unlock(&dev->driver.registration_lock);
    return ERROR_SUCCESS;
}

const wt_backend_ops wt_kernel_backend = {
    .name = "kernel",
    .kind = WINTUN_BACKEND_KERNEL,
    .create = kernel_create,
    .remove = kernel_remove,
    .destroy = kernel_destroy,
    .set_mtu = kernel_set_mtu,
    .get_mtu = kernel_get_mtu,
    .add_address = kernel_add_address,
    .delete_address = kernel_delete_address,
    .get_addresses = kernel_get_addresses,
    .get_ifname = kernel_get_ifname,
    .set_offload = kernel_set_offload,
    .get_offload = kernel_get_offload,
    .set_up = kernel_set_up,
    .get_up = kernel_get_up,
};

int wt_kernel_netns_fds(struct wt_device *dev, int *netns_fd, int *userns_fd)
{
    if (dev->ops != &wt_kernel_backend)
        return 0;
    struct wt_kernel *k = dev->port;
    *netns_fd = k->tun.netns_fd;
    *userns_fd = k->tun.userns_fd;
    return 1;
}
