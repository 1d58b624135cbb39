/* SPDX-License-Identifier: MIT
 *
 * Adapters: the process-wide registry of devices and the handles onto them.
 *
 * A device is the adapter itself (interface, driver half, backend state); handles reference it.
 * The handle that created a device owns it: closing that handle removes the interface, and with
 * it any session (readers see ERROR_HANDLE_EOF). The device's memory lives until the last handle
 * and session referring to it are gone.
 */
#ifndef WINTUN_ADAPTER_H
#define WINTUN_ADAPTER_H

#include "../driver/port.h"
#include "handle.h"
#include "wintun_ext.h"

#define WT_MAX_ADAPTER_NAME 128 /* WCHARs with the NUL, as Windows' MAX_ADAPTER_NAME */
#define WT_IF_TYPE_PROP_VIRTUAL 53

struct wt_device
{
    struct wt_device *next; /* registry list, under the registry lock */
    int refs;               /* under the registry lock */
    int removed;            /* the owner closed it (atomic) */
    int opened;        /* Windows: a system adapter opened through wintun.dll, not created here */
    int sessions;      /* Windows: wintun.dll sessions running on it (atomic) */
    WCHAR *name;
    char *name_utf8;
    WCHAR *tunnel_type;
    GUID guid;
    NET_LUID luid;
    WINTUN_BACKEND backend;
    const wt_backend_ops *ops;
    const char *netns; /* kernel backend: the namespace asked for, during creation only */
    void *port;        /* the backend's own state */
    wt_driver driver;
};

/* What an adapter handle names in the handle table (handle.h): one per create or open. */
struct wt_adapter
{
    int owner;
    struct wt_device *dev;
};

/* The device behind a live handle, held for the call (rundown: WintunCloseAdapter waits until the
 * call leaves), or NULL with ERROR_INVALID_HANDLE. Every success pairs with wt_adapter_leave. */
struct wt_device *wt_adapter_enter(WINTUN_ADAPTER_HANDLE adapter);
void wt_adapter_leave(WINTUN_ADAPTER_HANDLE adapter);
/* A device reference for a session; wt_device_unref gives it back. */
void wt_device_ref(struct wt_device *dev);
void wt_device_unref(struct wt_device *dev);

#endif
