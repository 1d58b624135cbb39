/* SPDX-License-Identifier: MIT
 *
 * Windows: the kernel backend is the real Wintun driver, reached through the official signed
 * wintun.dll (loader.h). Its adapters and sessions are the DLL's own; the session API here wraps
 * them, so that one program (and the Python extension) drives kernel adapters through wintun.dll
 * and emulated ones through this library, with the same calls:
 *
 * - adapters: a device whose ops are wt_native_backend holds the DLL's adapter handle in port;
 * - sessions: a wt_native_session (its own magic) holds the DLL's session, behind a handle of the
 *   handle table like a ring session; every session entry point (session.c) tells the two apart
 *   by the object's magic and hands a native one to the wt_native_* function here.
 *   The extensions the DLL lacks are built on its 14 functions: batches loop over them, and
 *   WintunIsReceiveReady takes one packet ahead and keeps it for the next receive;
 * - configuration and statistics go through IP Helper on the adapter's LUID (iphelper.h).
 *
 * Errors are the DLL's: return values are checked first, and GetLastError is read only after a
 * failure. The DLL's log lines reach the WintunSetLogger callback through wt_log_relay.
 */
#ifndef WINTUN_NATIVE_H
#define WINTUN_NATIVE_H

#include "adapter.h"

#define WT_NATIVE_SESSION_MAGIC 0x57544e53u /* "WTNS" */

static inline int wt_native_session(const void *session)
{
    return session && *(const uint32_t *)session == WT_NATIVE_SESSION_MAGIC;
}

#if defined(_WIN32) && !defined(WT_NO_NATIVE)
#define WT_NATIVE 1
extern const wt_backend_ops wt_native_backend;

static inline int wt_device_is_native(const struct wt_device *dev) { return dev->ops == &wt_native_backend; }

/* Loads wintun.dll once per process (loader.h's search, from this module's folder); later calls
 * return the first outcome, or ERROR_ALREADY_INITIALIZED if Path names another file. */
DWORD wt_native_load(LPCWSTR path);
/* WintunOpenAdapter's fallback: the DLL's handle on an adapter of the system (any process), not
 * created here, or NULL with its error; wt_native_adopt makes it the device's port. */
WINTUN_ADAPTER_HANDLE wt_native_open(LPCWSTR name);
void wt_native_adopt(struct wt_device *dev, WINTUN_ADAPTER_HANDLE adapter);
BOOL wt_native_delete_driver(void);
DWORD wt_native_driver_version(void);

void *wt_native_start_session(struct wt_device *dev, DWORD capacity);
void wt_native_end_session(void *session);
HANDLE wt_native_read_wait_event(void *session);
BYTE *wt_native_receive_packet(void *session, DWORD *size);
void wt_native_release_receive_packet(void *session, const BYTE *packet);
BYTE *wt_native_allocate_send_packet(void *session, DWORD size);
void wt_native_send_packet(void *session, const BYTE *packet);
DWORD wt_native_receive_packets(void *session, WINTUN_PACKET_VISITOR visitor, void *context, DWORD max);
DWORD wt_native_send_packets(void *session, const BYTE *const *packets, const DWORD *sizes, DWORD count);
BOOL wt_native_is_receive_ready(void *session);
#else
#define WT_NATIVE 0
#endif

#endif
