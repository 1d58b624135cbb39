/* SPDX-License-Identifier: MIT
 *
 * The TUN offloads' pure half (driver/offload.c): the checksum, splitting super-packets as the
 * kernel's GSO does, and coalescing segments as its GRO does, checked against golden vectors and
 * against tests/offload_oracle.h's own checksum and builders.
 */
#include "offload_oracle.h"
#include "test.h"
#include "wintun_ext.h"

#include <stdlib.h>
#include <string.h>

static uint8_t buf[0x20000], seg[0x10000];

static uint32_t rng_state = 12345;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static void test_checksum_matches_reference(void)
{
    uint8_t data[3000];
    for (size_t i = 0; i < sizeof(data); ++i)
        data[i] = (uint8_t)rnd();
    int mismatches = 0;
    for (int trial = 0; trial < 2000; ++trial) {
        size_t length = rnd() % sizeof(data), start = (rnd() % 64) * 2;
        if (start > length)
            start = 0;
        uint16_t ours = wt_csum_fold(wt_csum_add(0, data + start, length - start));
        uint16_t native;
        uint32_t theirs = ref_sum(data + start, length - start, 0);
        uint8_t be[2] = { (uint8_t)(theirs >> 8), (uint8_t)theirs };
        memcpy(&native, be, 2);
        /* 0x0000 and 0xFFFF are both zero in ones' complement */
        if (ours != native && !((ours == 0 || ours == 0xFFFF) && (native == 0 || native == 0xFFFF)))
            ++mismatches;
    }
    CHECK(mismatches == 0);
    CHECK(wt_csum_fold(0x1FFFE) == 0xFFFF);
    CHECK(wt_csum_fold(0) == 0);
}

/* A TCP super-packet as the kernel hands it over (NEEDS_CSUM: the pseudo-header sum in place). */
static uint32_t super_tcp(uint8_t *out, wt_vnet_hdr *hdr, const struct ref_flow *f, uint32_t payload, uint16_t gso,
                          uint8_t flags, unsigned options)
{
    uint8_t data[0x10000];
    for (uint32_t i = 0; i < payload; ++i)
        data[i] = (uint8_t)(i * 7 + 3);
    uint32_t size = ref_packet(out, f, 0x1234, 1000, flags, options, data, payload);
    uint32_t l4 = f->version == 4 ? 20 : 40, check = f->protocol == 6 ? 16 : 6;
    uint32_t pseudo = ref_pseudo(out, f->protocol, size - l4);
    wr16(out + l4 + check, pseudo);
    *hdr = (wt_vnet_hdr){ .flags = WT_VNET_F_NEEDS_CSUM,
                          .gso_type = f->protocol == 17 ? WT_VNET_GSO_UDP_L4 : f->version == 4 ? WT_VNET_GSO_TCPV4 : WT_VNET_GSO_TCPV6,
                          .hdr_len = (uint16_t)(l4 + (f->protocol == 6 ? 20 + options : 8)),
                          .gso_size = gso,
                          .csum_start = (uint16_t)l4,
                          .csum_offset = (uint16_t)check };
    return size;
}

static void test_split_golden_tcpv4(void)
{
    static const uint8_t expected[3][48] = {
        "\x45\x00\x00\x30\x12\x34\x40\x00\x40\x06\x14\x92\x0a\x00\x00\x01\x0a\x00\x00\x02\x9c\x40\x14\x51\x00\x00\x03\xe8"
        "\x01\x02\x03\x04\x50\x90\x02\x00\xd0\xb6\x00\x00\x01\x02\x03\x04\x05\x06\x07\x08",
        "\x45\x00\x00\x30\x12\x35\x40\x00\x40\x06\x14\x91\x0a\x00\x00\x01\x0a\x00\x00\x02\x9c\x40\x14\x51\x00\x00\x03\xf0"
        "\x01\x02\x03\x04\x50\x10\x02\x00\xb1\x0e\x00\x00\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10",
        "\x45\x00\x00\x2c\x12\x36\x40\x00\x40\x06\x14\x94\x0a\x00\x00\x01\x0a\x00\x00\x02\x9c\x40\x14\x51\x00\x00\x03\xf8"
        "\x01\x02\x03\x04\x50\x19\x02\x00\xbd\x0f\x00\x00\x11\x12\x13\x14",
    };
    /* 20 bytes 1..20 with ACK|PSH|FIN|CWR, cut at 8: CWR on the first, PSH and FIN on the last */
    uint8_t packet[60];
    const struct ref_flow f = { 4, 6, 40000, 5201, 1 };
    uint8_t payload[20];
    for (int i = 0; i < 20; ++i)
        payload[i] = (uint8_t)(i + 1);
    ref_packet(packet, &f, 0x1234, 1000, 0x99, 0, payload, 20);
    wr16(packet + 36, ref_pseudo(packet, 6, 40));
    wt_vnet_hdr hdr = { WT_VNET_F_NEEDS_CSUM, WT_VNET_GSO_TCPV4, 40, 8, 20, 16 };
    wt_gso gso;
    CHECK(wt_gso_parse(&gso, &hdr, packet, 60) == ERROR_SUCCESS);
    CHECK(gso.count == 3 && gso.headers == 40 && gso.l4 == 20);
    for (uint32_t i = 0; i < 3 && gso.count == 3; ++i) {
        uint32_t size = wt_gso_segment_size(&gso, i);
        CHECK(size == (i < 2 ? 48u : 44u));
        wt_gso_segment(&gso, i, seg);
        CHECK(!memcmp(seg, expected[i], size));
        CHECK(ref_ip_valid(seg) && ref_l4_valid(seg, size, 20, 6));
    }
}

/* Every segment of a super-packet: lengths, ids, sequence numbers, flags, payload and checksums. */
static int check_segments(const uint8_t *packet, uint32_t size, const wt_vnet_hdr *hdr, const struct ref_flow *f,
                          uint32_t payload, uint8_t flags)
{
    int bad = 0;
    wt_gso gso;
    if (wt_gso_parse(&gso, hdr, packet, size))
        return 1;
    const uint32_t headers = hdr->hdr_len, l4 = hdr->csum_start;
    if (gso.count != (payload + hdr->gso_size - 1) / hdr->gso_size || gso.headers != headers)
        return 1;
    for (uint32_t i = 0; i < gso.count; ++i) {
        const uint32_t length = wt_gso_segment_size(&gso, i), chunk = length - headers;
        wt_gso_segment(&gso, i, seg);
        bad += chunk != (i + 1 < gso.count ? hdr->gso_size : payload - i * hdr->gso_size);
        bad += memcmp(seg + headers, packet + headers + i * hdr->gso_size, chunk) != 0;
        bad += !ref_ip_valid(seg) || !ref_l4_valid(seg, length, l4, f->protocol);
        if (f->version == 4)
            bad += rd16(seg + 2) != length || rd16(seg + 4) != (uint16_t)(0x1234 + i);
        else
            bad += rd16(seg + 4) != length - 40;
        if (f->protocol == 6) {
            uint32_t sq = (uint32_t)seg[l4 + 4] << 24 | (uint32_t)seg[l4 + 5] << 16 | (uint32_t)seg[l4 + 6] << 8 | seg[l4 + 7];
            uint8_t want = flags;
            if (i)
                want &= (uint8_t)~0x80;
            if (i + 1 < gso.count)
                want &= (uint8_t)~0x09;
            bad += sq != 1000 + i * hdr->gso_size || seg[l4 + 13] != want;
            bad += memcmp(seg + l4 + 20, packet + l4 + 20, headers - l4 - 20) != 0; /* options */
        } else {
            bad += rd16(seg + l4 + 4) != length - l4;
        }
    }
    return bad;
}

static void test_split_kinds(void)
{
    const struct ref_flow flows[] = { { 4, 6, 40000, 5201, 1 }, { 6, 6, 40000, 5201, 1 }, { 4, 17, 4433, 443, 1 },
                                      { 6, 17, 4433, 443, 1 } };
    const uint32_t payloads[] = { 1, 1448, 1449, 5000, 65000 };
    for (size_t k = 0; k < sizeof(flows) / sizeof(flows[0]); ++k) {
        for (size_t p = 0; p < sizeof(payloads) / sizeof(payloads[0]); ++p) {
            const struct ref_flow *f = &flows[k];
            uint32_t payload = payloads[p];
            unsigned options = f->protocol == 6 ? 12 : 0;
            if ((f->version == 4 ? 20u : 40u) + (f->protocol == 6 ? 20 + options : 8) + payload > WT_GSO_MAX_SIZE)
                payload = WT_GSO_MAX_SIZE - 100;
            wt_vnet_hdr hdr;
            uint32_t size = super_tcp(buf, &hdr, f, payload, 1448, 0x18 | 0x01, options);
            CHECK(check_segments(buf, size, &hdr, f, payload, 0x19) == 0);
        }
    }
}

static void test_split_after_extension_headers(void)
{
    /* IPv6 with a hop-by-hop header (8 bytes) before TCP: the segments keep it */
    const struct ref_flow f = { 6, 6, 40000, 5201, 1 };
    uint8_t plain[0x4000];
    wt_vnet_hdr hdr;
    uint32_t size = super_tcp(plain, &hdr, &f, 3000, 1000, 0x10, 0);
    memcpy(buf, plain, 40);
    buf[6] = 0; /* hop-by-hop */
    memset(buf + 40, 0, 8);
    buf[40] = 6; /* then TCP */
    buf[42] = 1; /* PadN of 4 */
    buf[43] = 4;
    memcpy(buf + 48, plain + 40, size - 40);
    size += 8;
    wr16(buf + 4, size - 40);
    wr16(buf + 48 + 16, ref_pseudo(buf, 6, size - 48));
    hdr.hdr_len = 68;
    hdr.csum_start = 48;
    wt_gso gso;
    CHECK(wt_gso_parse(&gso, &hdr, buf, size) == ERROR_SUCCESS && gso.count == 3 && gso.l4 == 48);
    for (uint32_t i = 0; i < gso.count; ++i) {
        uint32_t length = wt_gso_segment_size(&gso, i);
        wt_gso_segment(&gso, i, seg);
        CHECK(seg[6] == 0 && seg[40] == 6 && rd16(seg + 4) == length - 40 && ref_l4_valid(seg, length, 48, 6));
    }
}

static void test_split_refuses_what_the_kernel_would_not_make(void)
{
    const struct ref_flow f4 = { 4, 6, 40000, 5201, 1 }, f6 = { 6, 6, 40000, 5201, 1 };
    wt_vnet_hdr hdr, h;
    wt_gso gso;
    uint32_t size = super_tcp(buf, &hdr, &f4, 3000, 1448, 0x10, 0);
    CHECK(wt_gso_parse(&gso, &hdr, buf, size) == ERROR_SUCCESS);
    h = hdr, h.gso_type = WT_VNET_GSO_TCPV6; /* IPv4 said to be IPv6 */
    CHECK(wt_gso_parse(&gso, &h, buf, size) == ERROR_INVALID_DATA);
    h = hdr, h.gso_size = 0;
    CHECK(wt_gso_parse(&gso, &h, buf, size) == ERROR_INVALID_DATA);
    h = hdr, h.csum_start = 24;
    CHECK(wt_gso_parse(&gso, &h, buf, size) == ERROR_INVALID_DATA);
    h = hdr, h.gso_type = WT_VNET_GSO_UDP; /* UFO */
    CHECK(wt_gso_parse(&gso, &h, buf, size) == ERROR_NOT_SUPPORTED);
    h = hdr, h.gso_type = 9;
    CHECK(wt_gso_parse(&gso, &h, buf, size) == ERROR_INVALID_DATA);
    CHECK(wt_gso_parse(&gso, &hdr, buf, size - 1) == ERROR_INVALID_DATA); /* total length disagrees */
    CHECK(wt_gso_parse(&gso, &hdr, buf, 30) == ERROR_INVALID_DATA);       /* cut inside TCP */
    buf[6] |= 0x20;                                                      /* more fragments */
    CHECK(wt_gso_parse(&gso, &hdr, buf, size) == ERROR_INVALID_DATA);
    buf[6] &= (uint8_t)~0x20;
    buf[32] = 0x40; /* data offset 4 */
    CHECK(wt_gso_parse(&gso, &hdr, buf, size) == ERROR_INVALID_DATA);
    buf[32] = 0xF0; /* 60 bytes of TCP header: past the packet of 50 */
    CHECK(wt_gso_parse(&gso, &hdr, buf, 50) == ERROR_INVALID_DATA);
    buf[32] = 0x50;
    buf[9] = 17; /* UDP inside a TCP super-packet */
    CHECK(wt_gso_parse(&gso, &hdr, buf, size) == ERROR_INVALID_DATA);
    size = super_tcp(buf, &hdr, &f6, 3000, 1448, 0x10, 0);
    CHECK(wt_gso_parse(&gso, &hdr, buf, size) == ERROR_SUCCESS);
    wr16(buf + 4, 1); /* payload length disagrees */
    CHECK(wt_gso_parse(&gso, &hdr, buf, size) == ERROR_INVALID_DATA);
    buf[0] = 0x50; /* version 5 */
    CHECK(wt_gso_parse(&gso, &hdr, buf, size) == ERROR_INVALID_DATA);
    CHECK(wt_gso_parse(&gso, &hdr, buf, WT_GSO_MAX_SIZE + 1) == ERROR_INVALID_DATA);
}

static void test_checksum_completion(void)
{
    const struct ref_flow f = { 4, 17, 5353, 53, 1 };
    uint8_t payload[333];
    for (size_t i = 0; i < sizeof(payload); ++i)
        payload[i] = (uint8_t)(i ^ 0x5A);
    uint32_t size = ref_packet(buf, &f, 7, 0, 0, 0, payload, sizeof(payload));
    CHECK(ref_l4_valid(buf, size, 20, 17));
    wr16(buf + 26, ref_pseudo(buf, 17, size - 20)); /* CHECKSUM_PARTIAL */
    CHECK(!ref_l4_valid(buf, size, 20, 17));
    wt_vnet_hdr hdr = { WT_VNET_F_NEEDS_CSUM, 0, 0, 0, 20, 6 };
    CHECK(wt_csum_complete(buf, size, &hdr));
    CHECK(ref_l4_valid(buf, size, 20, 17));
    hdr.csum_start = (uint16_t)size;
    CHECK(!wt_csum_complete(buf, size, &hdr));
    hdr.csum_start = 20, hdr.csum_offset = (uint16_t)(size - 21);
    CHECK(!wt_csum_complete(buf, size, &hdr)); /* the field would run past the end */
}

/* ---- coalescing ---- */

static uint8_t store[WT_RECEIVE_BATCH][2048];

static uint32_t stream(wt_packet *packets, uint32_t at, const struct ref_flow *f, uint32_t count, uint32_t length,
                       uint32_t *seq, uint16_t *id, uint8_t last_flags)
{
    uint8_t payload[1500];
    for (uint32_t i = 0; i < count; ++i, ++at) {
        for (uint32_t b = 0; b < length; ++b)
            payload[b] = (uint8_t)(*seq + b);
        uint8_t flags = i + 1 == count ? last_flags : 0x10;
        packets[at] = (wt_packet){ store[at], ref_packet(store[at], f, (*id)++, *seq, flags, 12, payload, length) };
        *seq += length;
    }
    return at;
}

static void test_coalesce_one_flow(void)
{
    const struct ref_flow flows[] = { { 4, 6, 40000, 5201, 1 }, { 6, 6, 40000, 5201, 1 } };
    for (int k = 0; k < 2; ++k) {
        wt_packet packets[8];
        uint32_t seq = 0xFFFFF000, n; /* the sequence number wraps inside the write */
        uint16_t id = 0xFFFE;         /* and the IPv4 id */
        n = stream(packets, 0, &flows[k], 3, 1000, &seq, &id, 0x10);
        n = stream(packets, n, &flows[k], 1, 500, &seq, &id, 0x18);
        wt_gro gro;
        CHECK(wt_gro_plan(&gro, packets, n, WT_GRO_TCP) == n);
        CHECK(gro.count == 1 && gro.writes[0].count == 4);
        const wt_gro_write *w = &gro.writes[0];
        CHECK(w->vnet.flags == WT_VNET_F_NEEDS_CSUM && w->vnet.gso_size == 1000 && w->vnet.hdr_len == w->headers);
        CHECK(w->vnet.gso_type == (k ? WT_VNET_GSO_TCPV6 : WT_VNET_GSO_TCPV4));
        CHECK(w->header[w->l4 + 13] == 0x18); /* PSH of the last */
        CHECK(w->size == w->headers + 3500u);
        CHECK(ref_check_plan(&gro, packets, n, buf, seg) == 0);
        /* Without WT_GRO_TCP: each packet as it is */
        wt_gro_plan(&gro, packets, n, 0);
        CHECK(gro.count == n && gro.writes[0].count == 1 && gro.writes[0].vnet.gso_type == 0);
    }
}

/* Two segments merged: the headers and the virtio-net header, byte for byte (computed apart, in Python). */
static void test_coalesce_golden_tcpv4(void)
{
    static const uint8_t expected[40] = "\x45\x00\x00\x38\x12\x34\x40\x00\x40\x06\x14\x8a\x0a\x00\x00\x01\x0a\x00\x00\x02"
                                        "\x9c\x40\x14\x51\x00\x00\x03\xe8\x01\x02\x03\x04\x50\x18\x02\x00\x14\x2d\x00\x00";
    const struct ref_flow f = { 4, 6, 40000, 5201, 1 };
    uint8_t payload[16];
    for (int i = 0; i < 16; ++i)
        payload[i] = (uint8_t)(i + 1);
    wt_packet packets[2] = {
        { store[0], ref_packet(store[0], &f, 0x1234, 1000, 0x10, 0, payload, 8) },
        { store[1], ref_packet(store[1], &f, 0x1235, 1008, 0x18, 0, payload + 8, 8) },
    };
    wt_gro gro;
    wt_gro_plan(&gro, packets, 2, WT_GRO_TCP);
    CHECK(gro.count == 1 && gro.writes[0].count == 2 && gro.writes[0].size == 56);
    const wt_gro_write *w = &gro.writes[0];
    CHECK(w->headers == 40 && !memcmp(w->header, expected, 40));
    CHECK(w->vnet.flags == WT_VNET_F_NEEDS_CSUM && w->vnet.gso_type == WT_VNET_GSO_TCPV4 && w->vnet.hdr_len == 40 &&
          w->vnet.gso_size == 8 && w->vnet.csum_start == 20 && w->vnet.csum_offset == 16);
}

/* Each variation ends the write before it: the kernel could not cut the merge back into it. */
static void test_coalesce_refusals(void)
{
    const struct ref_flow f = { 4, 6, 40000, 5201, 1 };
    enum { SYN, FIN, URG, CWR, ECE, BAD_CSUM, BAD_IP_CSUM, OPTIONS, ACK, WINDOW, TTL, ID, SEQ, LONGER, FRAGMENT, TOS, DF, KINDS };
    for (int kind = 0; kind < KINDS; ++kind) {
        wt_packet packets[4];
        uint32_t seq = 1, n;
        uint16_t id = 1;
        n = stream(packets, 0, &f, 3, 1000, &seq, &id, 0x10);
        uint8_t *p = store[1];
        uint32_t size = packets[1].size;
        switch (kind) {
        case SYN: p[33] |= 0x02; break;
        case FIN: p[33] |= 0x01; break;
        case URG: p[33] |= 0x20; break;
        case CWR: p[33] |= 0x80; break;
        case ECE: p[33] |= 0x40; break;
        case BAD_CSUM: p[size - 1] ^= 1; break;
        case BAD_IP_CSUM: p[10] ^= 1; break;
        case OPTIONS: p[40] = 8; break;   /* one option byte differs */
        case ACK: p[31] ^= 1; break;
        case WINDOW: p[35] ^= 1; break;
        case TTL: p[8] = 63; break;
        case ID: wr16(p + 4, 77); break;
        case SEQ: p[27] ^= 0x40; break;
        case LONGER: break;
        case FRAGMENT: p[6] = 0x20; break;
        case TOS: p[1] = 4; break;
        case DF: p[6] = 0; break;
        }
        if (kind == LONGER) { /* a first packet shorter than the second */
            seq = 1, id = 1;
            n = stream(packets, 0, &f, 1, 500, &seq, &id, 0x10);
            n = stream(packets, n, &f, 2, 1000, &seq, &id, 0x10);
        } else if (kind != BAD_CSUM && kind != BAD_IP_CSUM) {
            ref_fill(p, size, 20, 6); /* valid checksums: only the variation differs */
        }
        wt_gro gro;
        wt_gro_plan(&gro, packets, n, WT_GRO_TCP);
        int merged_across = 0;
        for (uint32_t w = 0; w < gro.count; ++w)
            merged_across |= gro.writes[w].count > 1 && gro.writes[w].first == 0 && gro.writes[w].last >= 1;
        if (merged_across)
            printf("kind %d merged\n", kind);
        CHECK(!merged_across);
        CHECK(ref_check_plan(&gro, packets, n, buf, seg) == 0);
    }
}

/* A bad checksum on the first packet of a write: nothing joins it, the next ones merge. */
static void test_coalesce_checks_the_first_packet(void)
{
    const struct ref_flow f = { 6, 6, 40000, 5201, 1 };
    wt_packet packets[4];
    uint32_t seq = 1, n;
    uint16_t id = 1;
    n = stream(packets, 0, &f, 4, 1000, &seq, &id, 0x10);
    store[0][packets[0].size - 1] ^= 0x55;
    wt_gro gro;
    wt_gro_plan(&gro, packets, n, WT_GRO_TCP);
    CHECK(gro.count == 2 && gro.writes[0].count == 1 && gro.writes[1].first == 1 && gro.writes[1].count == 3);
    CHECK(ref_check_plan(&gro, packets, n, buf, seg) == 0);
    /* and a packet left alone is never summed: the kernel checks it */
    store[0][packets[0].size - 1] ^= 0x55;
    wt_gro_plan(&gro, packets, 1, WT_GRO_TCP);
    CHECK(gro.count == 1 && !gro.writes[0].verified);
}

static void test_coalesce_keeps_flow_order(void)
{
    const struct ref_flow a = { 4, 6, 40000, 5201, 1 }, b = { 4, 6, 40001, 5201, 1 };
    wt_packet packets[16];
    uint32_t sa = 100, sb = 9000, n = 0;
    uint16_t ia = 1, ib = 500;
    /* A1 B1 A2 B2 A3: two writes, A's first */
    n = stream(packets, n, &a, 1, 1000, &sa, &ia, 0x10);
    n = stream(packets, n, &b, 1, 1000, &sb, &ib, 0x10);
    n = stream(packets, n, &a, 1, 1000, &sa, &ia, 0x10);
    n = stream(packets, n, &b, 1, 1000, &sb, &ib, 0x10);
    n = stream(packets, n, &a, 1, 1000, &sa, &ia, 0x10);
    wt_gro gro;
    wt_gro_plan(&gro, packets, n, WT_GRO_TCP);
    CHECK(gro.count == 2 && gro.writes[0].first == 0 && gro.writes[0].count == 3 && gro.writes[1].count == 2);
    CHECK(ref_check_plan(&gro, packets, n, buf, seg) == 0);
    /* A1, A3 (a gap), A2: never A1+A2 ahead of A3 */
    uint32_t s = 100;
    uint16_t i = 1;
    n = 0;
    n = stream(packets, n, &a, 1, 1000, &s, &i, 0x10);
    uint32_t s2 = s;
    s += 1000, ++i;
    n = stream(packets, n, &a, 1, 1000, &s, &i, 0x10);
    i -= 2;
    n = stream(packets, n, &a, 1, 1000, &s2, &i, 0x10);
    wt_gro_plan(&gro, packets, n, WT_GRO_TCP);
    CHECK(gro.count == 3);
    CHECK(ref_check_plan(&gro, packets, n, buf, seg) == 0);
    /* A1, a fragment between the same hosts, A2: the fragment closes A's write */
    s = 100, i = 1, n = 0;
    n = stream(packets, n, &a, 1, 1000, &s, &i, 0x10);
    memcpy(store[n], store[0], packets[0].size);
    store[n][6] = 0x20; /* more fragments */
    store[n][9] = 17;
    packets[n] = (wt_packet){ store[n], packets[0].size };
    ++n;
    n = stream(packets, n, &a, 1, 1000, &s, &i, 0x10);
    wt_gro_plan(&gro, packets, n, WT_GRO_TCP);
    CHECK(gro.count == 3);
}

static void test_coalesce_udp(void)
{
    const struct ref_flow f = { 6, 17, 4433, 443, 1 };
    wt_packet packets[8];
    uint8_t payload[1200];
    memset(payload, 0xAB, sizeof(payload));
    uint32_t n = 0;
    for (; n < 4; ++n)
        packets[n] = (wt_packet){ store[n], ref_packet(store[n], &f, 0, 0, 0, 0, payload, n < 3 ? 1200 : 700) };
    packets[n] = (wt_packet){ store[n], ref_packet(store[n], &f, 0, 0, 0, 0, payload, 1200) }; /* after a short one */
    ++n;
    wt_gro gro;
    wt_gro_plan(&gro, packets, n, WT_GRO_TCP);
    CHECK(gro.count == n); /* UDP only with WT_GRO_UDP (USO) */
    wt_gro_plan(&gro, packets, n, WT_GRO_TCP | WT_GRO_UDP);
    CHECK(gro.count == 2 && gro.writes[0].count == 4 && gro.writes[0].vnet.gso_type == WT_VNET_GSO_UDP_L4 &&
          gro.writes[0].vnet.gso_size == 1200 && gro.writes[0].vnet.csum_offset == 6);
    CHECK(ref_check_plan(&gro, packets, n, buf, seg) == 0);
}

static void test_coalesce_limits(void)
{
    const struct ref_flow f = { 4, 6, 40000, 5201, 1 };
    static wt_packet packets[WT_RECEIVE_BATCH];
    uint32_t seq = 1, n;
    uint16_t id = 1;
    n = stream(packets, 0, &f, WT_RECEIVE_BATCH, 1000, &seq, &id, 0x10);
    wt_gro gro;
    CHECK(wt_gro_plan(&gro, packets, n, WT_GRO_TCP) == n);
    for (uint32_t w = 0; w < gro.count; ++w)
        CHECK(gro.writes[w].size <= WT_GSO_MAX_SIZE && gro.writes[w].count <= WT_GRO_MAX_SEGMENTS);
    CHECK(gro.count == 4); /* 65 segments of 1000 bytes fit 64 KiB; the cap is 64 */
    CHECK(ref_check_plan(&gro, packets, n, buf, seg) == 0);
    CHECK(wt_gro_plan(&gro, packets, WT_RECEIVE_BATCH + 5, WT_GRO_TCP) == WT_RECEIVE_BATCH);
}

/* Random batches of interleaved flows, some packets damaged: the oracle holds for each plan. */
static void test_coalesce_random(void)
{
    struct ref_flow flows[6];
    uint32_t seqs[6];
    uint16_t ids[6];
    int failures = 0, merged = 0;
    for (int round = 0; round < 300; ++round) {
        for (int k = 0; k < 6; ++k) {
            flows[k] = (struct ref_flow){ k & 1 ? 6 : 4, rnd() % 4 ? 6 : 17, (uint16_t)(1000 + k), 80, (uint8_t)(k / 2) };
            seqs[k] = rnd();
            ids[k] = (uint16_t)rnd();
        }
        wt_packet packets[WT_RECEIVE_BATCH];
        uint32_t n = 1 + rnd() % WT_RECEIVE_BATCH;
        for (uint32_t i = 0; i < n; ++i) {
            int k = rnd() % (1 + round % 6);
            uint32_t length = rnd() % 5 ? 1000 : rnd() % 1000 + 1;
            uint8_t flags = rnd() % 10 ? 0x10 : 0x18;
            stream(packets, i, &flows[k], 1, length, &seqs[k], &ids[k], flags);
            if (rnd() % 50 == 0)
                store[i][rnd() % packets[i].size] ^= (uint8_t)(1 + rnd() % 255);
        }
        wt_gro gro;
        wt_gro_plan(&gro, packets, n, WT_GRO_TCP | WT_GRO_UDP);
        failures += ref_check_plan(&gro, packets, n, buf, seg);
        merged += gro.count < n;
    }
    CHECK(failures == 0);
    CHECK(merged > 200); /* the oracle looked at merges, not only at packets left alone */
}

static void test_split_api(void)
{
    const struct ref_flow f = { 4, 6, 40000, 5201, 1 };
    wt_vnet_hdr hdr;
    uint32_t size = super_tcp(buf + WT_VNET_HDR_LEN, &hdr, &f, 3000, 1000, 0x18, 0);
    memcpy(buf, &hdr, WT_VNET_HDR_LEN);
    DWORD sizes[4], count = 0, needed = 0;
    CHECK_ERR(WintunSplitSuperPacket(buf, WT_VNET_HDR_LEN + size, NULL, 0, NULL, &count, &needed), ERROR_INSUFFICIENT_BUFFER);
    CHECK(count == 3 && needed == 3 * 40 + 3000);
    count = 4;
    CHECK(WintunSplitSuperPacket(buf, WT_VNET_HDR_LEN + size, seg, sizeof(seg), sizes, &count, &needed));
    CHECK(count == 3 && sizes[0] == 1040 && sizes[2] == 1040 && needed == 3120);
    CHECK(ref_l4_valid(seg + 2080, 1040, 20, 6) && seg[2080 + 33] == 0x18 && seg[33] == 0x10);
    count = 2;
    CHECK_ERR(WintunSplitSuperPacket(buf, WT_VNET_HDR_LEN + size, seg, sizeof(seg), sizes, &count, &needed),
              ERROR_INSUFFICIENT_BUFFER);
    buf[WT_VNET_HDR_LEN] = 0x65; /* IPv6 version in an IPv4 super-packet */
    count = 4;
    CHECK_ERR(WintunSplitSuperPacket(buf, WT_VNET_HDR_LEN + size, seg, sizeof(seg), sizes, &count, &needed), ERROR_INVALID_DATA);
    CHECK_ERR(WintunSplitSuperPacket(buf, 5, seg, sizeof(seg), sizes, &count, &needed), ERROR_INVALID_DATA);
    CHECK_ERR(WintunSplitSuperPacket(buf, 100, seg, sizeof(seg), sizes, NULL, &needed), ERROR_INVALID_PARAMETER);
    /* a plain packet with its checksum left to finish */
    size = ref_packet(buf + WT_VNET_HDR_LEN, &f, 1, 1, 0x10, 0, (const uint8_t *)"hello", 5);
    wr16(buf + WT_VNET_HDR_LEN + 36, ref_pseudo(buf + WT_VNET_HDR_LEN, 6, size - 20));
    hdr = (wt_vnet_hdr){ WT_VNET_F_NEEDS_CSUM, 0, 0, 0, 20, 16 };
    memcpy(buf, &hdr, WT_VNET_HDR_LEN);
    count = 1;
    CHECK(WintunSplitSuperPacket(buf, WT_VNET_HDR_LEN + size, seg, sizeof(seg), sizes, &count, NULL));
    CHECK(count == 1 && sizes[0] == size && ref_l4_valid(seg, size, 20, 6));
}

int main(void)
{
    RUN(test_checksum_matches_reference);
    RUN(test_split_golden_tcpv4);
    RUN(test_split_kinds);
    RUN(test_split_after_extension_headers);
    RUN(test_split_refuses_what_the_kernel_would_not_make);
    RUN(test_checksum_completion);
    RUN(test_coalesce_golden_tcpv4);
    RUN(test_coalesce_one_flow);
    RUN(test_coalesce_refusals);
    RUN(test_coalesce_checks_the_first_packet);
    RUN(test_coalesce_keeps_flow_order);
    RUN(test_coalesce_udp);
    RUN(test_coalesce_limits);
    RUN(test_coalesce_random);
    RUN(test_split_api);
    return test_summary();
}
