/* SPDX-License-Identifier: MIT
 *
 * The emulated wire's public C API (emulated.h): each entry point holds the adapter for the call
 * (rundown) and hands the device to the emulated port (driver/emulated/emulated.c).
 */
#include "adapter.h"
#include "emulated.h"
#include "emulated_port.h"

/* The device behind a live handle of an emulated adapter, held for the call (wt_adapter_leave), or
 * NULL with ERROR_INVALID_HANDLE or ERROR_NOT_SUPPORTED (another backend). */
static struct wt_device *emulated_enter(WINTUN_ADAPTER_HANDLE adapter)
{
    struct wt_device *dev = wt_adapter_enter(adapter);
    if (!dev)
        return NULL;
    if (dev->ops != &wt_emulated_backend) {
        wt_adapter_leave(adapter);
        SetLastError(ERROR_NOT_SUPPORTED);
        return NULL;
    }
    return dev;
}

static BOOL leave_with(WINTUN_ADAPTER_HANDLE adapter, DWORD err)
{
    wt_adapter_leave(adapter);
    if (err)
        SetLastError(err);
    return !err;
}

BOOL WINAPI WintunEmulatedInjectPackets(WINTUN_ADAPTER_HANDLE adapter, const BYTE *const *packets, const DWORD *sizes,
                                        DWORD count)
{
    struct wt_device *dev = emulated_enter(adapter);
    return dev ? leave_with(adapter, wt_emulated_inject(dev, packets, sizes, count)) : FALSE;
}

BOOL WINAPI WintunEmulatedInjectPacket(WINTUN_ADAPTER_HANDLE adapter, const BYTE *packet, DWORD size)
{
    return WintunEmulatedInjectPackets(adapter, &packet, &size, 1);
}

BOOL WINAPI WintunEmulatedCapturePacket(WINTUN_ADAPTER_HANDLE adapter, BYTE *buffer, DWORD buffer_size, DWORD *packet_size)
{
    struct wt_device *dev = emulated_enter(adapter);
    return dev ? leave_with(adapter, wt_emulated_capture(dev, buffer, buffer_size, packet_size)) : FALSE;
}

HANDLE WINAPI WintunEmulatedGetCaptureEvent(WINTUN_ADAPTER_HANDLE adapter)
{
    struct wt_device *dev = emulated_enter(adapter);
    if (!dev)
        return NULL;
    HANDLE event = wt_emulated_capture_event(dev);
    wt_adapter_leave(adapter);
    return event;
}

BOOL WINAPI WintunEmulatedConnect(WINTUN_ADAPTER_HANDLE a, WINTUN_ADAPTER_HANDLE b)
{
    struct wt_device *da = emulated_enter(a);
    if (!da)
        return FALSE;
    struct wt_device *db = emulated_enter(b);
    if (!db) {
        DWORD err = GetLastError();
        wt_adapter_leave(a);
        SetLastError(err);
        return FALSE;
    }
    DWORD err = wt_emulated_connect(da, db);
    wt_adapter_leave(b);
    return leave_with(a, err);
}

BOOL WINAPI WintunEmulatedDisconnect(WINTUN_ADAPTER_HANDLE adapter)
{
    struct wt_device *dev = emulated_enter(adapter);
    return dev ? leave_with(adapter, wt_emulated_disconnect(dev)) : FALSE;
}
