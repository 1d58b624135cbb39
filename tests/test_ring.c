/* SPDX-License-Identifier: MIT
 *
 * The ring layout and arithmetic, and the reference vectors (docs/protocol.md §1.3, §6) through the real code.
 */
#include "helpers.h"

static void test_layout(void)
{
    CHECK(sizeof(TUN_RING) == 12);
    CHECK(offsetof(TUN_RING, Head) == 0);
    CHECK(offsetof(TUN_RING, Tail) == 4);
    CHECK(offsetof(TUN_RING, Alertable) == 8);
    CHECK(offsetof(TUN_RING, Data) == 12);
    CHECK(TUN_MAX_PACKET_SIZE == 0x10004);
    CHECK(TUN_RING_TRAILING_BYTES == 0x10000);
    CHECK(TUN_RING_SIZE(0x20000) == 0x3000C);
    CHECK(TUN_RING_SIZE(0x400000) == 0x41000C);
    CHECK(TUN_RING_SIZE(0x800000) == 0x81000C);
    CHECK(TUN_RING_SIZE(0x4000000) == 0x401000C);
    CHECK(TUN_RING_CAPACITY(0x3000C) == 0x20000);
    CHECK(sizeof(TUN_REGISTER_RINGS) == (sizeof(void *) == 8 ? 48 : 24));
    CHECK(WINTUN_MIN_RING_CAPACITY == TUN_MIN_RING_CAPACITY && WINTUN_MAX_RING_CAPACITY == TUN_MAX_RING_CAPACITY);
}

/* TUN_IOCTL_REGISTER_RINGS's input, both layouts: 48 bytes from a 64-bit process (pointers and
 * handles 8-aligned), 24 from a 32-bit one, which is what a 64-bit Wintun driver takes from WOW64
 * processes (TUN_REGISTER_RINGS_32). This test runs as an x86 program under wine32 too. */
static void test_register_rings_layouts(void)
{
    CHECK(sizeof(TUN_REGISTER_RINGS_32) == 24);
    CHECK(offsetof(TUN_REGISTER_RINGS_32, Send.RingSize) == 0);
    CHECK(offsetof(TUN_REGISTER_RINGS_32, Send.Ring) == 4);
    CHECK(offsetof(TUN_REGISTER_RINGS_32, Send.TailMoved) == 8);
    CHECK(offsetof(TUN_REGISTER_RINGS_32, Receive.RingSize) == 12);
    CHECK(offsetof(TUN_REGISTER_RINGS_32, Receive.Ring) == 16);
    CHECK(offsetof(TUN_REGISTER_RINGS_32, Receive.TailMoved) == 20);
    const size_t p = sizeof(void *);
    CHECK(offsetof(TUN_REGISTER_RINGS, Send.Ring) == p);
    CHECK(offsetof(TUN_REGISTER_RINGS, Send.TailMoved) == 2 * p);
    CHECK(offsetof(TUN_REGISTER_RINGS, Receive.RingSize) == 3 * p);
    CHECK(offsetof(TUN_REGISTER_RINGS, Receive.Ring) == 4 * p);
    CHECK(offsetof(TUN_REGISTER_RINGS, Receive.TailMoved) == 5 * p);
    if (p == 4) {
        /* A 32-bit process's own descriptor is the 32-bit layout, byte for byte. */
        TUN_REGISTER_RINGS native = { { 0x3000C, (TUN_RING *)(uintptr_t)0x10000, (HANDLE)(uintptr_t)0x44 },
                                      { 0x3000C, (TUN_RING *)(uintptr_t)0x50000, (HANDLE)(uintptr_t)0x48 } };
        TUN_REGISTER_RINGS_32 wow = { { 0x3000C, 0x10000, 0x44 }, { 0x3000C, 0x50000, 0x48 } };
        CHECK(!memcmp(&native, &wow, 24));
    }
    CHECK(TUN_IOCTL_REGISTER_RINGS == 0xCA6CE5C0u && TUN_IOCTL_REGISTER_RINGS_2019 == 0x22E000u);
    CHECK(sizeof(TUN_BUNDLE_PACKET) == 16 && TUN_BUNDLE_MAX_IP_PACKET_SIZE == 0xEFF0);
}

static void test_arithmetic(void)
{
    CHECK(tun_ring_capacity_valid(0x20000));
    CHECK(tun_ring_capacity_valid(0x4000000));
    CHECK(!tun_ring_capacity_valid(0x10000));
    CHECK(!tun_ring_capacity_valid(0x8000000));
    CHECK(!tun_ring_capacity_valid(0x30000));
    CHECK(!tun_ring_capacity_valid(0));
    CHECK(tun_packet_space(0) == 4);
    CHECK(tun_packet_space(1) == 8);
    CHECK(tun_packet_space(100) == 104);
    CHECK(tun_packet_space(0xFFFF) == 0x10004);
    /* Empty: everything but one unit is free. */
    CHECK(tun_ring_free(0, 0, 0x20000) == 0x20000 - 4);
    CHECK(tun_ring_used(0, 0, 0x20000) == 0);
    /* Full: Tail just behind Head. */
    CHECK(tun_ring_free(0x100, 0xFC, 0x20000) == 0);
    CHECK(tun_ring_used(0x100, 0xFC, 0x20000) == 0x20000 - 4);
    /* Wrap. */
    CHECK(tun_ring_used(0x1FFF8, 0x60, 0x20000) == 104);
    CHECK(TUN_RING_WRAP(0x1FFF8 + 104, 0x20000) == 0x60);
}

/* docs/protocol.md §1.3 vector through the driver and the session: capacity 0x20000, Tail 0x1FFF8, a 100-byte
 * payload is written contiguously into the trailing bytes and Tail becomes 0x60. */
static void test_wrap_vector(void)
{
    WINTUN_ADAPTER_HANDLE a = emulated_adapter(L"ring-wrap");
    WINTUN_SESSION_HANDLE s = WintunStartSession(a, 0x20000);
    CHECK(s != NULL);
    TUN_RING *ring = wt_session_send_ring(s);
    static BYTE buf[1020];
    /* 127 packets of 1024 bytes in the ring plus one of 1016: Tail = 0x1FFF8. */
    for (int i = 0; i < 128; ++i) {
        DWORD size = i < 127 ? 1020 : 1012;
        memset(buf, i, size);
        CHECK(WintunEmulatedInjectPacket(a, buf, size));
    }
    CHECK(tun_load_acquire(&ring->Tail) == 0x1FFF8);
    for (int i = 0; i < 128; ++i) {
        DWORD size;
        BYTE *p = WintunReceivePacket(s, &size);
        CHECK(p && size == (i < 127 ? 1020u : 1012u) && p[0] == (BYTE)i);
        WintunReleaseReceivePacket(s, p);
    }
    CHECK(tun_load_acquire(&ring->Head) == 0x1FFF8);
    BYTE payload[100];
    for (int i = 0; i < 100; ++i)
        payload[i] = (BYTE)(i * 7);
    CHECK(WintunEmulatedInjectPacket(a, payload, sizeof(payload)));
    CHECK(tun_load_acquire(&ring->Tail) == 0x60);
    /* Written past the capacity, not split. */
    CHECK(((TUN_PACKET *)(ring->Data + 0x1FFF8))->Size == 100);
    CHECK(!memcmp(ring->Data + 0x1FFF8 + 4, payload, 100));
    DWORD size;
    BYTE *p = WintunReceivePacket(s, &size);
    CHECK(p && size == 100 && !memcmp(p, payload, 100));
    WintunReleaseReceivePacket(s, p);
    CHECK(tun_load_acquire(&ring->Head) == 0x60);
    WintunEndSession(s);
    WintunCloseAdapter(a);
}

/* A full ring holds exactly capacity - 4 bytes, on both sides. */
static void test_full_ring(void)
{
    WINTUN_ADAPTER_HANDLE a = emulated_adapter(L"ring-full");
    WINTUN_SESSION_HANDLE s = WintunStartSession(a, 0x20000);
    CHECK(s != NULL);
    static BYTE big[0xFFFF];
    memset(big, 0x45, sizeof(big));

    /* Driver -> client: 0x10004 + 0xFFF8 = 0x1FFFC bytes fit, 4 more do not. */
    CHECK(WintunEmulatedInjectPacket(a, big, 0xFFFF));
    CHECK(WintunEmulatedInjectPacket(a, big, 0xFFF4));
    CHECK_ERR(WintunEmulatedInjectPacket(a, big, 0), ERROR_BUFFER_OVERFLOW);
    WINTUN_ADAPTER_STATISTICS st;
    CHECK(WintunGetAdapterStatistics(a, &st) && st.SendPackets == 2 && st.SendDrops == 1);
    /* Releasing the first packet makes room for it again. */
    DWORD size;
    BYTE *p = WintunReceivePacket(s, &size);
    CHECK(p && size == 0xFFFF);
    WintunReleaseReceivePacket(s, p);
    CHECK(WintunEmulatedInjectPacket(a, big, 0xFFFF));
    CHECK_ERR(WintunEmulatedInjectPacket(a, big, 0), ERROR_BUFFER_OVERFLOW);

    /* Client -> driver: allocated but unsent packets are invisible to the driver, so the
     * client's own accounting is what is tested: exactly capacity - 4 bytes. */
    BYTE *p1 = WintunAllocateSendPacket(s, 0xFFFF);
    BYTE *p2 = WintunAllocateSendPacket(s, 0xFFF4);
    CHECK(p1 && p2);
    CHECK_ERR(WintunAllocateSendPacket(s, 0), ERROR_BUFFER_OVERFLOW);
    WintunEndSession(s);
    WintunCloseAdapter(a);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    RUN(test_layout);
    RUN(test_register_rings_layouts);
    RUN(test_arithmetic);
    RUN(test_wrap_vector);
    RUN(test_full_ring);
    return test_summary();
}
