/* SPDX-License-Identifier: MIT
 *
 * Device files (device_file.h) and, on Linux, the Win32 file calls of wintun_device.h over them:
 * CreateFileW, DeviceIoControl, ReadFile and WriteFile of bundles, CloseHandle.
 *
 * Bundles are served by one ring session per adapter (the bundle client), shared by every handle
 * that reads or writes bundles: ReadFile takes packets from its Send ring, WriteFile puts them in
 * its Receive ring. So a bundle handle registers through the same path as every client, and what
 * the rings count at teardown (wintun_ext.h) holds for bundles too.
 */
#include "device_file.h"
#include "adapter.h"
#include "handle.h"
#include "logger.h"
#include "session.h"

#include <stdlib.h>
#include <string.h>

#define ACCESS_READ 1u
#define ACCESS_WRITE 2u

struct wt_bundle_client;

struct wt_device_file
{
    struct wt_device *dev;
    unsigned access; /* ACCESS_READ | ACCESS_WRITE */
    DWORD share;     /* FILE_SHARE_* */
    struct wt_device_file *next; /* open files, under files_lock */
    int raw;                     /* a client's own (CreateFileW), not a session's */
    wt_mutex lock;               /* what this file registered */
    int registered;              /* rings registered on this file (once: one registration a file) */
    int unregistered;
    TUN_REGISTER_RINGS rings;    /* as the driver read them */
    struct wt_ring_ends ends;    /* where the driver left them */
    struct wt_bundle_client *bundle; /* the bundle client this file uses (bundle_lock) */
    int closing;                     /* CloseHandle began (atomic) */
    HANDLE wake;                     /* manual-reset: set by CloseHandle, wakes this file's readers */
};

static wt_mutex files_lock = WT_MUTEX_INIT;
static struct wt_device_file *files;


/* Whether an open file and a new one can share the device (Windows' share-access check). */
static int shares_with(const struct wt_device_file *open, unsigned access, DWORD share)
{
    if (((access & ACCESS_READ) && !(open->share & FILE_SHARE_READ)) ||
        ((access & ACCESS_WRITE) && !(open->share & FILE_SHARE_WRITE)))
        return 0;
    return !(((open->access & ACCESS_READ) && !(share & FILE_SHARE_READ)) ||
             ((open->access & ACCESS_WRITE) && !(share & FILE_SHARE_WRITE)));
}

static unsigned access_of(DWORD desired)
{
    return ((desired & (GENERIC_READ | FILE_READ_DATA)) ? ACCESS_READ : 0) |
           ((desired & (GENERIC_WRITE | FILE_WRITE_DATA)) ? ACCESS_WRITE : 0);
}

struct wt_device_file *wt_device_file_open(struct wt_device *dev, DWORD access, DWORD share)
{
    if (wt_atomic_load(&dev->removed, WT_ACQUIRE)) {
        SetLastError(ERROR_DEV_NOT_EXIST);
        return NULL;
    }
    struct wt_device_file *file = calloc(1, sizeof(*file));
    if (!file) {
        SetLastError(ERROR_NOT_ENOUGH_MEMORY);
        return NULL;
    }
    file->dev = dev;
    file->access = access_of(access);
    file->share = share & (FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE);
    wt_mutex_init(&file->lock);
    wt_mutex_lock(&files_lock);
    for (struct wt_device_file *other = files; other; other = other->next) {
        if (other->dev == dev && !shares_with(other, file->access, file->share)) {
            wt_mutex_unlock(&files_lock);
            wt_mutex_destroy(&file->lock);
            free(file);
            SetLastError(ERROR_SHARING_VIOLATION);
            return NULL;
        }
    }
    file->next = files;
    files = file;
    wt_mutex_unlock(&files_lock);
    wt_device_ref(dev);
    return file;
}

DWORD wt_device_file_ioctl(struct wt_device_file *file, DWORD code, const void *input, DWORD input_size)
{
    if (code != TUN_IOCTL_REGISTER_RINGS && code != TUN_IOCTL_REGISTER_RINGS_2019)
        return wt_log_error(ERROR_INVALID_FUNCTION, "Device control code 0x%x is not one the driver serves", (unsigned)code);
    if ((file->access & (ACCESS_READ | ACCESS_WRITE)) != (ACCESS_READ | ACCESS_WRITE))
        return wt_log_error(ERROR_ACCESS_DENIED, "Registering rings needs a handle opened for reading and writing");
    wt_mutex_lock(&file->lock);
    DWORD err = ERROR_ALREADY_INITIALIZED; /* one registration a file, as the driver's owner check */
    if (!file->registered && !wt_atomic_load(&file->bundle, WT_ACQUIRE)) {
        err = wt_driver_register(&file->dev->driver, input, input_size, &file->rings);
        if (!err)
            file->registered = 1;
    }
    wt_mutex_unlock(&file->lock);
    return err;
}

/* A raw client's rings once the driver has let them go: what it never read (SendUnread) and what
 * it published that the driver never took (ReceiveDrops), so that nothing is lost uncounted. Its
 * rings are its own memory, valid until CloseHandle returns; their positions are its word. A
 * session counts more exactly on its own (session.c). */
static void count_left_in_rings(struct wt_device_file *file)
{
    const TUN_REGISTER_RINGS *r = &file->rings;
    const uint32_t send_capacity = TUN_RING_CAPACITY(r->Send.RingSize), receive_capacity = TUN_RING_CAPACITY(r->Receive.RingSize);
    uint64_t unread = tun_ring_count_packets(r->Send.Ring, send_capacity, tun_load_acquire(&r->Send.Ring->Head),
                                             file->ends.send_tail, 0);
    uint64_t untaken = tun_ring_count_packets(r->Receive.Ring, receive_capacity, file->ends.receive_head,
                                              tun_load_acquire(&r->Receive.Ring->Tail), 0);
    if (unread)
        WT_STAT_ADD(&file->dev->driver, send_unread, unread);
    if (untaken)
        WT_STAT_ADD(&file->dev->driver, receive_drops, untaken);
}

void wt_device_file_unregister(struct wt_device_file *file, struct wt_ring_ends *ends)
{
    wt_mutex_lock(&file->lock);
    if (file->registered && !file->unregistered) {
        /* Ends the session of these rings if it still runs (an adapter's close may have ended it
         * already: the driver still knows where it left them). */
        wt_driver_unregister(&file->dev->driver, file->rings.Send.Ring, &file->ends);
        file->unregistered = 1;
        if (file->raw)
            count_left_in_rings(file);
    }
    if (ends)
        *ends = file->registered ? file->ends : (struct wt_ring_ends){ TUN_RING_CLOSED, TUN_RING_CLOSED };
    wt_mutex_unlock(&file->lock);
}

static void bundle_leave(struct wt_device_file *file);

void wt_device_file_close(struct wt_device_file *file)
{
    wt_device_file_unregister(file, NULL);
    bundle_leave(file);
    wt_mutex_lock(&files_lock);
    for (struct wt_device_file **p = &files; *p; p = &(*p)->next) {
        if (*p == file) {
            *p = file->next;
            break;
        }
    }
    wt_mutex_unlock(&files_lock);
    if (file->wake)
        CloseHandle(file->wake);
    wt_device_unref(file->dev);
    wt_mutex_destroy(&file->lock);
    free(file);
}

#ifndef _WIN32

/* ---- the bundle client: one ring session per adapter, for every bundle handle of it ---- */

#define BUNDLE_CAPACITY 0x400000u       /* 4 MiB a ring, as Wintun's example */
#define BUNDLE_WRITE_WAIT_NS 50000000ull /* how long a write waits for room before it drops */

struct wt_bundle_client
{
    struct wt_bundle_client *next;
    struct wt_device *dev;
    WINTUN_SESSION_HANDLE session;
    HANDLE read_event;
    unsigned users; /* files using it */
};

static wt_mutex bundle_lock = WT_MUTEX_INIT; /* before files_lock */
static struct wt_bundle_client *bundle_clients;

/* A forked child has none of the parent's files or clients (their handles are stale there,
 * handle.h), and no thread holding these locks. */
static void after_fork(void)
{
    wt_mutex_init(&files_lock);
    files = NULL;
    wt_mutex_init(&bundle_lock);
    bundle_clients = NULL;
}
__attribute__((constructor)) static void device_files_init(void) { pthread_atfork(NULL, NULL, after_fork); }

/* The file's bundle client, made by the first bundle call on the adapter; a Win32 code. */
static DWORD bundle_join(struct wt_device_file *file, struct wt_bundle_client **out)
{
    DWORD err = ERROR_SUCCESS;
    wt_mutex_lock(&bundle_lock);
    struct wt_bundle_client *client = file->bundle;
    if (wt_atomic_load(&file->closing, WT_ACQUIRE)) {
        err = ERROR_HANDLE_EOF;
        goto out;
    }
    if (client)
        goto out;
    wt_mutex_lock(&file->lock);
    int registered = file->registered;
    wt_mutex_unlock(&file->lock);
    if (registered) {
        err = wt_log_error(ERROR_INVALID_FUNCTION, "A handle with rings does not read or write bundles");
        goto out;
    }
    for (client = bundle_clients; client && client->dev != file->dev; client = client->next)
        ;
    if (!client) {
        client = calloc(1, sizeof(*client));
        if (!client) {
            err = ERROR_NOT_ENOUGH_MEMORY;
            goto out;
        }
        client->dev = file->dev;
        client->session = wt_session_start(file->dev, BUNDLE_CAPACITY);
        client->read_event = client->session ? WintunGetReadWaitEvent(client->session) : NULL;
        if (!client->read_event) {
            err = GetLastError();
            if (client->session)
                WintunEndSession(client->session);
            free(client);
            client = NULL;
            goto out;
        }
        client->next = bundle_clients;
        bundle_clients = client;
    }
    ++client->users;
    wt_atomic_store(&file->bundle, client, WT_RELEASE);
out:
    wt_mutex_unlock(&bundle_lock);
    *out = client;
    return err;
}

static void bundle_leave(struct wt_device_file *file)
{
    /* No call is in flight on a file being closed: only a bundle user needs the lock. A session's
     * own file never is one, and may be closed under bundle_lock (bundle_join's failed start). */
    if (!wt_atomic_load(&file->bundle, WT_ACQUIRE))
        return;
    wt_mutex_lock(&bundle_lock);
    struct wt_bundle_client *client = file->bundle;
    file->bundle = NULL;
    if (!client || --client->users) {
        wt_mutex_unlock(&bundle_lock);
        return;
    }
    for (struct wt_bundle_client **p = &bundle_clients; *p; p = &(*p)->next) {
        if (*p == client) {
            *p = client->next;
            break;
        }
    }
    wt_mutex_unlock(&bundle_lock);
    WintunEndSession(client->session); /* readers of other files left already: the last user goes */
    free(client);
}

/* ---- the Win32 calls, on Linux ---- */

/* "\\.\Global\WINTUN<n>" or "\\.\Device\WINTUN<n>": n, or -1 for another form of name. */
static int64_t device_index(LPCWSTR name)
{
    static const WCHAR *const prefixes[] = { L"\\\\.\\Global\\WINTUN", L"\\\\.\\Device\\WINTUN" };
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); ++i) {
        const size_t n = wcslen(prefixes[i]);
        WCHAR head[32];
        if (wcslen(name) <= n)
            continue;
        wmemcpy(head, name, n);
        head[n] = 0;
        if (wt_wide_casecmp(head, prefixes[i]))
            continue;
        int64_t index = 0;
        for (const WCHAR *p = name + n; *p; ++p) {
            if (*p < L'0' || *p > L'9' || index > 0xFFFFFF)
                return -1;
            index = index * 10 + (*p - L'0');
        }
        return index <= 0xFFFFFF ? index : -1;
    }
    return -1;
}

HANDLE WintunCompat_CreateFileW(LPCWSTR name, DWORD access, DWORD share, LPSECURITY_ATTRIBUTES attributes,
                                DWORD disposition, DWORD flags, HANDLE template_file)
{
    wt_log_hold();
    HANDLE result = INVALID_HANDLE_VALUE;
    DWORD err = ERROR_SUCCESS;
    int64_t index;
    if (!name) {
        err = ERROR_INVALID_PARAMETER;
    } else if (attributes || template_file) {
        err = wt_log_error(ERROR_NOT_SUPPORTED, "Security attributes and template files are not supported");
    } else if (disposition != OPEN_EXISTING) {
        err = wt_log_error(ERROR_INVALID_PARAMETER, "A device opens with OPEN_EXISTING only");
    } else if (flags & FILE_FLAG_OVERLAPPED) {
        err = wt_log_error(ERROR_NOT_SUPPORTED, "Overlapped I/O is not supported on Wintun devices here");
    } else if (flags & ~(DWORD)FILE_ATTRIBUTE_NORMAL) {
        err = wt_log_error(ERROR_INVALID_PARAMETER, "Flags 0x%x are not supported", (unsigned)flags);
    } else if (access & ~(DWORD)(GENERIC_READ | GENERIC_WRITE | FILE_READ_DATA | FILE_WRITE_DATA)) {
        err = wt_log_error(ERROR_ACCESS_DENIED, "Access 0x%x is more than reading and writing", (unsigned)access);
    } else if ((index = device_index(name)) < 0) {
        err = ERROR_PATH_NOT_FOUND;
    } else {
        struct wt_device *dev = wt_device_find_luid_index((uint32_t)index);
        struct wt_device_file *file = dev ? wt_device_file_open(dev, access, share) : NULL;
        uintptr_t handle = 0;
        if (!dev)
            err = ERROR_FILE_NOT_FOUND;
        else if (!file)
            err = GetLastError();
        else if (!(file->wake = CreateEventW(NULL, TRUE, FALSE, NULL)) || !(handle = wt_handle_new(WT_HANDLE_DEVICE, file))) {
            err = GetLastError();
            wt_device_file_close(file);
        } else {
            file->raw = 1;
            result = (HANDLE)handle;
        }
        if (dev)
            wt_device_unref(dev);
    }
    if (err)
        SetLastError(err);
    wt_log_unhold();
    return result;
}

static struct wt_device_file *file_enter(HANDLE h)
{
    return h == INVALID_HANDLE_VALUE ? (SetLastError(ERROR_INVALID_HANDLE), NULL)
                                     : wt_handle_acquire((uintptr_t)h, WT_HANDLE_DEVICE);
}

static void file_leave(HANDLE h) { wt_handle_release((uintptr_t)h); }

static BOOL fail(DWORD err)
{
    SetLastError(err);
    return FALSE;
}

BOOL WintunCompat_DeviceIoControl(HANDLE h, DWORD code, LPVOID input, DWORD input_size, LPVOID output,
                                  DWORD output_size, LPDWORD returned, LPOVERLAPPED overlapped)
{
    (void)output;
    (void)output_size;
    if (returned)
        *returned = 0;
    struct wt_device_file *file = file_enter(h);
    if (!file)
        return FALSE;
    DWORD err = overlapped ? ERROR_NOT_SUPPORTED
                : !returned ? ERROR_INVALID_PARAMETER /* as Windows, without an OVERLAPPED */
                            : wt_device_file_ioctl(file, code, input, input_size);
    file_leave(h);
    return err ? fail(err) : TRUE;
}

/* Checks common to ReadFile and WriteFile; a Win32 code. */
static DWORD check_io(struct wt_device_file *file, const void *buffer, DWORD size, LPDWORD done, LPOVERLAPPED overlapped,
                      unsigned access)
{
    if (overlapped)
        return wt_log_error(ERROR_NOT_SUPPORTED, "Overlapped I/O is not supported on Wintun devices here");
    if (!done)
        return ERROR_INVALID_PARAMETER;
    if (!(file->access & access))
        return ERROR_ACCESS_DENIED;
    if (!buffer && size)
        return ERROR_NOACCESS;
    return ERROR_SUCCESS;
}

struct bundle_reader
{
    uint8_t *out;
    DWORD size, used, packets;
    struct wt_device *dev;
};

/* Under the ring's lock: the packet goes into the bundle if it fits, else stays for the next read. */
static BOOL CALLBACK bundle_put(void *context, const BYTE *packet, DWORD size)
{
    struct bundle_reader *r = context;
    if (size > TUN_BUNDLE_MAX_IP_PACKET_SIZE) {
        WT_STAT_ADD(&r->dev->driver, send_errors, 1); /* no bundle carries it: skipped, counted */
        return TRUE;
    }
    if (r->packets == TUN_BUNDLE_MAX_PACKETS || sizeof(TUN_BUNDLE_PACKET) + size > r->size - r->used)
        return FALSE;
    TUN_BUNDLE_PACKET *header = (TUN_BUNDLE_PACKET *)(r->out + r->used);
    DWORD slot = TUN_BUNDLE_ALIGN(sizeof(*header) + size);
    if (slot > r->size - r->used)
        slot = r->size - r->used;
    memset(header, 0, sizeof(*header));
    header->Size = size;
    memcpy(header->Data, packet, size);
    memset(header->Data + size, 0, slot - sizeof(*header) - size);
    r->used += slot;
    ++r->packets;
    return TRUE;
}

BOOL WintunCompat_ReadFile(HANDLE h, LPVOID buffer, DWORD size, LPDWORD read, LPOVERLAPPED overlapped)
{
    if (read)
        *read = 0;
    struct wt_device_file *file = file_enter(h);
    if (!file)
        return FALSE;
    struct wt_bundle_client *client = NULL;
    DWORD err = check_io(file, buffer, size, read, overlapped, ACCESS_READ);
    if (!err && size < TUN_BUNDLE_MIN_READ_SIZE)
        err = wt_log_error(ERROR_INSUFFICIENT_BUFFER, "A bundle read needs a buffer of at least 0x%x bytes, not 0x%x",
                           TUN_BUNDLE_MIN_READ_SIZE, (unsigned)size);
    if (!err)
        err = bundle_join(file, &client);
    struct bundle_reader r = { buffer, size, 0, 0, file->dev };
    while (!err) {
        if (wt_atomic_load(&file->closing, WT_ACQUIRE)) {
            err = ERROR_HANDLE_EOF;
            break;
        }
        SetLastError(ERROR_SUCCESS);
        if (WintunReceivePackets(client->session, bundle_put, &r, (DWORD)-1 /* bundle_put stops at 256 */) || r.packets) {
            if (r.packets)
                break;
            continue; /* only packets no bundle carries were there */
        }
        const DWORD last = GetLastError();
        if (last == ERROR_NO_MORE_ITEMS) { /* empty: the read event is armed */
            HANDLE events[2] = { client->read_event, file->wake };
            WaitForMultipleObjects(2, events, FALSE, INFINITE); /* fails once the session has ended */
            continue;
        }
        err = last == ERROR_INVALID_HANDLE ? ERROR_HANDLE_EOF : last; /* the session ended */
    }
    if (!err)
        *read = r.used;
    file_leave(h);
    return err ? fail(err) : TRUE;
}

DWORD wt_bundle_parse(const uint8_t *buffer, DWORD size, const BYTE **packets, DWORD *sizes, DWORD *count)
{
    DWORD offset = 0;
    *count = 0;
    while (offset < size) {
        const DWORD left = size - offset;
        if (left < sizeof(TUN_BUNDLE_PACKET))
            return wt_log_error(ERROR_INVALID_USER_BUFFER, "Bundle: %u bytes after packet %u are no packet header",
                                (unsigned)left, (unsigned)*count);
        if (*count == TUN_BUNDLE_MAX_PACKETS)
            return wt_log_error(ERROR_INVALID_USER_BUFFER, "Bundle: more than %u packets", TUN_BUNDLE_MAX_PACKETS);
        uint32_t packet_size;
        memcpy(&packet_size, buffer + offset, sizeof(packet_size));
        if (packet_size > TUN_BUNDLE_MAX_IP_PACKET_SIZE)
            return wt_log_error(ERROR_INVALID_USER_BUFFER, "Bundle: packet %u has size %u, more than %u", (unsigned)*count,
                                (unsigned)packet_size, TUN_BUNDLE_MAX_IP_PACKET_SIZE);
        if (packet_size > left - sizeof(TUN_BUNDLE_PACKET))
            return wt_log_error(ERROR_INVALID_USER_BUFFER, "Bundle: packet %u of size %u runs past the buffer's end (%u bytes left)",
                                (unsigned)*count, (unsigned)packet_size, (unsigned)(left - sizeof(TUN_BUNDLE_PACKET)));
        packets[*count] = buffer + offset + sizeof(TUN_BUNDLE_PACKET);
        sizes[(*count)++] = packet_size;
        const DWORD slot = TUN_BUNDLE_ALIGN(sizeof(TUN_BUNDLE_PACKET) + packet_size);
        offset = slot < left ? offset + slot : size; /* the last packet's padding may be left out */
    }
    return ERROR_SUCCESS;
}

/* Sends them all, waiting for room up to BUNDLE_WRITE_WAIT_NS, then dropping (counted). */
static DWORD bundle_send(struct wt_device_file *file, struct wt_bundle_client *client, const BYTE **packets, DWORD *sizes,
                         DWORD count)
{
    DWORD err, done = wt_send_packets_waiting(client->session, packets, sizes, count, BUNDLE_WRITE_WAIT_NS, &err);
    if (err && err != ERROR_BUFFER_OVERFLOW)
        return err == ERROR_INVALID_HANDLE ? ERROR_HANDLE_EOF : err;
    if (done < count)
        WT_STAT_ADD(&file->dev->driver, receive_drops, count - done);
    return ERROR_SUCCESS;
}

BOOL WintunCompat_WriteFile(HANDLE h, LPCVOID buffer, DWORD size, LPDWORD written, LPOVERLAPPED overlapped)
{
    if (written)
        *written = 0;
    struct wt_device_file *file = file_enter(h);
    if (!file)
        return FALSE;
    const BYTE *packets[TUN_BUNDLE_MAX_PACKETS];
    DWORD sizes[TUN_BUNDLE_MAX_PACKETS], count = 0;
    struct wt_bundle_client *client = NULL;
    DWORD err = check_io(file, buffer, size, written, overlapped, ACCESS_WRITE);
    if (!err)
        err = wt_bundle_parse(buffer, size, packets, sizes, &count);
    if (!err)
        err = bundle_join(file, &client);
    if (!err && count)
        err = bundle_send(file, client, packets, sizes, count);
    if (!err)
        *written = size;
    file_leave(h);
    return err ? fail(err) : TRUE;
}

BOOL WintunCompat_CloseHandle(HANDLE h)
{
    if (((uintptr_t)h & 3) != WT_HANDLE_DEVICE || h == INVALID_HANDLE_VALUE)
        return wt_event_close(h);
    /* Wakes this handle's blocked readers first: the rundown below waits for them to leave. */
    struct wt_device_file *file = file_enter(h);
    if (!file)
        return FALSE;
    wt_atomic_store(&file->closing, 1, WT_RELEASE);
    SetEvent(file->wake);
    file_leave(h);
    wt_log_hold();
    file = wt_handle_retire((uintptr_t)h, WT_HANDLE_DEVICE);
    if (file)
        wt_device_file_close(file);
    wt_log_unhold();
    return file ? TRUE : fail(ERROR_INVALID_HANDLE);
}

#else
static void bundle_leave(struct wt_device_file *file) { (void)file; } /* Windows: its own ReadFile */
#endif
