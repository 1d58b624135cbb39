/* SPDX-License-Identifier: MIT
 *
 * WintunCreateAdapter, WintunOpenAdapter, WintunCloseAdapter, WintunGetAdapterLUID,
 * WintunDeleteDriver, WintunGetRunningDriverVersion and the adapter-level extensions.
 */
#include "adapter.h"
#include "logger.h"

#include "platform.h"

#include <stdlib.h>
#include <string.h>

static wt_mutex registry_lock = WT_MUTEX_INIT;
static struct wt_device *devices;

struct wt_device *wt_adapter_enter(WINTUN_ADAPTER_HANDLE handle)
{
    struct wt_adapter *adapter = wt_handle_acquire((uintptr_t)handle, WT_HANDLE_ADAPTER);
    return adapter ? adapter->dev : NULL;
}

void wt_adapter_leave(WINTUN_ADAPTER_HANDLE handle) { wt_handle_release((uintptr_t)handle); }

#ifndef _WIN32
/* A forked child owns none of the parent's adapters (handle.c makes their handles stale there):
 * it starts with an empty registry, and a lock no parent thread can be holding. */
static void registry_after_fork(void)
{
    wt_mutex_init(&registry_lock);
    devices = NULL;
}

__attribute__((constructor)) static void registry_init(void) { pthread_atfork(NULL, NULL, registry_after_fork); }
#endif

void wt_device_ref(struct wt_device *dev)
{
    wt_mutex_lock(&registry_lock);
    ++dev->refs;
    wt_mutex_unlock(&registry_lock);
}

static void device_free(struct wt_device *dev)
{
    wt_driver_destroy(&dev->driver);
    if (dev->ops && dev->port)
        dev->ops->destroy(dev);
    free(dev->name);
    free(dev->name_utf8);
    free(dev->tunnel_type);
    free(dev);
}

void wt_device_unref(struct wt_device *dev)
{
    wt_mutex_lock(&registry_lock);
    int last = --dev->refs == 0;
    wt_mutex_unlock(&registry_lock);
    if (last)
        device_free(dev);
}

struct wt_device *wt_device_find_luid_index(uint32_t index)
{
    wt_mutex_lock(&registry_lock);
    struct wt_device *dev = devices;
    while (dev && dev->luid.Info.NetLuidIndex != index)
        dev = dev->next;
    if (dev)
        ++dev->refs;
    wt_mutex_unlock(&registry_lock);
    return dev;
}

static int guid_equal(const GUID *a, const GUID *b) { return !memcmp(a, b, sizeof(GUID)); }

/* Under the registry lock. */
static struct wt_device *find_device(const WCHAR *name)
{
    for (struct wt_device *dev = devices; dev; dev = dev->next)
        if (!wt_wide_casecmp(dev->name, name))
            return dev;
    return NULL;
}

/* What an unset WINTUN_BACKEND means: the kernel, except in the stand-in DLL used to test
 * loaders of wintun.dll, which has no kernel driver behind it. */
#ifndef WT_DEFAULT_BACKEND
#define WT_DEFAULT_BACKEND WINTUN_BACKEND_KERNEL
#endif

static WINTUN_BACKEND backend_from_environment(void)
{
    const char *value = getenv("WINTUN_BACKEND");
    if (!value || !*value)
        return WT_DEFAULT_BACKEND;
    if (!strcmp(value, "kernel"))
        return WINTUN_BACKEND_KERNEL;
    if (!strcmp(value, "emulated"))
        return WINTUN_BACKEND_EMULATED;
    wt_log_error(ERROR_NOT_SUPPORTED, "WINTUN_BACKEND=\"%s\" is not a backend; use \"kernel\" or \"emulated\"", value);
    return WINTUN_BACKEND_DEFAULT;
}

static const wt_backend_ops *backend_ops(WINTUN_BACKEND backend)
{
    switch (backend) {
    case WINTUN_BACKEND_EMULATED:
        return &wt_emulated_backend;
    case WINTUN_BACKEND_KERNEL:
#if !defined(_WIN32)
        return &wt_kernel_backend;
#elif !defined(WT_NO_NATIVE)
        return &wt_native_backend;
#else
        wt_log_error(ERROR_NOT_SUPPORTED,
                     "The kernel backend is not available in this build; set WINTUN_BACKEND=emulated for an "
                     "in-process adapter");
        return NULL;
#endif
    default:
        return NULL;
    }
}

static WINTUN_ADAPTER_HANDLE new_handle(struct wt_device *dev, int owner)
{
    struct wt_adapter *adapter = calloc(1, sizeof(*adapter));
    if (!adapter)
        return NULL;
    adapter->owner = owner;
    adapter->dev = dev;
    uintptr_t handle = wt_handle_new(WT_HANDLE_ADAPTER, adapter);
    if (!handle)
        free(adapter);
    return (WINTUN_ADAPTER_HANDLE)handle;
}

#if defined(_WIN32) && !defined(WT_NO_NATIVE)
/* For a handle new_handle made and nobody else has seen. */
static void free_handle(WINTUN_ADAPTER_HANDLE handle) { free(wt_handle_retire((uintptr_t)handle, WT_HANDLE_ADAPTER)); }
#endif

static DWORD check_name(LPCWSTR name, LPCWSTR tunnel_type)
{
    if (!name || !*name)
        return wt_log_error(ERROR_INVALID_PARAMETER, "The adapter name is empty");
    if (!tunnel_type || !*tunnel_type)
        return wt_log_error(ERROR_INVALID_PARAMETER, "The tunnel type is empty");
    if (wt_wide_len(name) >= WT_MAX_ADAPTER_NAME)
        return wt_log_error(ERROR_BUFFER_OVERFLOW, "The adapter name is longer than %d characters", WT_MAX_ADAPTER_NAME - 1);
    /* Wintun formats "<TunnelType> Tunnel" into MAX_ADAPTER_NAME + 8 characters. */
    if (wt_wide_len(tunnel_type) + 7 >= WT_MAX_ADAPTER_NAME + 8)
        return wt_log_error(ERROR_BUFFER_OVERFLOW, "The tunnel type is longer than %d characters", WT_MAX_ADAPTER_NAME);
    return ERROR_SUCCESS;
}

static WINTUN_ADAPTER_HANDLE create(LPCWSTR name, LPCWSTR tunnel_type, const GUID *requested_guid,
                                    WINTUN_BACKEND backend, const char *netns);

/* Lines logged during creation (some under the registry lock) reach the callback once it is done. */
static WINTUN_ADAPTER_HANDLE create_adapter(LPCWSTR name, LPCWSTR tunnel_type, const GUID *requested_guid,
                                            WINTUN_BACKEND backend, const char *netns)
{
    wt_log_hold();
    WINTUN_ADAPTER_HANDLE adapter = create(name, tunnel_type, requested_guid, backend, netns);
    wt_log_unhold();
    return adapter;
}

static WINTUN_ADAPTER_HANDLE create(LPCWSTR name, LPCWSTR tunnel_type, const GUID *requested_guid,
                                    WINTUN_BACKEND backend, const char *netns)
{
    DWORD err = check_name(name, tunnel_type);
    if (err) {
        SetLastError(err);
        return NULL;
    }
    if (backend == WINTUN_BACKEND_DEFAULT)
        backend = backend_from_environment();
    else if (backend != WINTUN_BACKEND_EMULATED && backend != WINTUN_BACKEND_KERNEL)
        backend = WINTUN_BACKEND_DEFAULT;
    const wt_backend_ops *ops = backend_ops(backend);
    if (!ops) {
        if (backend == WINTUN_BACKEND_DEFAULT)
            wt_log_error(ERROR_NOT_SUPPORTED, "Unknown backend");
        SetLastError(ERROR_NOT_SUPPORTED);
        return NULL;
    }

    struct wt_device *dev = calloc(1, sizeof(*dev));
    if (!dev) {
        SetLastError(wt_log_error(ERROR_NOT_ENOUGH_MEMORY, "Failed to allocate the adapter"));
        return NULL;
    }
    dev->refs = 1;
    dev->backend = backend;
    wt_driver_init(&dev->driver, NULL, NULL); /* the backend plugs its port in */
    dev->name = wt_wide_dup(name);
    dev->name_utf8 = wt_wide_to_utf8_dup(name);
    dev->tunnel_type = wt_wide_dup(tunnel_type);
    if (!dev->name || !dev->tunnel_type) {
        err = wt_log_error(ERROR_NOT_ENOUGH_MEMORY, "Failed to allocate the adapter");
        goto fail;
    }
    if (!dev->name_utf8) {
        err = wt_log_error(ERROR_INVALID_NAME, "The adapter name is not valid Unicode");
        goto fail;
    }
    if (requested_guid)
        dev->guid = *requested_guid;
    else if ((err = wt_random_bytes(&dev->guid, sizeof(dev->guid))))
        goto fail;
    else {
        dev->guid.Data3 = (uint16_t)((dev->guid.Data3 & 0x0FFF) | 0x4000); /* version 4 */
        dev->guid.Data4[0] = (uint8_t)((dev->guid.Data4[0] & 0x3F) | 0x80);
    }
    dev->luid.Info.IfType = WT_IF_TYPE_PROP_VIRTUAL;

    /* Creation is serialised, as Wintun's device installation mutex does. */
    wt_mutex_lock(&registry_lock);
    for (struct wt_device *other = devices; other; other = other->next) {
        if (!wt_wide_casecmp(other->name, name)) {
            wt_mutex_unlock(&registry_lock);
            err = wt_log_error(ERROR_ALREADY_EXISTS, "Adapter \"%s\" already exists", dev->name_utf8);
            goto fail;
        }
        if (guid_equal(&other->guid, &dev->guid)) {
            wt_mutex_unlock(&registry_lock);
            err = wt_log_error(ERROR_ALREADY_EXISTS, "Adapter \"%s\" already has the requested GUID", other->name_utf8);
            goto fail;
        }
    }
    dev->ops = ops;
    dev->netns = netns;
    err = ops->create(dev);
    dev->netns = NULL;
    if (err) {
        dev->ops = NULL;
        wt_mutex_unlock(&registry_lock);
        goto fail;
    }
    WINTUN_ADAPTER_HANDLE adapter = new_handle(dev, 1);
    if (!adapter) {
        ops->remove(dev);
        wt_mutex_unlock(&registry_lock);
        err = wt_log_error(ERROR_NOT_ENOUGH_MEMORY, "Failed to allocate the adapter handle");
        goto fail;
    }
    dev->next = devices;
    devices = dev;
    wt_mutex_unlock(&registry_lock);
    wt_log(WINTUN_LOG_INFO, "Created %s adapter \"%s\"", ops->name, dev->name_utf8);
    return adapter;

fail:
    device_free(dev);
    SetLastError(err);
    return NULL;
}

WINTUN_ADAPTER_HANDLE WINAPI
WintunCreateAdapterEx(LPCWSTR name, LPCWSTR tunnel_type, const GUID *requested_guid, WINTUN_BACKEND backend)
{
    return create_adapter(name, tunnel_type, requested_guid, backend, NULL);
}

WINTUN_ADAPTER_HANDLE WINAPI
WintunCreateAdapterInNetns(LPCWSTR name, LPCWSTR tunnel_type, const GUID *requested_guid, const char *netns)
{
    if (!netns) {
        SetLastError(wt_log_error(ERROR_INVALID_PARAMETER, "No network namespace given"));
        return NULL;
    }
    return create_adapter(name, tunnel_type, requested_guid, WINTUN_BACKEND_KERNEL, netns);
}

BOOL WINAPI WintunGetAdapterNetns(WINTUN_ADAPTER_HANDLE adapter, int *netns_fd, int *userns_fd)
{
    struct wt_device *dev = wt_adapter_enter(adapter);
    if (!dev)
        return FALSE;
    DWORD err = ERROR_NOT_SUPPORTED;
    if (!netns_fd || !userns_fd)
        err = ERROR_INVALID_PARAMETER;
#ifndef _WIN32
    else if (wt_kernel_netns_fds(dev, netns_fd, userns_fd))
        err = ERROR_SUCCESS;
#endif
    wt_adapter_leave(adapter);
    if (err)
        SetLastError(err);
    return !err;
}

WINTUN_ADAPTER_HANDLE WINAPI WintunCreateAdapter(LPCWSTR name, LPCWSTR tunnel_type, const GUID *requested_guid)
{
    return WintunCreateAdapterEx(name, tunnel_type, requested_guid, WINTUN_BACKEND_DEFAULT);
}

#if defined(_WIN32) && !defined(WT_NO_NATIVE)
/* An adapter of the system, through wintun.dll: a device of its own per open, outside the
 * registry (another process may own it); closing it frees the DLL's handle only. */
static WINTUN_ADAPTER_HANDLE open_native(LPCWSTR name)
{
    struct wt_device *dev = calloc(1, sizeof(*dev));
    WINTUN_ADAPTER_HANDLE adapter = dev ? new_handle(dev, 1) : NULL;
    if (!adapter) {
        free(dev);
        SetLastError(wt_log_error(ERROR_NOT_ENOUGH_MEMORY, "Failed to allocate the adapter"));
        return NULL;
    }
    dev->refs = 1;
    dev->opened = 1;
    dev->backend = WINTUN_BACKEND_KERNEL;
    dev->ops = &wt_native_backend;
    wt_driver_init(&dev->driver, NULL, NULL);
    dev->name = wt_wide_dup(name);
    dev->name_utf8 = wt_wide_to_utf8_dup(name);
    dev->tunnel_type = wt_wide_dup(L"");
    DWORD err = dev->name && dev->name_utf8 && dev->tunnel_type
                    ? ERROR_SUCCESS
                    : wt_log_error(ERROR_NOT_ENOUGH_MEMORY, "Failed to allocate the adapter");
    WINTUN_ADAPTER_HANDLE native = err ? NULL : wt_native_open(name);
    if (!native) {
        err = err ? err : GetLastError();
        free_handle(adapter);
        device_free(dev);
        SetLastError(err);
        return NULL;
    }
    wt_native_adopt(dev, native);
    return adapter;
}
#endif

static WINTUN_ADAPTER_HANDLE open_adapter(LPCWSTR name);

WINTUN_ADAPTER_HANDLE WINAPI WintunOpenAdapter(LPCWSTR name)
{
    wt_log_hold();
    WINTUN_ADAPTER_HANDLE adapter = open_adapter(name);
    wt_log_unhold();
    return adapter;
}

static WINTUN_ADAPTER_HANDLE open_adapter(LPCWSTR name)
{
    if (!name || !*name) {
        SetLastError(wt_log_error(ERROR_INVALID_PARAMETER, "The adapter name is empty"));
        return NULL;
    }
    wt_mutex_lock(&registry_lock);
    struct wt_device *dev = find_device(name);
    if (dev)
        ++dev->refs;
    wt_mutex_unlock(&registry_lock);
    if (!dev) {
#if defined(_WIN32) && !defined(WT_NO_NATIVE)
        /* Not one of ours: wintun.dll finds the system's (and logs a miss at ERR, as here). With
         * no wintun.dll to load, no system adapter can be reached: not found. */
        if (backend_from_environment() == WINTUN_BACKEND_KERNEL && !wt_native_load(NULL))
            return open_native(name);
#endif
        /* Wintun logs this at ERR too. */
        SetLastError(wt_log_error(ERROR_NOT_FOUND, "Failed to find matching adapter name"));
        return NULL;
    }
    WINTUN_ADAPTER_HANDLE adapter = new_handle(dev, 0);
    if (!adapter) {
        wt_device_unref(dev);
        SetLastError(ERROR_NOT_ENOUGH_MEMORY);
    }
    return adapter;
}

VOID WINAPI WintunCloseAdapter(WINTUN_ADAPTER_HANDLE handle)
{
    /* Rundown: the handle is stale for new calls at once, and calls in flight leave first. */
    struct wt_adapter *adapter = wt_handle_retire((uintptr_t)handle, WT_HANDLE_ADAPTER);
    if (!adapter)
        return; /* NULL or closed: ERROR_INVALID_HANDLE, a no-op as in Wintun */
    struct wt_device *dev = adapter->dev;
    wt_log_hold();
    if (adapter->owner) {
        wt_mutex_lock(&registry_lock);
        for (struct wt_device **p = &devices; *p; p = &(*p)->next) {
            if (*p == dev) {
                *p = dev->next;
                break;
            }
        }
        wt_atomic_store(&dev->removed, 1, WT_RELEASE);
        wt_mutex_unlock(&registry_lock);
        /* The session, if any, ends on the driver side: its readers get ERROR_HANDLE_EOF. */
        wt_driver_kill(&dev->driver);
        dev->ops->remove(dev);
        if (!dev->opened)
            wt_log(WINTUN_LOG_INFO, "Removed adapter \"%s\"", dev->name_utf8);
    }
    free(adapter);
    wt_device_unref(dev);
    wt_log_unhold();
}

VOID WINAPI WintunGetAdapterLUID(WINTUN_ADAPTER_HANDLE adapter, NET_LUID *luid)
{
    struct wt_device *dev = luid ? wt_adapter_enter(adapter) : NULL;
    if (!dev) {
        if (luid)
            luid->Value = 0;
        return;
    }
    *luid = dev->luid;
    wt_adapter_leave(adapter);
}

BOOL WINAPI WintunDeleteDriver(VOID)
{
    wt_mutex_lock(&registry_lock);
    int in_use = devices != NULL;
    wt_mutex_unlock(&registry_lock);
    if (in_use) {
        SetLastError(wt_log_error(ERROR_INF_IN_USE_BY_DEVICES, "Failed to remove the driver: adapters still use it"));
        return FALSE;
    }
#if defined(_WIN32) && !defined(WT_NO_NATIVE)
    if (backend_from_environment() == WINTUN_BACKEND_KERNEL)
        return wt_native_delete_driver();
#endif
    return TRUE;
}

/* With the kernel backend on Windows, the version of the Wintun driver wintun.dll reports (0 with
 * ERROR_FILE_NOT_FOUND when it is not loaded); else this library's driver half. */
DWORD WINAPI WintunGetRunningDriverVersion(VOID)
{
#if defined(_WIN32) && !defined(WT_NO_NATIVE)
    if (backend_from_environment() == WINTUN_BACKEND_KERNEL)
        return wt_native_driver_version();
#endif
    return (WT_DRIVER_VERSION_MAJOR << 16) | WT_DRIVER_VERSION_MINOR;
}

BOOL WINAPI WintunLoadDll(LPCWSTR path)
{
#if defined(_WIN32) && !defined(WT_NO_NATIVE)
    DWORD err = wt_native_load(path);
    if (err) {
        SetLastError(err);
        return FALSE;
    }
    return TRUE;
#else
    (void)path;
    SetLastError(wt_log_error(ERROR_NOT_SUPPORTED, "There is no wintun.dll to load in this build: its kernel "
                                                   "backend is the system's TUN device"));
    return FALSE;
#endif
}

/* An adapter call: the device held for fn, its Win32 code turned into TRUE, or FALSE with the
 * last error. */
static BOOL with_device(WINTUN_ADAPTER_HANDLE adapter, DWORD (*fn)(struct wt_device *dev, void *arg), void *arg)
{
    struct wt_device *dev = wt_adapter_enter(adapter);
    if (!dev)
        return FALSE;
    DWORD err = fn(dev, arg);
    wt_adapter_leave(adapter);
    if (err)
        SetLastError(err);
    return !err;
}

WINTUN_BACKEND WINAPI WintunGetAdapterBackend(WINTUN_ADAPTER_HANDLE adapter)
{
    struct wt_device *dev = wt_adapter_enter(adapter);
    if (!dev)
        return WINTUN_BACKEND_DEFAULT;
    WINTUN_BACKEND backend = dev->backend;
    wt_adapter_leave(adapter);
    return backend;
}

static DWORD get_guid(struct wt_device *dev, void *guid)
{
    if (!guid)
        return ERROR_INVALID_PARAMETER;
    *(GUID *)guid = dev->guid;
    return ERROR_SUCCESS;
}

BOOL WINAPI WintunGetAdapterGUID(WINTUN_ADAPTER_HANDLE adapter, GUID *guid) { return with_device(adapter, get_guid, guid); }

struct name_buffer
{
    WCHAR *name;
    DWORD size;
};

static DWORD copy_wide(const WCHAR *text, struct name_buffer *out)
{
    size_t len = wt_wide_len(text);
    if (!out->name)
        return ERROR_INVALID_PARAMETER;
    if (out->size <= len)
        return ERROR_INSUFFICIENT_BUFFER;
    memcpy(out->name, text, (len + 1) * sizeof(WCHAR));
    return ERROR_SUCCESS;
}

static DWORD get_name(struct wt_device *dev, void *arg) { return copy_wide(dev->name, arg); }
static DWORD get_tunnel_type(struct wt_device *dev, void *arg) { return copy_wide(dev->tunnel_type, arg); }

BOOL WINAPI WintunGetAdapterTunnelType(WINTUN_ADAPTER_HANDLE adapter, WCHAR *type, DWORD size)
{
    struct name_buffer out = { type, size };
    return with_device(adapter, get_tunnel_type, &out);
}

BOOL WINAPI WintunEnumAdapters(LPCWSTR tunnel_type, WINTUN_ENUM_CALLBACK callback, LPARAM param)
{
    if (!callback || (tunnel_type && !*tunnel_type)) {
        SetLastError(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    /* The matching devices, referenced, so that the callback runs with no lock held and may
     * call anything, closing adapters (these too) included. */
    struct wt_device **found = NULL;
    size_t count = 0, room = 0;
    wt_mutex_lock(&registry_lock);
    for (struct wt_device *dev = devices; dev; dev = dev->next) {
        if (tunnel_type && wt_wide_casecmp(dev->tunnel_type, tunnel_type))
            continue;
        if (count == room) {
            struct wt_device **more = realloc(found, (room = room ? 2 * room : 8) * sizeof(*found));
            if (!more) {
                wt_mutex_unlock(&registry_lock);
                while (count)
                    wt_device_unref(found[--count]);
                free(found);
                SetLastError(ERROR_NOT_ENOUGH_MEMORY);
                return FALSE;
            }
            found = more;
        }
        ++dev->refs;
        found[count++] = dev;
    }
    wt_mutex_unlock(&registry_lock);
    size_t i = 0;
    for (int go_on = 1; i < count && go_on; ++i) {
        /* A handle of the callback's own, as 0.9's: closed when it returns (the adapter stays). */
        WINTUN_ADAPTER_HANDLE adapter = wt_atomic_load(&found[i]->removed, WT_ACQUIRE) ? NULL : new_handle(found[i], 0);
        if (!adapter) {
            wt_device_unref(found[i]);
            continue;
        }
        go_on = callback(adapter, param);
        WintunCloseAdapter(adapter); /* gives the reference back */
    }
    for (; i < count; ++i)
        wt_device_unref(found[i]);
    free(found);
    return TRUE;
}

BOOL WINAPI WintunGetAdapterName(WINTUN_ADAPTER_HANDLE adapter, WCHAR *name, DWORD size)
{
    struct name_buffer out = { name, size };
    return with_device(adapter, get_name, &out);
}

struct ifname_buffer
{
    char *name;
    DWORD size;
};

static DWORD get_ifname(struct wt_device *dev, void *arg)
{
    struct ifname_buffer *out = arg;
    if (!out->name || !out->size)
        return ERROR_INVALID_PARAMETER;
    if (!dev->ops->get_ifname)
        return ERROR_NOT_SUPPORTED;
    return dev->ops->get_ifname(dev, out->name, out->size);
}

BOOL WINAPI WintunGetAdapterInterfaceName(WINTUN_ADAPTER_HANDLE adapter, char *name, DWORD size)
{
    struct ifname_buffer out = { name, size };
    return with_device(adapter, get_ifname, &out);
}

struct offload_args
{
    WINTUN_OFFLOAD_MODE mode, *mode_out;
    DWORD *offloads_out;
};

static DWORD set_offload(struct wt_device *dev, void *arg)
{
    const struct offload_args *a = arg;
    if ((unsigned)a->mode > WINTUN_OFFLOAD_SUPER_PACKETS)
        return wt_log_error(ERROR_INVALID_PARAMETER, "Offload mode %u is none of 0, 1 and 2", (unsigned)a->mode);
    if (!dev->ops->set_offload)
        return a->mode == WINTUN_OFFLOAD_NONE ? ERROR_SUCCESS : ERROR_NOT_SUPPORTED;
    return dev->ops->set_offload(dev, a->mode);
}

BOOL WINAPI WintunSetAdapterOffload(WINTUN_ADAPTER_HANDLE adapter, WINTUN_OFFLOAD_MODE mode)
{
    struct offload_args a = { .mode = mode };
    return with_device(adapter, set_offload, &a);
}

static DWORD get_offload(struct wt_device *dev, void *arg)
{
    const struct offload_args *a = arg;
    DWORD offloads = 0;
    if (!a->mode_out)
        return ERROR_INVALID_PARAMETER;
    *a->mode_out = WINTUN_OFFLOAD_NONE;
    DWORD err = dev->ops->get_offload ? dev->ops->get_offload(dev, a->mode_out, &offloads) : ERROR_SUCCESS;
    if (a->offloads_out)
        *a->offloads_out = offloads;
    return err;
}

BOOL WINAPI WintunGetAdapterOffload(WINTUN_ADAPTER_HANDLE adapter, WINTUN_OFFLOAD_MODE *mode, DWORD *offloads)
{
    struct offload_args a = { .mode_out = mode, .offloads_out = offloads };
    return with_device(adapter, get_offload, &a);
}

static DWORD get_stats(struct wt_device *dev, void *stats)
{
    if (!stats)
        return ERROR_INVALID_PARAMETER;
    if (dev->ops->get_stats)
        return dev->ops->get_stats(dev, stats);
    wt_driver_get_stats(&dev->driver, stats);
    return ERROR_SUCCESS;
}

BOOL WINAPI WintunGetAdapterStatistics(WINTUN_ADAPTER_HANDLE adapter, WINTUN_ADAPTER_STATISTICS *stats)
{
    return with_device(adapter, get_stats, stats);
}
