/* SPDX-License-Identifier: MIT
 *
 * Windows: the kernel backend is the real Wintun driver, reached through the official signed
 * wintun.dll (loader.h). Its adapters and sessions are the DLL's own; the session API here wraps
 * them, so that one program (and the Python extension) drives kernel adapters through wintun.dll
 * and emulated ones through this library, with the same calls:
 *
 * - adapters: a device whose ops are wt_native_backend holds the DLL's adapter handle in port;
 * - sessions: the backend's start_session makes a wt_native_session holding the DLL's session,
 *   behind a handle of the handle table like a ring session, with its own session ops
 *   (session.h): every session entry point goes through them.
 *   The extensions the DLL lacks are built on its 14 functions: batches loop over them, and
 *   WintunIsReceiveReady takes one packet ahead and keeps it for the next receive;
 * - configuration and statistics go through IP Helper on the adapter's LUID (iphelper.h).
 *
 * Errors are the DLL's: return values are checked first, and GetLastError is read only after a
 * failure. The DLL's log lines reach the WintunSetLogger callback through wt_log_relay.
 */
#ifndef WINTUN_NATIVE_H
#define WINTUN_NATIVE_H

#include "device.h" /* wt_native_backend and its entry points are declared in port.h */

#endif
