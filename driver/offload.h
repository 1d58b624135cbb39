/* SPDX-License-Identifier: MIT
 *
 * TUN offloads (IFF_VNET_HDR, TUNSETOFFLOAD): the virtio-net header the kernel puts before each
 * packet, and what the driver does with it so that clients still see ordinary IP packets.
 *
 * - Read side, split: one read() returns a GSO super-packet of up to 64 KiB (TCP: TSO, UDP: USO)
 *   whose checksum is left to us (NEEDS_CSUM). wt_gso_parse checks it is a super-packet the kernel
 *   could have made, wt_gso_segment writes segment i as the kernel's own GSO would: lengths, IPv4
 *   id, TCP sequence number and flags (CWR on the first only, FIN and PSH on the last only), and
 *   full checksums.
 * - Write side, coalesce: wt_gro_plan groups a batch of packets into writes, merging the TCP
 *   segments (and, with USO, the equal-sized UDP datagrams) of one flow that the kernel can cut
 *   again into exactly the same packets; each write is one packet as it is, or one super-packet.
 *
 * Everything here is pure (no I/O): tests and fuzzers call it directly. The header's fields are in
 * host byte order, as the kernel's legacy virtio-net header on TUN is.
 */
#ifndef WINTUN_OFFLOAD_H
#define WINTUN_OFFLOAD_H

#include "platform.h"
#include "driver.h"

#include <stddef.h>
#include <stdint.h>

#define WT_VNET_F_NEEDS_CSUM 1
#define WT_VNET_F_DATA_VALID 2
#define WT_VNET_GSO_NONE 0
#define WT_VNET_GSO_TCPV4 1
#define WT_VNET_GSO_UDP 3 /* UFO (IP fragments): never asked for, never produced */
#define WT_VNET_GSO_TCPV6 4
#define WT_VNET_GSO_UDP_L4 5
#define WT_VNET_GSO_ECN 0x80

/* struct virtio_net_hdr */
typedef struct wt_vnet_hdr
{
    uint8_t flags;
    uint8_t gso_type;
    uint16_t hdr_len;
    uint16_t gso_size;
    uint16_t csum_start;
    uint16_t csum_offset;
} wt_vnet_hdr;

/* The largest super-packet: an IP packet of 64 KiB less one byte. */
#define WT_GSO_MAX_SIZE 0xFFFFu
/* The most segments one write carries (the kernel's UDP_MAX_SEGMENTS is 64 before Linux 6.2). */
#define WT_GRO_MAX_SEGMENTS 64
/* The longest IP + TCP/UDP header a merged packet may have. */
#define WT_GRO_MAX_HEADERS 128

/* ---- the Internet checksum (RFC 1071), in the byte order of the data ---- */

/* Adds size bytes at data to a running sum; data starts at an even offset of what is summed. */
uint64_t wt_csum_add(uint64_t sum, const void *data, size_t size);
/* The folded ones' complement sum, not complemented. */
uint16_t wt_csum_fold(uint64_t sum);
/* The pseudo-header sum of an IPv4 (version 4) or IPv6 packet for an upper-layer length. */
uint64_t wt_csum_pseudo(const uint8_t *ip, uint8_t protocol, uint32_t length);

/* Completes a NEEDS_CSUM packet: sums [csum_start, size) and stores the result at csum_start +
 * csum_offset (which holds the pseudo-header sum). Returns 0 if those offsets are outside the
 * packet (nothing written). */
int wt_csum_complete(uint8_t *packet, uint32_t size, const wt_vnet_hdr *hdr);

/* ---- split (read side) ---- */

typedef struct wt_gso
{
    const uint8_t *packet;
    uint32_t size;
    uint32_t l4;      /* where the TCP or UDP header starts */
    uint32_t headers; /* IP and TCP/UDP headers: copied into every segment */
    uint32_t segment; /* payload bytes per segment (gso_size) */
    uint32_t count;   /* segments */
    uint8_t protocol; /* 6 or 17 */
} wt_gso;

/* A super-packet (hdr->gso_type TCPV4, TCPV6 or UDP_L4) of size bytes. ERROR_SUCCESS, or
 * ERROR_INVALID_DATA for one whose headers disagree with each other or with hdr (wrong version
 * or protocol, lengths, fragments, a zero gso_size, csum_start not at the transport header),
 * ERROR_NOT_SUPPORTED for UFO. Reads nothing outside [packet, packet + size). */
DWORD wt_gso_parse(wt_gso *gso, const wt_vnet_hdr *hdr, const uint8_t *packet, uint32_t size);
/* The size of segment i < gso->count. */
uint32_t wt_gso_segment_size(const wt_gso *gso, uint32_t i);
/* Writes segment i into out (wt_gso_segment_size bytes), with valid checksums. */
void wt_gso_segment(const wt_gso *gso, uint32_t i, uint8_t *out);

/* ---- coalesce (write side) ---- */

#define WT_GRO_TCP 1
#define WT_GRO_UDP 2

typedef struct wt_gro_write
{
    uint32_t first;    /* the index of its first packet */
    uint32_t last;     /* and of its last: first, next[first], ... last */
    uint32_t count;    /* its packets */
    uint32_t size;     /* of the super-packet (count > 1) or the packet */
    uint32_t next_seq; /* TCP: the sequence number the next segment must have */
    uint16_t next_id;  /* IPv4: the id the next packet must have */
    uint16_t headers;  /* IP + TCP/UDP header bytes of each packet; 0: not mergeable */
    uint16_t segment;  /* the payload of each packet but the last */
    uint8_t l4, version, protocol;
    uint8_t open;      /* more packets may join */
    uint8_t verified;  /* the first packet's checksum holds */
    wt_vnet_hdr vnet;  /* count > 1: NEEDS_CSUM and the GSO type; else all zero */
    uint8_t header[WT_GRO_MAX_HEADERS]; /* count > 1: the merged packet's headers */
} wt_gro_write;

typedef struct wt_gro
{
    wt_gro_write writes[WT_RECEIVE_BATCH];
    uint32_t next[WT_RECEIVE_BATCH]; /* packet i's successor in its write */
    uint32_t count;                  /* writes */
} wt_gro;

/* Groups packets[0..n) into gro->writes (the first WT_RECEIVE_BATCH: returns how many it took), in the order of each write's
 * first packet. Never reorders packets of one flow; merges only what the kernel cuts back into
 * the same packets: TCP segments with only ACK (PSH on the last), equal headers but for lengths,
 * id, sequence and checksum, contiguous sequence numbers, equal sizes but for a shorter last one,
 * valid checksums, no IP options, extension headers or fragments; UDP (flags & WT_GRO_UDP) alike.
 * A write of one packet is that packet as it is, with a zero header. */
uint32_t wt_gro_plan(wt_gro *gro, const wt_packet *packets, uint32_t n, unsigned flags);

/* The payload of packet p of a write (for count > 1): p's bytes after its headers. */
static inline const uint8_t *wt_gro_payload(const wt_gro_write *w, const wt_packet *p, uint32_t *size)
{
    *size = p->size - w->headers;
    return p->data + w->headers;
}

#endif
