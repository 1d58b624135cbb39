/* SPDX-License-Identifier: MIT
 *
 * Adapters: the process-wide registry of devices (driver/device.h) and the handles onto them.
 *
 * A device is the adapter itself (interface, driver half, backend state); handles reference it.
 * The handle that created a device owns it: closing that handle removes the interface, and with
 * it any session (readers see ERROR_HANDLE_EOF). The device's memory lives until the last handle
 * and session referring to it are gone.
 */
#ifndef WINTUN_ADAPTER_H
#define WINTUN_ADAPTER_H

#include "device.h"
#include "handle.h"

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

/* The adapter of this process whose LUID has that NetLuidIndex (its device, as CreateFileW
 * names it), referenced (wt_device_unref), or NULL. */
struct wt_device *wt_device_find_luid_index(uint32_t index);

#endif
