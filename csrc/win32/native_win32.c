/* SPDX-License-Identifier: MIT
 *
 * Windows: kernel adapters and their sessions through the official wintun.dll (native.h).
 */
#if defined(_WIN32) && !defined(WT_NO_NATIVE)
#include "native.h"
#include "iphelper.h"
#include "loader.h"
#include "logger.h"
#include "platform.h"
#include "device.h"

#include <stdlib.h>
#include <string.h>

/* Written once under load_lock, then only read: sessions and adapters exist only after it. */
static WINTUN_DLL dll;
static int loaded; /* atomic */
static wt_mutex load_lock = WT_MUTEX_INIT;

static HMODULE this_module(void)
{
    HMODULE module = NULL;
    GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                       (LPCWSTR)(void *)this_module, &module);
    return module;
}

/* Whether path names the module already loaded. Compared by full path, without loading the file:
 * loading a second wintun.dll would run its DllMain, which cleans up devices. */
static DWORD same_module(LPCWSTR path)
{
    WCHAR loaded_path[MAX_PATH], full[MAX_PATH];
    DWORD n = GetModuleFileNameW(dll.Module, loaded_path, MAX_PATH), m = GetFullPathNameW(path, MAX_PATH, full, NULL);
    if (n && n < MAX_PATH && m && m < MAX_PATH && CompareStringOrdinal(loaded_path, -1, full, -1, TRUE) == CSTR_EQUAL)
        return ERROR_SUCCESS;
    char shown[MAX_PATH * 3];
    if (wt_wide_to_utf8(path, shown, sizeof(shown)) < 0)
        strcpy(shown, "(the given path)");
    return wt_log_error(ERROR_ALREADY_INITIALIZED, "Another wintun.dll is already in use; cannot switch to %s", shown);
}

DWORD wt_native_load(LPCWSTR path)
{
    if (wt_atomic_load(&loaded, WT_ACQUIRE) && (!path || !*path))
        return ERROR_SUCCESS;
    DWORD err = ERROR_SUCCESS;
    wt_mutex_lock(&load_lock);
    if (loaded) {
        if (path && *path)
            err = same_module(path);
        goto out;
    }
    HMODULE self = this_module();
    if ((err = wt_dll_load(&dll, path, self)))
        goto out;
    if (dll.Module == self) {
        wt_dll_unload(&dll);
        err = wt_log_error(ERROR_INVALID_PARAMETER, "WINTUN_DLL names this library, which has no kernel driver behind it");
        goto out;
    }
    /* The DLL's lines go where ours go, and its errors explain ours. */
    dll.WintunSetLogger(wt_log_relay);
    wt_atomic_store(&loaded, 1, WT_RELEASE);
    WCHAR file[MAX_PATH];
    char shown[MAX_PATH * 3];
    DWORD n = GetModuleFileNameW(dll.Module, file, MAX_PATH);
    if (!n || n >= MAX_PATH || wt_wide_to_utf8(file, shown, sizeof(shown)) < 0)
        strcpy(shown, "wintun.dll");
    wt_log(WINTUN_LOG_INFO, "Loaded %s", shown);
out:
    wt_mutex_unlock(&load_lock);
    return err;
}

/* After a failed DLL call: its last error, never 0. */
static DWORD dll_error(void)
{
    DWORD err = GetLastError();
    return err ? err : ERROR_GEN_FAILURE;
}

BOOL wt_native_delete_driver(void)
{
    DWORD err = wt_native_load(NULL);
    if (err) {
        SetLastError(err);
        return FALSE;
    }
    return dll.WintunDeleteDriver();
}

DWORD wt_native_driver_version(void)
{
    DWORD err = wt_native_load(NULL);
    if (err) {
        SetLastError(err);
        return 0;
    }
    return dll.WintunGetRunningDriverVersion(); /* 0 with its error: the driver is not loaded */
}

/* ---- adapters ---- */

static void take_luid(struct wt_device *dev)
{
    dev->luid.Value = 0;
    dll.WintunGetAdapterLUID(dev->port, &dev->luid);
}

static DWORD native_create(struct wt_device *dev)
{
    DWORD err = wt_native_load(NULL);
    if (err)
        return err;
    WINTUN_ADAPTER_HANDLE adapter = dll.WintunCreateAdapter(dev->name, dev->tunnel_type, &dev->guid);
    if (!adapter)
        return dll_error(); /* the DLL logged why: that line stays the explanation */
    dev->port = adapter;
    take_luid(dev);
    return ERROR_SUCCESS;
}

WINTUN_ADAPTER_HANDLE wt_native_open(LPCWSTR name)
{
    if (wt_native_load(NULL))
        return NULL;
    WINTUN_ADAPTER_HANDLE adapter = dll.WintunOpenAdapter(name);
    if (!adapter)
        SetLastError(dll_error());
    return adapter;
}

void wt_native_adopt(struct wt_device *dev, WINTUN_ADAPTER_HANDLE adapter)
{
    dev->port = adapter;
    take_luid(dev);
    /* The interface's GUID, where the system knows the LUID (not for the stand-in's adapters). */
    if (ConvertInterfaceLuidToGuid(&dev->luid, &dev->guid) != NO_ERROR)
        memset(&dev->guid, 0, sizeof(dev->guid));
}

/* For an adapter this process created, the DLL removes it; for an opened one, it frees the
 * handle only. */
static void native_remove(struct wt_device *dev)
{
    WINTUN_ADAPTER_HANDLE adapter = dev->port;
    dev->port = NULL;
    if (adapter)
        dll.WintunCloseAdapter(adapter);
}

static void native_destroy(struct wt_device *dev) { native_remove(dev); }

/* The IP interfaces appear a moment after the adapter: calls that need one wait for it first. */
static DWORD native_set_mtu(struct wt_device *dev, DWORD mtu)
{
    DWORD err = wt_iphelper_wait_interface(dev->luid, WT_IPHELPER_SETTLE_MS);
    return err ? err : wt_iphelper_set_mtu(dev->luid, mtu);
}

static DWORD native_get_mtu(struct wt_device *dev, DWORD *mtu)
{
    DWORD err = wt_iphelper_wait_interface(dev->luid, WT_IPHELPER_SETTLE_MS);
    return err ? err : wt_iphelper_get_mtu(dev->luid, mtu);
}

static DWORD native_add_address(struct wt_device *dev, const WINTUN_ADDRESS *address)
{
    DWORD err = wt_iphelper_wait_interface(dev->luid, WT_IPHELPER_SETTLE_MS);
    return err ? err : wt_iphelper_add_address(dev->luid, address);
}

static DWORD native_delete_address(struct wt_device *dev, const WINTUN_ADDRESS *address)
{
    return wt_iphelper_delete_address(dev->luid, address);
}

static DWORD native_get_addresses(struct wt_device *dev, WINTUN_ADDRESS *addresses, DWORD *count)
{
    return wt_iphelper_get_addresses(dev->luid, addresses, count);
}

/* A Wintun adapter's link follows its session (media connected while one runs): up() and
 * down() start and end sessions, and the administrative state is the system's to keep. Up is
 * "a session of ours runs" (the interface reports it a moment later), else what the interface
 * reports (another process's session on an opened adapter). */
static DWORD native_set_up(struct wt_device *dev, BOOL up)
{
    (void)dev, (void)up;
    return ERROR_SUCCESS;
}

static DWORD native_get_up(struct wt_device *dev, BOOL *up)
{
    if (wt_atomic_load(&dev->sessions, WT_ACQUIRE)) {
        *up = TRUE;
        return ERROR_SUCCESS;
    }
    return wt_iphelper_get_up(dev->luid, up);
}

static DWORD native_get_stats(struct wt_device *dev, WINTUN_ADAPTER_STATISTICS *stats)
{
    return wt_iphelper_get_stats(dev->luid, stats);
}

static void *native_start_session(struct wt_device *dev, DWORD capacity);

const wt_backend_ops wt_native_backend = {
    .name = "kernel (wintun.dll)",
    .kind = WINTUN_BACKEND_KERNEL,
    .create = native_create,
    .remove = native_remove,
    .destroy = native_destroy,
    .set_mtu = native_set_mtu,
    .get_mtu = native_get_mtu,
    .add_address = native_add_address,
    .delete_address = native_delete_address,
    .get_addresses = native_get_addresses,
    .set_up = native_set_up,
    .get_up = native_get_up,
    .get_stats = native_get_stats,
    .start_session = native_start_session,
};

/* ---- sessions ---- */

struct wt_native_session
{
    struct wt_session_head head; /* first: the ops (session.h) */
    WINTUN_SESSION_HANDLE session;
    struct wt_device *dev;
    /* A packet WintunIsReceiveReady (or a visitor that declined it) took ahead; handed out by the
     * next receive, before any other. */
    wt_spinlock lock;
    BYTE *ahead;
    DWORD ahead_size;
};

#define NATIVE(session) ((struct wt_native_session *)(session))

static const struct wt_session_ops native_session_ops;

static void *native_start_session(struct wt_device *dev, DWORD capacity)
{
    struct wt_native_session *s = calloc(1, sizeof(*s));
    if (!s) {
        SetLastError(wt_log_error(ERROR_NOT_ENOUGH_MEMORY, "Failed to allocate the session"));
        return NULL;
    }
    s->session = dev->port ? dll.WintunStartSession(dev->port, capacity) : NULL;
    if (!s->session) {
        DWORD err = dev->port ? dll_error() : ERROR_INVALID_HANDLE;
        free(s);
        SetLastError(err);
        return NULL;
    }
    wt_device_ref(dev);
    wt_atomic_add_fetch(&dev->sessions, 1, WT_RELEASE);
    s->dev = dev;
    s->head.ops = &native_session_ops;
    return s;
}

static void native_end_session(void *session)
{
    struct wt_native_session *s = NATIVE(session);
    dll.WintunEndSession(s->session);
    wt_atomic_sub_fetch(&s->dev->sessions, 1, WT_RELEASE);
    wt_device_unref(s->dev);
    free(s);
}

static HANDLE native_read_wait_event(void *session)
{
    return dll.WintunGetReadWaitEvent(NATIVE(session)->session);
}

/* Under s->lock: the packet taken ahead, if any. Every fill of that slot happens under the lock,
 * and WintunReceivePackets holds it throughout, so a packet its visitor declines always finds
 * the slot free: nothing is ever dropped or reordered within one call. */
static BYTE *take_ahead_locked(struct wt_native_session *s, DWORD *size)
{
    BYTE *packet = s->ahead;
    *size = s->ahead_size;
    wt_atomic_store(&s->ahead, NULL, WT_RELAXED);
    return packet;
}

static void put_ahead_locked(struct wt_native_session *s, BYTE *packet, DWORD size)
{
    s->ahead_size = size;
    wt_atomic_store(&s->ahead, packet, WT_RELEASE);
}

static BYTE *native_receive_packet(void *session, DWORD *size)
{
    struct wt_native_session *s = NATIVE(session);
    if (!size) {
        SetLastError(ERROR_INVALID_PARAMETER);
        return NULL;
    }
    if (wt_atomic_load(&s->ahead, WT_ACQUIRE)) {
        wt_spinlock_lock(&s->lock);
        BYTE *packet = take_ahead_locked(s, size);
        wt_spinlock_unlock(&s->lock);
        if (packet)
            return packet;
    }
    return dll.WintunReceivePacket(s->session, size);
}

/* wintun.dll trusts the pointers it is given: NULL at least is refused here. */
static const char *native_release_receive_packet(void *session, const BYTE *packet)
{
    if (!packet)
        return "Released pointer is not an outstanding received packet";
    dll.WintunReleaseReceivePacket(NATIVE(session)->session, packet);
    return NULL;
}

static BYTE *native_allocate_send_packet(void *session, DWORD size)
{
    return dll.WintunAllocateSendPacket(NATIVE(session)->session, size);
}

static const char *native_send_packet(void *session, const BYTE *packet)
{
    if (!packet)
        return "Sent pointer is not an allocated packet";
    dll.WintunSendPacket(NATIVE(session)->session, packet);
    return NULL;
}

static DWORD native_receive_packets(void *session, WINTUN_PACKET_VISITOR visitor, void *context, DWORD max)
{
    struct wt_native_session *s = NATIVE(session);
    DWORD consumed = 0, err = ERROR_SUCCESS;
    wt_spinlock_lock(&s->lock);
    while (consumed < max) {
        DWORD size;
        BYTE *packet = take_ahead_locked(s, &size);
        if (!packet && !(packet = dll.WintunReceivePacket(s->session, &size))) {
            err = dll_error();
            break;
        }
        if (!visitor(context, packet, size)) {
            put_ahead_locked(s, packet, size); /* declined: first in line for the next call */
            break;
        }
        dll.WintunReleaseReceivePacket(s->session, packet);
        ++consumed;
    }
    wt_spinlock_unlock(&s->lock);
    if (!consumed)
        SetLastError(err); /* ERROR_SUCCESS when the visitor declined the first, as in session.c */
    return consumed;
}

static DWORD native_send_packets(void *session, const BYTE *const *packets, const DWORD *sizes, DWORD count)
{
    struct wt_native_session *s = NATIVE(session);
    DWORD sent = 0, err = ERROR_SUCCESS;
    for (; sent < count; ++sent) {
        BYTE *slot = dll.WintunAllocateSendPacket(s->session, sizes[sent]);
        if (!slot) {
            err = dll_error();
            break;
        }
        if (sizes[sent])
            memcpy(slot, packets[sent], sizes[sent]);
        dll.WintunSendPacket(s->session, slot);
    }
    if (!sent)
        SetLastError(err);
    return sent;
}

static BOOL native_is_receive_ready(void *session)
{
    struct wt_native_session *s = NATIVE(session);
    if (wt_atomic_load(&s->ahead, WT_ACQUIRE))
        return TRUE;
    BOOL ready = TRUE;
    wt_spinlock_lock(&s->lock);
    if (!s->ahead) {
        DWORD size;
        BYTE *packet = dll.WintunReceivePacket(s->session, &size);
        if (packet)
            put_ahead_locked(s, packet, size);
        else
            ready = GetLastError() != ERROR_NO_MORE_ITEMS; /* EOF and bad data stay for the next receive */
    }
    wt_spinlock_unlock(&s->lock);
    return ready;
}

static const struct wt_session_ops native_session_ops = {
    .holds_logs = 1, /* wintun.dll logs inside its calls, some under our locks */
    .end = native_end_session,
    .read_wait_event = native_read_wait_event,
    .receive = native_receive_packet,
    .release = native_release_receive_packet,
    .allocate = native_allocate_send_packet,
    .send = native_send_packet,
    .receive_batch = native_receive_packets,
    .send_batch = native_send_packets,
    .is_receive_ready = native_is_receive_ready,
};
#endif
