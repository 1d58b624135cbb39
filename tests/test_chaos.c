/* SPDX-License-Identifier: MIT
 *
 * The chaos test: for a bounded time (WINTUN_CHAOS_SECONDS, default 8), threads pick random calls
 * on shared adapters and sessions (handles that may be ended or closed under them by another
 * thread at any moment): start/end, create/open/close, up/down, MTU, send/receive and batches,
 * waits, injection, wiring, statistics, the logger (whose callback calls the API), and the seeds'
 * interfaces: raw clients registering their own rings, bundle handles that other threads close
 * under blocked readers (wintun_device.h). A watchdog
 * fails the run when no thread makes progress for 20 s. Nothing may crash, hang or be reported by
 * the sanitizers; afterwards every packet sent to an accounted adapter is counted exactly once.
 */
#include "helpers.h"

#include <pthread.h>
#include <wchar.h>

#define THREADS 6
#define ACCOUNTED 3 /* adapters whose packets are accounted for; never wired, never closed */
#define WIRED 2     /* adapters wired and unwired at random */
#define SESSIONS (ACCOUNTED + WIRED)
#define EXTRA 4 /* slots for opened and temporary adapters */

static WINTUN_ADAPTER_HANDLE adapters[ACCOUNTED + WIRED];
static WINTUN_SESSION_HANDLE sessions[SESSIONS]; /* shared, swapped atomically: may be stale */
static WINTUN_ADAPTER_HANDLE extra[EXTRA];
static uint64_t sent[ACCOUNTED], injected[ACCOUNTED], read_count[ACCOUNTED];
static HANDLE bundle_handles[ACCOUNTED]; /* shared device handles reading and writing bundles */
static uint64_t progress, raw_registered, bundle_packets; /* the seeds' interfaces at work */
static int stop;

static uint32_t next_random(uint32_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 17;
    *state ^= *state << 5;
    return *state;
}

static void CALLBACK chaos_logger(WINTUN_LOGGER_LEVEL level, DWORD64 timestamp, LPCWSTR message)
{
    static _Thread_local int inside;
    (void)level, (void)timestamp, (void)message;
    if (inside)
        return;
    inside = 1;
    WINTUN_ADAPTER_STATISTICS st;
    WintunGetAdapterStatistics(adapters[0], &st);
    WINTUN_ADAPTER_HANDLE opened = WintunOpenAdapter(L"chaos-0");
    WintunCloseAdapter(opened);
    WintunGetReadWaitEvent(__atomic_load_n(&sessions[1], __ATOMIC_ACQUIRE));
    CloseHandle(open_adapter_device(adapters[2])); /* the device calls from a callback too */
    inside = 0;
}

/* Receives up to 8 packets and releases them in a rotated order, then one of them again (refused). */
static void receive_some(int i, WINTUN_SESSION_HANDLE s, uint32_t *rnd)
{
    DWORD size;
    BYTE *held[8];
    int n = 0;
    while (n < 8 && (held[n] = WintunReceivePacket(s, &size)))
        ++n;
    if (!n)
        return;
    if (i < ACCOUNTED)
        __atomic_add_fetch(&read_count[i], (uint64_t)n, __ATOMIC_RELAXED);
    uint32_t rotation = next_random(rnd);
    for (int k = 0; k < n; ++k)
        WintunReleaseReceivePacket(s, held[(k + rotation) % (uint32_t)n]);
    WintunReleaseReceivePacket(s, held[0]); /* twice: refused, harmless */
}

static BOOL CALLBACK count_packet(void *context, const BYTE *packet, DWORD size)
{
    (void)packet, (void)size;
    ++*(DWORD *)context;
    return TRUE;
}

static _Thread_local TUN_RING *raw_rings[2]; /* a thread's raw client's, reused: its handle is closed each round */

/* A raw client of its own (seed 002): opens the device, registers this thread's rings (if no other
 * client has the adapter), pushes a few packets, pops what is there, closes. On accounted adapter
 * i it is accounted like a session: what it pushed is sent, what it popped is read; the rest the
 * library counts at close. i < 0: an adapter another thread may close meanwhile. */
static void raw_client_round(WINTUN_ADAPTER_HANDLE adapter, int i, uint32_t r)
{
    enum { CAPACITY = 0x20000 };
    TUN_RING *send = raw_rings[0], *receive = raw_rings[1];
    if (!send) {
        send = raw_rings[0] = calloc(1, TUN_RING_SIZE(CAPACITY));
        receive = raw_rings[1] = calloc(1, TUN_RING_SIZE(CAPACITY));
    }
    memset(send, 0, 12);
    memset(receive, 0, 12);
    HANDLE device = open_adapter_device(adapter);
    if (device == INVALID_HANDLE_VALUE)
        return;
    HANDLE e1 = CreateEventW(NULL, FALSE, FALSE, NULL), e2 = CreateEventW(NULL, FALSE, FALSE, NULL);
    TUN_REGISTER_RINGS rings = { { TUN_RING_SIZE(CAPACITY), send, e1 }, { TUN_RING_SIZE(CAPACITY), receive, e2 } };
    DWORD bytes;
    if (DeviceIoControl(device, TUN_IOCTL_REGISTER_RINGS, &rings, sizeof(rings), NULL, 0, &bytes, NULL)) {
        CloseHandle(e1); /* the driver keeps its own references */
        __atomic_add_fetch(&raw_registered, 1, __ATOMIC_RELAXED);
        BYTE packet[120];
        for (uint32_t k = 0; k < 1 + r % 3; ++k) {
            uint32_t tail = receive->Tail, head = __atomic_load_n(&receive->Head, __ATOMIC_ACQUIRE), space = TUN_ALIGN(4 + sizeof(packet));
            if (head >= CAPACITY || space > TUN_RING_WRAP(head - tail - 4, CAPACITY))
                break;
            make_ipv4(packet, sizeof(packet), r);
            TUN_PACKET *p = (TUN_PACKET *)(receive->Data + tail);
            p->Size = sizeof(packet);
            memcpy(p->Data, packet, sizeof(packet));
            __atomic_store_n(&receive->Tail, TUN_RING_WRAP(tail + space, CAPACITY), __ATOMIC_SEQ_CST);
            if (__atomic_load_n(&receive->Alertable, __ATOMIC_SEQ_CST))
                SetEvent(e2);
            if (i >= 0)
                __atomic_add_fetch(&sent[i], 1, __ATOMIC_RELAXED);
        }
        for (int k = 0; k < 8; ++k) {
            uint32_t head = send->Head, tail = __atomic_load_n(&send->Tail, __ATOMIC_ACQUIRE);
            if (tail >= CAPACITY || head == tail)
                break;
            const TUN_PACKET *p = (const TUN_PACKET *)(send->Data + head);
            __atomic_store_n(&send->Head, TUN_RING_WRAP(head + TUN_ALIGN(4 + p->Size), CAPACITY), __ATOMIC_RELEASE);
            if (i >= 0)
                __atomic_add_fetch(&read_count[i], 1, __ATOMIC_RELAXED);
        }
    } else {
        CloseHandle(e1);
    }
    CloseHandle(device);
    CloseHandle(e2);
}

/* Bundles on a shared handle (seed 003): open a new one into the slot and close the old (waking
 * its blocked readers), write a bundle of two, or read (blocking until packets or a close). */
static void bundle_round(int i, uint32_t r)
{
    static _Thread_local uint8_t buffer[TUN_BUNDLE_MIN_READ_SIZE];
    HANDLE h = __atomic_load_n(&bundle_handles[i], __ATOMIC_ACQUIRE);
    DWORD bytes;
    switch ((r >> 12) % 4) {
    case 0:
        CloseHandle(__atomic_exchange_n(&bundle_handles[i], open_adapter_device(adapters[i]), __ATOMIC_ACQ_REL));
        break;
    case 1: {
        DWORD offset = 0;
        for (int k = 0; k < 2; ++k) {
            TUN_BUNDLE_PACKET *p = (TUN_BUNDLE_PACKET *)(buffer + offset);
            memset(p, 0, sizeof(*p));
            p->Size = 60;
            make_ipv4(p->Data, 60, r);
            offset += TUN_BUNDLE_ALIGN(sizeof(*p) + 60);
        }
        if (WriteFile(h, buffer, offset, &bytes, NULL)) {
            __atomic_add_fetch(&sent[i], 2, __ATOMIC_RELAXED); /* sent, or dropped and counted */
            __atomic_add_fetch(&bundle_packets, 2, __ATOMIC_RELAXED);
        }
        break;
    }
    default:
        if (ReadFile(h, buffer, sizeof(buffer), &bytes, NULL))
            for (DWORD at = 0; at < bytes; at += TUN_BUNDLE_ALIGN(sizeof(TUN_BUNDLE_PACKET) + ((TUN_BUNDLE_PACKET *)(buffer + at))->Size)) {
                __atomic_add_fetch(&read_count[i], 1, __ATOMIC_RELAXED);
                __atomic_add_fetch(&bundle_packets, 1, __ATOMIC_RELAXED);
            }
        break;
    }
}

/* WintunEnumAdapters' callback: reads the adapter, and now and then closes a slot's adapter. */
static BOOL CALLBACK enumerated(WINTUN_ADAPTER_HANDLE adapter, LPARAM close_one)
{
    WINTUN_ADAPTER_STATISTICS st;
    WintunGetAdapterStatistics(adapter, &st);
    if (close_one)
        WintunCloseAdapter(__atomic_exchange_n(&extra[0], NULL, __ATOMIC_ACQ_REL));
    return TRUE;
}

static void *chaos_thread(void *arg)
{
    uint32_t rnd = (uint32_t)(uintptr_t)arg * 2654435761u + 1;
    BYTE pkt[600];
    make_ipv4(pkt, sizeof(pkt), 0);
    const BYTE *packets[4] = { pkt, pkt, pkt, pkt };
    DWORD sizes[4] = { 600, 100, 40, 600 };
    while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
        uint32_t r = next_random(&rnd);
        int i = (int)(r >> 8) % SESSIONS;
        WINTUN_SESSION_HANDLE s = __atomic_load_n(&sessions[i], __ATOMIC_ACQUIRE);
        switch (r % 18) {
        case 0: { /* end the session, start a new one */
            WINTUN_SESSION_HANDLE old = __atomic_exchange_n(&sessions[i], NULL, __ATOMIC_ACQ_REL);
            WintunEndSession(old);
            WINTUN_SESSION_HANDLE fresh = WintunStartSession(adapters[i], 0x20000);
            WINTUN_SESSION_HANDLE expected = NULL;
            if (fresh && !__atomic_compare_exchange_n(&sessions[i], &expected, fresh, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
                WintunEndSession(fresh);
            break;
        }
        case 1:
        case 2: { /* allocate, fill, send */
            BYTE *p = WintunAllocateSendPacket(s, 200);
            if (p) {
                make_ipv4(p, 200, r);
                SetLastError(0);
                WintunSendPacket(s, p);
                if (GetLastError() != ERROR_INVALID_HANDLE && i < ACCOUNTED)
                    __atomic_add_fetch(&sent[i], 1, __ATOMIC_RELAXED); /* a stale Send is refused: never sent */
            }
            break;
        }
        case 3: { /* a batch */
            SetLastError(0);
            DWORD n = WintunSendPackets(s, packets, sizes, 1 + r % 4);
            if (i < ACCOUNTED)
                __atomic_add_fetch(&sent[i], n, __ATOMIC_RELAXED);
            break;
        }
        case 4:
        case 5:
            receive_some(i, s, &rnd);
            break;
        case 6: {
            DWORD n = 0;
            DWORD got = WintunReceivePackets(s, count_packet, &n, 16);
            if (i < ACCOUNTED)
                __atomic_add_fetch(&read_count[i], got, __ATOMIC_RELAXED);
            break;
        }
        case 7: { /* wait a little for a packet */
            HANDLE event = WintunGetReadWaitEvent(s);
            DWORD size;
            BYTE *p = event ? WintunReceivePacket(s, &size) : NULL;
            if (p) {
                if (i < ACCOUNTED)
                    __atomic_add_fetch(&read_count[i], 1, __ATOMIC_RELAXED);
                WintunReleaseReceivePacket(s, p);
            } else if (event && GetLastError() == ERROR_NO_MORE_ITEMS) {
                WaitForSingleObject(event, 2);
            }
            break;
        }
        case 8: { /* the OS side sends */
            SetLastError(0);
            BOOL ok = WintunEmulatedInjectPackets(adapters[i], packets, sizes, 1 + r % 4);
            DWORD err = GetLastError();
            if (i < ACCOUNTED && (ok || err == ERROR_BUFFER_OVERFLOW || err == ERROR_NOT_READY || err == ERROR_DEV_NOT_EXIST ||
                                  err == ERROR_HANDLE_EOF))
                __atomic_add_fetch(&injected[i], 1 + r % 4, __ATOMIC_RELAXED);
            break;
        }
        case 9: { /* the OS side receives */
            BYTE buf[700];
            DWORD got;
            for (int k = 0; k < 8 && WintunEmulatedCapturePacket(adapters[i], buf, sizeof(buf), &got); ++k)
                ;
            break;
        }
        case 10:
            WintunSetAdapterUp(adapters[i], (r >> 20) & 1);
            break;
        case 11: {
            DWORD mtu;
            WintunSetAdapterMtu(adapters[i], 1280 + r % 8000);
            WintunGetAdapterMtu(adapters[i], &mtu);
            WINTUN_ADAPTER_STATISTICS st;
            WintunGetAdapterStatistics(adapters[i], &st);
            break;
        }
        case 12: /* wire, unwire */
            if (r & 0x100000)
                WintunEmulatedConnect(adapters[ACCOUNTED], adapters[ACCOUNTED + 1]);
            else
                WintunEmulatedDisconnect(adapters[ACCOUNTED + (r >> 21) % WIRED]);
            break;
        case 13: { /* open or create into a slot, close what was there; enumerate while others do */
            int k = (int)(r >> 16) % EXTRA;
            WintunEnumAdapters((r & 0x4000) ? L"chaos" : NULL, enumerated, (LPARAM)(r & 1));
            WINTUN_ADAPTER_HANDLE h = (r & 0x8000) ? WintunOpenAdapter(L"chaos-3") /* a wired one: not accounted */
                                                    : WintunCreateAdapterEx(L"chaos-temp", L"Chaos", NULL, WINTUN_BACKEND_EMULATED);
            WintunCloseAdapter(__atomic_exchange_n(&extra[k], h, __ATOMIC_ACQ_REL));
            break;
        }
        case 14: { /* a session on a slot's adapter, while another thread may close it */
            WINTUN_ADAPTER_HANDLE h = __atomic_load_n(&extra[(r >> 16) % EXTRA], __ATOMIC_ACQUIRE);
            char ifname[16];
            WintunGetAdapterInterfaceName(h, ifname, sizeof(ifname)); /* emulated: NOT_SUPPORTED, or stale */
            WINTUN_OFFLOAD_MODE mode;
            WintunGetAdapterOffload(h, &mode, NULL);             /* NONE, or stale */
            WintunSetAdapterOffload(h, (WINTUN_OFFLOAD_MODE)(r % 3)); /* NONE only, or stale */
            WINTUN_SESSION_HANDLE t = WintunStartSession(h, 0x20000);
            if (t) {
                send_ipv4(t, 100, r);
                WintunEndSession(t);
            }
            WintunCloseAdapter(__atomic_exchange_n(&extra[(r >> 18) % EXTRA], NULL, __ATOMIC_ACQ_REL));
            break;
        }
        case 15: /* a raw client of its own: on an accounted adapter, or on a slot's that others close */
            if (r & 0x200000)
                raw_client_round(adapters[i % ACCOUNTED], i % ACCOUNTED, r);
            else
                raw_client_round(__atomic_load_n(&extra[(r >> 16) % EXTRA], __ATOMIC_ACQUIRE), -1, r);
            break;
        case 16: /* bundles on a shared handle */
            bundle_round(i % ACCOUNTED, r);
            break;
        default:
            WintunSetLogger((r & 0x10000) ? chaos_logger : NULL);
            break;
        }
        __atomic_add_fetch(&progress, 1, __ATOMIC_RELAXED);
    }
    free(raw_rings[0]);
    free(raw_rings[1]);
    return NULL;
}

static void *watchdog(void *arg)
{
    (void)arg;
    uint64_t last = 0, since = wt_monotonic_ns();
    for (unsigned tick = 0; !__atomic_load_n(&stop, __ATOMIC_ACQUIRE); ++tick) {
        wt_sleep_us(100000);
        /* A bundle handle closes under its blocked readers now and then, from yet another thread. */
        CloseHandle(__atomic_exchange_n(&bundle_handles[tick % ACCOUNTED], NULL, __ATOMIC_ACQ_REL));
        uint64_t now = __atomic_load_n(&progress, __ATOMIC_RELAXED);
        if (now != last) {
            last = now;
            since = wt_monotonic_ns();
        } else if (wt_monotonic_ns() - since > 20000000000ull) {
            printf("FAIL chaos: no progress for 20 s (a hang)\n");
            fflush(stdout);
            abort();
        }
    }
    return NULL;
}

static void test_chaos(void)
{
    const char *env = getenv("WINTUN_CHAOS_SECONDS");
    double seconds = env && *env ? atof(env) : 8;
    for (int i = 0; i < ACCOUNTED + WIRED; ++i) {
        WCHAR name[32];
        swprintf(name, 32, L"chaos-%d", i);
        adapters[i] = emulated_adapter(name);
        sessions[i] = WintunStartSession(adapters[i], 0x20000);
    }
    pthread_t threads[THREADS], dog;
    pthread_create(&dog, NULL, watchdog, NULL);
    for (uintptr_t t = 0; t < THREADS; ++t)
        pthread_create(&threads[t], NULL, chaos_thread, (void *)t);
    wt_sleep_us((uint32_t)(seconds * 1e6));
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    /* Readers blocked on bundle handles wake when those close, until the threads have stopped. */
    for (int joined = 0; joined < THREADS;) {
        for (int i = 0; i < ACCOUNTED; ++i)
            CloseHandle(__atomic_exchange_n(&bundle_handles[i], NULL, __ATOMIC_ACQ_REL));
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 20000000;
        if (until.tv_nsec >= 1000000000)
            until.tv_sec += 1, until.tv_nsec -= 1000000000;
        if (pthread_timedjoin_np(threads[joined], NULL, &until) == 0)
            ++joined;
    }
    pthread_join(dog, NULL);
    WintunSetLogger(NULL);
    printf("chaos: %llu calls in %.0f s; %llu raw clients registered, %llu packets in bundles\n",
           (unsigned long long)progress, seconds, (unsigned long long)raw_registered, (unsigned long long)bundle_packets);
    CHECK(progress > 1000);
    CHECK(raw_registered > 0 && bundle_packets > 0); /* the seeds' interfaces took part */
    for (int i = 0; i < SESSIONS; ++i)
        WintunEndSession(sessions[i]);
    for (int i = 0; i < ACCOUNTED; ++i) {
        WINTUN_ADAPTER_STATISTICS st;
        CHECK(WintunGetAdapterStatistics(adapters[i], &st));
        uint64_t counted = st.ReceivePackets + st.ReceiveDiscards + st.ReceiveDrops + st.ReceiveErrors;
        if (counted != sent[i] || st.SendPackets + st.SendDrops + st.SendErrors != injected[i] ||
            st.SendPackets != read_count[i] + st.SendUnread)
            printf("adapter %d: sent %llu counted %llu; injected %llu, in ring %llu dropped %llu; read %llu unread %llu\n", i,
                   (unsigned long long)sent[i], (unsigned long long)counted, (unsigned long long)injected[i],
                   (unsigned long long)st.SendPackets, (unsigned long long)st.SendDrops,
                   (unsigned long long)read_count[i], (unsigned long long)st.SendUnread);
        CHECK(counted == sent[i]);
        CHECK(st.SendPackets + st.SendDrops + st.SendErrors == injected[i]);
        CHECK(st.SendPackets == read_count[i] + st.SendUnread);
    }
    for (int i = 0; i < EXTRA; ++i)
        WintunCloseAdapter(extra[i]);
    for (int i = 0; i < ACCOUNTED; ++i) {
        BYTE buf[700];
        DWORD got;
        WintunSetAdapterUp(adapters[i], TRUE);
        while (WintunEmulatedCapturePacket(adapters[i], buf, sizeof(buf), &got))
            ;
        CHECK(adapter_still_works(adapters[i], 42));
    }
    for (int i = 0; i < ACCOUNTED + WIRED; ++i)
        WintunCloseAdapter(adapters[i]);
}

int main(void)
{
    RUN(test_chaos);
    return test_summary();
}
