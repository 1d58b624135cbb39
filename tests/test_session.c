/* SPDX-License-Identifier: MIT
 *
 * The session API: Wintun's semantics and check order, its gaps closed, every bad input.
 */
#include "helpers.h"

#include <pthread.h>
#ifndef _WIN32
#include <poll.h>
#endif

static void test_out_of_order_release(void)
{
    WINTUN_ADAPTER_HANDLE a = emulated_adapter(L"ooo-release");
    WINTUN_SESSION_HANDLE s = WintunStartSession(a, 0x20000);
    TUN_RING *ring = wt_session_send_ring(s);
    BYTE pkt[64];
    for (uint32_t i = 0; i < 3; ++i) {
        make_ipv4(pkt, 60, i);
        CHECK(WintunEmulatedInjectPacket(a, pkt, 60));
    }
    DWORD size;
    BYTE *p[3];
    for (int i = 0; i < 3; ++i) {
        p[i] = WintunReceivePacket(s, &size);
        CHECK(p[i] && size == 60 && packet_seq(p[i]) == (uint32_t)i);
    }
    CHECK_ERR(WintunReceivePacket(s, &size), ERROR_NO_MORE_ITEMS);
    CHECK(tun_load_acquire(&ring->Head) == 0);
    WintunReleaseReceivePacket(s, p[2]);
    CHECK(tun_load_acquire(&ring->Head) == 0);
    WintunReleaseReceivePacket(s, p[1]);
    CHECK(tun_load_acquire(&ring->Head) == 0);
    WintunReleaseReceivePacket(s, p[0]);
    CHECK(tun_load_acquire(&ring->Head) == 3 * 64);
    WintunEndSession(s);
    WintunCloseAdapter(a);
}

static void test_out_of_order_send(void)
{
    WINTUN_ADAPTER_HANDLE a = emulated_adapter(L"ooo-send");
    WINTUN_SESSION_HANDLE s = WintunStartSession(a, 0x20000);
    TUN_RING *ring = wt_session_receive_ring(s);
    BYTE *p[3];
    for (uint32_t i = 0; i < 3; ++i) {
        p[i] = WintunAllocateSendPacket(s, 40);
        CHECK(p[i] != NULL);
        make_ipv4(p[i], 40, i);
    }
    WintunSendPacket(s, p[2]);
    WintunSendPacket(s, p[1]);
    CHECK(tun_load_acquire(&ring->Tail) == 0); /* held back until the first allocation is sent */
    WintunSendPacket(s, p[0]);
    CHECK(tun_load_acquire(&ring->Tail) == 3 * 44);
    BYTE buf[2048];
    DWORD got;
    for (uint32_t i = 0; i < 3; ++i)
        CHECK(capture_wait(a, buf, sizeof(buf), &got, 2000) && got == 40 && packet_seq(buf) == i);
    CHECK_ERR(WintunEmulatedCapturePacket(a, buf, sizeof(buf), &got), ERROR_NO_MORE_ITEMS);
    WintunEndSession(s);
    WintunCloseAdapter(a);
}

/* Removing the adapter tears the session down: EOF both ways, as Wintun after a PnP removal. */
static void test_eof_after_teardown(void)
{
    WINTUN_ADAPTER_HANDLE a = emulated_adapter(L"eof");
    WINTUN_SESSION_HANDLE s = WintunStartSession(a, 0x20000);
    BYTE pkt[40];
    make_ipv4(pkt, 40, 1);
    CHECK(WintunEmulatedInjectPacket(a, pkt, 40));
    WintunCloseAdapter(a);
    DWORD size;
    CHECK_ERR(WintunReceivePacket(s, &size), ERROR_HANDLE_EOF); /* EOF first, as Wintun checks it first */
    CHECK_ERR(WintunAllocateSendPacket(s, 40), ERROR_HANDLE_EOF);
    CHECK(tun_load_acquire(&wt_session_send_ring(s)->Tail) == TUN_RING_CLOSED);
    CHECK(tun_load_acquire(&wt_session_receive_ring(s)->Head) == TUN_RING_CLOSED);
    WintunEndSession(s);
}

/* The driver declares the Receive ring bad on corrupt framing; sending then reports EOF while
 * the Send direction keeps working. */
static void test_bad_receive_ring(void)
{
    WINTUN_ADAPTER_HANDLE a = emulated_adapter(L"bad-rx");
    WINTUN_SESSION_HANDLE s = WintunStartSession(a, 0x20000);
    TUN_RING *ring = wt_session_receive_ring(s);
    BYTE *p = WintunAllocateSendPacket(s, 40);
    make_ipv4(p, 40, 0);
    ((TUN_PACKET *)(p - 4))->Size = 0x10000 | TUN_PACKET_RELEASE; /* a hostile client */
    WintunSendPacket(s, p);
    WAIT_UNTIL(tun_load_acquire(&ring->Head) == TUN_RING_CLOSED, 2000);
    CHECK(tun_load_acquire(&ring->Head) == TUN_RING_CLOSED);
    CHECK_ERR(WintunAllocateSendPacket(s, 40), ERROR_HANDLE_EOF);
    WINTUN_ADAPTER_STATISTICS st;
    CHECK(WintunGetAdapterStatistics(a, &st) && st.ReceiveErrors == 1);
    BYTE pkt[40];
    make_ipv4(pkt, 40, 7);
    CHECK(WintunEmulatedInjectPacket(a, pkt, 40));
    DWORD size;
    BYTE *r = WintunReceivePacket(s, &size);
    CHECK(r && size == 40 && packet_seq(r) == 7);
    WintunReleaseReceivePacket(s, r);
    WintunEndSession(s);
    /* A new session starts clean. */
    CHECK(adapter_still_works(a, 9));
    WintunCloseAdapter(a);
}

/* Framing errors in the Send ring (a hostile driver): ERROR_INVALID_DATA, sticky. */
static void test_invalid_data(void)
{
    WINTUN_ADAPTER_HANDLE a = emulated_adapter(L"invalid-data");
    DWORD size = 12345;
    struct
    {
        uint32_t size_word, tail;
    } cases[] = {
        { 0x10000, 8 },         /* Size > 0xFFFF */
        { 0xFFFFFFFF & ~TUN_PACKET_RELEASE, 8 },
        { 100, 8 },             /* Size longer than the content */
        { 0, 2 },               /* less than a header of content */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
        WINTUN_SESSION_HANDLE s = WintunStartSession(a, 0x20000);
        TUN_RING *ring = wt_session_send_ring(s);
        ((TUN_PACKET *)ring->Data)->Size = cases[i].size_word;
        tun_store_release(&ring->Tail, cases[i].tail);
        CHECK_ERR(WintunReceivePacket(s, &size), ERROR_INVALID_DATA);
        CHECK_ERR(WintunReceivePacket(s, &size), ERROR_INVALID_DATA);
        CHECK(size == 12345); /* untouched on failure */
        WintunEndSession(s);
    }
    WintunCloseAdapter(a);
}

static void test_one_session_per_adapter(void)
{
    WINTUN_ADAPTER_HANDLE a = emulated_adapter(L"one-session");
    WINTUN_ADAPTER_HANDLE opened = WintunOpenAdapter(L"ONE-SESSION");
    CHECK(opened != NULL);
    WINTUN_SESSION_HANDLE s = WintunStartSession(a, 0x20000);
    CHECK(s != NULL);
    CHECK_ERR(WintunStartSession(a, 0x20000), ERROR_ALREADY_INITIALIZED);
    CHECK_ERR(WintunStartSession(opened, 0x40000), ERROR_ALREADY_INITIALIZED);
    /* Wintun's order: the existing session is reported before a bad capacity. */
    CHECK_ERR(WintunStartSession(a, 3), ERROR_ALREADY_INITIALIZED);
    WintunEndSession(s);
    s = WintunStartSession(opened, 0x40000);
    CHECK(s != NULL);
    WintunEndSession(s);
    WintunCloseAdapter(opened);
    WintunCloseAdapter(a);
}

static void test_bad_input(void)
{
    WINTUN_ADAPTER_HANDLE a = emulated_adapter(L"bad-input");
    DWORD caps[] = { 0, 4, 0x10000, 0x1FFFF, 0x30000, 0x8000000, 0x80000000, 0xFFFFFFFF };
    for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); ++i)
        CHECK_ERR(WintunStartSession(a, caps[i]), ERROR_INVALID_PARAMETER);
    CHECK_ERR(WintunStartSession(NULL, 0x20000), ERROR_INVALID_HANDLE);

    WINTUN_SESSION_HANDLE s = WintunStartSession(a, 0x20000); /* still usable */
    CHECK(s != NULL);
    DWORD size;
    CHECK_ERR(WintunReceivePacket(NULL, &size), ERROR_INVALID_HANDLE);
    CHECK_ERR(WintunReceivePacket(s, NULL), ERROR_INVALID_PARAMETER);
    CHECK_ERR(WintunAllocateSendPacket(NULL, 40), ERROR_INVALID_HANDLE);
    CHECK_ERR(WintunAllocateSendPacket(s, 0x10000), ERROR_INVALID_PARAMETER);
    CHECK_ERR(WintunAllocateSendPacket(s, 0x80000000), ERROR_INVALID_PARAMETER);
    CHECK_ERR(WintunAllocateSendPacket(s, 0xFFFFFFFF), ERROR_INVALID_PARAMETER);
    CHECK_ERR(WintunGetReadWaitEvent(NULL), ERROR_INVALID_HANDLE);

    /* Sending: NULL, a foreign pointer, twice. Nothing is corrupted. */
    BYTE foreign[64];
    SetLastError(0);
    WintunSendPacket(s, NULL);
    CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
    SetLastError(0);
    WintunSendPacket(s, foreign + 4);
    CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
    BYTE *p = WintunAllocateSendPacket(s, 40);
    make_ipv4(p, 40, 1);
    SetLastError(0);
    WintunSendPacket(s, p + 4); /* inside the packet, not its start */
    CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
    WintunSendPacket(s, p);
    SetLastError(0);
    WintunSendPacket(s, p);
    CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
    BYTE buf[64];
    DWORD got;
    CHECK(capture_wait(a, buf, sizeof(buf), &got, 2000) && packet_seq(buf) == 1);
    CHECK(send_ipv4(s, 40, 2));
    CHECK(capture_wait(a, buf, sizeof(buf), &got, 2000) && packet_seq(buf) == 2);

    /* Releasing: NULL, foreign, twice, not yet received. */
    BYTE pkt[40];
    make_ipv4(pkt, 40, 3);
    CHECK(WintunEmulatedInjectPacket(a, pkt, 40));
    CHECK(WintunEmulatedInjectPacket(a, pkt, 40));
    BYTE *r = WintunReceivePacket(s, &size);
    CHECK(r != NULL);
    SetLastError(0);
    WintunReleaseReceivePacket(s, NULL);
    CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
    SetLastError(0);
    WintunReleaseReceivePacket(s, foreign);
    CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
    SetLastError(0);
    WintunReleaseReceivePacket(s, r + 44); /* the next packet, not handed out yet */
    CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
    WintunReleaseReceivePacket(s, r);
    SetLastError(0);
    WintunReleaseReceivePacket(s, r);
    CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
    CHECK(tun_load_acquire(&wt_session_send_ring(s)->Head) == 44);
    r = WintunReceivePacket(s, &size);
    CHECK(r && size == 40);
    WintunReleaseReceivePacket(s, r);
    CHECK(tun_load_acquire(&wt_session_send_ring(s)->Head) == 88);
    WintunEndSession(s);
    WintunEndSession(NULL); /* no-op */
    WintunCloseAdapter(a);
}

static void test_read_event(void)
{
    WINTUN_ADAPTER_HANDLE a = emulated_adapter(L"read-event");
    WINTUN_SESSION_HANDLE s = WintunStartSession(a, 0x20000);
    HANDLE ev = WintunGetReadWaitEvent(s);
    DWORD size;
    CHECK_ERR(WintunReceivePacket(s, &size), ERROR_NO_MORE_ITEMS);
    CHECK(WaitForSingleObject(ev, 0) == WAIT_TIMEOUT);
    BYTE pkt[40];
    make_ipv4(pkt, 40, 1);
#ifndef _WIN32
    /* Linux: the event is an fd, readable while set. */
    int fd = WintunGetEventFd(ev);
    CHECK(fd >= 0);
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    CHECK(poll(&pfd, 1, 0) == 0);
    CHECK(WintunEmulatedInjectPacket(a, pkt, 40));
    CHECK(poll(&pfd, 1, 1000) == 1);
#else
    CHECK(WintunEmulatedInjectPacket(a, pkt, 40));
#endif
    CHECK(WaitForSingleObject(ev, 1000) == WAIT_OBJECT_0);
    CHECK(WaitForSingleObject(ev, 0) == WAIT_TIMEOUT); /* auto-reset */
    CHECK(WintunIsReceiveReady(s));
    BYTE *r = WintunReceivePacket(s, &size);
    CHECK(r != NULL);
    WintunReleaseReceivePacket(s, r);
    CHECK(!WintunIsReceiveReady(s)); /* arms the event */
    CHECK(WintunEmulatedInjectPacket(a, pkt, 40));
    CHECK(WaitForSingleObject(ev, 1000) == WAIT_OBJECT_0);
    WintunEndSession(s);
    WintunCloseAdapter(a);
}

struct waiter
{
    HANDLE event;
    DWORD result;
};

static void *wait_forever(void *arg)
{
    struct waiter *w = arg;
    w->result = WaitForSingleObject(w->event, INFINITE);
    return NULL;
}

/* Ending a session wakes every thread blocked on its read event (Wintun's gap). On Windows the
 * read event is a real auto-reset event: SetEvent wakes one waiter, so one is tested there. */
#ifdef _WIN32
#define WAITERS 1
#else
#define WAITERS 3
#endif
static void test_end_session_wakes_readers(void)
{
    WINTUN_ADAPTER_HANDLE a = emulated_adapter(L"wake");
    WINTUN_SESSION_HANDLE s = WintunStartSession(a, 0x20000);
    DWORD size;
    CHECK_ERR(WintunReceivePacket(s, &size), ERROR_NO_MORE_ITEMS);
    struct waiter w[WAITERS];
    pthread_t t[WAITERS];
    for (int i = 0; i < WAITERS; ++i) {
        w[i] = (struct waiter){ .event = WintunGetReadWaitEvent(s), .result = 12345 };
        pthread_create(&t[i], NULL, wait_forever, &w[i]);
    }
    wt_sleep_us(20000);
    uint64_t start = wt_monotonic_ns();
    WintunEndSession(s);
    for (int i = 0; i < WAITERS; ++i) {
        pthread_join(t[i], NULL);
        CHECK(w[i].result == WAIT_OBJECT_0);
    }
    CHECK(wt_monotonic_ns() - start < 2000000000ULL);
    WintunCloseAdapter(a);
}

/* A reader blocked in the Wintun loop ends with ERROR_HANDLE_EOF when the adapter goes. */
static void test_adapter_removal_under_reader(void)
{
    WINTUN_ADAPTER_HANDLE a = emulated_adapter(L"removal");
    WINTUN_SESSION_HANDLE s = WintunStartSession(a, 0x20000);
    struct reader r = { .session = s };
    pthread_t t;
    pthread_create(&t, NULL, read_until_error, &r);
    wt_sleep_us(20000);
    WintunCloseAdapter(a);
    pthread_join(t, NULL);
    CHECK(r.error == ERROR_HANDLE_EOF);
    WintunEndSession(s);
}

/* Non-IP packets are discarded and counted; the ring stays alive (Wintun 0.14). */
static void test_discard_non_ip(void)
{
    WINTUN_ADAPTER_HANDLE a = emulated_adapter(L"discard");
    WINTUN_SESSION_HANDLE s = WintunStartSession(a, 0x20000);
    BYTE *p = WintunAllocateSendPacket(s, 10);
    memset(p, 0, 10);
    WintunSendPacket(s, p);
    p = WintunAllocateSendPacket(s, 30); /* says IPv6, too short for its header */
    memset(p, 0x60, 30);
    WintunSendPacket(s, p);
    p = WintunAllocateSendPacket(s, 0);
    WintunSendPacket(s, p);
    CHECK(send_ipv4(s, 40, 42));
    BYTE buf[64];
    DWORD got;
    CHECK(capture_wait(a, buf, sizeof(buf), &got, 2000) && packet_seq(buf) == 42);
    WINTUN_ADAPTER_STATISTICS st;
    /* Counters are added once the batch is handed over, just after the capture. */
    WAIT_UNTIL(WintunGetAdapterStatistics(a, &st) && st.ReceivePackets == 1, 2000);
    CHECK(st.ReceiveDiscards == 3 && st.ReceivePackets == 1 && st.ReceiveBytes == 40 && st.ReceiveErrors == 0);
    WintunEndSession(s);
    WintunCloseAdapter(a);
}

struct collected
{
    uint32_t seqs[64];
    DWORD count, stop_after;
};

static BOOL CALLBACK collect(void *context, const BYTE *packet, DWORD size)
{
    struct collected *c = context;
    if (c->count == c->stop_after || size < 28)
        return FALSE;
    c->seqs[c->count++] = packet_seq(packet);
    return TRUE;
}

static void test_receive_packets_batched(void)
{
    WINTUN_ADAPTER_HANDLE a = emulated_adapter(L"rx-batch");
    WINTUN_SESSION_HANDLE s = WintunStartSession(a, 0x20000);
    TUN_RING *ring = wt_session_send_ring(s);
    struct collected c = { .stop_after = 64 };
    CHECK_ERR(WintunReceivePackets(s, collect, &c, 8), ERROR_NO_MORE_ITEMS);
    CHECK_ERR(WintunReceivePackets(s, NULL, &c, 8), ERROR_INVALID_PARAMETER);
    CHECK_ERR(WintunReceivePackets(s, collect, &c, 0), ERROR_INVALID_PARAMETER);
    CHECK_ERR(WintunReceivePackets(NULL, collect, &c, 8), ERROR_INVALID_HANDLE);
    BYTE pkt[40];
    for (uint32_t i = 0; i < 10; ++i) {
        make_ipv4(pkt, 40, i);
        CHECK(WintunEmulatedInjectPacket(a, pkt, 40));
    }
    CHECK(WintunReceivePackets(s, collect, &c, 4) == 4);
    CHECK(c.count == 4 && c.seqs[0] == 0 && c.seqs[3] == 3);
    CHECK(tun_load_acquire(&ring->Head) == 4 * 44); /* released at once, one publication */
    /* A visitor that leaves a packet: it stays for the next call. */
    c.stop_after = 5;
    CHECK(WintunReceivePackets(s, collect, &c, 64) == 1);
    SetLastError(123);
    CHECK(WintunReceivePackets(s, collect, &c, 64) == 0 && GetLastError() == ERROR_SUCCESS);
    c.stop_after = 64;
    /* Mixed with a packet handed out and not released: space is freed in order. */
    DWORD size;
    BYTE *held = WintunReceivePacket(s, &size);
    CHECK(held && packet_seq(held) == 5);
    CHECK(WintunReceivePackets(s, collect, &c, 64) == 4);
    CHECK(c.count == 9 && c.seqs[8] == 9);
    CHECK(tun_load_acquire(&ring->Head) == 5 * 44); /* pinned by the held packet */
    WintunReleaseReceivePacket(s, held);
    CHECK(tun_load_acquire(&ring->Head) == 10 * 44);
    CHECK_ERR(WintunReceivePackets(s, collect, &c, 64), ERROR_NO_MORE_ITEMS);
    /* A corrupt packet after good ones: the good ones come, the error comes next. */
    make_ipv4(pkt, 40, 10);
    CHECK(WintunEmulatedInjectPacket(a, pkt, 40));
    ((TUN_PACKET *)(ring->Data + 11 * 44))->Size = 0x10000;
    tun_store_release(&ring->Tail, 11 * 44 + 8);
    CHECK(WintunReceivePackets(s, collect, &c, 64) == 1);
    CHECK_ERR(WintunReceivePackets(s, collect, &c, 64), ERROR_INVALID_DATA);
    WintunEndSession(s);
    WintunCloseAdapter(a);
}

static void test_send_packets_batched(void)
{
    WINTUN_ADAPTER_HANDLE a = emulated_adapter(L"tx-batch");
    WINTUN_SESSION_HANDLE s = WintunStartSession(a, 0x20000);
    TUN_RING *ring = wt_session_receive_ring(s);
    BYTE p[3][100];
    const BYTE *packets[3] = { p[0], p[1], p[2] };
    DWORD sizes[3] = { 40, 60, 100 };
    for (uint32_t i = 0; i < 3; ++i)
        make_ipv4(p[i], sizes[i], i);
    CHECK(WintunSendPackets(s, packets, sizes, 3) == 3);
    BYTE buf[128];
    DWORD got;
    for (uint32_t i = 0; i < 3; ++i)
        CHECK(capture_wait(a, buf, sizeof(buf), &got, 2000) && got == sizes[i] && packet_seq(buf) == i);
    /* Behind an allocation not sent yet: held back, then published in allocation order. */
    BYTE *early = WintunAllocateSendPacket(s, 40);
    make_ipv4(early, 40, 100);
    CHECK(WintunSendPackets(s, packets, sizes, 2) == 2);
    uint32_t before = tun_load_acquire(&ring->Tail);
    CHECK(before == 44 + 64 + 104); /* only the first batch is visible */
    WintunSendPacket(s, early);
    CHECK(capture_wait(a, buf, sizeof(buf), &got, 2000) && packet_seq(buf) == 100);
    CHECK(capture_wait(a, buf, sizeof(buf), &got, 2000) && packet_seq(buf) == 0);
    CHECK(capture_wait(a, buf, sizeof(buf), &got, 2000) && packet_seq(buf) == 1);
    /* Bad input sends nothing. */
    DWORD bad_sizes[2] = { 40, 0x10000 };
    CHECK_ERR(WintunSendPackets(s, packets, bad_sizes, 2), ERROR_INVALID_PARAMETER);
    const BYTE *null_packets[1] = { NULL };
    CHECK_ERR(WintunSendPackets(s, null_packets, sizes, 1), ERROR_INVALID_PARAMETER);
    CHECK_ERR(WintunSendPackets(s, packets, sizes, 0), ERROR_INVALID_PARAMETER);
    CHECK_ERR(WintunSendPackets(NULL, packets, sizes, 1), ERROR_INVALID_HANDLE);
    /* Full: as many as fit, then ERROR_BUFFER_OVERFLOW. */
    WintunSetAdapterUp(a, FALSE); /* the OS side drops, but a stalled driver is what fills it: */
    WintunEndSession(s);
    WINTUN_ADAPTER_HANDLE b = emulated_adapter(L"tx-batch-peer");
    WintunSetAdapterUp(a, TRUE);
    WintunEmulatedConnect(a, b);
    WINTUN_SESSION_HANDLE sb = WintunStartSession(b, 0x20000); /* never read: backpressure */
    s = WintunStartSession(a, 0x20000);
    static BYTE big[1400];
    make_ipv4(big, 1400, 0);
    const BYTE *many[64];
    DWORD many_sizes[64];
    for (int i = 0; i < 64; ++i)
        many[i] = big, many_sizes[i] = 1400;
    DWORD total = 0, n;
    uint64_t deadline = wt_monotonic_ns() + 5000000000ULL;
    while (wt_monotonic_ns() < deadline) {
        n = WintunSendPackets(s, many, many_sizes, 64);
        total += n;
        if (!n) {
            CHECK(GetLastError() == ERROR_BUFFER_OVERFLOW);
            if (total > 150)
                break;
            wt_sleep_us(1000);
        }
    }
    CHECK(total > 150 && total < 400);
    WintunEndSession(s);
    WintunEndSession(sb);
    WintunCloseAdapter(b);
    WintunCloseAdapter(a);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    RUN(test_out_of_order_release);
    RUN(test_out_of_order_send);
    RUN(test_eof_after_teardown);
    RUN(test_bad_receive_ring);
    RUN(test_invalid_data);
    RUN(test_one_session_per_adapter);
    RUN(test_bad_input);
    RUN(test_read_event);
    RUN(test_end_session_wakes_readers);
    RUN(test_adapter_removal_under_reader);
    RUN(test_discard_non_ip);
    RUN(test_receive_packets_batched);
    RUN(test_send_packets_batched);
    return test_summary();
}
