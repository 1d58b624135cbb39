/* SPDX-License-Identifier: MIT
 *
 * Windows: loading the official, signed wintun.dll (Wintun 0.14's API) and resolving its 14
 * functions. The only supported way to ship Wintun; the kernel backend on Windows goes through it.
 */
#ifndef WINTUN_LOADER_H
#define WINTUN_LOADER_H

#ifdef _WIN32
#define WINTUN_NO_PROTOTYPES
#include "wintun.h"

typedef struct _WINTUN_DLL
{
    HMODULE Module;
    WINTUN_CREATE_ADAPTER_FUNC *WintunCreateAdapter;
    WINTUN_OPEN_ADAPTER_FUNC *WintunOpenAdapter;
    WINTUN_CLOSE_ADAPTER_FUNC *WintunCloseAdapter;
    WINTUN_DELETE_DRIVER_FUNC *WintunDeleteDriver;
    WINTUN_GET_ADAPTER_LUID_FUNC *WintunGetAdapterLUID;
    WINTUN_GET_RUNNING_DRIVER_VERSION_FUNC *WintunGetRunningDriverVersion;
    WINTUN_SET_LOGGER_FUNC *WintunSetLogger;
    WINTUN_START_SESSION_FUNC *WintunStartSession;
    WINTUN_END_SESSION_FUNC *WintunEndSession;
    WINTUN_GET_READ_WAIT_EVENT_FUNC *WintunGetReadWaitEvent;
    WINTUN_RECEIVE_PACKET_FUNC *WintunReceivePacket;
    WINTUN_RELEASE_RECEIVE_PACKET_FUNC *WintunReleaseReceivePacket;
    WINTUN_ALLOCATE_SEND_PACKET_FUNC *WintunAllocateSendPacket;
    WINTUN_SEND_PACKET_FUNC *WintunSendPacket;
} WINTUN_DLL;

/* Loads the DLL and resolves all 14 functions (WintunGetAdapterLUID spelled that way).
 * Which file: Path if given; else the WINTUN_DLL environment variable; else "wintun.dll" searched
 * in the folder of the module Anchor (the package's own folder; NULL: skipped), then the
 * application's folder, then System32, never the current directory or PATH. Returns a Win32 code
 * and logs what is missing: ERROR_MOD_NOT_FOUND (no such file; the places searched are named),
 * ERROR_PROC_NOT_FOUND (the file lacks an export; it is named), or LoadLibraryExW's error. */
DWORD wt_dll_load(WINTUN_DLL *Dll, LPCWSTR Path, HMODULE Anchor);
void wt_dll_unload(WINTUN_DLL *Dll);
#endif

#endif
