/* SPDX-License-Identifier: MIT
 *
 * The seeds' interfaces (wintun_device.h): a raw client that opens the adapter's device,
 * registers its own rings with TUN_IOCTL_REGISTER_RINGS and moves packets with seed 002's loops;
 * ReadFile/WriteFile bundles (seed 003); their bad input; their teardown. On an emulated adapter
 * whose OS side answers pings, then on a kernel adapter in a namespace of its own, Linux answering.
 */
#include "helpers.h"
#include "wintun_device.h"

#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>
#include <wchar.h>
#include <wctype.h>

static const uint8_t os_addr[4] = { 10, 77, 0, 1 }, client_addr[4] = { 10, 77, 0, 2 };

static void device_path(WINTUN_ADAPTER_HANDLE a, WCHAR *path, size_t size, const WCHAR *format)
{
    NET_LUID luid;
    WintunGetAdapterLUID(a, &luid);
    swprintf(path, size, format, (unsigned)luid.Info.NetLuidIndex);
}


/* ---- a raw client, written as seeds 000 and 002 describe one ---- */

struct raw_client
{
    HANDLE device;
    TUN_REGISTER_RINGS rings;
    uint32_t capacity;
};

static int raw_start(struct raw_client *c, HANDLE device, uint32_t capacity)
{
    memset(c, 0, sizeof(*c));
    c->device = device;
    c->capacity = capacity;
    c->rings.Send.RingSize = c->rings.Receive.RingSize = TUN_RING_SIZE(capacity);
    c->rings.Send.Ring = calloc(1, TUN_RING_SIZE(capacity));
    c->rings.Receive.Ring = calloc(1, TUN_RING_SIZE(capacity));
    c->rings.Send.TailMoved = CreateEventW(NULL, FALSE, FALSE, NULL);
    c->rings.Receive.TailMoved = CreateEventW(NULL, FALSE, FALSE, NULL);
    DWORD bytes;
    return DeviceIoControl(device, TUN_IOCTL_REGISTER_RINGS, &c->rings, sizeof(c->rings), NULL, 0, &bytes, NULL);
}

/* Frees what the client made: only after CloseHandle of the device, as the seed says. */
static void raw_free(struct raw_client *c)
{
    CloseHandle(c->rings.Send.TailMoved);
    CloseHandle(c->rings.Receive.TailMoved);
    free(c->rings.Send.Ring);
    free(c->rings.Receive.Ring);
}

/* The next packet of the Send ring, or NULL: empty, or closed (*closed). */
static TUN_PACKET *pop_from_ring(struct raw_client *c, int *closed)
{
    TUN_RING *ring = c->rings.Send.Ring;
    uint32_t head = ring->Head, tail = __atomic_load_n(&ring->Tail, __ATOMIC_ACQUIRE);
    *closed = tail >= c->capacity;
    if (*closed || head == tail)
        return NULL;
    return (TUN_PACKET *)(ring->Data + head);
}

static void release_to_ring(struct raw_client *c, TUN_PACKET *packet)
{
    TUN_RING *ring = c->rings.Send.Ring;
    uint32_t head = TUN_RING_WRAP((uint32_t)((uint8_t *)packet - ring->Data) + TUN_ALIGN(sizeof(TUN_PACKET) + packet->Size),
                                  c->capacity);
    __atomic_store_n(&ring->Head, head, __ATOMIC_RELEASE);
}

/* Seed 002's reading loop, its wait bounded: a packet, or NULL (closed, or nothing for ms). */
static TUN_PACKET *pop_wait(struct raw_client *c, DWORD ms, int *closed)
{
    for (;;) {
        TUN_PACKET *next = pop_from_ring(c, closed);
        if (!next && !*closed) {
            __atomic_store_n(&c->rings.Send.Ring->Alertable, TRUE, __ATOMIC_SEQ_CST);
            next = pop_from_ring(c, closed);
            if (!next && !*closed) {
                DWORD r = WaitForSingleObject(c->rings.Send.TailMoved, ms);
                __atomic_store_n(&c->rings.Send.Ring->Alertable, FALSE, __ATOMIC_SEQ_CST);
                if (r != WAIT_OBJECT_0)
                    return NULL;
                continue;
            }
            __atomic_store_n(&c->rings.Send.Ring->Alertable, FALSE, __ATOMIC_SEQ_CST);
            ResetEvent(c->rings.Send.TailMoved);
        }
        return next;
    }
}

/* Seed 002's writing loop, one packet: into the ring, then the event if the driver sleeps. */
static int write_to_ring(struct raw_client *c, const uint8_t *data, uint32_t size)
{
    TUN_RING *ring = c->rings.Receive.Ring;
    uint32_t tail = ring->Tail, head = __atomic_load_n(&ring->Head, __ATOMIC_ACQUIRE);
    if (head >= c->capacity || TUN_ALIGN(sizeof(TUN_PACKET) + size) > TUN_RING_WRAP(head - tail - 4, c->capacity))
        return 0;
    TUN_PACKET *packet = (TUN_PACKET *)(ring->Data + tail);
    packet->Size = size;
    memcpy(packet->Data, data, size);
    __atomic_store_n(&ring->Tail, TUN_RING_WRAP(tail + TUN_ALIGN(sizeof(TUN_PACKET) + size), c->capacity), __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&ring->Alertable, __ATOMIC_SEQ_CST))
        SetEvent(c->rings.Receive.TailMoved);
    return 1;
}

/* The adapter's counters once they show what the test expects (a packet's count may follow its
 * delivery by a moment: the receive thread counts after the OS took it), or after 2 s. */
#define STATS_REACH(a, st, cond)                                                                       \
    do {                                                                                           \
        for (uint64_t deadline_ = wt_monotonic_ns() + 2000000000ull;                               \
             WintunGetAdapterStatistics((a), &(st)) && !(cond) && wt_monotonic_ns() < deadline_;)  \
            usleep(1000);                                                                          \
        CHECK(cond);                                                                               \
    } while (0)

static int is_echo_reply4(const uint8_t *p, uint32_t size, const uint8_t from[4], uint16_t *seq)
{
    if (size < 28 || p[0] != 0x45 || p[9] != 1 || p[20] != 0 || memcmp(p + 12, from, 4))
        return 0;
    *seq = (uint16_t)(p[26] << 8 | p[27]);
    return 1;
}

/* Ten echo requests pushed (and a packet that is not IP between them), ten replies popped. */
static void ping_through_rings(struct raw_client *c, const uint8_t os[4], const uint8_t me[4])
{
    uint8_t packet[128];
    for (uint16_t seq = 1; seq <= 10; ++seq) {
        CHECK(write_to_ring(c, packet, make_echo4(packet, me, os, seq, 32)));
        if (seq == 5) {
            static const uint8_t not_ip[20] = { 0x10 };
            CHECK(write_to_ring(c, not_ip, sizeof(not_ip))); /* discarded and counted; the ring goes on */
        }
    }
    unsigned replies = 0, seen = 0;
    int closed = 0;
    for (uint64_t deadline = wt_monotonic_ns() + 5000000000ull; replies < 10 && wt_monotonic_ns() < deadline;) {
        TUN_PACKET *p = pop_wait(c, 1000, &closed);
        if (!p)
            break;
        uint16_t seq;
        if (is_echo_reply4(p->Data, p->Size, os, &seq) && seq >= 1 && seq <= 10 && !(seen & (1u << seq))) {
            seen |= 1u << seq;
            ++replies;
        }
        release_to_ring(c, p);
    }
    CHECK(replies == 10 && !closed);
}

static WINTUN_ADAPTER_HANDLE pinging_adapter(const WCHAR *name)
{
    WINTUN_ADAPTER_HANDLE a = emulated_adapter(name);
    WINTUN_ADDRESS address = { .Family = AF_INET, .PrefixLength = 24 };
    memcpy(address.Address, os_addr, 4);
    CHECK(WintunAddAdapterAddress(a, &address));
    return a;
}

/* After CloseHandle: Send Tail is 0xFFFFFFFF and its TailMoved signalled, then a session starts. */
static void check_closed_then_session(WINTUN_ADAPTER_HANDLE a, struct raw_client *c)
{
    CHECK(CloseHandle(c->device));
    CHECK(c->rings.Send.Ring->Tail == TUN_RING_CLOSED);
    CHECK(WaitForSingleObject(c->rings.Send.TailMoved, 0) == WAIT_OBJECT_0);
    WINTUN_SESSION_HANDLE s = WintunStartSession(a, 0x20000);
    CHECK(s != NULL);
    if (s)
        WintunEndSession(s);
    raw_free(c);
}

static void test_seed_002_flow_emulated(void)
{
    WINTUN_ADAPTER_HANDLE a = pinging_adapter(L"raw-emulated");
    struct raw_client c;
    HANDLE h = open_adapter_device(a);
    CHECK(h != INVALID_HANDLE_VALUE);
    CHECK(raw_start(&c, h, 0x20000));
    /* One client an adapter: a session, another handle, the same handle again. */
    CHECK_ERR(WintunStartSession(a, 0x20000), ERROR_ALREADY_INITIALIZED);
    HANDLE other = open_adapter_device(a);
    struct raw_client c2;
    CHECK_ERR(raw_start(&c2, other, 0x20000), ERROR_ALREADY_INITIALIZED);
    CloseHandle(other);
    raw_free(&c2);
    DWORD bytes;
    CHECK_ERR(DeviceIoControl(h, TUN_IOCTL_REGISTER_RINGS, &c.rings, sizeof(c.rings), NULL, 0, &bytes, NULL),
              ERROR_ALREADY_INITIALIZED);
    ping_through_rings(&c, os_addr, client_addr);
    WINTUN_ADAPTER_STATISTICS st;
    STATS_REACH(a, st, st.ReceiveDiscards == 1 && st.ReceivePackets == 10 && st.SendPackets == 10);
    check_closed_then_session(a, &c);
    WintunCloseAdapter(a);
}

/* Nothing a raw client leaves is lost uncounted: what it never read is SendUnread at CloseHandle. */
static void test_raw_client_accounting(void)
{
    WINTUN_ADAPTER_HANDLE a = emulated_adapter(L"raw-accounting");
    struct raw_client c;
    CHECK(raw_start(&c, open_adapter_device(a), 0x20000));
    uint8_t packet[100];
    for (uint32_t i = 1; i <= 12; ++i) {
        make_ipv4(packet, sizeof(packet), i);
        CHECK(WintunEmulatedInjectPacket(a, packet, sizeof(packet)));
    }
    int closed, popped = 0;
    for (TUN_PACKET *p; popped < 5 && (p = pop_wait(&c, 1000, &closed)); ++popped) {
        CHECK(packet_seq(p->Data) == (uint32_t)popped + 1);
        release_to_ring(&c, p);
    }
    CHECK(popped == 5);
    for (uint32_t i = 1; i <= 4; ++i) { /* pushed: the driver hands them over, at CloseHandle at the latest */
        make_ipv4(packet, sizeof(packet), 100 + i);
        CHECK(write_to_ring(&c, packet, sizeof(packet)));
    }
    CHECK(CloseHandle(c.device));
    WINTUN_ADAPTER_STATISTICS st;
    CHECK(WintunGetAdapterStatistics(a, &st) && st.SendPackets == 12 && st.SendUnread == 7);
    CHECK(st.ReceivePackets + st.ReceiveDrops == 4);
    raw_free(&c);
    WintunCloseAdapter(a);
}

/* The registration checks of reference §1.4, each leaving the handle usable. */
static void test_registration_refusals(void)
{
    WINTUN_ADAPTER_HANDLE a = emulated_adapter(L"raw-refusals");
    HANDLE h = open_adapter_device(a);
    const uint32_t cap = 0x20000, size = TUN_RING_SIZE(cap);
    TUN_RING *send = calloc(1, size), *receive = calloc(1, size);
    HANDLE e1 = CreateEventW(NULL, FALSE, FALSE, NULL), e2 = CreateEventW(NULL, FALSE, FALSE, NULL);
    TUN_REGISTER_RINGS good = { { size, send, e1 }, { size, receive, e2 } }, bad;
    DWORD bytes;
#define REGISTER(rings, len) DeviceIoControl(h, TUN_IOCTL_REGISTER_RINGS, (rings), (len), NULL, 0, &bytes, NULL)
    CHECK_ERR(REGISTER(&good, sizeof(good) - 1), ERROR_INVALID_PARAMETER);
    CHECK_ERR(REGISTER(&good, sizeof(TUN_REGISTER_RINGS_32)), ERROR_INVALID_PARAMETER); /* no WOW64 on Linux */
    CHECK_ERR(REGISTER(&good, 0), ERROR_INVALID_PARAMETER);
    CHECK_ERR(REGISTER(NULL, sizeof(good)), ERROR_NOACCESS);
    const uint32_t bad_sizes[] = { size + 4, size - 4, 12, 0, TUN_RING_SIZE(0x10000), TUN_RING_SIZE(0x8000000), 0xFFFFFFFF };
    for (size_t i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); ++i) {
        bad = good;
        bad.Send.RingSize = bad_sizes[i];
        CHECK_ERR(REGISTER(&bad, sizeof(bad)), ERROR_INVALID_PARAMETER);
        bad = good;
        bad.Receive.RingSize = bad_sizes[i];
        CHECK_ERR(REGISTER(&bad, sizeof(bad)), ERROR_INVALID_PARAMETER);
    }
    bad = good, bad.Send.Ring = NULL;
    CHECK_ERR(REGISTER(&bad, sizeof(bad)), ERROR_INVALID_PARAMETER);
    bad = good, bad.Receive.TailMoved = NULL;
    CHECK_ERR(REGISTER(&bad, sizeof(bad)), ERROR_INVALID_PARAMETER);
    bad = good, bad.Receive.Ring = (TUN_RING *)((uint8_t *)receive + 2);
    CHECK_ERR(REGISTER(&bad, sizeof(bad)), ERROR_INVALID_PARAMETER);
    HANDLE closed = CreateEventW(NULL, FALSE, FALSE, NULL);
    CloseHandle(closed);
    bad = good, bad.Send.TailMoved = closed;
    CHECK_ERR(REGISTER(&bad, sizeof(bad)), ERROR_INVALID_HANDLE);
    bad = good, bad.Receive.TailMoved = h; /* a handle, but no event */
    CHECK_ERR(REGISTER(&bad, sizeof(bad)), ERROR_INVALID_HANDLE);
    /* Memory: read-only, and a ring that runs into a page that is not there. */
    const size_t page = (size_t)sysconf(_SC_PAGESIZE), mapped = (size + page - 1) / page * page;
    uint8_t *ro = mmap(NULL, mapped, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint8_t *shortmap = mmap(NULL, mapped + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(ro != MAP_FAILED && shortmap != MAP_FAILED);
    munmap(shortmap + mapped - page, 2 * page); /* the ring's last page and the one after it */
    bad = good, bad.Send.Ring = (TUN_RING *)ro;
    CHECK_ERR(REGISTER(&bad, sizeof(bad)), ERROR_INVALID_USER_BUFFER);
    bad = good, bad.Receive.Ring = (TUN_RING *)shortmap;
    CHECK_ERR(REGISTER(&bad, sizeof(bad)), ERROR_INVALID_USER_BUFFER);
    munmap(ro, mapped);
    munmap(shortmap, mapped - page);
    send->Tail = cap; /* the driver reads the Send ring's Tail: it must be below the capacity */
    CHECK_ERR(REGISTER(&good, sizeof(good)), ERROR_INVALID_PARAMETER);
    send->Tail = 0;
    CHECK_ERR(DeviceIoControl(h, 0xCA6CE5C7 /* FORCE_CLOSE_HANDLES, gone since 0.14 */, NULL, 0, NULL, 0, &bytes, NULL),
              ERROR_INVALID_FUNCTION);
    CHECK_ERR(DeviceIoControl(h, TUN_IOCTL_REGISTER_RINGS, &good, sizeof(good), NULL, 0, NULL, NULL), ERROR_INVALID_PARAMETER);
    OVERLAPPED ov = { 0 };
    CHECK_ERR(DeviceIoControl(h, TUN_IOCTL_REGISTER_RINGS, &good, sizeof(good), NULL, 0, &bytes, &ov), ERROR_NOT_SUPPORTED);
    /* Nothing above registered: the refused calls left the handle and the adapter as they were. */
    WINTUN_SESSION_HANDLE s = WintunStartSession(a, cap);
    CHECK(s != NULL);
    CHECK_ERR(REGISTER(&good, sizeof(good)), ERROR_ALREADY_INITIALIZED);
    WintunEndSession(s);
    /* seed 002's code, 0x22E000, is taken too; the client may close its events at once. */
    CHECK(DeviceIoControl(h, TUN_IOCTL_REGISTER_RINGS_2019, &good, sizeof(good), NULL, 0, &bytes, NULL));
    CHECK(CloseHandle(e1) && CloseHandle(e2));
    CHECK(CloseHandle(h));
    CHECK(send->Tail == TUN_RING_CLOSED && receive->Head == TUN_RING_CLOSED);
    /* A read-only handle cannot register. */
    WCHAR path[64];
    device_path(a, path, 64, WINTUN_DEVICE_PATH_DEVICE);
    h = CreateFileW(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING, 0, NULL);
    CHECK(h != INVALID_HANDLE_VALUE);
    send->Tail = 0;
    CHECK_ERR(REGISTER(&good, sizeof(good)), ERROR_ACCESS_DENIED);
    CHECK(CloseHandle(h));
#undef REGISTER
    free(send);
    free(receive);
    CHECK(adapter_still_works(a, 7));
    WintunCloseAdapter(a);
}

static void test_open_refusals(void)
{
    WINTUN_ADAPTER_HANDLE a = emulated_adapter(L"raw-open");
    WCHAR path[64], lower[64];
    const DWORD all = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, rw = GENERIC_READ | GENERIC_WRITE;
    device_path(a, path, 64, WINTUN_DEVICE_PATH_GLOBAL);
    for (size_t i = 0; i < 64; ++i)
        lower[i] = (WCHAR)towlower((wint_t)path[i]);
#define OPEN(name, access, share, disp, flags) CreateFileW((name), (access), (share), NULL, (disp), (flags), NULL)
    CHECK_ERR(OPEN(L"\\\\.\\Global\\WINTUN", rw, all, OPEN_EXISTING, 0) != INVALID_HANDLE_VALUE, ERROR_PATH_NOT_FOUND);
    CHECK_ERR(OPEN(L"\\\\.\\Global\\WINTUNx1", rw, all, OPEN_EXISTING, 0) != INVALID_HANDLE_VALUE, ERROR_PATH_NOT_FOUND);
    CHECK_ERR(OPEN(L"\\\\.\\Global\\WINTUN99999999", rw, all, OPEN_EXISTING, 0) != INVALID_HANDLE_VALUE, ERROR_PATH_NOT_FOUND);
    CHECK_ERR(OPEN(L"\\\\.\\Global\\WINTUN16777215", rw, all, OPEN_EXISTING, 0) != INVALID_HANDLE_VALUE, ERROR_FILE_NOT_FOUND);
    CHECK_ERR(OPEN(L"C:\\wintun", rw, all, OPEN_EXISTING, 0) != INVALID_HANDLE_VALUE, ERROR_PATH_NOT_FOUND);
    CHECK_ERR(OPEN(NULL, rw, all, OPEN_EXISTING, 0) != INVALID_HANDLE_VALUE, ERROR_INVALID_PARAMETER);
    CHECK_ERR(OPEN(path, rw, all, 2 /* CREATE_ALWAYS */, 0) != INVALID_HANDLE_VALUE, ERROR_INVALID_PARAMETER);
    CHECK_ERR(OPEN(path, rw, all, OPEN_EXISTING, FILE_FLAG_OVERLAPPED) != INVALID_HANDLE_VALUE, ERROR_NOT_SUPPORTED);
    CHECK_ERR(OPEN(path, rw | 0x10000000 /* GENERIC_ALL */, all, OPEN_EXISTING, 0) != INVALID_HANDLE_VALUE, ERROR_ACCESS_DENIED);
    /* Names are not case-sensitive, as Windows' object names. */
    HANDLE h = OPEN(lower, rw, all, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL);
    CHECK(h != INVALID_HANDLE_VALUE);
    /* Share modes, checked both ways as Windows does. */
    CHECK_ERR(OPEN(path, rw, 0, OPEN_EXISTING, 0) != INVALID_HANDLE_VALUE, ERROR_SHARING_VIOLATION);
    CHECK(CloseHandle(h));
    HANDLE exclusive = OPEN(path, rw, 0, OPEN_EXISTING, 0);
    CHECK(exclusive != INVALID_HANDLE_VALUE);
    CHECK_ERR(OPEN(path, GENERIC_READ, all, OPEN_EXISTING, 0) != INVALID_HANDLE_VALUE, ERROR_SHARING_VIOLATION);
    CHECK_ERR(WintunStartSession(a, 0x20000), ERROR_SHARING_VIOLATION); /* wintun.dll's open shares */
    CHECK(CloseHandle(exclusive));
    WINTUN_SESSION_HANDLE s = WintunStartSession(a, 0x20000);
    CHECK(s != NULL);
    CHECK_ERR(OPEN(path, rw, FILE_SHARE_READ, OPEN_EXISTING, 0) != INVALID_HANDLE_VALUE, ERROR_SHARING_VIOLATION);
    WintunEndSession(s);
    /* Stale and foreign handles: refused, never dereferenced. */
    h = OPEN(path, rw, all, OPEN_EXISTING, 0);
    CHECK(CloseHandle(h));
    DWORD bytes;
    BYTE buffer[TUN_BUNDLE_MIN_READ_SIZE];
    CHECK_ERR(CloseHandle(h), ERROR_INVALID_HANDLE);
    CHECK_ERR(DeviceIoControl(h, TUN_IOCTL_REGISTER_RINGS, NULL, 0, NULL, 0, &bytes, NULL), ERROR_INVALID_HANDLE);
    CHECK_ERR(ReadFile(h, buffer, sizeof(buffer), &bytes, NULL), ERROR_INVALID_HANDLE);
    CHECK_ERR(WriteFile(h, buffer, 0, &bytes, NULL), ERROR_INVALID_HANDLE);
    CHECK_ERR(CloseHandle(INVALID_HANDLE_VALUE), ERROR_INVALID_HANDLE);
    CHECK_ERR(CloseHandle((HANDLE)a), ERROR_INVALID_HANDLE); /* an adapter handle is no HANDLE */
    CHECK_ERR(WaitForSingleObject(h, 0) != WAIT_FAILED, ERROR_INVALID_HANDLE);
    CHECK_ERR(SetEvent(h), ERROR_INVALID_HANDLE);
#undef OPEN
    /* The adapter closed: its device is gone. */
    WintunCloseAdapter(a);
    CHECK_ERR(CreateFileW(path, rw, all, NULL, OPEN_EXISTING, 0, NULL) != INVALID_HANDLE_VALUE, ERROR_FILE_NOT_FOUND);
}

/* The adapter closed under a raw client: its reader wakes to a closed ring; its handle still closes. */
static void test_adapter_closed_under_raw_client(void)
{
    WINTUN_ADAPTER_HANDLE a = pinging_adapter(L"raw-closed");
    struct raw_client c;
    CHECK(raw_start(&c, open_adapter_device(a), 0x20000));
    WintunCloseAdapter(a);
    int closed = 0;
    CHECK(pop_wait(&c, 1000, &closed) == NULL && closed);
    CHECK(c.rings.Send.Ring->Tail == TUN_RING_CLOSED && c.rings.Receive.Ring->Head == TUN_RING_CLOSED);
    CHECK(CloseHandle(c.device));
    raw_free(&c);
}

/* CloseHandle from another thread wakes the seed's reader (Tail = 0xFFFFFFFF, then the event),
 * and a close racing registrations on the same handle breaks nothing. */
struct closer
{
    HANDLE device;
    int delay_us;
};

static void *close_later(void *arg)
{
    struct closer *k = arg;
    usleep((useconds_t)k->delay_us);
    CloseHandle(k->device);
    return NULL;
}

static void test_close_wakes_reader(void)
{
    WINTUN_ADAPTER_HANDLE a = pinging_adapter(L"raw-wake");
    for (int round = 0; round < 20; ++round) {
        struct raw_client c;
        HANDLE h = open_adapter_device(a);
        struct closer k = { h, round * 100 };
        pthread_t t;
        pthread_create(&t, NULL, close_later, &k);
        int registered = raw_start(&c, h, 0x20000);
        CHECK(registered || GetLastError() == ERROR_INVALID_HANDLE);
        int closed = 0;
        if (registered) {
            TUN_PACKET *p = pop_wait(&c, 5000, &closed);
            CHECK(p == NULL && closed);
        }
        pthread_join(t, NULL);
        raw_free(&c);
    }
    CHECK(adapter_still_works(a, 9));
    WintunCloseAdapter(a);
}

/* ---- bundles (seed 003) ---- */

static DWORD bundle_put(uint8_t *buffer, DWORD offset, const uint8_t *packet, uint32_t size)
{
    TUN_BUNDLE_PACKET *header = (TUN_BUNDLE_PACKET *)(buffer + offset);
    memset(header, 0, TUN_BUNDLE_ALIGN(sizeof(*header) + size));
    header->Size = size;
    memcpy(header->Data, packet, size);
    return offset + TUN_BUNDLE_ALIGN(sizeof(*header) + size);
}

/* Checks the bundle's framing (16-byte aligned headers, zero padding) and counts the echo replies from os. */
static unsigned bundle_replies(const uint8_t *buffer, DWORD size, const uint8_t os[4], unsigned *seen, unsigned *packets)
{
    unsigned replies = 0;
    for (DWORD offset = 0; offset < size;) {
        const TUN_BUNDLE_PACKET *p = (const TUN_BUNDLE_PACKET *)(buffer + offset);
        static const uint8_t zero[16];
        CHECK(size - offset >= 16 && !memcmp(p->Reserved, zero, 12) && p->Size <= TUN_BUNDLE_MAX_IP_PACKET_SIZE &&
              16 + p->Size <= size - offset);
        const DWORD slot = TUN_BUNDLE_ALIGN(16 + p->Size);
        if (slot <= size - offset)
            CHECK(!memcmp(p->Data + p->Size, zero, slot - 16 - p->Size));
        uint16_t seq;
        if (is_echo_reply4(p->Data, p->Size, os, &seq) && seq < 32 && !(*seen & (1u << seq))) {
            *seen |= 1u << seq;
            ++replies;
        }
        ++*packets;
        offset += slot;
    }
    return replies;
}

static unsigned write_pings(HANDLE h, const uint8_t os[4], const uint8_t me[4], int with_junk)
{
    static uint8_t bundle[4096];
    uint8_t packet[128];
    DWORD offset = 0, written = 0;
    for (uint16_t seq = 1; seq <= 10; ++seq) {
        offset = bundle_put(bundle, offset, packet, make_echo4(packet, me, os, seq, 20 + seq));
        if (with_junk && seq == 3)
            offset = bundle_put(bundle, offset, (const uint8_t *)"not an IP packet", 16);
    }
    offset -= TUN_BUNDLE_ALIGN(16 + 28 + 30) - (16 + 28 + 30); /* the last packet's padding may be left out */
    BOOL ok = WriteFile(h, bundle, offset, &written, NULL);
    CHECK(ok && written == offset);
    return ok ? 10 : 0;
}

static unsigned read_replies(HANDLE h, const uint8_t os[4], unsigned want)
{
    static uint8_t buffer[TUN_BUNDLE_MIN_READ_SIZE];
    unsigned replies = 0, seen = 0, packets = 0;
    for (uint64_t deadline = wt_monotonic_ns() + 5000000000ull; replies < want && wt_monotonic_ns() < deadline;) {
        DWORD read = 0;
        if (!ReadFile(h, buffer, sizeof(buffer), &read, NULL))
            break;
        CHECK(read > 0 && read <= sizeof(buffer));
        replies += bundle_replies(buffer, read, os, &seen, &packets);
    }
    return replies;
}

struct bundle_reader_thread
{
    HANDLE device;
    const uint8_t *os;
    unsigned replies; /* echo replies read (atomic) */
    BOOL last_ok;
    DWORD last_error;
};

/* Reads bundles until ReadFile fails (at teardown), counting the echo replies. */
static void *read_bundles(void *arg)
{
    struct bundle_reader_thread *r = arg;
    static uint8_t buffer[TUN_BUNDLE_MIN_READ_SIZE];
    DWORD read;
    while ((r->last_ok = ReadFile(r->device, buffer, sizeof(buffer), &read, NULL))) {
        unsigned seen = 0, packets = 0;
        wt_atomic_add_fetch(&r->replies, bundle_replies(buffer, read, r->os, &seen, &packets), WT_RELEASE);
    }
    r->last_error = GetLastError();
    return NULL;
}

static void test_bundles_both_ways(void)
{
    WINTUN_ADAPTER_HANDLE a = pinging_adapter(L"bundles");
    /* Seed 003's advice for blocking I/O: one handle reads, another writes. */
    HANDLE reader = open_adapter_device(a), writer = open_adapter_device(a);
    struct bundle_reader_thread r = { reader, os_addr, 0, TRUE, 0 };
    uint8_t buffer[TUN_BUNDLE_MIN_READ_SIZE];
    DWORD bytes;
    /* The first bundle call starts the adapter's bundle client: a write before the reader is
     * there, then one while it waits, so that both orders are tried. */
    CHECK(write_pings(writer, os_addr, client_addr, 1) == 10);
    pthread_t t;
    pthread_create(&t, NULL, read_bundles, &r);
    usleep(20000);
    CHECK(write_pings(writer, os_addr, client_addr, 0) == 10);
    for (uint64_t deadline = wt_monotonic_ns() + 5000000000ull;
         wt_atomic_load(&r.replies, WT_ACQUIRE) < 20 && wt_monotonic_ns() < deadline;)
        usleep(1000);
    CHECK(wt_atomic_load(&r.replies, WT_ACQUIRE) == 20);
    /* While the bundle client has the adapter: no session, no rings. */
    CHECK_ERR(WintunStartSession(a, 0x20000), ERROR_ALREADY_INITIALIZED);
    struct raw_client c;
    CHECK_ERR(raw_start(&c, writer, 0x20000), ERROR_ALREADY_INITIALIZED);
    raw_free(&c);
    /* Bad bundles: refused whole, the handle usable after. */
    WINTUN_ADAPTER_STATISTICS before, after;
    WintunGetAdapterStatistics(a, &before);
    uint8_t packet[128];
    DWORD n = bundle_put(buffer, 0, packet, make_echo4(packet, client_addr, os_addr, 1, 8));
    DWORD lie = bundle_put(buffer, n, packet, 40);
    ((TUN_BUNDLE_PACKET *)(buffer + n))->Size = 200; /* more than is there */
    CHECK_ERR(WriteFile(writer, buffer, lie, &bytes, NULL), ERROR_INVALID_USER_BUFFER);
    ((TUN_BUNDLE_PACKET *)(buffer + n))->Size = TUN_BUNDLE_MAX_IP_PACKET_SIZE + 1;
    CHECK_ERR(WriteFile(writer, buffer, sizeof(buffer), &bytes, NULL), ERROR_INVALID_USER_BUFFER);
    CHECK_ERR(WriteFile(writer, buffer, n + 5, &bytes, NULL), ERROR_INVALID_USER_BUFFER); /* 5 bytes of no header */
    DWORD many = 0;
    for (int i = 0; i < 257; ++i)
        many = bundle_put(buffer, many, packet, 20);
    CHECK_ERR(WriteFile(writer, buffer, many, &bytes, NULL), ERROR_INVALID_USER_BUFFER);
    CHECK_ERR(WriteFile(writer, NULL, 32, &bytes, NULL), ERROR_NOACCESS);
    CHECK_ERR(WriteFile(writer, buffer, n, NULL, NULL), ERROR_INVALID_PARAMETER);
    OVERLAPPED ov = { 0 };
    CHECK_ERR(WriteFile(writer, buffer, n, &bytes, &ov), ERROR_NOT_SUPPORTED);
    CHECK_ERR(ReadFile(writer, buffer, TUN_BUNDLE_MIN_READ_SIZE - 1, &bytes, NULL), ERROR_INSUFFICIENT_BUFFER);
    CHECK(WriteFile(writer, buffer, 0, &bytes, NULL) && bytes == 0);
    usleep(20000);
    n = bundle_put(buffer, 0, packet, make_echo4(packet, client_addr, os_addr, 1, 8)); /* a good bundle again */
    WintunGetAdapterStatistics(a, &after);
    CHECK(after.ReceivePackets == before.ReceivePackets && after.ReceiveDiscards == before.ReceiveDiscards &&
          after.ReceiveDrops == before.ReceiveDrops);
    /* The writer closes: the reader's handle still has the client. The reader closes: EOF. */
    CHECK(CloseHandle(writer));
    usleep(20000);
    CHECK(CloseHandle(reader));
    pthread_join(t, NULL);
    CHECK(!r.last_ok && r.last_error == ERROR_HANDLE_EOF);
    WINTUN_ADAPTER_STATISTICS st;
    STATS_REACH(a, st, st.ReceivePackets == 20 && st.ReceiveDiscards == 1);
    /* The last bundle handle closed: a session has the adapter again. */
    WINTUN_SESSION_HANDLE s = WintunStartSession(a, 0x20000);
    CHECK(s != NULL);
    HANDLE h = open_adapter_device(a);
    CHECK_ERR(WriteFile(h, buffer, n, &bytes, NULL), ERROR_ALREADY_INITIALIZED);
    CHECK_ERR(ReadFile(h, buffer, sizeof(buffer), &bytes, NULL), ERROR_ALREADY_INITIALIZED);
    WintunEndSession(s);
    CHECK(CloseHandle(h));
    /* A handle with rings reads no bundles. */
    h = open_adapter_device(a);
    CHECK(raw_start(&c, h, 0x20000));
    CHECK_ERR(ReadFile(h, buffer, sizeof(buffer), &bytes, NULL), ERROR_INVALID_FUNCTION);
    CHECK_ERR(WriteFile(h, buffer, n, &bytes, NULL), ERROR_INVALID_FUNCTION);
    check_closed_then_session(a, &c);
    WintunCloseAdapter(a);
}

/* The limits of a read: 256 packets a call, a packet too large for a bundle skipped and counted,
 * and nothing lost at teardown: read + unread = delivered. */
static void test_bundle_limits_and_accounting(void)
{
    WINTUN_ADAPTER_HANDLE a = emulated_adapter(L"bundle-limits");
    HANDLE h = open_adapter_device(a);
    static uint8_t buffer[TUN_BUNDLE_MIN_READ_SIZE], big[0xF000];
    DWORD bytes;
    CHECK(WriteFile(h, buffer, 0, &bytes, NULL)); /* starts the bundle client */
    make_ipv4(big, sizeof(big), 0);
    CHECK(WintunEmulatedInjectPacket(a, big, sizeof(big))); /* 0xF000 > 0xEFF0: no bundle carries it */
    uint8_t packet[64];
    for (uint32_t i = 1; i <= 300; ++i) {
        make_ipv4(packet, sizeof(packet), i);
        CHECK(WintunEmulatedInjectPacket(a, packet, sizeof(packet)));
    }
    unsigned seen = 0, packets = 0, next = 1, in_order = 1;
    CHECK(ReadFile(h, buffer, sizeof(buffer), &bytes, NULL));
    (void)bundle_replies(buffer, bytes, os_addr, &seen, &packets);
    CHECK(packets == TUN_BUNDLE_MAX_PACKETS && bytes == 256 * TUN_BUNDLE_ALIGN(16 + 64));
    for (DWORD offset = 0; offset < bytes; offset += TUN_BUNDLE_ALIGN(16 + 64))
        in_order &= packet_seq(buffer + offset + 16) == next++;
    CHECK(in_order);
    CHECK(ReadFile(h, buffer, sizeof(buffer), &bytes, NULL) && bytes == 44 * TUN_BUNDLE_ALIGN(16 + 64));
    CHECK(packet_seq(buffer + 16) == 257);
    /* Whole packets only: 15 of 4 000 bytes fill the 0xF000 bytes, the 16th waits. */
    for (uint32_t i = 1; i <= 20; ++i) {
        make_ipv4(big, 4000, 1000 + i);
        CHECK(WintunEmulatedInjectPacket(a, big, 4000));
    }
    CHECK(ReadFile(h, buffer, sizeof(buffer), &bytes, NULL) && bytes == 15 * 4016);
    CHECK(ReadFile(h, buffer, sizeof(buffer), &bytes, NULL) && bytes == 5 * 4016 && packet_seq(buffer + 16) == 1016);
    for (uint32_t i = 1; i <= 34; ++i) {
        make_ipv4(packet, sizeof(packet), 2000 + i);
        CHECK(WintunEmulatedInjectPacket(a, packet, sizeof(packet)));
    }
    WINTUN_ADAPTER_STATISTICS st;
    CHECK(WintunGetAdapterStatistics(a, &st) && st.SendErrors == 1 && st.SendPackets == 355);
    CHECK(CloseHandle(h)); /* 34 left unread: counted */
    CHECK(WintunGetAdapterStatistics(a, &st) && st.SendUnread == 34);
    WintunCloseAdapter(a);
}

/* A blocked ReadFile ends with ERROR_HANDLE_EOF when the adapter goes, or its handle closes. */
static void test_bundle_read_teardown(void)
{
    for (int by_adapter = 0; by_adapter < 2; ++by_adapter) {
        WINTUN_ADAPTER_HANDLE a = emulated_adapter(L"bundle-teardown");
        struct bundle_reader_thread b = { open_adapter_device(a), os_addr, 0, TRUE, 0 };
        pthread_t t;
        pthread_create(&t, NULL, read_bundles, &b);
        usleep(30000);
        if (by_adapter)
            WintunCloseAdapter(a);
        else
            CHECK(CloseHandle(b.device));
        pthread_join(t, NULL);
        CHECK(!b.last_ok && b.last_error == ERROR_HANDLE_EOF && b.replies == 0);
        DWORD bytes;
        uint8_t buffer[32] = { 0 };
        if (by_adapter) {
            CHECK_ERR(WriteFile(b.device, buffer, sizeof(buffer) - 16, &bytes, NULL), ERROR_HANDLE_EOF);
            CHECK(CloseHandle(b.device));
        } else {
            WintunCloseAdapter(a);
        }
    }
}

/* ---- the kernel backend: the same flows, Linux answering the pings ---- */

static const uint8_t kernel_os[4] = { 10, 78, 0, 1 }, kernel_peer[4] = { 10, 78, 0, 2 };

static void test_kernel(void)
{
    if (unshare(CLONE_NEWNET) && unshare(CLONE_NEWUSER | CLONE_NEWNET)) {
        SKIP("cannot enter a network namespace of its own: the kernel backend is not tested");
        return;
    }
    WINTUN_ADAPTER_HANDLE a = WintunCreateAdapterEx(L"wtraw", L"Seeds", NULL, WINTUN_BACKEND_KERNEL);
    if (!a) {
        SKIP("no kernel adapter here (no /dev/net/tun or no CAP_NET_ADMIN)");
        return;
    }
    WINTUN_ADDRESS address = { .Family = AF_INET, .PrefixLength = 24 };
    memcpy(address.Address, kernel_os, 4);
    CHECK(WintunAddAdapterAddress(a, &address) && WintunSetAdapterUp(a, TRUE));
    struct raw_client c;
    HANDLE h = open_adapter_device(a);
    CHECK(h != INVALID_HANDLE_VALUE && raw_start(&c, h, 0x20000));
    CHECK_ERR(WintunStartSession(a, 0x20000), ERROR_ALREADY_INITIALIZED);
    ping_through_rings(&c, kernel_os, kernel_peer);
    WINTUN_ADAPTER_STATISTICS st;
    STATS_REACH(a, st, st.ReceiveDiscards == 1 && st.ReceivePackets == 10);
    printf("kernel: %llu packets to Linux, %llu discarded, %llu from it\n", (unsigned long long)st.ReceivePackets,
           (unsigned long long)st.ReceiveDiscards, (unsigned long long)st.SendPackets);
    check_closed_then_session(a, &c);
    /* Bundles both ways. */
    h = open_adapter_device(a);
    CHECK(write_pings(h, kernel_os, kernel_peer, 1) == 10);
    CHECK(read_replies(h, kernel_os, 10) == 10);
    CHECK(CloseHandle(h));
    WINTUN_SESSION_HANDLE s = WintunStartSession(a, 0x20000);
    CHECK(s != NULL);
    if (s)
        WintunEndSession(s);
    WintunCloseAdapter(a);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    RUN(test_seed_002_flow_emulated);
    RUN(test_raw_client_accounting);
    RUN(test_registration_refusals);
    RUN(test_open_refusals);
    RUN(test_adapter_closed_under_raw_client);
    RUN(test_close_wakes_reader);
    RUN(test_bundles_both_ways);
    RUN(test_bundle_limits_and_accounting);
    RUN(test_bundle_read_teardown);
    RUN(test_kernel);
    return test_summary();
}
