/* SPDX-License-Identifier: MIT
 *
 * Splitting GSO super-packets and coalescing segments (offload.h): what the kernel's GSO and GRO
 * do, for the TUN offloads. Every offset is checked against the packet's size before use.
 */
#include "offload.h"

#include <string.h>

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_CWR 0x80
#define PROTO_TCP 6
#define PROTO_UDP 17
/* The open writes a plan keeps, one per flow; the oldest is closed to make room. */
#define GRO_OPEN_FLOWS 8

_Static_assert(sizeof(wt_vnet_hdr) == WT_VNET_HDR_LEN, "struct virtio_net_hdr is 10 bytes");

static inline uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static inline void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void put32(uint8_t *p, uint32_t v)
{
    put16(p, v >> 16);
    put16(p + 2, v);
}

/* ---- checksums ---- */

uint64_t wt_csum_add(uint64_t sum, const void *data, size_t size)
{
    const uint8_t *p = data;
    uint32_t w;
    for (; size >= 16; size -= 16, p += 16) {
        uint32_t a, b, c, d;
        memcpy(&a, p, 4);
        memcpy(&b, p + 4, 4);
        memcpy(&c, p + 8, 4);
        memcpy(&d, p + 12, 4);
        sum += (uint64_t)a + b + c + d;
    }
    for (; size >= 4; size -= 4, p += 4) {
        memcpy(&w, p, 4);
        sum += w;
    }
    if (size >= 2) {
        uint16_t h;
        memcpy(&h, p, 2);
        sum += h;
        p += 2;
        size -= 2;
    }
    if (size) { /* the last byte, padded with a zero byte after it */
        uint16_t h = 0;
        memcpy(&h, p, 1);
        sum += h;
    }
    return sum;
}

uint16_t wt_csum_fold(uint64_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xFFFF) + (sum >> 16);
    return (uint16_t)sum;
}

uint64_t wt_csum_pseudo(const uint8_t *ip, uint8_t protocol, uint32_t length)
{
    uint8_t tail[8] = { 0 };
    if ((ip[0] >> 4) == 4) {
        put16(tail, protocol);
        put16(tail + 2, length);
        return wt_csum_add(wt_csum_add(0, ip + 12, 8), tail, 4);
    }
    put32(tail, length);
    tail[7] = protocol;
    return wt_csum_add(wt_csum_add(0, ip + 8, 32), tail, 8);
}

/* The checksum to store: the complement of the folded sum; UDP's 0 means "none", so 0xFFFF. */
static void store_csum(uint8_t *at, uint64_t sum, uint8_t protocol)
{
    uint16_t c = (uint16_t)~wt_csum_fold(sum);
    if (!c && protocol == PROTO_UDP)
        c = 0xFFFF;
    memcpy(at, &c, 2);
}

int wt_csum_complete(uint8_t *packet, uint32_t size, const wt_vnet_hdr *hdr)
{
    uint32_t start = hdr->csum_start, at = start + hdr->csum_offset;
    if (start >= size || at + 2 > size || at < start)
        return 0;
    store_csum(packet + at, wt_csum_add(0, packet + start, size - start), hdr->csum_offset == 6 ? PROTO_UDP : PROTO_TCP);
    return 1;
}

static void ipv4_header_csum(uint8_t *ip)
{
    uint32_t length = (ip[0] & 15u) * 4;
    ip[10] = ip[11] = 0;
    store_csum(ip + 10, wt_csum_add(0, ip, length), 0);
}

/* Where the upper-layer header of an IPv6 packet (of at least 40 bytes) starts, past hop-by-hop,
 * routing and destination options headers, and its protocol (44 for a fragment); 0 if cut short. */
static uint32_t ipv6_transport(const uint8_t *p, uint32_t size, uint8_t *protocol)
{
    uint8_t next = p[6];
    uint32_t offset = 40;
    for (int i = 0; i < 8 && (next == 0 || next == 43 || next == 60); ++i) {
        if (offset + 8 > size)
            return 0;
        next = p[offset];
        offset += (p[offset + 1] + 1u) * 8;
    }
    *protocol = next;
    return offset <= size ? offset : 0;
}

/* ---- split ---- */

DWORD wt_gso_parse(wt_gso *gso, const wt_vnet_hdr *hdr, const uint8_t *p, uint32_t size)
{
    const uint8_t type = hdr->gso_type & (uint8_t)~WT_VNET_GSO_ECN;
    uint8_t protocol;
    switch (type) {
    case WT_VNET_GSO_TCPV4:
    case WT_VNET_GSO_TCPV6:
        protocol = PROTO_TCP;
        break;
    case WT_VNET_GSO_UDP_L4:
        protocol = PROTO_UDP;
        break;
    case WT_VNET_GSO_UDP:
        return ERROR_NOT_SUPPORTED;
    default:
        return ERROR_INVALID_DATA;
    }
    if (size < 20 || size > WT_GSO_MAX_SIZE || !hdr->gso_size)
        return ERROR_INVALID_DATA;
    uint32_t l4;
    const unsigned version = p[0] >> 4;
    if (version == 4 && type != WT_VNET_GSO_TCPV6) {
        l4 = (p[0] & 15u) * 4;
        if (l4 < 20 || l4 > size || get16(p + 2) != size || (get16(p + 6) & 0x3FFF) || p[9] != protocol)
            return ERROR_INVALID_DATA;
    } else if (version == 6 && type != WT_VNET_GSO_TCPV4) {
        uint8_t found;
        if (size < 40 || get16(p + 4) != size - 40 || !(l4 = ipv6_transport(p, size, &found)) || found != protocol)
            return ERROR_INVALID_DATA;
    } else {
        return ERROR_INVALID_DATA;
    }
    if ((hdr->flags & WT_VNET_F_NEEDS_CSUM) && hdr->csum_start != l4)
        return ERROR_INVALID_DATA;
    uint32_t headers;
    if (protocol == PROTO_TCP) {
        if (l4 + 20 > size)
            return ERROR_INVALID_DATA;
        headers = l4 + (p[l4 + 12] >> 4) * 4u;
        if (headers < l4 + 20 || headers > size)
            return ERROR_INVALID_DATA;
    } else {
        headers = l4 + 8;
        if (headers > size || get16(p + l4 + 4) != size - l4)
            return ERROR_INVALID_DATA;
    }
    const uint32_t payload = size - headers;
    *gso = (wt_gso){
        .packet = p,
        .size = size,
        .l4 = l4,
        .headers = headers,
        .segment = hdr->gso_size,
        .count = payload ? (payload + hdr->gso_size - 1) / hdr->gso_size : 1,
        .protocol = protocol,
    };
    return ERROR_SUCCESS;
}

uint32_t wt_gso_segment_size(const wt_gso *gso, uint32_t i)
{
    uint32_t offset = gso->headers + i * gso->segment, rest = gso->size - offset;
    return gso->headers + (rest < gso->segment ? rest : gso->segment);
}

void wt_gso_segment(const wt_gso *gso, uint32_t i, uint8_t *out)
{
    const uint32_t total = wt_gso_segment_size(gso, i), l4_length = total - gso->l4;
    memcpy(out, gso->packet, gso->headers);
    memcpy(out + gso->headers, gso->packet + gso->headers + i * gso->segment, total - gso->headers);
    if ((out[0] >> 4) == 4) {
        put16(out + 2, total);
        put16(out + 4, get16(out + 4) + i);
        ipv4_header_csum(out);
    } else {
        put16(out + 4, total - 40);
    }
    uint8_t *l4 = out + gso->l4;
    uint32_t check;
    if (gso->protocol == PROTO_TCP) {
        put32(l4 + 4, get32(l4 + 4) + i * gso->segment);
        if (i)
            l4[13] &= (uint8_t)~TCP_CWR;
        if (i + 1 < gso->count)
            l4[13] &= (uint8_t)~(TCP_FIN | TCP_PSH);
        check = 16;
    } else {
        put16(l4 + 4, l4_length);
        check = 6;
    }
    l4[check] = l4[check + 1] = 0;
    store_csum(l4 + check, wt_csum_add(wt_csum_pseudo(out, gso->protocol, l4_length), l4, l4_length), gso->protocol);
}

/* ---- coalesce ---- */

/* What the plan needs to know of a packet. */
struct info
{
    uint32_t l4, headers, payload;
    uint8_t version, protocol;
    uint8_t ports;     /* the transport header is there: ports are part of the flow */
    uint8_t fragment;  /* of every flow between its addresses */
    uint8_t mergeable; /* a candidate for a merged write (its checksum is checked when it joins one) */
};

static int checksum_valid(const uint8_t *p, uint32_t size, const struct info *in)
{
    const uint32_t length = size - in->l4;
    if (in->protocol == PROTO_UDP && in->version == 4 && !get16(p + in->l4 + 6))
        return 1; /* no checksum: the merged packet gets one */
    return wt_csum_fold(wt_csum_add(wt_csum_pseudo(p, in->protocol, length), p + in->l4, length)) == 0xFFFF;
}

static void classify(const wt_packet *packet, unsigned flags, struct info *in)
{
    const uint8_t *p = packet->data;
    const uint32_t size = packet->size;
    memset(in, 0, sizeof(*in));
    if (size < 20)
        return;
    in->version = p[0] >> 4;
    int irregular; /* options, extension headers, lengths or a header checksum the kernel would not merge */
    if (in->version == 4) {
        const uint32_t ihl = (p[0] & 15u) * 4;
        in->protocol = p[9];
        in->l4 = ihl;
        in->fragment = (get16(p + 6) & 0x3FFF) != 0;
        if (ihl < 20 || ihl > size || in->fragment)
            return;
        irregular = ihl != 20 || get16(p + 2) != size || wt_csum_fold(wt_csum_add(0, p, 20)) != 0xFFFF;
    } else if (in->version == 6 && size >= 40) {
        in->l4 = ipv6_transport(p, size, &in->protocol);
        in->fragment = in->protocol == 44;
        if (!in->l4 || in->fragment)
            return;
        irregular = in->l4 != 40 || get16(p + 4) != size - 40;
    } else {
        in->version = 0;
        return;
    }
    if (in->protocol == PROTO_TCP && in->l4 + 20 <= size) {
        in->ports = 1;
        in->headers = in->l4 + (p[in->l4 + 12] >> 4) * 4u;
        const uint8_t tcp_flags = p[in->l4 + 13];
        if (!(flags & WT_GRO_TCP) || irregular || in->headers < in->l4 + 20 || in->headers >= size ||
            in->headers > WT_GRO_MAX_HEADERS || (tcp_flags & ~(TCP_ACK | TCP_PSH)) || !(tcp_flags & TCP_ACK))
            return;
    } else if (in->protocol == PROTO_UDP && in->l4 + 8 <= size) {
        in->ports = 1;
        in->headers = in->l4 + 8;
        if (!(flags & WT_GRO_UDP) || irregular || in->headers >= size || get16(p + in->l4 + 4) != size - in->l4)
            return;
    } else {
        return;
    }
    in->payload = size - in->headers;
    in->mergeable = 1;
}

/* Whether a and b belong to one flow: version, addresses, protocol and, where both have them,
 * ports. A fragment is of every flow between its addresses. */
static int same_flow(const uint8_t *a, const struct info *ia, const uint8_t *b, const struct info *ib)
{
    if (ia->version != ib->version || (ia->version == 4 ? memcmp(a + 12, b + 12, 8) : memcmp(a + 8, b + 8, 32)))
        return 0;
    if (ia->fragment || ib->fragment)
        return 1;
    return ia->protocol == ib->protocol && (!(ia->ports && ib->ports) || !memcmp(a + ia->l4, b + ib->l4, 4));
}

/* Whether packet p (mergeable, of w's flow) can follow w's last packet. */
static int can_append(const wt_gro_write *w, const uint8_t *first, const uint8_t *p, const struct info *in)
{
    if (!w->open || in->headers != w->headers || in->payload > w->segment || w->count >= WT_GRO_MAX_SEGMENTS ||
        w->size + in->payload > WT_GSO_MAX_SIZE)
        return 0;
    if (in->version == 4) {
        /* version, length, TOS; flags (DF); TTL */
        if (first[1] != p[1] || first[6] != p[6] || first[8] != p[8] || get16(p + 4) != w->next_id)
            return 0;
    } else if (memcmp(first, p, 4) || first[7] != p[7]) { /* traffic class, flow label; hop limit */
        return 0;
    }
    const uint8_t *a = first + w->l4, *b = p + w->l4;
    if (in->protocol == PROTO_UDP)
        return 1;
    /* TCP: the next sequence number, the same ACK, data offset, window, urgent pointer and options;
     * flags as checked by classify (ACK, and PSH that closes the write) */
    return get32(b + 4) == w->next_seq && !memcmp(a + 8, b + 8, 5) && !memcmp(a + 14, b + 14, 2) &&
           !memcmp(a + 18, b + 18, in->headers - w->l4 - 18);
}

/* Checksums are checked only where a merge needs them (the kernel checks a packet written as it
 * is): a write's first packet when a second one would join it. */
static int first_valid(wt_gro_write *w, const wt_packet *first)
{
    if (!w->verified) {
        const struct info fi = { .l4 = w->l4, .version = w->version, .protocol = w->protocol };
        if (!checksum_valid(first->data, first->size, &fi))
            return 0;
        w->verified = 1;
    }
    return 1;
}

static void start_write(wt_gro *gro, uint32_t i, const wt_packet *packet, const struct info *in)
{
    wt_gro_write *w = &gro->writes[gro->count++];
    memset(w, 0, offsetof(wt_gro_write, header));
    w->first = w->last = i;
    w->count = 1;
    w->size = packet->size;
    if (!in->mergeable)
        return;
    const uint8_t *p = packet->data;
    w->headers = (uint16_t)in->headers;
    w->segment = (uint16_t)in->payload;
    w->l4 = (uint8_t)in->l4;
    w->version = in->version;
    w->protocol = in->protocol;
    w->next_id = (uint16_t)(get16(p + 4) + 1);
    w->next_seq = get32(p + in->l4 + 4) + in->payload;
    w->open = in->protocol == PROTO_UDP || !(p[in->l4 + 13] & TCP_PSH);
}

static void append(wt_gro *gro, wt_gro_write *w, uint32_t i, const uint8_t *p, const struct info *in)
{
    gro->next[w->last] = i;
    w->last = i;
    w->count++;
    w->size += in->payload;
    w->next_id = (uint16_t)(get16(p + 4) + 1);
    w->next_seq += in->payload;
    if (in->payload < w->segment || (in->protocol == PROTO_TCP && (p[in->l4 + 13] & TCP_PSH)))
        w->open = 0;
}

/* The merged packet's headers and virtio-net header: the first packet's, with the lengths of the
 * whole, PSH if the last had it, and the pseudo-header sum where the kernel finishes the checksum. */
static void finish_write(wt_gro_write *w, const wt_packet *packets)
{
    const uint8_t *first = packets[w->first].data, *last = packets[w->last].data;
    uint8_t *h = w->header, *l4 = h + w->l4;
    const uint32_t l4_length = w->size - w->l4;
    memcpy(h, first, w->headers);
    if (w->version == 4) {
        put16(h + 2, w->size);
        ipv4_header_csum(h);
    } else {
        put16(h + 4, w->size - 40);
    }
    uint32_t check = 16;
    if (w->protocol == PROTO_TCP) {
        l4[13] |= last[w->l4 + 13] & TCP_PSH;
    } else {
        put16(l4 + 4, l4_length);
        check = 6;
    }
    uint16_t pseudo = wt_csum_fold(wt_csum_pseudo(h, w->protocol, l4_length));
    memcpy(l4 + check, &pseudo, 2);
    w->vnet = (wt_vnet_hdr){
        .flags = WT_VNET_F_NEEDS_CSUM,
        .gso_type = w->protocol == PROTO_UDP ? WT_VNET_GSO_UDP_L4 : w->version == 4 ? WT_VNET_GSO_TCPV4 : WT_VNET_GSO_TCPV6,
        .hdr_len = w->headers,
        .gso_size = w->segment,
        .csum_start = w->l4,
        .csum_offset = (uint16_t)check,
    };
}

uint32_t wt_gro_plan(wt_gro *gro, const wt_packet *packets, uint32_t n, unsigned flags)
{
    uint32_t open[GRO_OPEN_FLOWS]; /* indices of writes that may grow, oldest first */
    uint32_t open_count = 0;
    gro->count = 0;
    if (n > WT_RECEIVE_BATCH)
        n = WT_RECEIVE_BATCH;
    for (uint32_t i = 0; i < n; ++i) {
        struct info in;
        classify(&packets[i], flags, &in);
        const uint8_t *p = packets[i].data;
        int joined = 0;
        /* The open write of this packet's flow takes it, or is closed so that no later packet of
         * the flow can pass this one (a fragment closes every flow between its addresses). */
        for (uint32_t k = 0; in.version && k < open_count && !joined;) {
            wt_gro_write *w = &gro->writes[open[k]];
            const uint8_t *first = packets[w->first].data;
            const struct info fi = { .version = w->version, .protocol = w->protocol, .l4 = w->l4, .ports = 1 };
            if (!same_flow(first, &fi, p, &in)) {
                ++k;
                continue;
            }
            if (in.mergeable && can_append(w, first, p, &in) && first_valid(w, &packets[w->first]) &&
                checksum_valid(p, packets[i].size, &in)) {
                append(gro, w, i, p, &in);
                joined = 1;
            } else {
                w->open = 0; /* a packet with a bad checksum may start a write: nothing will join it */
            }
            if (w->open) {
                ++k;
                continue;
            }
            memmove(open + k, open + k + 1, (open_count - k - 1) * sizeof(*open));
            --open_count;
        }
        if (joined)
            continue;
        start_write(gro, i, &packets[i], &in);
        if (!gro->writes[gro->count - 1].open)
            continue;
        if (open_count == GRO_OPEN_FLOWS) {
            gro->writes[open[0]].open = 0;
            memmove(open, open + 1, (GRO_OPEN_FLOWS - 1) * sizeof(*open));
            --open_count;
        }
        open[open_count++] = gro->count - 1;
    }
    for (uint32_t k = 0; k < gro->count; ++k)
        if (gro->writes[k].count > 1)
            finish_write(&gro->writes[k], packets);
    return n;
}
