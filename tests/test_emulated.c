/* SPDX-License-Identifier: MIT
 *
 * The emulated wire: inject/capture, pairs, the echo responder, down adapters, flow control.
 */
#include "helpers.h"

#include <pthread.h>


static void test_inject_and_capture(void)
{
    WINTUN_ADAPTER_HANDLE a = emulated_adapter(L"emu");
    BYTE pkt[100], buf[200];
    make_ipv4(pkt, 100, 5);
    /* No session: the OS's packet is dropped and counted, as Wintun drops while disconnected. */
    CHECK_ERR(WintunEmulatedInjectPacket(a, pkt, 100), ERROR_NOT_READY);
    WINTUN_SESSION_HANDLE s = WintunStartSession(a, 0x20000);
    CHECK(WintunEmulatedInjectPacket(a, pkt, 100));
    DWORD size;
    BYTE *r = WintunReceivePacket(s, &size);
    CHECK(r && size == 100 && !memcmp(r, pkt, 100));
    WintunReleaseReceivePacket(s, r);

    /* A batch arrives in order, all or nothing. */
    BYTE p1[40], p2[60];
    make_ipv4(p1, 40, 1);
    make_ipv4(p2, 60, 2);
    const BYTE *batch[] = { p1, p2 };
    DWORD sizes[] = { 40, 60 };
    CHECK(WintunEmulatedInjectPackets(a, batch, sizes, 2));
    r = WintunReceivePacket(s, &size);
    CHECK(r && size == 40 && packet_seq(r) == 1);
    WintunReleaseReceivePacket(s, r);
    r = WintunReceivePacket(s, &size);
    CHECK(r && size == 60 && packet_seq(r) == 2);
    WintunReleaseReceivePacket(s, r);

    /* Client -> OS side. */
    CHECK(send_ipv4(s, 100, 77));
    DWORD got = 0;
    CHECK_ERR(capture_wait(a, buf, 10, &got, 2000), ERROR_INSUFFICIENT_BUFFER);
    CHECK(got == 100); /* stays queued */
    CHECK(capture_wait(a, buf, sizeof(buf), &got, 2000) && got == 100 && packet_seq(buf) == 77);

    /* Bad input. */
    static BYTE huge[0x10000];
    CHECK_ERR(WintunEmulatedInjectPacket(a, huge, 0x10000), ERROR_INVALID_PARAMETER);
    CHECK_ERR(WintunEmulatedInjectPacket(a, NULL, 10), ERROR_INVALID_PARAMETER);
    CHECK_ERR(WintunEmulatedInjectPackets(a, batch, sizes, 0), ERROR_INVALID_PARAMETER);
    CHECK_ERR(WintunEmulatedInjectPackets(a, NULL, sizes, 1), ERROR_INVALID_PARAMETER);
    CHECK_ERR(WintunEmulatedInjectPacket(NULL, pkt, 10), ERROR_INVALID_HANDLE);
    CHECK_ERR(WintunEmulatedCapturePacket(a, buf, sizeof(buf), NULL), ERROR_INVALID_PARAMETER);
    CHECK_ERR(WintunEmulatedCapturePacket(a, NULL, 10, &got), ERROR_INVALID_PARAMETER);
    CHECK_ERR(WintunEmulatedConnect(a, a), ERROR_INVALID_PARAMETER);
    CHECK_ERR(WintunEmulatedDisconnect(a), ERROR_NOT_FOUND);
    CHECK(WintunEmulatedInjectPacket(a, pkt, 100)); /* still usable */
    WINTUN_ADAPTER_STATISTICS st;
    CHECK(WintunGetAdapterStatistics(a, &st));
    CHECK(st.SendPackets == 4 && st.SendBytes == 300 && st.SendDrops == 1);
    WintunEndSession(s);
    WintunCloseAdapter(a);
}

static void test_pair(void)
{
    WINTUN_ADAPTER_HANDLE a = emulated_adapter(L"pair-a"), b = emulated_adapter(L"pair-b");
    WINTUN_ADAPTER_HANDLE c = emulated_adapter(L"pair-c");
    CHECK(WintunEmulatedConnect(a, b));
    CHECK_ERR(WintunEmulatedConnect(a, c), ERROR_ALREADY_EXISTS);
    CHECK_ERR(WintunEmulatedConnect(c, b), ERROR_ALREADY_EXISTS);
    WINTUN_SESSION_HANDLE sa = WintunStartSession(a, 0x20000), sb = WintunStartSession(b, 0x20000);
    for (uint32_t i = 0; i < 100; ++i)
        CHECK(send_ipv4(sa, 40 + i, i));
    for (uint32_t i = 0; i < 100; ++i) {
        DWORD size;
        BYTE *r = receive_wait(sb, &size, 2000);
        CHECK(r && size == 40 + i && packet_seq(r) == i);
        if (r)
            WintunReleaseReceivePacket(sb, r);
    }
    CHECK(send_ipv4(sb, 50, 1000));
    DWORD size;
    BYTE *r = receive_wait(sa, &size, 2000);
    CHECK(r && packet_seq(r) == 1000);
    WintunReleaseReceivePacket(sa, r);

    /* The peer without a session: dropped, counted on the sender. */
    WintunEndSession(sb);
    CHECK(send_ipv4(sa, 40, 1));
    WINTUN_ADAPTER_STATISTICS st;
    WAIT_UNTIL(WintunGetAdapterStatistics(a, &st) && st.ReceiveDrops == 1, 2000);
    CHECK(st.ReceiveDrops == 1);

    /* Unwired: packets go to capture again. */
    CHECK(WintunEmulatedDisconnect(b));
    CHECK_ERR(WintunEmulatedDisconnect(a), ERROR_NOT_FOUND);
    CHECK(send_ipv4(sa, 40, 2));
    BYTE buf[64];
    DWORD got;
    CHECK(capture_wait(a, buf, sizeof(buf), &got, 2000) && packet_seq(buf) == 2);
    CHECK(WintunEmulatedConnect(a, c));
    WintunEndSession(sa);
    WintunCloseAdapter(c); /* closing a wired adapter unwires it */
    CHECK(WintunEmulatedConnect(a, b));
    WintunCloseAdapter(a);
    WintunCloseAdapter(b);
}

/* The wire is lossless: a peer that does not read stalls the sender (ERROR_BUFFER_OVERFLOW),
 * and everything arrives once it reads. */
static void test_pair_backpressure(void)
{
    WINTUN_ADAPTER_HANDLE a = emulated_adapter(L"bp-a"), b = emulated_adapter(L"bp-b");
    WintunEmulatedConnect(a, b);
    WINTUN_SESSION_HANDLE sa = WintunStartSession(a, 0x20000), sb = WintunStartSession(b, 0x20000);
    /* Send until nothing more goes for 200 ms: then B's Send ring and A's Receive ring are both
     * full. Each holds 130 packets of 1000 bytes (1008 bytes of ring each): ring space of packets
     * already handed to B must not stay pinned in A's ring. */
    uint32_t sent = 0;
    uint64_t deadline = wt_monotonic_ns() + 10000000000ULL, last_progress = wt_monotonic_ns();
    while (wt_monotonic_ns() < deadline && wt_monotonic_ns() - last_progress < 200000000ULL) {
        if (send_ipv4(sa, 1000, sent)) {
            ++sent;
            last_progress = wt_monotonic_ns();
            continue;
        }
        CHECK(GetLastError() == ERROR_BUFFER_OVERFLOW);
        wt_sleep_us(1000);
    }
    CHECK(sent == 260);
    for (uint32_t i = 0; i < sent; ++i) {
        DWORD size;
        BYTE *r = receive_wait(sb, &size, 5000);
        CHECK(r && packet_seq(r) == i);
        if (!r)
            break;
        WintunReleaseReceivePacket(sb, r);
    }
    WINTUN_ADAPTER_STATISTICS st;
    WAIT_UNTIL(WintunGetAdapterStatistics(a, &st) && st.ReceivePackets == sent, 2000);
    CHECK(st.ReceiveDrops == 0 && st.ReceivePackets == sent);
    WAIT_UNTIL(WintunGetAdapterStatistics(b, &st) && st.SendPackets == sent, 2000);
    CHECK(st.SendDrops == 0 && st.SendPackets == sent);
    WintunEndSession(sa);
    WintunEndSession(sb);
    WintunCloseAdapter(a);
    WintunCloseAdapter(b);
}

/* wt_send_packets_waiting (what Python's write() and WriteFile of bundles wait with): against a
 * peer that does not read it gives up after its wait, with what went and ERROR_BUFFER_OVERFLOW;
 * against a peer that reads, late, everything goes. */
struct slow_reader
{
    WINTUN_SESSION_HANDLE session;
    uint32_t want, got;
};

static void *read_late(void *arg)
{
    struct slow_reader *r = arg;
    wt_sleep_us(30000);
    DWORD size;
    for (BYTE *p; r->got < r->want && (p = receive_wait(r->session, &size, 5000)); ++r->got)
        WintunReleaseReceivePacket(r->session, p);
    return NULL;
}

static void test_send_waiting_for_room(void)
{
    WINTUN_ADAPTER_HANDLE a = emulated_adapter(L"wait-a"), b = emulated_adapter(L"wait-b");
    WintunEmulatedConnect(a, b);
    WINTUN_SESSION_HANDLE sa = WintunStartSession(a, 0x20000), sb = WintunStartSession(b, 0x20000);
    static BYTE packet[1000];
    make_ipv4(packet, sizeof(packet), 0);
    const BYTE *packets[400];
    DWORD sizes[400], err;
    for (int i = 0; i < 400; ++i)
        packets[i] = packet, sizes[i] = sizeof(packet);
    uint64_t start = wt_monotonic_ns();
    DWORD sent = wt_send_packets_waiting(sa, packets, sizes, 400, 20000000, &err);
    uint64_t waited = wt_monotonic_ns() - start;
    CHECK(sent == 260 && err == ERROR_BUFFER_OVERFLOW); /* both rings full: 130 packets each */
    CHECK(waited >= 20000000 && waited < 2000000000ull);
    struct slow_reader r = { sb, 260 + 400, 0 };
    pthread_t t;
    pthread_create(&t, NULL, read_late, &r);
    sent = wt_send_packets_waiting(sa, packets, sizes, 400, 5000000000ull, &err);
    CHECK(sent == 400 && err == ERROR_SUCCESS);
    pthread_join(t, NULL);
    CHECK(r.got == 660);
    WintunEndSession(sa);
    CHECK(wt_send_packets_waiting(sa, packets, sizes, 1, 1000000, &err) == 0 && err == ERROR_INVALID_HANDLE);
    WintunEndSession(sb);
    WintunCloseAdapter(a);
    WintunCloseAdapter(b);
}

static void test_echo_responder(void)
{
    WINTUN_ADAPTER_HANDLE a = emulated_adapter(L"echo");
    WINTUN_ADDRESS addr = { .Family = AF_INET, .PrefixLength = 24, .Address = { 10, 6, 7, 7 } };
    CHECK(WintunAddAdapterAddress(a, &addr));
    WINTUN_SESSION_HANDLE s = WintunStartSession(a, 0x20000);
    const BYTE me[4] = { 10, 6, 7, 8 }, them[4] = { 10, 6, 7, 7 }, other[4] = { 10, 6, 7, 9 };
    BYTE *p = WintunAllocateSendPacket(s, 36);
    make_echo4(p, me, them, 1, 8);
    WintunSendPacket(s, p);
    DWORD size;
    BYTE *r = receive_wait(s, &size, 2000);
    CHECK(r && size == 36 && r[20] == 0 && !memcmp(r + 12, them, 4) && !memcmp(r + 16, me, 4));
    CHECK(r && wt_inet_checksum(r, 20, 0) == 0 && wt_inet_checksum(r + 20, 16, 0) == 0);
    CHECK(r && !memcmp(r + 28, "abcdefgh", 8));
    if (r)
        WintunReleaseReceivePacket(s, r);
    /* Not our address: the OS does not answer, the packet is captured. */
    p = WintunAllocateSendPacket(s, 36);
    make_echo4(p, me, other, 2, 8);
    WintunSendPacket(s, p);
    BYTE buf[64];
    DWORD got;
    CHECK(capture_wait(a, buf, sizeof(buf), &got, 2000) && got == 36);
    CHECK_ERR(WintunReceivePacket(s, &size), ERROR_NO_MORE_ITEMS);
    WintunEndSession(s);
    WintunCloseAdapter(a);
}

static void test_down_adapter_drops(void)
{
    WINTUN_ADAPTER_HANDLE a = emulated_adapter(L"down");
    WINTUN_SESSION_HANDLE s = WintunStartSession(a, 0x20000);
    CHECK(WintunSetAdapterUp(a, FALSE));
    BYTE pkt[40];
    make_ipv4(pkt, 40, 1);
    CHECK_ERR(WintunEmulatedInjectPacket(a, pkt, 40), ERROR_DEV_NOT_EXIST);
    CHECK(send_ipv4(s, 40, 1));
    WINTUN_ADAPTER_STATISTICS st;
    WAIT_UNTIL(WintunGetAdapterStatistics(a, &st) && st.ReceiveDrops == 1, 2000);
    CHECK(st.ReceiveDrops == 1 && st.SendDrops == 1);
    CHECK(WintunSetAdapterUp(a, TRUE));
    CHECK(WintunEmulatedInjectPacket(a, pkt, 40));
    WintunEndSession(s);
    WintunCloseAdapter(a);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    RUN(test_inject_and_capture);
    RUN(test_pair);
    RUN(test_pair_backpressure);
    RUN(test_send_waiting_for_room);
    RUN(test_echo_responder);
    RUN(test_down_adapter_drops);
    return test_summary();
}
