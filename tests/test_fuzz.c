/* SPDX-License-Identifier: MIT
 *
 * Bounded, seeded fuzzing (reproducible: WINTUN_FUZZ_SEED, WINTUN_FUZZ_ROUNDS) of everything that
 * parses ring contents or packets, run under ASan/UBSan:
 * - the client's WintunReceivePacket over a Send ring full of garbage (a hostile driver);
 * - the driver's receive thread over a Receive ring full of garbage (a hostile client);
 * - the driver's Send ring producer under a hostile Head;
 * - the echo responder over random packets.
 * Each must stay inside the ring, return a defined error, and leave the adapter usable.
 */
#include "helpers.h"
#include "icmp_echo.h"


static uint64_t rng_state;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)rng_state;
}

static uint32_t rounds(uint32_t dflt)
{
    const char *v = getenv("WINTUN_FUZZ_ROUNDS");
    return v ? (uint32_t)strtoul(v, NULL, 10) : dflt;
}

/* Garbage that sometimes looks almost right. */
static uint32_t random_size_word(void)
{
    switch (rnd() % 6) {
    case 0:
        return rnd();
    case 1:
        return rnd() & 0xFFFF;
    case 2:
        return rnd() & 0xFF;
    case 3:
        return 0x10000 + (rnd() & 0xF);
    case 4:
        return TUN_PACKET_RELEASE | (rnd() & 0xFFFF);
    default:
        return 0xFFFF;
    }
}

static void fill_random_packets(TUN_RING *ring, uint32_t capacity)
{
    for (uint32_t off = 0; off < 4096; off += 4)
        *(uint32_t *)(ring->Data + off) = rnd() % 3 ? random_size_word() : rnd();
    (void)capacity;
}

static void test_client_parser(void)
{
    WINTUN_ADAPTER_HANDLE a = emulated_adapter(L"fuzz-client");
    uint32_t n = rounds(3000);
    for (uint32_t i = 0; i < n; ++i) {
        WINTUN_SESSION_HANDLE s = WintunStartSession(a, 0x20000);
        if (!s) {
            CHECK(s != NULL);
            break;
        }
        TUN_RING *ring = wt_session_send_ring(s);
        fill_random_packets(ring, 0x20000);
        uint32_t tail = rnd() % 5 == 0 ? rnd() : (rnd() % 4096);
        tun_store_release(&ring->Tail, tail);
        for (int k = 0; k < 8; ++k) {
            DWORD size = 0;
            BYTE *p = WintunReceivePacket(s, &size);
            if (!p) {
                DWORD err = GetLastError();
                if (!(err == ERROR_INVALID_DATA || err == ERROR_NO_MORE_ITEMS || err == ERROR_HANDLE_EOF)) {
                    CHECK(!"unexpected error");
                    printf("err %lu\n", (unsigned long)err);
                }
                break;
            }
            /* The packet lies inside the ring and its trailing bytes. */
            CHECK(size <= 0xFFFF && p >= ring->Data && p + size <= ring->Data + 0x20000 + TUN_RING_TRAILING_BYTES);
            volatile BYTE sink = size ? p[size - 1] : 0;
            (void)sink;
            WintunReleaseReceivePacket(s, p);
        }
        WintunEndSession(s);
    }
    WintunCloseAdapter(a);
}

static void test_driver_parser(void)
{
    WINTUN_ADAPTER_HANDLE a = emulated_adapter(L"fuzz-driver");
    uint32_t n = rounds(3000) / 10;
    for (uint32_t i = 0; i < n; ++i) {
        WINTUN_SESSION_HANDLE s = WintunStartSession(a, 0x20000);
        TUN_RING *ring = wt_session_receive_ring(s);
        /* Random framing, with some real IP headers in it. */
        for (uint32_t off = 0; off < 8192; off += 4) {
            uint32_t r = rnd() % 4;
            *(uint32_t *)(ring->Data + off) = r == 0 ? random_size_word() : r == 1 ? 0x45 : r == 2 ? 0x60 : rnd();
        }
        uint32_t tail = rnd() % 7 == 0 ? rnd() : (rnd() % 8192) & ~3u;
        if (i & 1)
            wt_sleep_us(300); /* let the driver go to sleep: the wake-up must come through */
        wt_session_publish_receive_tail(s, tail);
        /* The driver thread consumes until it closes the ring or catches up. */
        WAIT_UNTIL(tun_load_acquire(&ring->Head) == TUN_RING_CLOSED || tun_load_acquire(&ring->Head) == tail, 2000);
        CHECK(tun_load_acquire(&ring->Head) == TUN_RING_CLOSED || tun_load_acquire(&ring->Head) == tail);
        WintunEndSession(s);
        BYTE buf[0x10000];
        DWORD got;
        while (WintunEmulatedCapturePacket(a, buf, sizeof(buf), &got))
            ;
    }
    CHECK(adapter_still_works(a, 4242));
    WintunCloseAdapter(a);
}

static void test_hostile_head(void)
{
    WINTUN_ADAPTER_HANDLE a = emulated_adapter(L"fuzz-head");
    WINTUN_SESSION_HANDLE s = WintunStartSession(a, 0x20000);
    TUN_RING *ring = wt_session_send_ring(s);
    static BYTE pkt[0xFFFF];
    uint32_t n = rounds(3000);
    for (uint32_t i = 0; i < n; ++i) {
        ring->Head = rnd() % 3 ? (rnd() % 0x20000) & ~3u : rnd();
        DWORD size = rnd() % 3 ? rnd() % 2000 : rnd() & 0xFFFF;
        BOOL ok = WintunEmulatedInjectPacket(a, pkt, size);
        DWORD err = ok ? 0 : GetLastError();
        CHECK(ok || err == ERROR_BUFFER_OVERFLOW || err == ERROR_HANDLE_EOF);
    }
    WintunEndSession(s);
    WintunCloseAdapter(a);
}

static void test_echo_parser(void)
{
    WINTUN_ADDRESS addrs[2] = { { .Family = AF_INET, .PrefixLength = 24, .Address = { 10, 0, 0, 2 } },
                                { .Family = AF_INET6, .PrefixLength = 64, .Address = { 0xfd, [15] = 2 } } };
    static uint8_t pkt[0x10000], reply[0x10000];
    uint32_t n = rounds(3000) * 20;
    for (uint32_t i = 0; i < n; ++i) {
        uint32_t len = rnd() % 4 ? rnd() % 128 : rnd() % 0x10000;
        for (uint32_t k = 0; k < len && k < 256; ++k)
            pkt[k] = (uint8_t)rnd();
        if (len)
            pkt[0] = (uint8_t)((rnd() % 2 ? 0x45 : 0x60) ^ (rnd() % 8 == 0 ? rnd() : 0));
        if (len > 20 && rnd() % 2) {
            memcpy(pkt + 16, addrs[0].Address, 4);
            pkt[9] = 1;
        }
        uint32_t out = wt_icmp_echo_reply(pkt, len, addrs, 2, reply);
        CHECK(out <= len);
    }
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *seed = getenv("WINTUN_FUZZ_SEED");
    rng_state = seed ? strtoull(seed, NULL, 0) : 0x9E3779B97F4A7C15ULL;
    printf("seed 0x%llx\n", (unsigned long long)rng_state);
    RUN(test_client_parser);
    RUN(test_driver_parser);
    RUN(test_hostile_head);
    RUN(test_echo_parser);
    return test_summary();
}
