/* SPDX-License-Identifier: MIT
 *
 * The chaos test: for a bounded time (WINTUN_CHAOS_SECONDS, default 8), threads pick random calls
 * on shared adapters and sessions (handles that may be ended or closed under them by another
 * thread at any moment): start/end, create/open/close, up/down, MTU, send/receive and batches,
 * waits, injection, wiring, statistics, the logger (whose callback calls the API). A watchdog
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
static uint64_t progress;
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
        switch (r % 16) {
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
        case 13: { /* open or create into a slot, close what was there */
            int k = (int)(r >> 16) % EXTRA;
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
        default:
            WintunSetLogger((r & 0x10000) ? chaos_logger : NULL);
            break;
        }
        __atomic_add_fetch(&progress, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

static void *watchdog(void *arg)
{
    (void)arg;
    uint64_t last = 0, since = wt_monotonic_ns();
    while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
        wt_sleep_us(100000);
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
    for (int t = 0; t < THREADS; ++t)
        pthread_join(threads[t], NULL);
    pthread_join(dog, NULL);
    WintunSetLogger(NULL);
    printf("chaos: %llu calls in %.0f s\n", (unsigned long long)progress, seconds);
    CHECK(progress > 1000);
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
