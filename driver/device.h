/* SPDX-License-Identifier: MIT
 *
 * A device: an adapter itself (its interface, its driver half, its backend's state), and the
 * session object every backend's sessions start with. The adapter registry and the handles onto
 * devices are the core's (csrc/core/adapter.h); backends see only what is here.
 */
#ifndef WINTUN_DEVICE_H
#define WINTUN_DEVICE_H

#include "port.h"

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

/* A device reference for a session; wt_device_unref gives it back (the core's registry). */
void wt_device_ref(struct wt_device *dev);
void wt_device_unref(struct wt_device *dev);

/* A session is rings served by this library's driver half (csrc/core/session.c), or another
 * implementation's session (Windows: wintun.dll's, csrc/win32/native_win32.c). The object behind
 * a session handle starts with its ops, and every entry point goes through them: the one place
 * where the implementation is chosen is the backend's start_session (port.h). Each op runs with
 * the session held (rundown); argument checks common to all are done before. */
struct wt_session_ops
{
    int holds_logs; /* it logs inside its calls, some under its own locks: hold lines for the call */
    void (*end)(void *session);
    HANDLE (*read_wait_event)(void *session);
    BYTE *(*receive)(void *session, DWORD *size);
    /* What was wrong with the pointer (logged with ERROR_INVALID_PARAMETER once the call has
     * left: a logger callback may end the session), or NULL. */
    const char *(*release)(void *session, const BYTE *packet);
    BYTE *(*allocate)(void *session, DWORD size);
    const char *(*send)(void *session, const BYTE *packet);
    DWORD (*receive_batch)(void *session, WINTUN_PACKET_VISITOR visitor, void *context, DWORD max);
    DWORD (*send_batch)(void *session, const BYTE *const *packets, const DWORD *sizes, DWORD count);
    BOOL (*is_receive_ready)(void *session);
};

struct wt_session_head
{
    const struct wt_session_ops *ops;
};

#endif
