/* SPDX-License-Identifier: MIT
 *
 * A device file: a handle on an adapter's device, what Wintun's clients open before they register
 * rings (wintun_device.h). Every registration goes through one: a raw client's (CreateFileW, then
 * DeviceIoControl), a session's (WintunStartSession opens one and registers its rings on it, as
 * wintun.dll does) and the bundle client's (ReadFile/WriteFile).
 */
#ifndef WINTUN_DEVICE_FILE_H
#define WINTUN_DEVICE_FILE_H

#include "device.h"

struct wt_device_file;

/* Opens the device with the access (GENERIC_READ/GENERIC_WRITE) and share mode asked:
 * ERROR_SHARING_VIOLATION if an open file's share mode refuses the access, or the share mode
 * refuses an open file's; ERROR_DEV_NOT_EXIST if the adapter is being removed. Takes a device
 * reference. NULL with the last error. */
struct wt_device_file *wt_device_file_open(struct wt_device *dev, DWORD access, DWORD share);

/* DeviceIoControl: TUN_IOCTL_REGISTER_RINGS (or its 2019 code) registers the rings described by
 * input; one registration per file. Returns a Win32 code (wintun_device.h lists them). */
DWORD wt_device_file_ioctl(struct wt_device_file *file, DWORD code, const void *input, DWORD input_size);

/* Ends what the file registered, if anything (idempotent): *ends (if given) gets where the
 * driver left the rings (driver.h). */
void wt_device_file_unregister(struct wt_device_file *file, struct wt_ring_ends *ends);

/* Unregisters and frees the file, giving its device reference back. */
void wt_device_file_close(struct wt_device_file *file);

#ifndef _WIN32
/* WriteFile's parser (exposed for the fuzzer): the packets of a bundle of size bytes, at most
 * TUN_BUNDLE_MAX_PACKETS into packets/sizes, *count of them; every header checked before any
 * packet is taken. ERROR_SUCCESS, or ERROR_INVALID_USER_BUFFER logged with what is wrong (a Size
 * over TUN_BUNDLE_MAX_IP_PACKET_SIZE or past the end, more than 256 packets, bytes after the last
 * packet that are no header). Reads nothing outside the buffer. */
DWORD wt_bundle_parse(const uint8_t *buffer, DWORD size, const BYTE **packets, DWORD *sizes, DWORD *count);
#endif

#endif
