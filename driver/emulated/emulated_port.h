/* SPDX-License-Identifier: MIT
 *
 * What the emulated port does for the emulated wire's API (emulated.h; the entry points are the
 * core's, csrc/core/emulated_api.c). Each takes a device of the emulated backend, held by the
 * caller, and returns a Win32 code as the API function of the same name documents.
 */
#ifndef WINTUN_EMULATED_PORT_H
#define WINTUN_EMULATED_PORT_H

#include "device.h"
#include "emulated.h"

DWORD wt_emulated_inject(struct wt_device *dev, const BYTE *const *packets, const DWORD *sizes, DWORD count);
DWORD wt_emulated_capture(struct wt_device *dev, BYTE *buffer, DWORD buffer_size, DWORD *packet_size);
HANDLE wt_emulated_capture_event(struct wt_device *dev);
DWORD wt_emulated_connect(struct wt_device *a, struct wt_device *b);
DWORD wt_emulated_disconnect(struct wt_device *dev);

#endif
